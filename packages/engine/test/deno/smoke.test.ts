// Deno smoke test: the same engine source runs under Deno with in-memory ports.
// Run: npx deno test --node-modules-dir=manual packages/engine/test/deno/
// Plain `if (...) throw` instead of an assertion library, so nothing is fetched from a registry.
import {
  builtInRunners,
  compileRules,
  createRegistry,
  runExecution,
  sha256Hex,
  validateFlowDefinition,
} from "../../src/index.ts";
import { createTestPorts } from "../../src/testing/index.ts";
import cases from "../fixtures/structural-cases.json" with { type: "json" };

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

Deno.test("validation agrees with the structural corpus", () => {
  for (const testCase of cases as Array<{ name: string; valid: boolean; definition: unknown }>) {
    const result = validateFlowDefinition(testCase.definition);
    check(result.success === testCase.valid, `${testCase.name}: expected valid=${testCase.valid}`);
  }
  const bad = validateFlowDefinition({ trigger: { type: "manual" }, steps: [{ id: "a", type: "http", config: { url: "nope" } }] });
  check(!bad.success && bad.errors[0]?.path === "steps[0].config.url" && bad.errors[0]?.message === "Invalid URL", "error path");
});

Deno.test("rules compile and evaluate", () => {
  const rule = compileRules({
    all: [
      { field: "priority", op: "in", value: ["High", "Critical"] },
      { field: "amount", op: ">", value: 1000 },
      { field: "status", op: "changed_to", value: "open" },
    ],
  });
  check(rule({ row: { priority: "High", amount: "1500", status: "open" }, old: { status: "new" }, op: "UPDATE" }), "should match");
  check(!rule({ row: { priority: "Low", amount: 1500, status: "open" }, old: { status: "new" }, op: "UPDATE" }), "should not match");
});

Deno.test("executor runs, suspends at a wait and resumes with in-memory ports", async () => {
  const ports = createTestPorts({
    functions: { "send-email": (body) => ({ queued: true, body }) },
    http: {
      // No network in the smoke test: the http runner talks to a fetch stub.
      fetch: async (url, init) => {
        const headers = new Headers(init.headers);
        return Response.json({ url, key: headers.get("idempotency-key") });
      },
      allowPrivateNetworks: false,
    },
  });
  ports.store.seedRows("public.tasks", [{ id: 5, status: "open" }]);
  const parsed = validateFlowDefinition({
    trigger: { type: "row_change", table: "public.tasks", events: ["INSERT", "UPDATE"] },
    when: { field: "priority", op: "eq", value: "High" },
    steps: [
      { id: "check", type: "condition", config: { rules: { field: "priority", op: "eq", value: "High" }, else: null } },
      { id: "call", type: "http", config: { method: "POST", url: "https://api.example.com/tasks/{{row.id}}", body: { id: "{{row.id}}" } } },
      { id: "pause", type: "wait", config: { seconds: 30 } },
      { id: "mark", type: "db_update", config: { table: "tasks", key: "{{row.id}}", set: { status: "notified" } } },
      { id: "email", type: "function_call", config: { function_name: "send-email", body: { task: "{{row.id}}" } } },
      { id: "done", type: "log", config: { message: "task {{row.id}} handled" } },
    ],
  });
  if (!parsed.success) throw new Error(JSON.stringify(parsed.errors));
  const params = {
    execution: { id: "exec-deno", event: { op: "INSERT" as const, table: "public.tasks", row: { id: 5, priority: "High" } } },
    definition: parsed.data,
    registry: createRegistry(builtInRunners()),
    ports,
  };

  const first = await runExecution(params);
  check(first.status === "waiting", `expected waiting, got ${first.status}`);
  ports.clock.advance(30_000);
  const second = await runExecution(params);
  check(second.status === "completed", `expected completed, got ${JSON.stringify(second)}`);
  const outputs = (second.status === "completed" ? second.result.outputs : {}) as { call?: { body: { url: string; key: string } } };
  check(outputs.call?.body.url === "https://api.example.com/tasks/5", "http url rendered");
  check(outputs.call?.body.key === await sha256Hex("exec-deno:call"), "idempotency key");
  check(ports.store.rows("public.tasks")[0]?.status === "notified", "row updated");
  check(ports.functions.calls.length === 1, "function invoked once");
  check(ports.store.attemptsOf("exec-deno").length === 6, "one attempt per step");
});
