/**
 * Rate limits hold across the engine: a burst of 100 row inserts, each running a tabular (Bitrix24) update, never
 * exceeds the portal's bucket. The portal here is a Bitrix24-like server with the published limit (2 requests/s,
 * burst 50) that answers 503 QUERY_LIMIT_EXCEEDED past it, so every rejection it counts is a limit the engine broke.
 */
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../helpers.ts";
import { createLeadsTable, publishFlow, terminalExecutions } from "../flows-helpers.ts";

const BURST = 50;
const PER_SECOND = 2;
const ROWS = 100;

/** A Bitrix24-like portal: `POST /rest/<user>/<token>/crm.<entity>.update` under a token bucket of its own. */
interface Portal {
  url: string;
  /** performance.now() of every accepted update, in order. */
  acceptedAt: number[];
  ids: Set<unknown>;
  rejected: number;
  close(): Promise<void>;
}

async function startPortal(): Promise<Portal> {
  let tokens = BURST;
  let refilledAt = performance.now();
  const portal = { acceptedAt: [] as number[], ids: new Set<unknown>(), rejected: 0 };
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      // The bucket is read when the request has fully arrived, as a server would.
      const now = performance.now();
      tokens = Math.min(BURST, tokens + ((now - refilledAt) / 1000) * PER_SECOND);
      refilledAt = now;
      const send = (status: number, payload: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(payload));
      };
      if (req.method !== "POST" || !/^\/rest\/[^/]+\/[^/]+\/crm\.[a-z]+\.update$/.test(req.url ?? "")) {
        return send(404, { error: "ERROR_METHOD_NOT_FOUND", error_description: "Method not found!" });
      }
      if (tokens < 1) {
        portal.rejected++;
        return send(503, { error: "QUERY_LIMIT_EXCEEDED", error_description: "Too many requests" });
      }
      tokens -= 1;
      portal.acceptedAt.push(now);
      portal.ids.add(JSON.parse(body).id);
      send(200, { result: true });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return Object.assign(portal, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

const sql = connect();
let portal: Portal;

beforeAll(async () => {
  portal = await startPortal();
});
afterAll(async () => {
  await portal.close();
  await sql.end();
});

describe("rate limits", () => {
  it(`a burst of ${ROWS} Bitrix updates never exceeds the portal's bucket (${PER_SECOND}/s, burst ${BURST})`, async () => {
    const table = await createLeadsTable(sql, "leads_rate_burst");
    const { flowId } = await publishFlow(sql, "rate-burst", {
      trigger: { type: "row_change", table, events: ["INSERT"] },
      steps: [{
        id: "update_crm",
        type: "tabular",
        // No rate_limit: the tabular default is Bitrix24's published limit, per portal.
        config: { webhook_url: `${portal.url}/rest/1/tok3n/`, entity: "lead", id: "{{row.id}}", field: "STATUS_ID", value: "QUALIFIED" },
        retry: { max_attempts: 5 },
      }],
    });

    await sql.unsafe(`insert into ${table} (name, status, priority) select 'lead ' || g, 'new', 'high' from generate_series(1, ${ROWS}) g`);
    const executions = await terminalExecutions(sql, flowId, ROWS, 90_000);

    expect(executions.map((e) => e.status)).toEqual(Array(ROWS).fill("completed"));
    expect(portal.rejected).toBe(0);
    expect(portal.ids.size).toBe(ROWS);
    // Waiting for a token is not an attempt: every step ran exactly once.
    const attempts = await sql`
      select count(*)::int as n, max(attempt) as most from flows.execution_steps s
        join flows.executions e on e.execution_id = s.execution_id where e.flow_id = ${flowId}`;
    expect(attempts[0]).toEqual({ n: ROWS, most: 1 });
    // The tokens came from the shared bucket in Postgres, keyed by portal and user (never the webhook's token).
    const [bucket] = await sql`
      select taken_count::int as taken, capacity, rate_per_second from flows.rate_buckets where destination = ${`${portal.url}/rest/1`}`;
    expect(bucket).toMatchObject({ taken: ROWS, rate_per_second: PER_SECOND });

    const first = portal.acceptedAt[0]!;
    const last = portal.acceptedAt.at(-1)!;
    const afterBurst = portal.acceptedAt.slice(BURST);
    const sustained = (afterBurst.length - 1) / ((afterBurst.at(-1)! - afterBurst[0]!) / 1000);
    console.log(
      `rate limit: ${ROWS} updates in ${((last - first) / 1000).toFixed(2)} s, 0 rejected; ` +
        `${portal.acceptedAt.filter((at) => at - first < 1000).length} in the first second, ` +
        `then ${sustained.toFixed(3)} requests/s after the burst (limit ${PER_SECOND}/s)`,
    );
    // Cross-check of the portal itself: with no rejection, 50 beyond the burst cannot have taken less than 25 s.
    expect(last - first).toBeGreaterThanOrEqual(((ROWS - BURST) / PER_SECOND) * 1000 - 1000);
  }, 120_000);
});
