/** Manual runs from SQL: flows.start_run as a signed-in member → a pending execution the engine runs at once. */
import { afterAll, describe, expect, it } from "vitest";
import { connect } from "../helpers.ts";
import { publishFlow, terminalExecutions } from "../flows-helpers.ts";
import { asUser, createMember } from "./trigger-helpers.ts";

const sql = connect();
afterAll(() => sql.end());

const greet = {
  trigger: { type: "manual" },
  parameters: { type: "object", required: ["name"], properties: { name: { type: "string" }, lead_id: { type: "integer" } } },
  steps: [{ id: "greet", type: "transform", config: { output: { greeting: "hello {{input.name}}", lead: "{{input.lead_id | default: null}}" } } }],
};

describe("flows.start_run", () => {
  it("a member's run completes with the input, recording who ran it", async () => {
    const { flowId } = await publishFlow(sql, "trg-manual-greet", greet);
    const userId = await createMember(sql, "trg-manual-runner@example.com");
    const executionId = await asUser(sql, userId, async (tx) => {
      const [row] = await tx`select flows.start_run('trg-manual-greet', ${tx.json({ name: "Ada", lead_id: 42 })}) as id`;
      return row.id as string;
    });
    const [execution] = await terminalExecutions(sql, flowId, 1);
    expect(execution.execution_id).toBe(executionId);
    expect(execution.status).toBe("completed");
    const [row] = await sql`select trigger_type, executed_by, input from flows.executions where execution_id = ${executionId}`;
    expect(row).toEqual({ trigger_type: "manual", executed_by: userId, input: { name: "Ada", lead_id: 42 } });
    const [step] = await sql`select status, output from flows.execution_steps where execution_id = ${executionId} and step_id = 'greet'`;
    expect(step).toEqual({ status: "completed", output: { greeting: "hello Ada", lead: 42 } });
  });

  it("input that breaks the parameters is refused with FL007 naming the path (the engine's wording), and nothing is created", async () => {
    const { flowId } = await publishFlow(sql, "trg-manual-strict", greet);
    const userId = await createMember(sql, "trg-manual-strict@example.com");
    const error = await asUser(sql, userId, (tx) => tx`select flows.start_run('trg-manual-strict', ${tx.json({ name: "Ada", lead_id: "42" })})`)
      .then(() => null, (e) => e);
    expect(error).toMatchObject({ code: "FL007", message: "input.lead_id: Expected integer, received string" });
    const [{ n }] = await sql`select count(*)::int as n from flows.executions where flow_id = ${flowId}`;
    expect(n).toBe(0);
  });
});
