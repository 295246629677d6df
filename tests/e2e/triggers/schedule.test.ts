/** Schedules: publishing installs the flow's pg_cron job; each firing (flows.fire_schedule, what the job runs) completes an execution. */
import { afterAll, describe, expect, it } from "vitest";
import { connect, eventually, killFunctions, releaseFunctions } from "../helpers.ts";
import { publishFlow, terminalExecutions } from "../flows-helpers.ts";

const sql = connect();
afterAll(() => sql.end());

// A schedule that does not come round while the tests run, so only the firings the tests make happen.
const schedule = (key: string) => ({
  trigger: { type: "schedule", cron: "17 3 1 1 *" },
  steps: [{ id: "log", type: "log", config: { message: `${key} ran for {{execution.flow_id}}` } }],
});

async function job(flowId: string) {
  const [row] = await sql`select schedule, command, active from cron.job where jobname = flows.schedule_job_name(${flowId})`;
  return row;
}

describe("schedules", () => {
  it("publishing installs the cron job; a firing completes an execution; deactivating removes the job", async () => {
    const { flowId } = await publishFlow(sql, "trg-schedule-nightly", schedule("nightly"));
    expect(await job(flowId)).toEqual({ schedule: "17 3 1 1 *", command: `select flows.fire_schedule('${flowId}')`, active: true });

    const [{ id }] = await sql`select flows.fire_schedule(${flowId}) as id`;
    const [execution] = await terminalExecutions(sql, flowId, 1);
    expect(execution.execution_id).toBe(id);
    expect(execution.status).toBe("completed");
    const [row] = await sql`select trigger_type, input from flows.executions where execution_id = ${id}`;
    expect(row.trigger_type).toBe("schedule");
    expect(row.input.scheduled_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00Z$/);

    await sql`select flows.set_flow_active(${flowId}, false)`;
    expect(await job(flowId)).toBeUndefined();
  });

  it("firings missed while the function is down run once when it returns", async () => {
    const { flowId } = await publishFlow(sql, "trg-schedule-outage", schedule("outage"));
    await killFunctions({ hold: true });
    try {
      // Three minutes' worth of firings while nothing can run them.
      const fired = [];
      for (let i = 0; i < 3; i++) fired.push((await sql`select flows.fire_schedule(${flowId}) as id`)[0].id);
      expect(fired.filter((id) => id !== null).length).toBe(1);
      const [{ n }] = await sql`select count(*)::int as n from flows.executions where flow_id = ${flowId} and status = 'pending'`;
      expect(n).toBe(1);
    } finally {
      await releaseFunctions();
    }
    // What pg_cron's flows_tick does every minute: wake the function for the waiting execution.
    const executions = await eventually(async () => {
      await sql`select flows.tick()`;
      const rows = await sql`select status from flows.executions where flow_id = ${flowId} and status = 'completed'`;
      return rows.length ? rows : undefined;
    }, 30_000, "the missed firing to run");
    expect(executions.length).toBe(1);
    const [{ n }] = await sql`select count(*)::int as n from flows.executions where flow_id = ${flowId}`;
    expect(n).toBe(1);
  });
});
