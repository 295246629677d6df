import { describe, expect, it } from "vitest";
import {
  builtInRunners,
  conditionRunner,
  createRegistry,
  createWaitRunner,
  dbUpdateRunner,
  functionCallRunner,
  logRunner,
  runExecution,
  transformRunner,
  validateFlowDefinition,
  waitRunner,
} from "../src/index.ts";
import { createTestPorts, FakeClock, InMemoryFunctions, InMemoryStore } from "../src/testing/index.ts";
import { rejectionOf, stepContext } from "./helpers/context.ts";

describe("wait runner", () => {
  it("suspends until now + seconds and never sleeps", async () => {
    const clock = new FakeClock({ start: new Date("2025-01-01T00:00:00Z") });
    const result = await waitRunner.execute({ seconds: 90, reason: "let the CRM settle" }, stepContext({ clock }));
    expect(result).toEqual({ status: "suspended", resumeAt: new Date("2025-01-01T00:01:30Z"), reason: "let the CRM settle" });
    expect(clock.pendingTimers).toBe(0);
  });

  it("completes at once for zero seconds and refuses values that did not render to a number", async () => {
    expect(await waitRunner.execute({ seconds: 0 }, stepContext())).toMatchObject({ status: "completed" });
    expect(await rejectionOf(waitRunner.execute({ seconds: "{{x}}" }, stepContext()))).toMatchObject({ code: "CONFIG_INVALID" });
  });

  it("enforces a configurable maximum (default 3600 s)", () => {
    expect(waitRunner.validateConfig({ seconds: 3601 })).toEqual({ valid: false, errors: [{ path: "seconds", message: "Must be at most 3600 seconds" }] });
    expect(waitRunner.validateConfig({ seconds: 3600 }).valid).toBe(true);
    expect(createWaitRunner({ maxSeconds: 86_400 }).validateConfig({ seconds: 7200 }).valid).toBe(true);
    expect(waitRunner.validateConfig({ seconds: "{{input.delay}}" }).valid).toBe(true);
    expect(waitRunner.validateConfig({ seconds: "soon" }).valid).toBe(false);
  });
});

describe("db_update runner", () => {
  it("updates the row by key through the store, passing causation and values as data", async () => {
    const store = new InMemoryStore();
    store.seedRows("public.tasks", [{ id: 1, status: "open" }, { id: 2, status: "open" }]);
    const context = stepContext({ store, causation: { executionId: "e1", stepId: "mark", flowId: "f1" } });
    const config = { table: "tasks", key: 2, set: { status: "notified'; drop table tasks; --" } };
    const checked = dbUpdateRunner.validateConfig(config);
    expect(checked.valid).toBe(true);
    const result = await dbUpdateRunner.execute(config, context);
    expect(result).toEqual({ status: "completed", output: { table: "public.tasks", key_column: "id", key: 2, updated_count: 1 } });
    expect(store.rows("public.tasks")).toEqual([{ id: 1, status: "open" }, { id: 2, status: "notified'; drop table tasks; --" }]);
    expect(store.updates[0]).toMatchObject({ table: "public.tasks", keyColumn: "id", key: 2, causation: { executionId: "e1", stepId: "mark", flowId: "f1" } });
  });

  it("uses key_column and fails with ROW_NOT_FOUND when nothing matched", async () => {
    const store = new InMemoryStore();
    store.seedRows("crm.leads", [{ email: "a@b.c", stage: "new" }]);
    await dbUpdateRunner.execute({ table: "crm.leads", key_column: "email", key: "a@b.c", set: { stage: "qualified" } }, stepContext({ store }));
    expect(store.rows("crm.leads")[0]!.stage).toBe("qualified");
    expect(await rejectionOf(dbUpdateRunner.execute({ table: "crm.leads", key_column: "email", key: "x@y.z", set: { stage: "x" } }, stepContext({ store })))).toMatchObject({
      code: "ROW_NOT_FOUND",
      retryable: false,
    });
  });

  it("rejects identifiers that are not plain lowercase names", () => {
    for (const config of [
      { table: "tasks; drop table x", key: 1, set: { a: 1 } },
      { table: "Tasks", key: 1, set: { a: 1 } },
      { table: "a.b.c", key: 1, set: { a: 1 } },
      { table: "tasks", key_column: "id\"", key: 1, set: { a: 1 } },
      { table: "tasks", key: 1, set: { "status = 'x'": 1 } },
      { table: "tasks", key: 1, set: {} },
    ]) {
      expect(dbUpdateRunner.validateConfig(config).valid, JSON.stringify(config)).toBe(false);
    }
  });
});

describe("function_call runner", () => {
  it("invokes the function with the body and returns its response", async () => {
    const functions = new InMemoryFunctions({ "send-email": (body) => ({ sent: true, to: (body as { to: string }).to }) });
    const result = await functionCallRunner.execute({ function_name: "send-email", body: { to: "pm@acme.com" } }, stepContext({ functions }));
    expect(result).toEqual({ status: "completed", output: { sent: true, to: "pm@acme.com" } });
    expect(functions.calls).toEqual([{ name: "send-email", body: { to: "pm@acme.com" } }]);
  });

  it("propagates the invoker's taxonomy errors and needs an invoker", async () => {
    expect(await rejectionOf(functionCallRunner.execute({ function_name: "nope" }, stepContext()))).toMatchObject({ code: "FUNCTION_ERROR", retryable: false });
    const { functions: _unused, ...withoutFunctions } = stepContext();
    expect(await rejectionOf(functionCallRunner.execute({ function_name: "x" }, withoutFunctions))).toMatchObject({ code: "CONFIG_INVALID" });
  });
});

describe("condition runner", () => {
  const rules = { field: "priority", op: "eq", value: "High" } as const;

  it("branches to then / else; null ends the execution; absent continues in order", async () => {
    const high = stepContext({ event: { op: "INSERT", row: { priority: "High" } } });
    const low = stepContext({ event: { op: "INSERT", row: { priority: "Low" } } });
    expect(await conditionRunner.execute({ rules, then: "notify", else: null }, high)).toEqual({ status: "branch", next: "notify", output: { matched: true } });
    expect(await conditionRunner.execute({ rules, then: "notify", else: null }, low)).toEqual({ status: "branch", next: null, output: { matched: false } });
    expect(await conditionRunner.execute({ rules, else: null }, high)).toEqual({ status: "completed", output: { matched: true } });
  });

  it("evaluates change operators against the old row and can use another subject", async () => {
    const update = stepContext({ event: { op: "UPDATE", row: { status: "won" }, old: { status: "new" } } });
    expect(await conditionRunner.execute({ rules: { field: "status", op: "changed_to", value: "won" }, then: "x" }, update)).toMatchObject({ next: "x" });
    expect(await conditionRunner.execute({ rules: { field: "body.ok", op: "eq", value: true }, subject: { body: { ok: true } }, then: "x" }, update)).toMatchObject({ next: "x" });
  });

  it("uses the run input when there is no row", async () => {
    const manual = stepContext({ event: { input: { priority: "High" } } });
    expect(await conditionRunner.execute({ rules, then: "x" }, manual)).toMatchObject({ next: "x" });
  });
});

describe("transform and log runners", () => {
  it("transform outputs its (already rendered) object", async () => {
    expect(await transformRunner.execute({ output: { a: 1, b: ["x"] } }, stepContext())).toEqual({ status: "completed", output: { a: 1, b: ["x"] } });
  });

  it("log writes one entry at the given level (info by default)", async () => {
    const clock = new FakeClock({ start: new Date("2025-05-05T10:00:00Z") });
    expect(await logRunner.execute({ message: "hello", data: { n: 1 } }, stepContext({ clock }))).toEqual({
      status: "completed",
      output: { level: "info", message: "hello" },
      logs: [{ level: "info", message: "hello", at: "2025-05-05T10:00:00.000Z", data: { n: 1 } }],
    });
    expect(logRunner.validateConfig({ message: "x", level: "fatal" }).valid).toBe(false);
  });

  it("log accepts a message that rendered to a number or an object, and writes it as text", async () => {
    const checked = logRunner.validateConfig({ message: 42 });
    expect(checked).toEqual({ valid: true, config: { message: 42 } });
    const result = await logRunner.execute({ message: 42 }, stepContext());
    expect(result).toMatchObject({ output: { level: "info", message: "42" }, logs: [{ message: "42" }] });
    expect(await logRunner.execute({ message: { id: 7 } }, stepContext())).toMatchObject({ output: { message: '{"id":7}' } });
    expect(await logRunner.execute({ message: null }, stepContext())).toMatchObject({ output: { message: "null" } });
    expect(logRunner.validateConfig({ message: "x".repeat(10_001) })).toEqual({
      valid: false,
      errors: [{ path: "message", message: "Must be at most 10000 characters" }],
    });
  });

  it("a log step whose message is a lone placeholder for a number runs (it used to fail with CONFIG_INVALID)", async () => {
    const ports = createTestPorts();
    const definition = validateFlowDefinition({
      trigger: { type: "row_change", table: "public.leads", events: ["INSERT"] },
      steps: [{ id: "note", type: "log", config: { message: "{{row.id}}" } }],
    });
    if (!definition.success) throw new Error(JSON.stringify(definition.errors));
    const outcome = await runExecution({
      execution: { id: "exec-1", event: { op: "INSERT", table: "public.leads", row: { id: 42 } } },
      definition: definition.data,
      registry: createRegistry(builtInRunners()),
      ports,
    });
    expect(outcome).toEqual({ status: "completed", result: { outputs: { note: { level: "info", message: "42" } } } });
    expect(ports.store.attemptsOf("exec-1")[0]!.logs).toMatchObject([{ level: "info", message: "42" }]);
  });
});

describe("registry", () => {
  it("is built explicitly and refuses duplicate step types", () => {
    const registry = createRegistry([logRunner, transformRunner]);
    expect(registry.stepTypes()).toEqual(["log", "transform"]);
    expect(registry.get("http")).toBeUndefined();
    expect(() => registry.require("http")).toThrow(expect.objectContaining({ code: "UNKNOWN_STEP_TYPE" }));
    expect(() => createRegistry([logRunner, logRunner])).toThrow(/Two runners/);
    expect(createRegistry(builtInRunners()).stepTypes()).toHaveLength(9);
  });
});

describe("condition runner compile cache", () => {
  it("evaluates equal rules from separate config objects consistently", async () => {
    const context = stepContext({ event: { op: "INSERT", row: { n: 5 } } });
    const make = () => ({ rules: { field: "n", op: "gt", value: 3 } as const, then: "x" });
    expect(await conditionRunner.execute(make(), context)).toMatchObject({ next: "x" });
    expect(await conditionRunner.execute(make(), stepContext({ event: { row: { n: 1 } } }))).toEqual({ status: "completed", output: { matched: false } });
  });
});
