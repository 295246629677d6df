/** When things go wrong: the function killed mid-execution, and the function down while rows are written. */
import { afterAll, describe, expect, it } from "vitest";
import { connect, eventually, killFunctions, releaseFunctions, stack } from "./helpers.ts";
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

  it("a session terminated inside a db_update fails that attempt only: the function lives on and the step is retried", async () => {
    const { readFileSync } = await import("node:fs");
    const functionsPid = () => Number(readFileSync(`${stack.stateDir}/functions.pid`, "utf8"));
    const table = await createLeadsTable(sql, "leads_session_lost");
    // The first update of the table sleeps, so the function's transaction is caught with its statement in flight. A
    // sequence counts the tries: it is not rolled back with the terminated transaction.
    await sql.unsafe(`
      create sequence public.leads_session_lost_tries;
      create function public.leads_session_lost_slow() returns trigger language plpgsql as $$
      begin
        if nextval('public.leads_session_lost_tries') = 1 then perform pg_sleep(30); end if;
        return new;
      end $$;
      create trigger slow_first_update before update on ${table}
        for each row execute function public.leads_session_lost_slow();`);
    const { flowId } = await publishFlow(sql, "session-lost", {
      trigger: { type: "row_change", table, events: ["INSERT"] },
      steps: [{ id: "mark", type: "db_update", config: { table, key: "{{row.id}}", set: { status: "marked" } }, retry: { max_attempts: 3, delay: 100 } }],
    });
    const pidBefore = functionsPid();
    await sql.unsafe(`insert into ${table} (name) values ('lead')`);
    const [{ pid }] = await eventually(async () => {
      const rows = await sql`
        select pid from pg_stat_activity where application_name = 'flow-engine' and wait_event = 'PgSleep'`;
      return rows.length === 1 ? rows : undefined;
    }, 20_000, "the function's update to be in flight");
    await sql`select pg_terminate_backend(${pid})`;

    const [execution] = await tickUntil(async () => {
      const rows = await sql`select execution_id from flows.executions where flow_id = ${flowId} and status = 'completed'`;
      return rows.length ? rows : undefined;
    }, "the execution to complete after the termination");
    const attempts = await sql`
      select status, error_code as code from flows.execution_steps
       where execution_id = ${execution.execution_id} order by attempt`;
    expect(attempts.map((a) => [a.status, a.code])).toEqual([["failed", "NETWORK_ERROR"], ["completed", null]]);
    expect(await sql.unsafe(`select status from ${table}`)).toEqual([{ status: "marked" }]);
    // The same process throughout: after a crash the supervisor would have started another under a new pid.
    expect(functionsPid()).toBe(pidBefore);
  });
});

