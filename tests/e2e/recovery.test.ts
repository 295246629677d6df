/** When things go wrong: the function killed mid-execution, and the function down while rows are written. */
import { afterAll, describe, expect, it } from "vitest";
import { connect, eventually, killFunctions, releaseFunctions } from "./helpers.ts";
import { createLeadsTable, publishFlow, startTarget, terminalExecutions } from "./flows-helpers.ts";

const sql = connect();
afterAll(() => sql.end());

/** What pg_cron's flows_tick job does every minute; called here so the test need not wait for the minute. */
async function tickUntil<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  return await eventually(async () => {
    await sql`select flows.tick()`;
    return await probe();
  }, timeoutMs, what);
}

describe("recovery", () => {
  it("a function killed mid-execution is resumed later without re-running completed steps", async () => {
    const first = await startTarget();
    let killed = false;
    const slow = await startTarget(({ index }) => (index === 0 ? { delayMs: 10_000 } : {}));
    try {
      const table = await createLeadsTable(sql, "leads_killed");
      const { flowId } = await publishFlow(sql, "survives-kill", {
        trigger: { type: "row_change", table, events: ["INSERT"] },
        steps: [
          { id: "first", type: "http", config: { method: "POST", url: `${first.url}/first` } },
          { id: "second", type: "http", config: { method: "POST", url: `${slow.url}/second` }, retry: { max_attempts: 3, delay: 100 } },
          { id: "third", type: "log", config: { message: "done" } },
        ],
      });
      await sql.unsafe(`insert into ${table} (name) values ('survivor')`);
      await eventually(async () => (slow.requests.length > 0 ? true : undefined), 10_000, "the second step's request");
      await killFunctions();
      killed = true;
      await releaseFunctions();
      const [execution] = await tickUntil(async () => {
        const rows = await sql`select execution_id, status from flows.executions where flow_id = ${flowId} and status = 'completed'`;
        return rows.length ? rows : undefined;
      }, "the execution to complete after the kill");
      expect(execution.status).toBe("completed");
      expect(first.requests.length).toBe(1);
      expect(slow.requests.length).toBe(2);
      expect(slow.requests[1].headers["idempotency-key"]).toBe(slow.requests[0].headers["idempotency-key"]);
      const attempts = await sql`
        select step_id, attempt, status from flows.execution_steps where execution_id = ${execution.execution_id} order by step_attempt_id`;
      expect(attempts.filter((a) => a.step_id === "first").map((a) => a.status)).toEqual(["completed"]);
      expect(attempts.filter((a) => a.step_id === "second").at(-1)?.status).toBe("completed");
    } finally {
      if (killed) await releaseFunctions();
      await first.close();
      await slow.close();
    }
  });

  it("rows written while the function is down are all processed once it is back", async () => {
    const table = await createLeadsTable(sql, "leads_outage");
    const { flowId } = await publishFlow(sql, "after-outage", {
      trigger: { type: "row_change", table, events: ["INSERT"] },
      steps: [{ id: "log", type: "log", config: { message: "lead {{row.id}}" } }],
    });
    await killFunctions({ hold: true });
    try {
      for (let i = 0; i < 50; i++) {
        await sql.unsafe(`insert into ${table} (name) select 'lead ' || g from generate_series(1, 10) g`);
      }
      const [{ n }] = await sql.unsafe(`select count(*)::int as n from flows.events where source_table = 'leads_outage'`);
      expect(n).toBe(500);
    } finally {
      await releaseFunctions();
    }
    const executions = await tickUntil(async () => {
      const rows = await sql`select subject, status from flows.executions where flow_id = ${flowId} and status = 'completed'`;
      return rows.length >= 500 ? rows : undefined;
    }, "500 completed executions", 60_000);
    expect(executions.length).toBe(500);
    expect(new Set(executions.map((e) => e.subject)).size).toBe(500);
  });
});
