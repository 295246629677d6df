import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  builtInRunners,
  createRegistry,
  type ExecutionOutcome,
  type ExecutionRequest,
  type FlowDefinition,
  FlowError,
  runExecution,
  sha256Hex,
  type StepContext,
  type StepResult,
  type StepRunner,
  systemClock,
  validateFlowDefinition,
} from "../src/index.ts";
import { createTestPorts, FakeClock, type TestPorts } from "../src/testing/index.ts";
import { sendJson, startServer, type TestServer } from "./helpers/server.ts";

// ---------------------------------------------------------------------------------------------
// Helpers

/** A runner whose behaviour the test scripts; it records each call. */
function probe(stepType: string, behave: (call: number, config: unknown, context: StepContext) => Promise<StepResult> | StepResult) {
  const calls: Array<{ config: unknown; context: StepContext }> = [];
  let cleanups = 0;
  const runner: StepRunner<unknown> & { calls: typeof calls; cleanups: () => number } = {
    stepType,
    configSchema: z.unknown(),
    validateConfig: (config) => ({ valid: true, config }),
    async execute(config, context) {
      calls.push({ config, context });
      return behave(calls.length, config, context);
    },
    async cleanup() {
      cleanups++;
    },
    calls,
    cleanups: () => cleanups,
  };
  return runner;
}

/** Builds a definition and checks it with the real validator, so tests only use publishable flows. */
function definition(value: unknown): FlowDefinition {
  const result = validateFlowDefinition(value);
  if (!result.success) throw new Error(JSON.stringify(result.errors));
  return result.data;
}

const rowEvent = (row: Record<string, unknown>, old?: Record<string, unknown>): ExecutionRequest["event"] => ({
  op: old === undefined ? "INSERT" : "UPDATE",
  table: "public.tasks",
  row,
  ...(old === undefined ? {} : { old }),
});

const tasksTrigger = { type: "row_change", table: "public.tasks", events: ["INSERT", "UPDATE"] };

function run(
  def: FlowDefinition,
  ports: TestPorts,
  runners: StepRunner<unknown>[] = builtInRunners(),
  execution: ExecutionRequest = { id: "exec-1", event: rowEvent({ id: 1 }) },
  extra: { signal?: AbortSignal; options?: Parameters<typeof runExecution>[0]["options"] } = {},
): Promise<ExecutionOutcome> {
  // Later runners override built-ins of the same type, so tests can swap one runner.
  const byType = new Map<string, StepRunner<unknown>>();
  for (const runner of [...builtInRunners(), ...runners]) byType.set(runner.stepType, runner);
  return runExecution({ execution, definition: def, registry: createRegistry([...byType.values()]), ports, ...extra });
}

const statuses = (ports: TestPorts, executionId = "exec-1") =>
  ports.store.attemptsOf(executionId).map((attempt) => `${attempt.stepId}#${attempt.attempt}:${attempt.status}`);

// A real HTTP server whose answers are scripted per path and per call.
let server: TestServer;
const scripts = new Map<string, Array<[number, unknown, Record<string, string>?]>>();
beforeAll(async () => {
  server = await startServer((request, response) => {
    const path = request.path.split("?")[0]!;
    if (path === "/hang") return;
    if (path === "/echo-auth") return sendJson(response, 200, { seen: request.headers.authorization });
    const script = scripts.get(path) ?? [];
    const [status, body, headers] = script.length > 1 ? script.shift()! : script[0] ?? [404, { error: "unscripted" }];
    sendJson(response, status, body, headers);
  });
});
afterAll(() => server.close());
const requestsTo = (path: string) => server.requests.filter((request) => request.path.split("?")[0] === path);

// ---------------------------------------------------------------------------------------------

describe("runExecution: the straight path", () => {
  it("runs steps in order, feeding outputs to later templates, and records every attempt", async () => {
    const ports = createTestPorts();
    const def = definition({
      trigger: tasksTrigger,
      aliases: { taskId: "row.id" },
      variables: { channel: "#ops" },
      steps: [
        { id: "shape", type: "transform", config: { output: { task: "{{taskId}}", title: "{{row.title}}", channel: "{{variables.channel}}" } } },
        { id: "say", type: "log", config: { message: "task {{steps.shape.output.task}} to {{steps.shape.output.channel}}" } },
      ],
    });
    const outcome = await run(def, ports, [], { id: "exec-1", event: rowEvent({ id: 7, title: "Fix" }) });
    expect(outcome).toEqual({
      status: "completed",
      result: { outputs: { shape: { task: 7, title: "Fix", channel: "#ops" }, say: { level: "info", message: "task 7 to #ops" } } },
    });
    expect(statuses(ports)).toEqual(["shape#1:completed", "say#1:completed"]);
    const [shape, say] = ports.store.attemptsOf("exec-1");
    expect(shape!.input).toEqual({ output: { task: 7, title: "Fix", channel: "#ops" } });
    expect(say!.logs).toEqual([{ level: "info", message: "task 7 to #ops", at: "2025-01-01T00:00:00.000Z" }]);
    expect(shape!.durationMs).toBe(0);
  });

  it("fails with UNKNOWN_STEP_TYPE before doing anything when a runner is missing", async () => {
    const ports = createTestPorts();
    const def = definition({ trigger: { type: "manual" }, steps: [{ id: "a", type: "log", config: { message: "x" } }] });
    const outcome = await runExecution({ execution: { id: "e" }, definition: def, registry: createRegistry([]), ports });
    expect(outcome).toMatchObject({ status: "failed", stepId: "a", error: { code: "UNKNOWN_STEP_TYPE" } });
    expect(ports.store.attempts).toEqual([]);
  });

  it("checks manual input against parameters when the run starts", async () => {
    const ports = createTestPorts();
    const def = definition({
      trigger: { type: "manual" },
      parameters: { type: "object", required: ["leadId"], properties: { leadId: { type: "integer", minimum: 1 } } },
      steps: [{ id: "a", type: "log", config: { message: "lead {{input.leadId}}" } }],
    });
    expect(await run(def, ports, [], { id: "e1", input: { leadId: 0 } })).toMatchObject({
      status: "failed",
      error: { code: "PARAMETERS_INVALID", message: "input.leadId: Must be >= 1" },
    });
    expect(await run(def, ports, [], { id: "e2" })).toMatchObject({ status: "failed", error: { message: "input.leadId: Required" } });
    expect(ports.store.attempts).toEqual([]);
    expect(await run(def, ports, [], { id: "e3", input: { leadId: 5 } })).toMatchObject({
      status: "completed",
      result: { outputs: { a: { message: "lead 5" } } },
    });
  });

  it("fails the step with TEMPLATE_MISSING_PATH naming the config path, recording the attempt", async () => {
    const ports = createTestPorts();
    const def = definition({ trigger: tasksTrigger, steps: [{ id: "a", type: "log", config: { message: "x" } }, { id: "b", type: "log", config: { message: "owner {{row.owner.email}}" } }] });
    const outcome = await run(def, ports);
    expect(outcome).toMatchObject({
      status: "failed",
      stepId: "b",
      error: { code: "TEMPLATE_MISSING_PATH", retryable: false, message: expect.stringContaining('steps[1].config.message: template path "row.owner.email" is missing') },
    });
    expect(statuses(ports)).toEqual(["a#1:completed", "b#1:failed"]);
    expect(ports.store.attemptsOf("exec-1", "b")[0]!.input).toBeNull();
  });

  it("fails with CONFIG_INVALID when a rendered config breaks the runner's schema", async () => {
    const ports = createTestPorts();
    const def = definition({ trigger: { type: "manual" }, steps: [{ id: "pause", type: "wait", config: { seconds: "{{input.delay}}" } }] });
    expect(await run(def, ports, [], { id: "e", input: { delay: "soon" } })).toMatchObject({
      status: "failed",
      error: { code: "CONFIG_INVALID", message: "steps[0].config.seconds: Expected a number or a {{placeholder}}" },
    });
  });

  it("calls cleanup after every attempt", async () => {
    const ports = createTestPorts();
    const flaky = probe("http", (call) => {
      if (call === 1) throw new FlowError("NETWORK_ERROR", "reset");
      return { status: "completed", output: {} };
    });
    const def = definition({ trigger: tasksTrigger, steps: [{ id: "call", type: "http", retry: { delay: 10 }, config: { url: "https://x.test" } }] });
    expect((await run(def, ports, [flaky])).status).toBe("completed");
    expect(flaky.cleanups()).toBe(2);
  });

  it("calls cleanup after an attempt of an instant runner too", async () => {
    const ports = createTestPorts();
    const quick = probe("log", () => ({ status: "completed", output: {} }));
    const def = definition({ trigger: tasksTrigger, steps: [{ id: "say", type: "log", config: { message: "hi" } }] });
    expect((await run(def, ports, [{ ...quick, instant: true }])).status).toBe("completed");
    expect(quick.calls).toHaveLength(1);
    expect(quick.cleanups()).toBe(1);
  });
});

describe("runExecution: retries", () => {
  it("retries a retryable failure against a real server, then succeeds, with one idempotency key", async () => {
    scripts.set("/flaky", [[503, { error: "busy" }], [500, { error: "boom" }], [200, { ok: true }]]);
    const ports = createTestPorts();
    const def = definition({
      trigger: tasksTrigger,
      steps: [{ id: "notify", type: "http", retry: { max_attempts: 3, delay: 100, backoff: "exponential" }, config: { method: "POST", url: `${server.url}/flaky`, body: { id: "{{row.id}}" } } }],
    });
    const outcome = await run(def, ports);
    expect(outcome).toMatchObject({ status: "completed", result: { outputs: { notify: { status: 200, body: { ok: true } } } } });
    expect(statuses(ports)).toEqual(["notify#1:failed", "notify#2:failed", "notify#3:completed"]);
    expect(ports.store.attemptsOf("exec-1").map((a) => a.error?.code ?? null)).toEqual(["HTTP_SERVER_ERROR", "HTTP_SERVER_ERROR", null]);
    expect(ports.clock.sleeps).toEqual([100, 200]);
    const keys = requestsTo("/flaky").map((request) => request.headers["idempotency-key"]);
    expect(keys).toEqual(Array(3).fill(await sha256Hex("exec-1:notify")));
  });

  it("does not retry a non-retryable 4xx", async () => {
    scripts.set("/missing", [[404, { error: "no lead" }]]);
    const ports = createTestPorts();
    const before = requestsTo("/missing").length;
    const def = definition({ trigger: tasksTrigger, steps: [{ id: "call", type: "http", retry: { max_attempts: 5, delay: 10 }, config: { url: `${server.url}/missing` } }] });
    expect(await run(def, ports)).toMatchObject({
      status: "failed",
      stepId: "call",
      error: { code: "HTTP_CLIENT_ERROR", retryable: false, details: { status: 404 } },
    });
    expect(requestsTo("/missing").length - before).toBe(1);
    expect(statuses(ports)).toEqual(["call#1:failed"]);
  });

  it("gives up after max_attempts with the last error", async () => {
    scripts.set("/down", [[500, { error: "down" }]]);
    const ports = createTestPorts();
    const def = definition({ trigger: tasksTrigger, defaults: { retry: { max_attempts: 2, delay: 5 } }, steps: [{ id: "call", type: "http", config: { url: `${server.url}/down` } }] });
    expect(await run(def, ports)).toMatchObject({ status: "failed", error: { code: "HTTP_SERVER_ERROR" } });
    expect(statuses(ports)).toEqual(["call#1:failed", "call#2:failed"]);
  });

  it("honours Retry-After as the minimum delay", async () => {
    scripts.set("/limited", [[429, { error: "slow" }, { "retry-after": "1" }], [200, {}]]);
    const ports = createTestPorts();
    const def = definition({ trigger: tasksTrigger, steps: [{ id: "call", type: "http", retry: { delay: 100 }, config: { url: `${server.url}/limited` } }] });
    expect((await run(def, ports)).status).toBe("completed");
    expect(ports.clock.sleeps).toEqual([1000]);
  });

  it("suspends instead of sleeping for long backoffs, keeping the attempt count across invocations", async () => {
    const ports = createTestPorts();
    const flaky = probe("http", (call) => {
      if (call === 1) throw new FlowError("RATE_LIMITED", "limit", { retryAfterMs: 30_000 });
      return { status: "completed", output: { call } };
    });
    const def = definition({ trigger: tasksTrigger, steps: [{ id: "call", type: "http", config: { url: "https://x.test" } }] });

    const first = await run(def, ports, [flaky]);
    expect(first).toEqual({ status: "waiting", resumeAt: new Date("2025-01-01T00:00:30Z"), reason: "retry", stepId: "call", attempt: 2 });
    expect(ports.clock.sleeps).toEqual([]);
    expect(ports.store.attemptsOf("exec-1")[0]).toMatchObject({ status: "failed", resumeAt: new Date("2025-01-01T00:00:30Z") });

    // Woken early: nothing runs.
    ports.clock.advance(10_000);
    expect(await run(def, ports, [flaky])).toMatchObject({ status: "waiting", reason: "retry" });
    expect(flaky.calls).toHaveLength(1);

    ports.clock.advance(20_000);
    expect(await run(def, ports, [flaky])).toEqual({ status: "completed", result: { outputs: { call: { call: 2 } } } });
    expect(statuses(ports)).toEqual(["call#1:failed", "call#2:completed"]);
    expect(flaky.calls[1]!.context.attempt).toBe(2);
  });

  it("a failed attempt awaiting a short backoff records when the retry is due, so a worker dying in the sleep loses no retry", async () => {
    const ports = createTestPorts();
    ports.store.seedAttempt({
      executionId: "exec-1", stepId: "call", attempt: 1, status: "failed", startedAt: new Date("2024-12-31T23:59:00Z"),
      error: { code: "HTTP_SERVER_ERROR", message: "503", retryable: true },
    });
    const ok = probe("http", () => ({ status: "completed", output: "done" }));
    const def = definition({ trigger: tasksTrigger, steps: [{ id: "call", type: "http", retry: { max_attempts: 3, delay: 100 }, config: { url: "https://x.test" } }] });
    // A failure recorded without resumeAt is final; the executor must never leave a pending retry in that shape.
    expect(await run(def, ports, [ok])).toMatchObject({ status: "failed" });

    const fresh = createTestPorts();
    const flaky = probe("http", (call) => {
      if (call === 1) throw new FlowError("HTTP_SERVER_ERROR", "503 busy");
      return { status: "completed", output: "done" };
    });
    expect(await run(def, fresh, [flaky])).toMatchObject({ status: "completed" });
    const [first] = fresh.store.attemptsOf("exec-1");
    expect(first).toMatchObject({ status: "failed" });
    expect(first!.resumeAt).toBeInstanceOf(Date);
  });

  it("treats an attempt left running by a dead invocation as interrupted and retries it", async () => {
    const ports = createTestPorts();
    ports.store.seedAttempt({ executionId: "exec-1", stepId: "call", attempt: 1, status: "running", startedAt: new Date("2024-12-31T23:59:00Z") });
    const ok = probe("http", () => ({ status: "completed", output: "done" }));
    const def = definition({ trigger: tasksTrigger, steps: [{ id: "call", type: "http", retry: { delay: 50 }, config: { url: "https://x.test" } }] });
    expect(await run(def, ports, [ok])).toMatchObject({ status: "completed" });
    expect(ports.store.attemptsOf("exec-1").map((a) => [a.attempt, a.status, a.error?.code ?? null])).toEqual([
      [1, "failed", "ATTEMPT_INTERRUPTED"],
      [2, "completed", null],
    ]);
    expect(ok.calls[0]!.context.attempt).toBe(2);
  });
});

describe("runExecution: timeouts", () => {
  it("aborts a step at its timeout on the fake clock (TIMEOUT, retryable)", async () => {
    const clock = new FakeClock();
    const ports = createTestPorts({ clock });
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const hang = probe("http", (_call, _config, context) => {
      started();
      return new Promise<StepResult>((_resolve, reject) => context.signal.addEventListener("abort", () => reject(context.signal.reason)));
    });
    const def = definition({ trigger: tasksTrigger, steps: [{ id: "slow", type: "http", timeout: 5000, retry: { max_attempts: 1 }, config: { url: "https://x.test" } }] });
    const outcome = run(def, ports, [hang]);
    await running;
    clock.advance(4999);
    expect(hang.calls[0]!.context.signal.aborted).toBe(false);
    clock.advance(1);
    expect(await outcome).toMatchObject({ status: "failed", error: { code: "TIMEOUT", retryable: true, message: "Step slow timed out after 5000 ms" } });
    expect(clock.pendingTimers).toBe(0);
  });

  it("times out even a runner that ignores its signal", async () => {
    const clock = new FakeClock();
    const ports = createTestPorts({ clock });
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const deaf = probe("http", () => {
      started();
      return new Promise<StepResult>(() => undefined);
    });
    const def = definition({ trigger: tasksTrigger, defaults: { timeout: 1000 }, steps: [{ id: "deaf", type: "http", retry: { max_attempts: 1 }, config: { url: "https://x.test" } }] });
    const outcome = run(def, ports, [deaf]);
    await running;
    clock.advance(1000);
    expect(await outcome).toMatchObject({ status: "failed", error: { code: "TIMEOUT" } });
  });

  it("arms a timer for each attempt of a step that waits on I/O, none for log and transform steps", async () => {
    const clock = new FakeClock({ autoAdvance: true });
    let armed = 0;
    const timeout = clock.timeout.bind(clock);
    clock.timeout = (ms, reason) => {
      armed++;
      return timeout(ms, reason);
    };
    const ports = createTestPorts({ clock });
    const call = probe("http", () => ({ status: "completed", output: { ok: true } }));
    const def = definition({
      trigger: tasksTrigger,
      steps: [
        { id: "shape", type: "transform", config: { output: { id: "{{row.id}}" } } },
        { id: "say", type: "log", config: { message: "row {{steps.shape.output.id}}" } },
        { id: "send", type: "http", config: { url: "https://x.test" } },
      ],
    });
    expect(await run(def, ports, [call])).toMatchObject({ status: "completed" });
    expect(statuses(ports)).toEqual(["shape#1:completed", "say#1:completed", "send#1:completed"]);
    expect(armed).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it("times out a real request with a real clock", async () => {
    const ports = { ...createTestPorts(), clock: systemClock } as unknown as TestPorts;
    const def = definition({ trigger: tasksTrigger, steps: [{ id: "slow", type: "http", timeout: 100, retry: { max_attempts: 1 }, config: { url: `${server.url}/hang` } }] });
    const started = Date.now();
    expect(await run(def, ports)).toMatchObject({ status: "failed", error: { code: "TIMEOUT" } });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe("runExecution: continue_on_error", () => {
  it("records the failure, exposes its error to later steps and completes the execution", async () => {
    scripts.set("/gone", [[410, { error: "gone" }]]);
    const ports = createTestPorts();
    const def = definition({
      trigger: tasksTrigger,
      steps: [
        { id: "optional", type: "http", continue_on_error: true, config: { url: `${server.url}/gone` } },
        { id: "after", type: "log", config: { message: "optional failed with {{steps.optional.error.code}}; output {{steps.optional.output | default: \"none\"}}" } },
      ],
    });
    const outcome = await run(def, ports);
    expect(outcome).toEqual({
      status: "completed",
      result: { outputs: { after: { level: "info", message: "optional failed with HTTP_CLIENT_ERROR; output none" } } },
    });
    expect(ports.store.attemptsOf("exec-1", "optional")[0]).toMatchObject({ status: "failed", continued: true });
  });

  it("without it, the first failure ends the execution and later steps never run", async () => {
    const ports = createTestPorts();
    const boom = probe("http", () => {
      throw new FlowError("HTTP_CLIENT_ERROR", "400");
    });
    const def = definition({ trigger: tasksTrigger, steps: [{ id: "a", type: "http", config: { url: "https://x.test" } }, { id: "b", type: "log", config: { message: "x" } }] });
    expect(await run(def, ports, [boom])).toMatchObject({ status: "failed", stepId: "a" });
    expect(statuses(ports)).toEqual(["a#1:failed"]);
  });
});

describe("runExecution: wait, suspend and resume", () => {
  it("suspends at a wait, refuses to resume early, then completes the wait and continues", async () => {
    const ports = createTestPorts();
    const def = definition({
      trigger: tasksTrigger,
      steps: [
        { id: "before", type: "log", config: { message: "before" } },
        { id: "pause", type: "wait", config: { seconds: 60, reason: "cool down" } },
        { id: "after", type: "log", config: { message: "after" } },
      ],
    });
    const log = builtInRunners().find((runner) => runner.stepType === "log")!;
    const counted = probe("log", (_call, config, context) => log.execute(config as never, context));

    expect(await run(def, ports, [counted])).toEqual({ status: "waiting", resumeAt: new Date("2025-01-01T00:01:00Z"), reason: "wait", stepId: "pause" });
    expect(statuses(ports)).toEqual(["before#1:completed", "pause#1:suspended"]);

    ports.clock.advance(59_000);
    expect(await run(def, ports, [counted])).toMatchObject({ status: "waiting", resumeAt: new Date("2025-01-01T00:01:00Z") });
    expect(counted.calls).toHaveLength(1);

    ports.clock.advance(1_000);
    const outcome = await run(def, ports, [counted]);
    expect(outcome).toMatchObject({ status: "completed", result: { outputs: { pause: { waited_until: "2025-01-01T00:01:00.000Z" } } } });
    expect(statuses(ports)).toEqual(["before#1:completed", "pause#1:completed", "after#1:completed"]);
    // "before" ran once in total: resumes replay it from the checkpoint.
    expect(counted.calls.map((call) => call.context.stepId)).toEqual(["before", "after"]);
    const pause = ports.store.attemptsOf("exec-1", "pause")[0]!;
    expect(pause.finishes.map((finish) => finish.status)).toEqual(["suspended", "completed"]);
    expect(pause.durationMs).toBe(60_000);
  });
});

describe("runExecution: checkpoint resume", () => {
  it("never re-runs a completed step and feeds its recorded output to later steps", async () => {
    const ports = createTestPorts();
    ports.store.seedAttempt({ executionId: "exec-1", stepId: "fetch", attempt: 1, status: "completed", startedAt: new Date(), output: { body: { n: 41 } } });
    const fetchRunner = probe("http", () => ({ status: "completed", output: { body: { n: 0 } } }));
    const def = definition({
      trigger: tasksTrigger,
      steps: [
        { id: "fetch", type: "http", config: { url: "https://x.test" } },
        { id: "use", type: "transform", config: { output: { n: "{{steps.fetch.output.body.n}}" } } },
      ],
    });
    expect(await run(def, ports, [fetchRunner])).toEqual({ status: "completed", result: { outputs: { fetch: { body: { n: 41 } }, use: { n: 41 } } } });
    expect(fetchRunner.calls).toHaveLength(0);
    expect(statuses(ports)).toEqual(["fetch#1:completed", "use#1:completed"]);
  });

  it("returns the recorded failure of an execution that already failed, running nothing", async () => {
    const ports = createTestPorts();
    ports.store.seedAttempt({ executionId: "exec-1", stepId: "a", attempt: 1, status: "failed", startedAt: new Date(), error: { code: "HTTP_CLIENT_ERROR", message: "400", retryable: false } });
    const runner = probe("http", () => ({ status: "completed", output: null }));
    const def = definition({ trigger: tasksTrigger, steps: [{ id: "a", type: "http", config: { url: "https://x.test" } }] });
    expect(await run(def, ports, [runner])).toEqual({ status: "failed", stepId: "a", error: { code: "HTTP_CLIENT_ERROR", message: "400", retryable: false } });
    expect(runner.calls).toHaveLength(0);
  });
});

describe("runExecution: cancellation", () => {
  const def = () =>
    definition({
      trigger: tasksTrigger,
      steps: [{ id: "a", type: "http", config: { url: "https://x.test" } }, { id: "b", type: "log", config: { message: "b" } }],
    });

  it("does nothing when cancel was requested before the start", async () => {
    const ports = createTestPorts();
    ports.store.requestCancel("exec-1");
    expect(await run(def(), ports)).toEqual({ status: "cancelled", stepId: "a" });
    expect(ports.store.attempts).toEqual([]);
  });

  it("checks between steps", async () => {
    const ports = createTestPorts();
    const cancelling = probe("http", () => {
      ports.store.requestCancel("exec-1");
      return { status: "completed", output: null };
    });
    expect(await run(def(), ports, [cancelling])).toEqual({ status: "cancelled", stepId: "b" });
    expect(statuses(ports)).toEqual(["a#1:completed"]);
  });

  it("checks before each retry", async () => {
    const ports = createTestPorts();
    const failing = probe("http", () => {
      ports.store.requestCancel("exec-1");
      throw new FlowError("NETWORK_ERROR", "reset");
    });
    expect(await run(def(), ports, [failing])).toEqual({ status: "cancelled", stepId: "a" });
    expect(failing.calls).toHaveLength(1);
  });

  it("aborts an in-flight request through the outer signal", async () => {
    const ports = createTestPorts();
    const controller = new AbortController();
    const hangDef = definition({ trigger: tasksTrigger, steps: [{ id: "slow", type: "http", config: { url: `${server.url}/hang` } }] });
    const before = requestsTo("/hang").length;
    const outcome = run(hangDef, ports, [], undefined, { signal: controller.signal });
    while (requestsTo("/hang").length === before) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    expect(await outcome).toEqual({ status: "cancelled", stepId: "slow" });
    expect(ports.store.attemptsOf("exec-1")[0]).toMatchObject({ status: "failed", error: { code: "CANCELLED" } });
  });

  it("cancels a waiting execution and closes its suspended attempt", async () => {
    const ports = createTestPorts();
    const waitDef = definition({ trigger: tasksTrigger, steps: [{ id: "pause", type: "wait", config: { seconds: 60 } }] });
    expect((await run(waitDef, ports)).status).toBe("waiting");
    ports.store.requestCancel("exec-1");
    expect(await run(waitDef, ports)).toEqual({ status: "cancelled", stepId: "pause" });
    expect(ports.store.attemptsOf("exec-1")[0]).toMatchObject({ status: "failed", error: { code: "CANCELLED" } });
  });
});

describe("runExecution: branching", () => {
  const branching = () =>
    definition({
      trigger: tasksTrigger,
      steps: [
        { id: "check", type: "condition", config: { rules: { field: "priority", op: "eq", value: "High" }, then: "notify", else: null } },
        { id: "skipped", type: "log", config: { message: "only reached by falling through" } },
        { id: "notify", type: "log", config: { message: "high priority task {{row.id}}" } },
      ],
    });

  it("jumps to the then step, skipping the steps between", async () => {
    const ports = createTestPorts();
    const outcome = await run(branching(), ports, [], { id: "exec-1", event: rowEvent({ id: 3, priority: "High" }) });
    expect(outcome).toMatchObject({ status: "completed", result: { outputs: { check: { matched: true }, notify: { message: "high priority task 3" } } } });
    expect(statuses(ports)).toEqual(["check#1:completed", "notify#1:completed"]);
    expect(ports.store.attemptsOf("exec-1", "check")[0]!.branch).toEqual({ next: "notify" });
  });

  it("ends the execution when the branch is null", async () => {
    const ports = createTestPorts();
    const outcome = await run(branching(), ports, [], { id: "exec-1", event: rowEvent({ id: 3, priority: "Low" }) });
    expect(outcome).toEqual({ status: "completed", result: { outputs: { check: { matched: false } } } });
    expect(statuses(ports)).toEqual(["check#1:completed"]);
  });

  it("replays a recorded branch decision instead of evaluating again", async () => {
    const ports = createTestPorts();
    ports.store.seedAttempt({ executionId: "exec-1", stepId: "check", attempt: 1, status: "completed", startedAt: new Date(), output: { matched: true }, branch: { next: "notify" } });
    // The row no longer matches, but the recorded decision stands.
    const outcome = await run(branching(), ports, [], { id: "exec-1", event: rowEvent({ id: 3, priority: "Low" }) });
    expect(outcome).toMatchObject({ status: "completed", result: { outputs: { notify: { message: "high priority task 3" } } } });
  });

  it("fails with BRANCH_TARGET_INVALID when a runner jumps backwards", async () => {
    const ports = createTestPorts();
    const backwards = probe("http", () => ({ status: "branch", next: "first", output: null }));
    const def = definition({ trigger: tasksTrigger, steps: [{ id: "first", type: "log", config: { message: "x" } }, { id: "jump", type: "http", config: { url: "https://x.test" } }] });
    expect(await run(def, ports, [backwards])).toMatchObject({ status: "failed", error: { code: "BRANCH_TARGET_INVALID" } });
  });
});

describe("runExecution: secrets", () => {
  it("sends the real secret but persists only redacted input, output and errors", async () => {
    const ports = createTestPorts({ secrets: { crm_token: "tok-very-secret-123" } });
    const def = definition({
      trigger: tasksTrigger,
      secrets: { TOKEN: "crm_token" },
      steps: [
        { id: "echo", type: "http", config: { url: `${server.url}/echo-auth`, headers: { Authorization: "Bearer {{secrets.TOKEN}}" } } },
        { id: "leak", type: "http", retry: { max_attempts: 1 }, config: { url: `${server.url}/status?t={{secrets.TOKEN}}` } },
      ],
    });
    scripts.set("/status", [[400, { error: "bad token tok-very-secret-123" }]]);
    const outcome = await run(def, ports);
    expect(requestsTo("/echo-auth").at(-1)!.headers.authorization).toBe("Bearer tok-very-secret-123");
    expect(ports.secrets.requests).toEqual([["crm_token"]]);
    const persisted = JSON.stringify([ports.store.attempts, outcome]);
    expect(persisted).not.toContain("tok-very-secret-123");
    expect(ports.store.attemptsOf("exec-1", "echo")[0]).toMatchObject({
      input: { headers: { Authorization: "Bearer [redacted]" } },
      output: { body: { seen: "Bearer [redacted]" } },
    });
    expect(outcome).toMatchObject({ status: "failed", error: { details: { body: '{"error":"bad token [redacted]"}' } } });
  });

  it("reads the secrets again on every run of the same definition, so a secret added later is found", async () => {
    const def = definition({ trigger: tasksTrigger, secrets: { TOKEN: "crm_token" }, steps: [{ id: "a", type: "log", config: { message: "{{secrets.TOKEN}}" } }] });
    expect(await run(def, createTestPorts())).toMatchObject({ status: "failed", error: { code: "SECRET_NOT_FOUND" } });
    const ports = createTestPorts({ secrets: { crm_token: "tok-1" } });
    expect(await run(def, ports)).toMatchObject({ status: "completed" });
    expect(ports.secrets.requests).toEqual([["crm_token"]]);
  });

  it("fails with SECRET_NOT_FOUND when the vault lacks a referenced secret", async () => {
    const ports = createTestPorts();
    const def = definition({ trigger: tasksTrigger, secrets: { TOKEN: "crm_token" }, steps: [{ id: "a", type: "log", config: { message: "{{secrets.TOKEN}}" } }] });
    expect(await run(def, ports)).toMatchObject({ status: "failed", error: { code: "SECRET_NOT_FOUND", message: 'Secret "TOKEN" (vault name "crm_token") was not found' } });
  });
});

describe("runExecution: yielding before the platform's time limit", () => {
  it("returns waiting(now) between steps once yieldAfterMs has passed, and resumes later", async () => {
    const ports = createTestPorts();
    const slow = probe("http", () => {
      ports.clock.advance(5_000);
      return { status: "completed", output: null };
    });
    const def = definition({ trigger: tasksTrigger, steps: [{ id: "a", type: "http", config: { url: "https://x.test" } }, { id: "b", type: "log", config: { message: "b" } }] });
    expect(await run(def, ports, [slow], undefined, { options: { yieldAfterMs: 1_000 } })).toEqual({
      status: "waiting",
      resumeAt: new Date("2025-01-01T00:00:05Z"),
      reason: "yield",
      stepId: "b",
    });
    expect(await run(def, ports, [slow], undefined, { options: { yieldAfterMs: 1_000 } })).toMatchObject({ status: "completed" });
    expect(slow.calls).toHaveLength(1);
  });
});
