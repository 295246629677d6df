/**
 * Parallel and sub_flow steps through the real stack: a row change runs a flow whose branches call a local HTTP target
 * at the same time, and a flow that calls another flow waits for it without holding the function (the database wakes
 * it when the sub-flow ends), fails with it, and is cancelled together with it.
 */
import { afterAll, describe, expect, it } from "vitest";
import { connect, eventually } from "../helpers.ts";
import { createLeadsTable, publishFlow, startTarget, terminalExecutions } from "../flows-helpers.ts";

const sql = connect();
afterAll(() => sql.end());

describe("parallel step", () => {
  it("calls both branches' targets at the same time, then joins their outputs", async () => {
    let inFlight = 0;
    let mostInFlight = 0;
    const target = startTarget(({ path }) => {
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      // Answered later, so a second request can only arrive meanwhile if the branches really overlap.
      setTimeout(() => inFlight--, 400);
      return { body: { from: path }, delayMs: 400 };
    });
    const { url, close } = await target;
    try {
      const table = await createLeadsTable(sql, "leads_parallel");
      const { flowId } = await publishFlow(sql, "fan-out", {
        trigger: { type: "row_change", table, events: ["INSERT"] },
        steps: [
          {
            id: "notify",
            type: "parallel",
            config: {
              branches: [
                { id: "crm", steps: [{ id: "crm_call", type: "http", config: { method: "POST", url: `${url}/crm`, body: { id: "{{row.id}}" } } }] },
                { id: "chat", steps: [{ id: "chat_call", type: "http", config: { method: "POST", url: `${url}/chat`, body: { id: "{{row.id}}" } } }] },
              ],
            },
          },
          { id: "join", type: "transform", config: { output: { crm: "{{steps.crm_call.output.body.from}}", chat: "{{steps.chat_call.output.body.from}}" } } },
        ],
      });
      await sql.unsafe(`insert into ${table} (name) values ('Ada')`);
      const [execution] = await terminalExecutions(sql, flowId, 1);
      expect(execution.status).toBe("completed");
      expect(execution.result.outputs.join).toEqual({ crm: "/crm", chat: "/chat" });
      expect(execution.result.outputs.notify).toEqual({ branches: { crm: "completed", chat: "completed" } });
      expect(mostInFlight).toBe(2);
      const steps = await sql`
        select step_id, step_type, status from flows.execution_steps where execution_id = ${execution.execution_id} order by step_id`;
      expect(steps).toEqual([
        { step_id: "chat_call", step_type: "http", status: "completed" },
        { step_id: "crm_call", step_type: "http", status: "completed" },
        { step_id: "join", step_type: "transform", status: "completed" },
        { step_id: "notify", step_type: "parallel", status: "completed" },
      ]);
    } finally {
      await close();
    }
  });
});

describe("sub_flow step", () => {
  const scoring = {
    trigger: { type: "manual" },
    parameters: { type: "object", required: ["name"], properties: { name: { type: "string" } } },
    steps: [{ id: "score", type: "transform", config: { output: { name: "{{input.name}}", points: 90 } } }],
  };

  it("runs the other flow as its own execution and continues with its outputs once the database wakes it", async () => {
    await publishFlow(sql, "score-lead", scoring);
    const table = await createLeadsTable(sql, "leads_sub_flow");
    const { flowId } = await publishFlow(sql, "qualify-with-score", {
      trigger: { type: "row_change", table, events: ["INSERT"] },
      steps: [
        // The default deadline is a day away: the execution can only finish now because the sub-flow's end wakes it.
        { id: "call", type: "sub_flow", config: { flow: "score-lead", input: { name: "{{row.name}}" } } },
        { id: "save", type: "db_update", config: { table, key: "{{row.id}}", set: { score: "{{steps.call.output.outputs.score.points}}" } } },
      ],
    });
    await sql.unsafe(`insert into ${table} (name) values ('Grace')`);
    const [parent] = await terminalExecutions(sql, flowId, 1);
    expect(parent.status).toBe("completed");
    const [child] = await sql`
      select execution_id, trigger_type, status, input, parent_step_id, call_depth, result from flows.executions
       where parent_execution_id = ${parent.execution_id}`;
    expect(child).toMatchObject({ trigger_type: "sub_flow", status: "completed", input: { name: "Grace" }, parent_step_id: "call", call_depth: 1 });
    expect(parent.result.outputs.call).toEqual({
      execution_id: child.execution_id,
      flow: "score-lead",
      status: "completed",
      outputs: { score: { name: "Grace", points: 90 } },
    });
    const [row] = await sql.unsafe(`select score from ${table}`);
    expect(row.score).toBe(90);
    const [attempt] = await sql`
      select count(*)::int as attempts from flows.execution_steps where execution_id = ${parent.execution_id} and step_id = 'call'`;
    expect(attempt.attempts).toBe(1);
  });

  it("fails with SUB_FLOW_FAILED when the other flow fails, and with SUB_FLOW_UNAVAILABLE when it cannot start", async () => {
    const broken = await startTarget(() => ({ status: 500, body: { error: "down" } }));
    try {
      await publishFlow(sql, "always-fails", {
        trigger: { type: "manual" },
        steps: [{ id: "call_out", type: "http", retry: { max_attempts: 1 }, config: { url: `${broken.url}/x` } }],
      });
      const { flowId } = await publishFlow(sql, "calls-failing", {
        trigger: { type: "manual" },
        steps: [{ id: "call", type: "sub_flow", config: { flow: "always-fails" } }],
      });
      await sql`select flows.start_run('calls-failing')`;
      const [parent] = await terminalExecutions(sql, flowId, 1);
      expect(parent).toMatchObject({ status: "failed", error_code: "SUB_FLOW_FAILED" });
      expect(parent.error_message).toMatch(/flow "always-fails" failed \(HTTP_SERVER_ERROR: /);

      const { flowId: orphanId } = await publishFlow(sql, "calls-nothing", {
        trigger: { type: "manual" },
        steps: [{ id: "call", type: "sub_flow", config: { flow: "no-such-flow" } }],
      });
      await sql`select flows.start_run('calls-nothing')`;
      const [orphan] = await terminalExecutions(sql, orphanId, 1);
      expect(orphan).toMatchObject({ status: "failed", error_code: "SUB_FLOW_UNAVAILABLE", error_message: 'sub_flow: flow "no-such-flow" not found' });
    } finally {
      await broken.close();
    }
  });

  it("wakes a parent whose wait is being recorded at the moment its sub-flow finishes", async () => {
    // Both flows paused, so the running engine leaves these executions alone and the two transactions are ours.
    const { flowId: parentFlow } = await publishFlow(sql, "race-parent", { trigger: { type: "manual" }, steps: [{ id: "call", type: "sub_flow", config: { flow: "race-child" } }] });
    const { flowId: childFlow } = await publishFlow(sql, "race-child", { trigger: { type: "manual" }, steps: [{ id: "x", type: "log", config: { message: "x" } }] });
    await sql`select flows.set_flow_paused(${parentFlow}, true), flows.set_flow_paused(${childFlow}, true)`;
    const [{ id: parentId }] = await sql`select flows.start_run('race-parent') as id`;
    await sql`update flows.executions set status = 'running', lease_owner = 'race', lease_expires_at = now() + interval '1 hour' where execution_id = ${parentId}`;
    const [child] = await sql`select execution_id from flows.start_sub_flow(${parentId}, 'race', 'call', 1, 'race-child', '{}')`;
    await sql`
      insert into flows.execution_steps (execution_id, tenant_id, step_id, step_type, status, attempt, resume_at, output)
      select ${parentId}, tenant_id, 'call', 'sub_flow', 'suspended', 1, now() + interval '1 day',
             jsonb_build_object('execution_id', ${child.execution_id}::text)
        from flows.executions where execution_id = ${parentId}`;
    await sql`update flows.executions set status = 'running' where execution_id = ${child.execution_id}`;

    const parentTx = await sql.reserve();
    const childTx = await sql.reserve();
    try {
      // The parent records its wait (not committed yet: its BEFORE trigger sees an unfinished sub-flow) ...
      await parentTx`begin`;
      await parentTx`update flows.executions set status = 'waiting', resume_at = now() + interval '1 day', lease_owner = null where execution_id = ${parentId}`;
      // ... while the sub-flow finishes in another transaction, which must wait for the parent's row.
      await childTx`begin`;
      const finishing = childTx`update flows.executions set status = 'completed', result = '{"outputs": {}}' where execution_id = ${child.execution_id}`.execute();
      await eventually(async () => {
        const [row] = await sql`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%status = ''completed''%'`;
        return row.n > 0 ? true : undefined;
      }, 5_000, "the sub-flow's update waiting for the parent's row");
      await parentTx`commit`;
      await finishing;
      await childTx`commit`;
    } finally {
      parentTx.release();
      childTx.release();
    }
    const [parent] = await sql`select status, resume_at <= now() as due from flows.executions where execution_id = ${parentId}`;
    expect(parent).toEqual({ status: "waiting", due: true });
    await sql`select flows.request_cancel(${parentId})`;
  });

  it("is cancelled together with the execution that started it", async () => {
    await publishFlow(sql, "slow-child", {
      trigger: { type: "manual" },
      steps: [{ id: "pause", type: "wait", config: { seconds: 600 } }],
    });
    const { flowId } = await publishFlow(sql, "waits-for-slow", {
      trigger: { type: "manual" },
      steps: [{ id: "call", type: "sub_flow", config: { flow: "slow-child" } }],
    });
    const [{ id: parentId }] = await sql`select flows.start_run('waits-for-slow') as id`;
    const child = await eventually(async () => {
      const [row] = await sql`
        select c.execution_id, c.status from flows.executions c
          join flows.executions p on p.execution_id = c.parent_execution_id
         where p.execution_id = ${parentId} and p.status = 'waiting' and c.status = 'waiting'`;
      return row;
    }, 20_000, "the parent and its sub-flow both waiting");
    await sql`select flows.request_cancel(${parentId})`;
    const [parent] = await terminalExecutions(sql, flowId, 1);
    expect(parent.status).toBe("cancelled");
    const [after] = await sql`select status, error_message from flows.executions where execution_id = ${child.execution_id}`;
    expect(after).toEqual({ status: "cancelled", error_message: "Cancelled with its parent execution" });
  });
});
