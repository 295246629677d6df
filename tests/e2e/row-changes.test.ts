/** Row changes run flows end to end: capture trigger → events → pg_net kick → flow-engine → executions. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, eventually, stack } from "./helpers.ts";
import { createLeadsTable, publishFlow, publishVersion, startTarget, type Target, terminalExecutions } from "./flows-helpers.ts";

const sql = connect();
let crm: Target;
let notify: Target;

beforeAll(async () => {
  crm = await startTarget(({ path }) =>
    path.includes("crm.lead.update") ? { body: { result: true } } : { status: 404, body: { error: "ERROR_METHOD_NOT_FOUND" } }
  );
  notify = await startTarget();
});
afterAll(async () => {
  await crm.close();
  await notify.close();
  await sql.end();
});

function qualifyLead(table: string, extra: Record<string, unknown> = {}) {
  return {
    trigger: { type: "row_change", table, events: ["INSERT", "UPDATE"] },
    when: { all: [{ field: "status", op: "eq", value: "new" }, { field: "priority", op: "in", value: ["high", "urgent"] }] },
    steps: [
      {
        id: "update_crm",
        type: "tabular",
        name: "Mark the lead qualified",
        config: { webhook_url: `${crm.url}/rest/1/token`, entity: "lead", id: "{{row.id}}", field: "STATUS_ID", value: "QUALIFIED" },
      },
      {
        id: "notify",
        type: "http",
        config: { method: "POST", url: `${notify.url}/notify`, body: { lead: "{{row.id}}", crm: "{{steps.update_crm.output.result}}" } },
      },
    ],
    ...extra,
  };
}

describe("row changes run flows", () => {
  it("an INSERT that matches the rules completes an execution with the right step outputs", async () => {
    const table = await createLeadsTable(sql, "leads_insert");
    const { flowId } = await publishFlow(sql, "qualify-insert", qualifyLead(table));
    await sql.unsafe(`insert into ${table} (name, status, priority) values ('Ada', 'new', 'high'), ('Bob', 'new', 'low')`);
    const [execution] = await terminalExecutions(sql, flowId, 1);
    expect(execution.status).toBe("completed");
    const steps = await sql`
      select step_id, status, attempt, output from flows.execution_steps where execution_id = ${execution.execution_id} order by step_attempt_id`;
    expect(steps.map((s) => [s.step_id, s.status])).toEqual([["update_crm", "completed"], ["notify", "completed"]]);
    const crmCall = crm.requests.find((r) => JSON.parse(r.body).id === Number(execution.subject));
    expect(JSON.parse(crmCall!.body)).toEqual({ id: Number(execution.subject), fields: { STATUS_ID: "QUALIFIED" } });
    // Bob is low priority: no execution, ever.
    await new Promise((r) => setTimeout(r, 300));
    const all = await sql`select count(*)::int as n from flows.executions where flow_id = ${flowId}`;
    expect(all[0].n).toBe(1);
  });

  it("an inactive flow runs nothing", async () => {
    const table = await createLeadsTable(sql, "leads_inactive");
    const { flowId } = await publishFlow(sql, "qualify-inactive", qualifyLead(table));
    await sql`select flows.set_flow_active(${flowId}, false)`;
    await sql.unsafe(`insert into ${table} (name, status, priority) values ('Cy', 'new', 'high')`);
    await new Promise((r) => setTimeout(r, 500));
    const rows = await sql`select count(*)::int as n from flows.executions where flow_id = ${flowId}`;
    expect(rows[0].n).toBe(0);
    const events = await sql.unsafe(`select count(*)::int as n from flows.events where source_table = 'leads_inactive'`);
    expect(events[0].n).toBe(0);
  });

  it("UPDATE with changed_to runs only when the field changes to the value", async () => {
    const table = await createLeadsTable(sql, "leads_update");
    const { flowId } = await publishFlow(sql, "on-won", {
      trigger: { type: "row_change", table, events: ["UPDATE"] },
      when: { field: "status", op: "changed_to", value: "won" },
      steps: [{ id: "log", type: "log", config: { message: "lead {{row.id}} won" } }],
    });
    await sql.unsafe(`insert into ${table} (name) values ('Dee')`);
    await sql.unsafe(`update ${table} set score = 5`);
    await sql.unsafe(`update ${table} set status = 'won'`);
    await sql.unsafe(`update ${table} set score = 6`);
    const [execution] = await terminalExecutions(sql, flowId, 1);
    expect(execution.status).toBe("completed");
    await new Promise((r) => setTimeout(r, 300));
    expect((await sql`select count(*)::int as n from flows.executions where flow_id = ${flowId}`)[0].n).toBe(1);
  });

  it("a newly published version is used by new events; executions keep their pinned version", async () => {
    const table = await createLeadsTable(sql, "leads_versions");
    const base = {
      trigger: { type: "row_change", table, events: ["INSERT"] },
      steps: [{ id: "log", type: "log", config: { message: "v1 {{row.id}}" } }],
    };
    const { flowId, versionId: v1 } = await publishFlow(sql, "versioned", base);
    await sql.unsafe(`insert into ${table} (name) values ('first')`);
    await terminalExecutions(sql, flowId, 1);
    const v2 = await publishVersion(sql, flowId, { ...base, steps: [{ id: "log2", type: "log", config: { message: "v2" } }] });
    await sql.unsafe(`insert into ${table} (name) values ('second')`);
    const executions = await terminalExecutions(sql, flowId, 2);
    expect(executions.map((e) => e.version_id)).toEqual([v1, v2]);
  });

  it("a rollback publishes the old definition as a new version, used by new events", async () => {
    const table = await createLeadsTable(sql, "leads_rollback");
    const v1Definition = {
      trigger: { type: "row_change", table, events: ["INSERT"] },
      steps: [{ id: "shape", type: "transform", config: { output: { version: "one" } } }],
    };
    const { flowId, versionId: v1 } = await publishFlow(sql, "rolls-back", v1Definition);
    await publishVersion(sql, flowId, { ...v1Definition, steps: [{ id: "shape", type: "transform", config: { output: { version: "two" } } }] });
    const [{ version_id: v3, version_number }] = await sql`
      select (r).version_id, (r).version_number from (select flows.rollback_to_version(${flowId}, ${v1}, 'two was wrong') as r) x`;
    expect(version_number).toBe(3);
    await sql.unsafe(`insert into ${table} (name) values ('after rollback')`);
    const [execution] = await terminalExecutions(sql, flowId, 1);
    expect(execution.version_id).toBe(v3);
    expect(execution.result.outputs.shape).toEqual({ version: "one" });
  });

  it("a flow whose db_update re-triggers itself stops at the causation depth limit, recorded", async () => {
    const table = await createLeadsTable(sql, "leads_loop");
    const { flowId } = await publishFlow(sql, "loops", {
      trigger: { type: "row_change", table, events: ["UPDATE"] },
      steps: [{ id: "touch", type: "db_update", config: { table, key: "{{row.id}}", set: { status: "touched" } } }],
    });
    await sql.unsafe(`insert into ${table} (name) values ('loop')`);
    await sql.unsafe(`update ${table} set status = 'start'`);
    const stopped = await eventually(async () => {
      const [row] = await sql`
        select causation_depth, error_message from flows.events
         where source_table = 'leads_loop' and error_message is not null`;
      return row;
    }, 20_000, "the loop guard to stop the chain");
    expect(stopped.causation_depth).toBe(6);
    expect(stopped.error_message).toMatch(/causation depth 6 exceeds the limit of 5/);
    const executions = await terminalExecutions(sql, flowId, 6);
    expect(executions.length).toBe(6);
    expect(executions.every((e) => e.status === "completed")).toBe(true);
  });

  it("a bulk insert of 1,000 rows makes exactly 1,000 executions", async () => {
    const table = await createLeadsTable(sql, "leads_bulk");
    const { flowId } = await publishFlow(sql, "bulk", {
      trigger: { type: "row_change", table, events: ["INSERT"] },
      steps: [{ id: "log", type: "log", config: { message: "lead {{row.id}}" } }],
    });
    await sql.unsafe(`insert into ${table} (name) select 'lead ' || g from generate_series(1, 1000) g`);
    const executions = await terminalExecutions(sql, flowId, 1000, 60_000);
    expect(executions.length).toBe(1000);
    expect(new Set(executions.map((e) => e.subject)).size).toBe(1000);
    expect(executions.every((e) => e.status === "completed")).toBe(true);
  });

  it("a retryable failure is retried, then succeeds", async () => {
    const flaky = await startTarget(({ index }) => (index < 2 ? { status: 503, body: { error: "busy" } } : { body: { ok: 1 } }));
    try {
      const table = await createLeadsTable(sql, "leads_flaky");
      const { flowId } = await publishFlow(sql, "flaky", {
        trigger: { type: "row_change", table, events: ["INSERT"] },
        steps: [{ id: "call", type: "http", config: { method: "POST", url: `${flaky.url}/x`, body: { id: "{{row.id}}" } }, retry: { max_attempts: 5, delay: 50, backoff: "fixed" } }],
      });
      await sql.unsafe(`insert into ${table} (name) values ('flaky')`);
      const [execution] = await terminalExecutions(sql, flowId, 1);
      expect(execution.status).toBe("completed");
      const attempts = await sql`select attempt, status from flows.execution_steps where execution_id = ${execution.execution_id} order by attempt`;
      expect(attempts.map((a) => a.status)).toEqual(["failed", "failed", "completed"]);
      // Every attempt carried the same Idempotency-Key, so the receiver can de-duplicate.
      expect(new Set(flaky.requests.map((r) => r.headers["idempotency-key"])).size).toBe(1);
    } finally {
      await flaky.close();
    }
  });

  it("a non-retryable 4xx fails the execution with a clear error; continue_on_error lets it go on", async () => {
    const rejecting = await startTarget(() => ({ status: 422, body: { error: "unprocessable" } }));
    try {
      const table = await createLeadsTable(sql, "leads_4xx");
      const { flowId } = await publishFlow(sql, "rejects", {
        trigger: { type: "row_change", table, events: ["INSERT"] },
        when: { field: "name", op: "ne", value: "ignored" },
        steps: [
          { id: "optional", type: "http", continue_on_error: true, config: { method: "POST", url: `${rejecting.url}/a` } },
          { id: "required", type: "http", config: { method: "POST", url: `${rejecting.url}/b` } },
          { id: "never", type: "log", config: { message: "not reached" } },
        ],
      });
      await sql.unsafe(`insert into ${table} (name) values ('x')`);
      const [execution] = await terminalExecutions(sql, flowId, 1);
      expect(execution.status).toBe("failed");
      expect(execution.error_code).toBe("HTTP_CLIENT_ERROR");
      expect(execution.error_message).toMatch(/422/);
      const steps = await sql`select step_id, status from flows.execution_steps where execution_id = ${execution.execution_id} order by step_attempt_id`;
      expect(steps.map((s) => `${s.step_id}:${s.status}`)).toEqual(["optional:failed", "required:failed"]);
      expect(rejecting.requests.length).toBe(2);
    } finally {
      await rejecting.close();
    }
  });

  it("a wait suspends the execution; the tick resumes it once due", async () => {
    const table = await createLeadsTable(sql, "leads_wait");
    const { flowId } = await publishFlow(sql, "waits", {
      trigger: { type: "row_change", table, events: ["INSERT"] },
      steps: [
        { id: "pause", type: "wait", config: { seconds: 8 } },
        { id: "after", type: "log", config: { message: "resumed" } },
      ],
    });
    await sql.unsafe(`insert into ${table} (name) values ('patient')`);
    const waiting = await eventually(async () => {
      const [row] = await sql`select execution_id, status, resume_at from flows.executions where flow_id = ${flowId} and status = 'waiting'`;
      return row;
    }, 10_000, "a waiting execution");
    expect(waiting.resume_at.getTime()).toBeGreaterThan(Date.now() + 4_000);
    // No invocation holds it meanwhile: the function is free. Make it due, then let the tick (pg_cron's job) wake the engine.
    await sql`update flows.executions set resume_at = now() - interval '1 second' where execution_id = ${waiting.execution_id}`;
    await sql`update flows.execution_steps set resume_at = now() - interval '1 second' where execution_id = ${waiting.execution_id} and status = 'suspended'`;
    // An invocation still draining may take it first; otherwise the tick wakes one. Either way it resumes.
    await sql`select flows.tick()`;
    const [execution] = await terminalExecutions(sql, flowId, 1);
    expect(execution.status).toBe("completed");
    const steps = await sql`select step_id, status from flows.execution_steps where execution_id = ${waiting.execution_id} order by step_attempt_id`;
    expect(steps.map((s) => `${s.step_id}:${s.status}`)).toEqual(["pause:completed", "after:completed"]);
  });

  it("an unauthenticated kick gets 401 and a member's token gets 403 on the drain route", async () => {
    const anonymous = await fetch(`${stack.apiUrl}/functions/v1/flow-engine`, { method: "POST", body: "{}" });
    expect(anonymous.status).toBe(401);
    const anon = await fetch(`${stack.apiUrl}/functions/v1/flow-engine`, {
      method: "POST",
      headers: { Authorization: `Bearer ${stack.anonKey}` },
      body: "{}",
    });
    expect(anon.status).toBe(403);
    expect((await anon.json()).error.code).toBe("forbidden");
  });
});
