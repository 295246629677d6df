/** Webhooks: a signed POST to /functions/v1/flow-hooks/<flow key> starts an execution with the body as its input. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../helpers.ts";
import { publishFlow, terminalExecutions } from "../flows-helpers.ts";
import { postHook, signature } from "./trigger-helpers.ts";

const sql = connect();
let flowId = "";
let secret = "";

const leadHook = {
  trigger: { type: "webhook" },
  parameters: {
    type: "object",
    required: ["lead_id"],
    properties: { lead_id: { type: "integer" }, source: { type: "string", enum: ["form", "ads"] } },
  },
  steps: [{ id: "echo", type: "transform", config: { output: { lead: "{{input.lead_id}}", source: "{{input.source | default: \"unknown\"}}" } } }],
};

beforeAll(async () => {
  ({ flowId } = await publishFlow(sql, "trg-hook-leads", leadHook));
  [{ secret }] = await sql`select flows.rotate_webhook_secret(${flowId}) as secret`;
});
afterAll(() => sql.end());

async function executionCount(): Promise<number> {
  const [{ n }] = await sql`select count(*)::int as n from flows.executions where flow_id = ${flowId}`;
  return n;
}

describe("flow-hooks", () => {
  it("a good signature → 202 with the execution id, and the execution completes with the body as its input", async () => {
    const before = await executionCount();
    const body = JSON.stringify({ lead_id: 7, source: "ads" });
    const response = await postHook("trg-hook-leads", body, { secret });
    expect(response.status).toBe(202);
    const { execution_id: executionId } = await response.json();
    expect(executionId).toMatch(/^[0-9a-f-]{36}$/);
    const executions = await terminalExecutions(sql, flowId, before + 1);
    const execution = executions.find((e) => e.execution_id === executionId)!;
    expect(execution.status).toBe("completed");
    const [row] = await sql`select trigger_type, input, executed_by from flows.executions where execution_id = ${executionId}`;
    expect(row).toEqual({ trigger_type: "webhook", input: { lead_id: 7, source: "ads" }, executed_by: null });
    const [step] = await sql`select output from flows.execution_steps where execution_id = ${executionId} and step_id = 'echo'`;
    expect(step.output).toEqual({ lead: 7, source: "ads" });
  });

  it("the tenant may be named in the path", async () => {
    const response = await postHook(`00000000-0000-0000-0000-000000000001/trg-hook-leads`, '{"lead_id": 8}', { secret });
    expect(response.status).toBe(202);
  });

  it("a bad signature, a stale timestamp or no signature → 401 and no execution", async () => {
    const before = await executionCount();
    const body = '{"lead_id": 9}';
    const wrong = await postHook("trg-hook-leads", body, { secret: "not-the-secret" });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: { code: "unauthorized", message: "the signature does not match" } });
    const staleAt = Math.floor(Date.now() / 1000) - 301;
    const stale = await postHook("trg-hook-leads", body, { secret, timestamp: staleAt });
    expect(stale.status).toBe(401);
    expect((await stale.json()).error.message).toMatch(/more than 300 seconds/);
    const unsigned = await postHook("trg-hook-leads", body, { headers: { "Content-Type": "application/json" } });
    expect(unsigned.status).toBe(401);
    // A signature replayed with a different body.
    const now = Math.floor(Date.now() / 1000);
    const replayed = await postHook("trg-hook-leads", '{"lead_id": 10}', {
      headers: { "X-Flows-Timestamp": String(now), "X-Flows-Signature": signature(secret, now, body) },
    });
    expect(replayed.status).toBe(401);
    await new Promise((r) => setTimeout(r, 200));
    expect(await executionCount()).toBe(before);
  });

  it("a body that breaks the parameters or is not JSON → 400 naming the problem", async () => {
    const before = await executionCount();
    const wrongType = await postHook("trg-hook-leads", '{"lead_id": "seven"}', { secret });
    expect(wrongType.status).toBe(400);
    expect((await wrongType.json()).error).toMatchObject({ code: "invalid_parameters", message: "input.lead_id: Expected integer, received string" });
    const badEnum = await postHook("trg-hook-leads", '{"lead_id": 1, "source": "tv"}', { secret });
    expect(badEnum.status).toBe(400);
    expect((await badEnum.json()).error.message).toMatch(/^input\.source: /);
    const notJson = await postHook("trg-hook-leads", "lead_id=1", { secret });
    expect(notJson.status).toBe(400);
    expect((await notJson.json()).error.code).toBe("invalid_json");
    expect(await executionCount()).toBe(before);
  });

  it("an unknown flow or a flow that is not a webhook flow → 404", async () => {
    const unknown = await postHook("trg-hook-nobody", "{}", { secret });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: { code: "not_found", message: 'flow "trg-hook-nobody" not found' } });
    const { flowId: manualId } = await publishFlow(sql, "trg-hook-manual", {
      trigger: { type: "manual" },
      steps: [{ id: "log", type: "log", config: { message: "hi" } }],
    });
    const [{ secret: manualSecret }] = await sql`select flows.rotate_webhook_secret(${manualId}) as secret`;
    const manual = await postHook("trg-hook-manual", "{}", { secret: manualSecret });
    expect(manual.status).toBe(404);
    expect((await manual.json()).error.message).toBe('flow "trg-hook-manual" is not a webhook flow');
    const otherTenant = await postHook("00000000-0000-0000-0000-000000000002/trg-hook-leads", "{}", { secret });
    expect(otherTenant.status).toBe(404);
  });

  it("rotating the secret retires the old one at once", async () => {
    const { flowId: rotatedId } = await publishFlow(sql, "trg-hook-rotated", leadHook);
    const [{ secret: first }] = await sql`select flows.rotate_webhook_secret(${rotatedId}) as secret`;
    const [{ secret: second }] = await sql`select flows.rotate_webhook_secret(${rotatedId}) as secret`;
    expect((await postHook("trg-hook-rotated", '{"lead_id": 1}', { secret: first })).status).toBe(401);
    expect((await postHook("trg-hook-rotated", '{"lead_id": 1}', { secret: second })).status).toBe(202);
  });
});
