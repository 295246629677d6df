/** Helpers for end-to-end flow tests: a watched table, a published flow, and local HTTP targets. */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type postgres from "postgres";
import { eventually } from "./helpers.ts";

/** Creates a fresh table for one test (unique name, so tests never see each other's rows). */
export async function createLeadsTable(sql: postgres.Sql, name: string): Promise<string> {
  await sql.unsafe(`
    create table public.${name} (
      id bigint generated always as identity primary key,
      name text not null,
      status text not null default 'new',
      priority text not null default 'low',
      score integer not null default 0
    )`);
  return `public.${name}`;
}

/** Creates a flow with one published version (as the postgres role, i.e. an admin at the SQL prompt). */
export async function publishFlow(sql: postgres.Sql, key: string, definition: unknown): Promise<{ flowId: string; versionId: string }> {
  const [{ flow_id: flowId }] = await sql`select (flows.create_flow(${key}, ${"Flow " + key})).flow_id`;
  const versionId = await publishVersion(sql, flowId, definition);
  return { flowId, versionId };
}

/** Publishes a new version of a flow. */
export async function publishVersion(sql: postgres.Sql, flowId: string, definition: unknown): Promise<string> {
  const [{ version_id: versionId }] = await sql`
    select (flows.create_draft(${flowId}, ${sql.json(definition as postgres.JSONValue)})).version_id`;
  await sql`select flows.publish_version(${versionId})`;
  return versionId;
}

/** Waits until `count` executions of the flow are terminal and returns them. */
export async function terminalExecutions(sql: postgres.Sql, flowId: string, count: number, timeoutMs = 20_000) {
  return await eventually(async () => {
    const rows = await sql`
      select execution_id, status, subject, version_id, error_code, error_message, result, attempt_count
        from flows.executions where flow_id = ${flowId} and status in ('completed', 'failed', 'cancelled')
       order by created_at`;
    return rows.length >= count ? rows : undefined;
  }, timeoutMs, `${count} terminal executions of flow ${flowId}`);
}

/** A local HTTP target that records requests and answers with `respond`. */
export interface Target {
  url: string;
  requests: { method: string; path: string; headers: IncomingMessage["headers"]; body: string }[];
  close(): Promise<void>;
}

/** Starts a target on a free loopback port. */
export async function startTarget(
  respond: (request: { method: string; path: string; body: string; index: number }) => { status?: number; body?: unknown; delayMs?: number } = () => ({}),
): Promise<Target> {
  const requests: Target["requests"] = [];
  const server: Server = createServer((req, res) => {
    // Chunks are joined as bytes before decoding: a multi-byte character may be split across two chunks.
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      requests.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body });
      const answer = respond({ method: req.method ?? "", path: req.url ?? "", body, index: requests.length - 1 });
      const send = () => {
        res.writeHead(answer.status ?? 200, { "content-type": "application/json" });
        res.end(JSON.stringify(answer.body ?? { ok: true }));
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
