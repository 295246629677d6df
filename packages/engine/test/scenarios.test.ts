import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builtInRunners, compileWhen, createRegistry, type FlowDefinition, runExecution, validateFlowDefinition } from "../src/index.ts";
import { createTestPorts } from "../src/testing/index.ts";
import { sendJson, startServer, type TestServer } from "./helpers/server.ts";

// The worked examples of docs/flow-definition.md, run end to end against local servers.
const doc = readFileSync(new URL("../../../docs/flow-definition.md", import.meta.url), "utf8");
function example(name: string): FlowDefinition {
  const block = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((match) => JSON.parse(match[1]!)).find((json) => json.name === name);
  const result = validateFlowDefinition(block);
  if (!result.success) throw new Error(JSON.stringify(result.errors));
  return result.data;
}

let bitrix: TestServer;
let slack: TestServer;
beforeAll(async () => {
  let calls = 0;
  bitrix = await startServer((request, response) => {
    // The first call hits the rate limit, as Bitrix24 does under load.
    if (++calls === 1) return sendJson(response, 503, { error: "QUERY_LIMIT_EXCEEDED", error_description: "Too many requests" });
    if (!request.path.endsWith("/crm.lead.update")) return sendJson(response, 404, { error: "ERROR_METHOD_NOT_FOUND" });
    sendJson(response, 200, { result: true });
  });
  slack = await startServer((_request, response) => {
    response.writeHead(200, { "content-type": "text/plain" });
    response.end("ok");
  });
});
afterAll(async () => {
  await bitrix.close();
  await slack.close();
});

describe("scenario: qualify a lead in Bitrix24", () => {
  const definition = example("Qualify lead in Bitrix24");
  const row = { id: 10, bitrix_id: 5501, score: 82, email: "ana@acme.com", status: "new" };

  it("matches only qualifying rows", () => {
    const when = compileWhen(definition.when);
    expect(when({ row, op: "UPDATE" })).toBe(true);
    expect(when({ row: { ...row, score: 50 }, op: "UPDATE" })).toBe(false);
    expect(when({ row: { ...row, status: "qualified" }, op: "UPDATE" })).toBe(false);
  });

  it("updates Bitrix (after a rate limit), marks the row and logs, without persisting the webhook token", async () => {
    const webhook = `${bitrix.url}/rest/1/s3cr3t-webhook-token/`;
    const ports = createTestPorts({ secrets: { bitrix_webhook_url: webhook }, random: () => 1 });
    ports.store.seedRows("public.leads", [{ ...row }]);
    const outcome = await runExecution({
      execution: { id: "exec-lead", event: { op: "UPDATE", table: "public.leads", row, old: { ...row, score: 60 } } },
      definition,
      registry: createRegistry(builtInRunners()),
      ports,
    });
    expect(outcome).toMatchObject({ status: "completed", result: { outputs: { done: { message: "lead 10 qualified in Bitrix24 as 5501" } } } });
    const update = bitrix.requests.at(-1)!;
    expect(update.path).toBe("/rest/1/s3cr3t-webhook-token/crm.lead.update");
    expect(JSON.parse(update.body)).toEqual({
      id: 5501,
      fields: { STATUS_ID: "QUALIFIED", UF_CRM_SCORE: 82, COMMENTS: "Qualified automatically (score 82)" },
    });
    expect(ports.clock.sleeps).toEqual([1000]);
    expect(ports.store.rows("public.leads")[0]).toMatchObject({ status: "qualified", qualified_by_execution: "exec-lead" });
    expect(JSON.stringify(ports.store.attempts)).not.toContain("s3cr3t-webhook-token");
  });
});

describe("scenario: notify a PM on a high-priority task", () => {
  const definition = example("Notify PM on high-priority task");
  const task = { id: 77, title: "Server down", priority: "High", status: "Open", assignee_id: null, pm_email: "pm@acme.com" };

  it("fires once per escalation", () => {
    const when = compileWhen(definition.when);
    expect(when({ row: task, old: { ...task, priority: "Low" }, op: "UPDATE" })).toBe(true);
    expect(when({ row: task, old: task, op: "UPDATE" })).toBe(false);
  });

  it("posts to Slack, waits five minutes, emails the PM and starts the task", async () => {
    const ports = createTestPorts({
      secrets: { slack_webhook_url: `${slack.url}/hooks/T000/B000` },
      functions: { "send-email": (body) => ({ queued: true, to: (body as { to: string }).to }) },
    });
    ports.store.seedRows("public.tasks", [{ ...task }]);
    const params = {
      execution: { id: "exec-task", event: { op: "UPDATE" as const, table: "public.tasks", row: task, old: { ...task, priority: "Low" } } },
      definition,
      registry: createRegistry(builtInRunners()),
      ports,
    };
    const first = await runExecution(params);
    expect(first).toMatchObject({ status: "waiting", reason: "wait", stepId: "grace", resumeAt: new Date("2025-01-01T00:05:00Z") });
    expect(JSON.parse(slack.requests.at(-1)!.body)).toEqual({ text: "High-priority task: Server down https://app.example.com/tasks/77" });

    ports.clock.advance(300_000);
    const second = await runExecution(params);
    expect(second).toMatchObject({ status: "completed", result: { outputs: { still_unassigned: { matched: true }, email_pm: { queued: true, to: "pm@acme.com" } } } });
    expect(ports.functions.calls[0]!.body).toEqual({ to: "pm@acme.com", subject: "Unassigned high-priority task: Server down", slack_posted: "completed" });
    expect(ports.store.rows("public.tasks")[0]!.status).toBe("In Progress");
    expect(ports.store.updates[0]!.causation).toMatchObject({ executionId: "exec-task", stepId: "start" });
    expect(slack.requests).toHaveLength(1);
  });
});
