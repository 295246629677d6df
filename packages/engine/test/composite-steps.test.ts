/**
 * The steps that contain or start other work: `parallel` (branches run at once, then join) and `sub_flow` (another
 * flow's execution, waited for without holding the function). Definitions go through the real validator.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  builtInRunners,
  createRegistry,
  type ExecutionOutcome,
  type FlowDefinition,
  FlowError,
  formatIssue,
  runExecution,
  type StepContext,
  type StepResult,
  type StepRunner,
  validateFlowDefinition,
} from "../src/index.ts";
import { createTestPorts, type TestPorts } from "../src/testing/index.ts";

const manual = { type: "manual" } as const;
const log = (id: string, message = "hello") => ({ id, type: "log", config: { message } });

function errorsOf(value: unknown): string[] {
  const result = validateFlowDefinition(value);
  return result.success ? [] : result.errors.map(formatIssue);
}

function definition(value: unknown): FlowDefinition {
  const result = validateFlowDefinition(value);
  if (!result.success) throw new Error(JSON.stringify(result.errors));
  return result.data;
}

/** A scripted runner for step type `probe`; `behave` gets the call number and the rendered config. */
function probe(behave: (call: number, config: Record<string, unknown>, context: StepContext) => Promise<StepResult> | StepResult) {
  const calls: Array<Record<string, unknown>> = [];
  const runner: StepRunner<unknown> = {
    stepType: "log",
    configSchema: z.unknown(),
    validateConfig: (config) => ({ valid: true, config }),
    execute(config, context) {
      calls.push(config as Record<string, unknown>);
      return Promise.resolve(behave(calls.length, config as Record<string, unknown>, context));
    },
  };
  return { runner, calls };
}

function run(def: FlowDefinition, ports: TestPorts, runners: StepRunner<unknown>[] = [], id = "exec-1", signal?: AbortSignal): Promise<ExecutionOutcome> {
  const byType = new Map<string, StepRunner<unknown>>();
  for (const runner of [...builtInRunners(), ...runners]) byType.set(runner.stepType, runner);
  return runExecution({ execution: { id, input: {} }, definition: def, registry: createRegistry([...byType.values()]), ports, ...(signal ? { signal } : {}) });
}

const statuses = (ports: TestPorts) => ports.store.attemptsOf("exec-1").map((a) => `${a.stepId}#${a.attempt}:${a.status}`);

const twoBranches = (a: unknown[], b: unknown[], extra: Record<string, unknown> = {}) => ({
  id: "fan_out",
  type: "parallel",
  ...extra,
  config: { branches: [{ id: "left", steps: a }, { id: "right", steps: b }] },
});

describe("parallel: what a definition may say", () => {
  it("accepts branches whose steps may read earlier steps of their own branch and of the flow", () => {
    expect(errorsOf({
      trigger: manual,
      steps: [
        log("before"),
        twoBranches(
          [log("a1", "{{steps.before.output.message}}"), log("a2", "{{steps.a1.output.message}}")],
          [log("b1")],
        ),
        log("after", "{{steps.a2.output.message}} and {{steps.b1.output.message}} ({{steps.fan_out.output.branches.left}})"),
      ],
    })).toEqual([]);
  });

  it("refuses a step that reads another branch: the branches run at the same time", () => {
    expect(errorsOf({ trigger: manual, steps: [twoBranches([log("a1")], [log("b1", "{{steps.a1.output}}")])] })).toEqual([
      'steps[0].config.branches[1].steps[0].config.message: Step "a1" does not run before this step in {{steps.a1.output}}',
    ]);
  });

  it("keeps step ids unique across the whole definition, branches included", () => {
    const errors = errorsOf({ trigger: manual, steps: [log("a1"), twoBranches([log("a1")], [log("fan_out")])] });
    expect(errors).toContain('steps[1].config.branches[0].steps[0].id: Duplicate step id "a1" (first used by steps[0])');
    expect(errors).toContain('steps[1].config.branches[1].steps[0].id: Duplicate step id "fan_out" (first used by steps[1])');
  });

  it("refuses duplicate branch ids, a parallel step inside a branch, and retry settings on the parallel step", () => {
    expect(errorsOf({
      trigger: manual,
      steps: [{ id: "p", type: "parallel", config: { branches: [{ id: "x", steps: [log("a")] }, { id: "x", steps: [log("b")] }] } }],
    })).toEqual(['steps[0].config.branches[1].id: Duplicate branch id "x" (first used by branches[0])']);
    const nested = errorsOf({ trigger: manual, steps: [twoBranches([twoBranches([log("a")], [log("b")])], [log("c")])] });
    expect(nested).toHaveLength(1);
    expect(nested[0]).toMatch(/^steps\[0\]\.config\.branches\[0\]\.steps\[0\]\.type: Invalid value: expected one of .*sub_flow/);
    expect(nested[0]).not.toMatch(/parallel/);
    expect(errorsOf({ trigger: manual, steps: [twoBranches([log("a")], [log("b")], { retry: { max_attempts: 3 } })] })).toEqual([
      'steps[0]: Unrecognized key: "retry"',
    ]);
  });

  it("keeps a condition's jumps inside its own list of steps", () => {
    const condition = (target: string) => ({ id: "check", type: "condition", config: { rules: { field: "x", op: "is_null" }, then: target } });
    expect(errorsOf({ trigger: manual, steps: [twoBranches([condition("a2"), log("a2")], [log("b1")])] })).toEqual([]);
    expect(errorsOf({ trigger: manual, steps: [twoBranches([condition("b1")], [log("b1")])] })).toEqual([
      'steps[0].config.branches[0].steps[0].config.then: Step "b1" is not in the same list of steps (a condition jumps within its own branch or the top-level steps)',
    ]);
    expect(errorsOf({ trigger: manual, steps: [condition("a1"), twoBranches([log("a1")], [log("b1")])] })[0]).toMatch(/not in the same list/);
  });

  it("counts the steps inside branches against the limit of 100", () => {
    const many = Array.from({ length: 50 }, (_, i) => log(`s${i}`));
    const errors = errorsOf({ trigger: manual, steps: [twoBranches(many, many.map((step) => ({ ...step, id: `t${step.id}` })))] });
    expect(errors).toEqual(["steps: Too many steps: 101 counting parallel branches; the limit is 100"]);
  });
});

describe("parallel: running branches", () => {
  it("runs the branches at the same time and continues when all have finished", async () => {
    const ports = createTestPorts();
    // Each call waits until both branches are inside a step: a sequential executor would never get there.
    let inside = 0;
    const rendezvous = probe(async (_call, config) => {
      inside++;
      const deadline = Date.now() + 2000;
      while (inside < 2) {
        if (Date.now() > deadline) throw new Error("the other branch never started: branches ran one after the other");
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return { status: "completed", output: { message: config.message } };
    });
    const def = definition({
      trigger: manual,
      steps: [
        twoBranches([log("a1", "left")], [log("b1", "right")]),
        { id: "join", type: "transform", config: { output: { left: "{{steps.a1.output.message}}", right: "{{steps.b1.output.message}}" } } },
      ],
    });
    const outcome = await run(def, ports, [rendezvous.runner]);
    expect(outcome).toEqual({
      status: "completed",
      result: {
        outputs: {
          a1: { message: "left" },
          b1: { message: "right" },
          fan_out: { branches: { left: "completed", right: "completed" } },
          join: { left: "left", right: "right" },
        },
      },
    });
    expect(statuses(ports).sort()).toEqual(["a1#1:completed", "b1#1:completed", "fan_out#1:completed", "join#1:completed"]);
  });

  it("fails with BRANCH_FAILED when a branch fails; the other branch stops before its next step", async () => {
    const ports = createTestPorts();
    const runner = probe(async (_call, config) => {
      if (config.message === "boom") throw new Error("target said no");
      // b1 is still in flight when the other branch fails.
      if (config.message === "slow") await new Promise((resolve) => setTimeout(resolve, 30));
      return { status: "completed", output: config.message };
    });
    const def = definition({ trigger: manual, steps: [twoBranches([log("a1", "boom")], [log("b1", "slow"), log("b2")]), log("after")] });
    const outcome = await run(def, ports, [runner.runner]);
    expect(outcome).toMatchObject({
      status: "failed",
      stepId: "a1",
      error: { code: "BRANCH_FAILED", details: { branch: "left", step_id: "a1" } },
    });
    expect((outcome as { error: { message: string } }).error.message).toMatch(/^Branch "left" failed at step "a1": /);
    const recorded = statuses(ports);
    expect(recorded).toContain("a1#1:failed");
    expect(recorded).toContain("fan_out#1:failed");
    expect(recorded).toContain("b1#1:completed");
    expect(recorded.some((s) => s.startsWith("b2"))).toBe(false);
    expect(recorded.some((s) => s.startsWith("after"))).toBe(false);
  });

  it("goes on after a failed branch when the parallel step has continue_on_error", async () => {
    const ports = createTestPorts();
    const runner = probe((_call, config) => {
      if (config.message === "boom") throw new Error("no");
      return { status: "completed", output: config.message };
    });
    const def = definition({
      trigger: manual,
      steps: [twoBranches([log("a1", "boom")], [log("b1")], { continue_on_error: true }), log("after", "{{steps.fan_out.status}}")],
    });
    const outcome = await run(def, ports, [runner.runner]);
    expect(outcome).toMatchObject({ status: "completed", result: { outputs: { after: "failed" } } });
  });

  it("waits durably when a branch waits, finishing the other branch first, and never reruns a finished step", async () => {
    const ports = createTestPorts();
    const counted = probe((_call, config) => ({ status: "completed", output: config.message }));
    const def = definition({
      trigger: manual,
      steps: [twoBranches([{ id: "pause", type: "wait", config: { seconds: 60 } }, log("a2", "after the wait")], [log("b1"), log("b2")]), log("end")],
    });
    const first = await run(def, ports, [counted.runner]);
    expect(first).toMatchObject({ status: "waiting", reason: "wait", stepId: "pause" });
    expect(counted.calls.map((c) => c.message)).toEqual(["hello", "hello"]);
    expect(statuses(ports)).toContain("fan_out#1:suspended");

    // Resumed too early (another wait woke the execution): still waiting, nothing runs again.
    expect(await run(def, ports, [counted.runner])).toMatchObject({ status: "waiting", stepId: "pause" });
    expect(counted.calls).toHaveLength(2);

    ports.clock.advance(60_000);
    const second = await run(def, ports, [counted.runner]);
    expect(second).toMatchObject({ status: "completed" });
    expect(counted.calls.map((c) => c.message)).toEqual(["hello", "hello", "after the wait", "hello"]);
    expect(statuses(ports)).toContain("fan_out#1:completed");
  });

  it("re-enters a parallel step whose worker died, running only what had not finished", async () => {
    const ports = createTestPorts();
    const now = ports.clock.now();
    ports.store.seedAttempt({ executionId: "exec-1", stepId: "fan_out", attempt: 1, status: "running", startedAt: now });
    ports.store.seedAttempt({ executionId: "exec-1", stepId: "a1", attempt: 1, status: "completed", startedAt: now, output: "done before" });
    const counted = probe((_call, config) => ({ status: "completed", output: config.message }));
    const def = definition({ trigger: manual, steps: [twoBranches([log("a1"), log("a2", "{{steps.a1.output}}")], [log("b1")])] });
    const outcome = await run(def, ports, [counted.runner]);
    expect(outcome).toMatchObject({ status: "completed", result: { outputs: { a1: "done before", a2: "done before", b1: "hello" } } });
    expect(counted.calls.map((c) => c.message).sort()).toEqual(["done before", "hello"]);
    expect(ports.store.attemptsOf("exec-1", "fan_out")).toHaveLength(1);
  });

  it("restores the branches' outputs when a finished parallel step is replayed", async () => {
    const ports = createTestPorts();
    const counted = probe((_call, config) => ({ status: "completed", output: config.message }));
    const def = definition({
      trigger: manual,
      steps: [twoBranches([log("a1", "x")], [log("b1", "y")]), { id: "pause", type: "wait", config: { seconds: 5 } }, log("end", "{{steps.a1.output}}{{steps.b1.output}}")],
    });
    expect(await run(def, ports, [counted.runner])).toMatchObject({ status: "waiting", stepId: "pause" });
    ports.clock.advance(5000);
    expect(await run(def, ports, [counted.runner])).toMatchObject({ status: "completed", result: { outputs: { end: "xy" } } });
    expect(counted.calls.map((c) => c.message)).toEqual(["x", "y", "xy"]);
  });

  it("closes a sibling branch's wait when a branch fails, and asks its sub-flow to stop", async () => {
    const ports = createTestPorts();
    ports.store.subFlowKeys.add("enrich");
    const runner = probe((_call, config) => {
      if (config.message === "boom") throw new Error("no");
      return { status: "completed", output: config.message };
    });
    const def = definition({
      trigger: manual,
      steps: [
        twoBranches([log("a1"), log("a2", "boom")], [{ id: "call", type: "sub_flow", config: { flow: "enrich" } }], { continue_on_error: true }),
        log("after"),
      ],
    });
    const outcome = await run(def, ports, [runner.runner]);
    expect(outcome).toMatchObject({ status: "completed" });
    const call = ports.store.attemptsOf("exec-1", "call");
    expect(call.map((a) => a.status)).toEqual(["failed"]);
    expect(call[0]!.error).toMatchObject({ code: "BRANCH_FAILED", message: 'Stopped: branch "left" of step "fan_out" failed' });
    expect(ports.store.subFlows[0]!.cancelRequested).toBe(true);
  });

  it("stops a sibling's retries once a branch has failed", async () => {
    const ports = createTestPorts();
    let flakyCalls = 0;
    const runner = probe(async (_call, config) => {
      if (config.message === "boom") throw new FlowError("HTTP_CLIENT_ERROR", "no");
      flakyCalls++;
      // The first attempt is in flight when the other branch fails; without the stop it would be retried 4 times.
      await new Promise((resolve) => setTimeout(resolve, 30));
      throw new FlowError("HTTP_SERVER_ERROR", "try again");
    });
    const def = definition({
      trigger: manual,
      steps: [twoBranches([log("a1", "boom")], [{ ...log("b1"), retry: { max_attempts: 5, delay: 10 } }])],
    });
    const outcome = await run(def, ports, [runner.runner]);
    expect(outcome).toMatchObject({ status: "failed", error: { code: "BRANCH_FAILED" } });
    expect(flakyCalls).toBe(1);
  });

  it("lets the other branches stop before it throws when the store fails in one branch", async () => {
    const ports = createTestPorts();
    const started: string[] = [];
    const runner = probe(async (_call, config) => {
      started.push(String(config.message));
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { status: "completed", output: null };
    });
    const startAttempt = ports.store.startAttempt.bind(ports.store);
    ports.store.startAttempt = (start) => (start.stepId === "a2" ? Promise.reject(new Error("lease lost")) : startAttempt(start));
    const def = definition({ trigger: manual, steps: [twoBranches([log("a1", "a1"), log("a2", "a2")], [log("b1", "b1"), log("b2", "b2"), log("b3", "b3")])] });
    await expect(run(def, ports, [runner.runner])).rejects.toThrow("lease lost");
    expect(started).not.toContain("b3");
    // Only the parallel step's own attempt is left open; the next invocation re-enters it.
    expect(ports.store.attemptsOf("exec-1").filter((a) => a.status === "running").map((a) => a.stepId)).toEqual(["fan_out"]);
  });

  it("lets a condition end its own branch, not the execution", async () => {
    const ports = createTestPorts();
    const def = definition({
      trigger: manual,
      steps: [
        twoBranches([{ id: "check", type: "condition", config: { rules: { field: "missing", op: "is_null" }, then: null } }, log("skipped")], [log("b1")]),
        log("end"),
      ],
    });
    const outcome = await run(def, ports);
    expect(outcome).toMatchObject({ status: "completed", result: { outputs: { check: { matched: true }, b1: { message: "hello" }, end: { message: "hello" } } } });
    expect(statuses(ports).some((s) => s.startsWith("skipped"))).toBe(false);
  });

  it("stops every branch when the execution is cancelled", async () => {
    const ports = createTestPorts();
    const controller = new AbortController();
    const runner = probe((call) => {
      if (call === 1) {
        ports.store.requestCancel("exec-1");
        controller.abort(new Error("cancelled"));
      }
      return { status: "completed", output: null };
    });
    const def = definition({ trigger: manual, steps: [twoBranches([log("a1"), log("a2")], [log("b1"), log("b2")]), log("end")] });
    const outcome = await run(def, ports, [runner.runner], "exec-1", controller.signal);
    expect(outcome.status).toBe("cancelled");
    expect(statuses(ports).some((s) => s.startsWith("end"))).toBe(false);
  });
});

describe("parallel: checking configs with a deployment's runners", () => {
  it("checks the steps inside branches and skips the parallel step itself", () => {
    const registry = createRegistry(builtInRunners({ wait: { maxSeconds: 10 } }));
    const value = { trigger: manual, steps: [twoBranches([log("a1")], [{ id: "pause", type: "wait", config: { seconds: 60 } }])] };
    const result = validateFlowDefinition(value, { registry });
    expect(result.success ? [] : result.errors.map(formatIssue)).toEqual(["steps[0].config.branches[1].steps[0].config.seconds: Must be at most 10 seconds"]);
    expect(validateFlowDefinition({ trigger: manual, steps: [twoBranches([log("a1")], [log("b1")])] }, { registry }).success).toBe(true);
  });
});

describe("sub_flow: what a definition may say", () => {
  it("accepts a flow key or a placeholder, and refuses anything else", () => {
    const step = (config: unknown) => ({ trigger: manual, steps: [{ id: "call", type: "sub_flow", config }] });
    expect(errorsOf(step({ flow: "enrich-lead", input: { id: "{{input.id}}" } }))).toEqual([]);
    expect(errorsOf(step({ flow: "{{input.flow}}", wait: false }))).toEqual([]);
    expect(errorsOf(step({ flow: "Enrich Lead" }))).toEqual(["steps[0].config.flow: Invalid flow key: use a-z, 0-9, _ and -"]);
    expect(errorsOf(step({ flow: "x", timeout_seconds: 0 }))[0]).toMatch(/^steps\[0\]\.config\.timeout_seconds: /);
  });
});

describe("sub_flow: running another flow", () => {
  const def = () =>
    definition({
      trigger: manual,
      steps: [
        { id: "call", type: "sub_flow", config: { flow: "enrich", input: { lead: 7 }, timeout_seconds: 600 } },
        log("use", "score {{steps.call.output.outputs.score.value}}"),
      ],
    });

  it("starts the flow, waits without holding the function, and uses its outputs once it completed", async () => {
    const ports = createTestPorts();
    ports.store.subFlowKeys.add("enrich");
    const first = await run(def(), ports);
    expect(first).toMatchObject({ status: "waiting", reason: "wait", stepId: "call" });
    expect((first as { resumeAt: Date }).resumeAt.getTime() - ports.clock.now().getTime()).toBe(600_000);
    expect(ports.store.subFlows).toHaveLength(1);
    const [child] = ports.store.subFlows;
    expect(child!.start).toEqual({ parentExecutionId: "exec-1", parentStepId: "call", attempt: 1, flowKey: "enrich", input: { lead: 7 } });

    // Woken while the sub-flow still runs: waits again for the same deadline, starts nothing new.
    ports.clock.advance(1000);
    const again = await run(def(), ports);
    expect(again).toMatchObject({ status: "waiting", stepId: "call", resumeAt: (first as { resumeAt: Date }).resumeAt });
    expect(ports.store.subFlows).toHaveLength(1);

    ports.store.settleSubFlow(child!.executionId, { status: "completed", result: { outputs: { score: { value: 91 } } } });
    const done = await run(def(), ports);
    expect(done).toMatchObject({
      status: "completed",
      result: {
        outputs: {
          call: { execution_id: child!.executionId, flow: "enrich", status: "completed", outputs: { score: { value: 91 } } },
          use: { message: "score 91" },
        },
      },
    });
    expect(statuses(ports)).toEqual(["call#1:completed", "use#1:completed"]);
  });

  it("fails with SUB_FLOW_FAILED when the sub-flow failed, quoting its error", async () => {
    const ports = createTestPorts();
    ports.store.subFlowKeys.add("enrich");
    await run(def(), ports);
    ports.store.settleSubFlow(ports.store.subFlows[0]!.executionId, { status: "failed", error: { code: "HTTP_SERVER_ERROR", message: "HTTP 503" } });
    const outcome = await run(def(), ports);
    expect(outcome).toMatchObject({ status: "failed", stepId: "call", error: { code: "SUB_FLOW_FAILED" } });
    expect((outcome as { error: { message: string } }).error.message).toMatch(/failed \(HTTP_SERVER_ERROR: HTTP 503\)/);
  });

  it("gives up at timeout_seconds with SUB_FLOW_TIMEOUT and asks the sub-flow to stop", async () => {
    const ports = createTestPorts();
    ports.store.subFlowKeys.add("enrich");
    await run(def(), ports);
    ports.clock.advance(600_000);
    const outcome = await run(def(), ports);
    expect(outcome).toMatchObject({ status: "failed", error: { code: "SUB_FLOW_TIMEOUT" } });
    expect(ports.store.subFlows[0]!.cancelRequested).toBe(true);
  });

  it("refuses a flow that cannot be started with SUB_FLOW_UNAVAILABLE, without retrying", async () => {
    const ports = createTestPorts();
    const outcome = await run(def(), ports);
    expect(outcome).toMatchObject({ status: "failed", error: { code: "SUB_FLOW_UNAVAILABLE", message: 'sub_flow: flow "enrich" not found' } });
    expect(statuses(ports)).toEqual(["call#1:failed"]);
  });

  it("does not wait when wait is false", async () => {
    const ports = createTestPorts();
    ports.store.subFlowKeys.add("notify");
    const outcome = await run(definition({ trigger: manual, steps: [{ id: "call", type: "sub_flow", config: { flow: "notify", wait: false } }] }), ports);
    expect(outcome).toMatchObject({ status: "completed", result: { outputs: { call: { flow: "notify", status: "pending" } } } });
  });

  it("attaches a retried attempt to the execution an interrupted attempt had started", async () => {
    const ports = createTestPorts();
    ports.store.subFlowKeys.add("enrich");
    await run(def(), ports);
    // As if the worker had died between starting the sub-flow and recording the suspension.
    const attempt = ports.store.attemptsOf("exec-1", "call")[0]!;
    attempt.status = "running";
    attempt.output = undefined;
    const outcome = await run(def(), ports);
    expect(outcome).toMatchObject({ status: "waiting", stepId: "call" });
    expect(statuses(ports)).toEqual(["call#1:failed", "call#2:suspended"]);
    expect(ports.store.subFlows).toHaveLength(1);
  });

  it("waits inside a parallel branch like anywhere else", async () => {
    const ports = createTestPorts();
    ports.store.subFlowKeys.add("enrich");
    const parallel = definition({
      trigger: manual,
      steps: [twoBranches([{ id: "call", type: "sub_flow", config: { flow: "enrich" } }], [log("b1")]), log("end", "{{steps.call.output.status}}")],
    });
    expect(await run(parallel, ports)).toMatchObject({ status: "waiting", stepId: "call" });
    ports.store.settleSubFlow(ports.store.subFlows[0]!.executionId, { status: "completed", result: { outputs: {} } });
    expect(await run(parallel, ports)).toMatchObject({ status: "completed", result: { outputs: { end: { message: "completed" } } } });
  });
});
