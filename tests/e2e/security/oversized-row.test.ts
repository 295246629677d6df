/**
 * A 1 MB row in a watched table: the event is captured and processed, the execution completes with the whole value
 * delivered; a 2 MB row whose value a step would send fails with TEMPLATE_OUTPUT_TOO_LARGE, recorded on the attempt.
 * Either way the event is processed and the row is as it was written.
 */
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../helpers.ts";
import { publishFlow, terminalExecutions } from "../flows-helpers.ts";

const sql = connect();
const suffix = Date.now().toString(36);
const table = `public.big_rows_${suffix}`;
let server: Server;
let targetUrl: string;
// Bodies as received, decoded once from all their bytes (a multi-byte character may span two chunks).
const received: Array<{ path: string; body: string }> = [];

const sha = (text: string) => createHash("sha256").update(text).digest("hex");

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({ path: request.url ?? "", body: Buffer.concat(chunks).toString("utf8") });
      response.writeHead(200, { "content-type": "application/json" });
      response.end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  targetUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  await sql.unsafe(`create table ${table} (id bigint generated always as identity primary key, label text not null, body text not null)`);
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await sql.end();
});

describe("oversized rows", () => {
  it("a 1 MB row is processed and delivered whole; a 2 MB row fails with a clear, bounded error", { timeout: 90_000 }, async () => {
    const { flowId } = await publishFlow(sql, `big-rows-${suffix}`, {
      trigger: { type: "row_change", table, events: ["INSERT"] },
      steps: [
        { id: "send", type: "http", config: { method: "POST", url: `${targetUrl}/big`, body: { label: "{{row.label}}", body: "{{row.body}}" } } },
        { id: "done", type: "log", config: { message: "sent {{row.label}}" } },
      ],
    });
    const oneMb = "é".repeat(500_000); // 1,000,000 bytes of UTF-8
    const twoMb = "x".repeat(2_000_000);
    await sql.unsafe(`insert into ${table} (label, body) values ('one', $1)`, [oneMb]);
    await sql.unsafe(`insert into ${table} (label, body) values ('two', $1)`, [twoMb]);

    const executions = await terminalExecutions(sql, flowId, 2, 60_000);
    const bySubject = new Map(executions.map((execution) => [execution.subject as string, execution]));
    const [one, two] = await sql.unsafe(`select id::text from ${table} order by id`);

    // The 1 MB row: completed, and the receiver got every byte.
    const first = bySubject.get(one!.id as string)!;
    expect(first.status).toBe("completed");
    const delivered = received.filter((request) => request.path === "/big").map((request) => JSON.parse(request.body));
    expect(delivered.length).toBe(1);
    expect(delivered[0].label).toBe("one");
    expect(sha(delivered[0].body)).toBe(sha(oneMb));

    // The 2 MB row: failed at the step that would send it, with the bound named; nothing was sent for it.
    const second = bySubject.get(two!.id as string)!;
    expect(second.status).toBe("failed");
    expect(second.error_code).toBe("TEMPLATE_OUTPUT_TOO_LARGE");
    expect(second.error_message).toMatch(/rendered configuration is (larger than \d+ bytes|\d+ bytes; the limit is \d+)/);
    const attempts = await sql`
      select step_id, status, error_code from flows.execution_steps where execution_id = ${second.execution_id} order by step_attempt_id`;
    expect(attempts).toEqual([{ step_id: "send", status: "failed", error_code: "TEMPLATE_OUTPUT_TOO_LARGE" }]);

    // Nothing lost: both events processed with their full rows, and the table holds what was written.
    const events = await sql`
      select row_key, processed_at is not null as processed, octet_length(new_row ->> 'body') as bytes
        from flows.events where source_table = ${`big_rows_${suffix}`} order by event_id`;
    expect(events).toEqual([
      { row_key: one!.id, processed: true, bytes: 1_000_000 },
      { row_key: two!.id, processed: true, bytes: 2_000_000 },
    ]);
    const rows = await sql.unsafe(`select label, md5(body) as digest from ${table} order by id`);
    expect(rows).toEqual([
      { label: "one", digest: createHash("md5").update(oneMb).digest("hex") },
      { label: "two", digest: createHash("md5").update(twoMb).digest("hex") },
    ]);
  });
});
