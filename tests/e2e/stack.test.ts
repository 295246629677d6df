/** The local stack's whole path: SQL calls net.http_post, the pg_net stand-in delivers it to the function. */
import { afterAll, describe, expect, it } from "vitest";
import { connect, eventually, stack } from "./helpers.ts";

const sql = connect();
afterAll(() => sql.end());

async function responseTo(requestId: string) {
  return await eventually(async () => {
    const [row] = await sql`select status_code, content, timed_out, error_msg from net._http_response where id = ${requestId}`;
    return row;
  }, 10_000, `the response to request ${requestId}`);
}

describe("pg_net stand-in → flow-engine", () => {
  it("delivers a request made with the service key after commit, and records 200", async () => {
    const [{ id }] = await sql`
      select net.http_get(
        url := (select decrypted_secret from vault.decrypted_secrets where name = 'flows_engine_url') || '/health',
        headers := jsonb_build_object('Authorization', 'Bearer ' || (select decrypted_secret from vault.decrypted_secrets where name = 'flows_engine_key'))
      ) as id`;
    const response = await responseTo(id);
    expect(response.status_code).toBe(200);
    expect(JSON.parse(response.content)).toMatchObject({ ok: true, function: "flow-engine" });
  });

  it("records 401 for a call without a valid key", async () => {
    const [{ id }] = await sql`
      select net.http_post(url := ${stack.apiUrl + "/functions/v1/flow-engine"}, body := '{}'::jsonb,
        headers := '{"Authorization": "Bearer not-a-token", "Content-Type": "application/json"}'::jsonb) as id`;
    const response = await responseTo(id);
    expect(response.status_code).toBe(401);
    expect(JSON.parse(response.content).code).toBe("invalid_jwt");
  });

  it("sends nothing from a transaction that rolled back", async () => {
    const marker = `rollback-${Date.now()}`;
    await sql.begin(async (tx) => {
      await tx`select net.http_get(${stack.apiUrl + "/functions/v1/flow-engine/health?m=" + marker})`;
      await tx`select 1/0`;
    }).catch(() => {});
    await new Promise((r) => setTimeout(r, 300));
    const rows = await sql`select 1 from net.http_request_queue where url like ${"%" + marker}`;
    expect(rows.length).toBe(0);
  });

  it("records a timeout when the target is slower than timeout_milliseconds", async () => {
    const { createServer } = await import("node:http");
    const server = createServer((_req, res) => setTimeout(() => res.end("late"), 1_000));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      const [{ id }] = await sql`select net.http_get(${`http://127.0.0.1:${port}/slow`}, timeout_milliseconds := 100) as id`;
      const response = await responseTo(id);
      expect(response.timed_out).toBe(true);
      expect(response.status_code).toBeNull();
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
