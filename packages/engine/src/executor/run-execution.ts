/**
 * The executor: runs one execution of a pinned version from its last checkpoint.
 *
 * Replay model: the store returns every attempt recorded so far; the executor walks the steps from
 * the start, takes the recorded result of every finished step (never running it again, and
 * following recorded branch decisions), and resumes at the first unfinished step. This keeps the
 * executor stateless between invocations, so any worker can pick an execution up.
 *
 * A parallel step runs each branch as such a walk of its own steps, all branches at once; it records one attempt of
 * its own (running, suspended while a branch waits, then completed or failed) and is re-entered, never retried.
 */
import { type FlowDefinition, type FlowStep, type LeafStep, listSteps, type ParallelStep } from "../definition/schema.ts";
import { validateParameters } from "../definition/parameters.ts";
import { prefixIssue, validationError } from "../definition/validate.ts";
import { FlowError, type SerializedFlowError, serializeError, toFlowError } from "../errors.ts";
import { bucketFor, localRateLimiterFor, type RateLimitRequest } from "../flow-control/rate-limit.ts";
import type { AttemptFinish, AttemptRecord, EnginePorts, StepLog } from "../ports.ts";
import type { RunnerRegistry } from "../runners/registry.ts";
import type { StepContext, StepEvent, StepResult, StepRunner, SuspendedAttempt } from "../runners/types.ts";
import { forEachString, hasPlaceholder, parseTemplate, TEMPLATE_ROOTS } from "../templates/parse.ts";
import { createRedactor, type Redactor } from "../templates/redact.ts";
import { DEFAULT_MAX_RENDER_BYTES, renderTemplates, type StepState, type TemplateScope } from "../templates/render.ts";
import { idempotencyKey as idempotencyKeyFor } from "./idempotency-key.ts";
import { decideRetry, resolveRetrySettings, resolveTimeoutMs } from "./retry-policy.ts";

/** The execution to run, as the caller loaded it. */
export interface ExecutionRequest {
  id: string;
  flowId?: string;
  versionId?: string;
  /** The row change that triggered a row_change flow. */
  event?: { op: "INSERT" | "UPDATE" | "DELETE"; table?: string; row?: unknown; old?: unknown };
  /** Input of a manual or webhook run (checked against `parameters`). */
  input?: unknown;
}

/** Tuning knobs; the defaults suit an Edge Function. */
export interface ExecutorOptions {
  /**
   * Retry delays and rate-limit waits shorter than this are awaited in-process; longer ones suspend the execution.
   * Default 2000 ms.
   */
  suspendThresholdMs?: number;
  /** Step timeout when neither the step nor the flow sets one. Default 30 000 ms. */
  defaultTimeoutMs?: number;
  /** Bound on a rendered step configuration. Default 1 MiB. */
  maxRenderBytes?: number;
  /**
   * Once this much time has passed in one invocation, return `waiting` (resumeAt = now) before
   * starting the next step, so the caller can continue in a fresh invocation before the platform's
   * wall-clock limit. Unset = no limit.
   */
  yieldAfterMs?: number;
}

/** Arguments of {@link runExecution}. */
export interface RunExecutionParams {
  execution: ExecutionRequest;
  /** The pinned version's definition, already validated when it was published. */
  definition: FlowDefinition;
  registry: RunnerRegistry;
  ports: EnginePorts;
  /** Aborting cancels in-flight requests; the outcome is then `cancelled`. */
  signal?: AbortSignal;
  options?: ExecutorOptions;
}

/** How an invocation ended; the caller persists it as the execution's status. */
export type ExecutionOutcome =
  | { status: "completed"; result: { outputs: Record<string, unknown> } }
  | { status: "failed"; error: SerializedFlowError; stepId?: string }
  | { status: "waiting"; resumeAt: Date; reason: "wait" | "retry" | "rate_limit" | "yield"; stepId?: string; attempt?: number }
  | { status: "cancelled"; stepId?: string };

type RateGate = { kind: "taken" } | { kind: "suspend"; resumeAt: Date } | { kind: "cancelled" };

type StepEnd =
  | { kind: "done"; state: StepState; next?: string | null }
  | { kind: "outcome"; outcome: ExecutionOutcome }
  | { kind: "halted" };

/** An attempt whose start is recorded: its rendered config, or the error rendering it gave. */
interface BegunAttempt {
  attemptId: string;
  startedAt: Date;
  config: unknown;
  error: FlowError | undefined;
}

/** How a walk over a list of steps ended: all done, an outcome for the execution, or stopped because a sibling failed. */
type SequenceEnd = { kind: "done" } | { kind: "outcome"; outcome: ExecutionOutcome } | { kind: "halted" };

/** A list of steps walked in order: the top-level steps or one parallel branch. */
interface StepList {
  steps: readonly LeafStep[] | readonly FlowStep[];
  positions: Map<string, number>;
  /** Path of the list in the definition, e.g. `steps` or `steps[2].config.branches[0].steps`. */
  path: string;
  /** Set when a sibling branch failed: stop before the next step. */
  halt?: { stopped: boolean };
}

/**
 * Runs (or resumes) one execution and returns its outcome. Every attempt is recorded through the
 * store; the execution's own status is NOT persisted here: the caller stores the returned outcome.
 * The flow's `when` rule is not evaluated here either: it decides whether an execution is created.
 * Store failures outside an attempt are thrown, since nothing could be recorded anyway.
 */
export async function runExecution(params: RunExecutionParams): Promise<ExecutionOutcome> {
  const { execution, definition, registry, ports } = params;
  const signal = params.signal ?? new AbortController().signal;
  const options = params.options ?? {};
  const { store, clock } = ports;
  const random = ports.random ?? Math.random;
  const invocationStart = clock.now().getTime();
  let attemptsThisInvocation = 0;
  // Identity until secrets are known; nothing secret exists before that.
  let redact: Redactor = (value) => value;

  // Preflight checks are deterministic, so repeating them on every resume is harmless.
  for (const { step } of listSteps(definition.steps)) {
    if (step.type !== "parallel" && registry.get(step.type) === undefined) {
      return failed(new FlowError("UNKNOWN_STEP_TYPE", `No runner registered for step type "${step.type}"`), step.id);
    }
  }
  const takesInput = definition.trigger.type === "manual" || definition.trigger.type === "webhook";
  const input = execution.input ?? (takesInput ? {} : undefined);
  if (takesInput && definition.parameters !== undefined) {
    const issues = validateParameters(definition.parameters, input);
    if (issues.length > 0) return failed(validationError(issues, "PARAMETERS_INVALID"));
  }
  // Cancellation is checked in the step loop, where a suspended attempt can also be closed.

  let secrets: Record<string, string>;
  try {
    secrets = await resolveSecrets(definition, ports);
  } catch (error) {
    return failed(toFlowError(error));
  }
  redact = createRedactor(Object.values(secrets));

  const checkpoint = await store.loadCheckpoint(execution.id);
  const attemptsByStep = new Map<string, AttemptRecord[]>();
  for (const record of checkpoint.attempts) {
    const list = attemptsByStep.get(record.stepId) ?? [];
    list.push(record);
    attemptsByStep.set(record.stepId, list);
  }
  for (const list of attemptsByStep.values()) list.sort((a, b) => a.attempt - b.attempt);

  const states: Record<string, StepState> = {};
  // Attempts left suspended (recorded earlier or in this invocation), so a failed parallel step can close them.
  const suspendedAttempts = new Map<string, { attemptId: string; startedAt: Date; output: unknown }>();
  const event: StepEvent = {
    ...(execution.event ?? {}),
    ...(input === undefined ? {} : { input }),
  };
  const scope: TemplateScope = {
    row: execution.event?.row,
    old: execution.event?.old,
    input,
    variables: definition.variables ?? {},
    env: definition.env ?? {},
    secrets,
    steps: states,
    execution: {
      id: execution.id,
      ...(execution.flowId === undefined ? {} : { flow_id: execution.flowId }),
      ...(execution.versionId === undefined ? {} : { version_id: execution.versionId }),
      ...(execution.event?.op === undefined ? {} : { op: execution.event.op }),
      ...(execution.event?.table === undefined ? {} : { table: execution.event.table }),
    },
  };

  function failed(error: FlowError, stepId?: string): ExecutionOutcome {
    // Error text can quote a URL or body that contains a secret; only the redacted form leaves.
    const serialized = redactError(error);
    return stepId === undefined ? { status: "failed", error: serialized } : { status: "failed", error: serialized, stepId };
  }

  function redactError(error: unknown): SerializedFlowError {
    return redact(serializeError(error));
  }

  async function cancelRequested(): Promise<boolean> {
    return signal.aborted || (await store.isCancelRequested(execution.id));
  }

  async function finish(attemptId: string, startedAt: Date, finishData: Omit<AttemptFinish, "finishedAt" | "durationMs">): Promise<void> {
    const finishedAt = clock.now();
    await store.finishAttempt(attemptId, { ...finishData, finishedAt, durationMs: finishedAt.getTime() - startedAt.getTime() });
  }

  // Takes a token for the attempt about to start. Short waits are slept here (in total at most the suspend
  // threshold), longer ones suspend the execution. Neither records an attempt: waiting for a token never uses up a
  // step's retries, and a resumed execution simply asks again.
  async function takeRateToken(request: RateLimitRequest, stepId: string): Promise<RateGate> {
    const limiter = ports.rateLimiter ?? localRateLimiterFor(clock);
    const bucket = bucketFor(request.limit);
    const threshold = options.suspendThresholdMs ?? 2000;
    let waitedMs = 0;
    for (;;) {
      const { waitMs } = await limiter.takeToken(request.destination, bucket);
      if (waitMs <= 0) return { kind: "taken" };
      if (waitedMs + waitMs >= threshold) {
        ports.logger.log("info", `step ${stepId} waits ${waitMs} ms for a rate-limit token; suspending`, {
          executionId: execution.id,
          stepId,
          destination: request.destination,
        });
        return { kind: "suspend", resumeAt: new Date(clock.now().getTime() + waitMs) };
      }
      try {
        await clock.sleep(waitMs, signal);
      } catch {
        return { kind: "cancelled" };
      }
      waitedMs += waitMs;
    }
  }

  // Renders and checks a new attempt's config, takes a rate-limit token, and records the attempt's start (before any
  // side effect). A config that does not render is recorded as the attempt's error, not thrown.
  async function beginAttempt(step: LeafStep, runner: StepRunner, location: string, attempt: number): Promise<BegunAttempt | StepEnd> {
    let startedAt = clock.now();
    let config: unknown;
    let renderedInput: unknown = null;
    let error: FlowError | undefined;
    try {
      const rendered = renderTemplates(step.config, scope, {
        aliases: definition.aliases ?? {},
        maxBytes: options.maxRenderBytes ?? DEFAULT_MAX_RENDER_BYTES,
        location,
        ...(runner.rawConfigKeys === undefined ? {} : { skipKeys: runner.rawConfigKeys }),
      });
      renderedInput = rendered.redacted;
      const checked = runner.validateConfig(rendered.value);
      if (checked.valid) config = checked.config;
      else error = validationError(checked.errors.map((issue) => prefixIssue(location, issue)), "CONFIG_INVALID");
    } catch (caught) {
      error = toFlowError(caught);
    }
    if (error === undefined && runner.rateLimit !== undefined) {
      let gate: RateGate = { kind: "taken" };
      try {
        const request = runner.rateLimit(config);
        if (request !== null) gate = await takeRateToken(request, step.id);
      } catch (caught) {
        // The limiter itself failed (its database is unreachable, say): this attempt fails with that error.
        error = toFlowError(caught);
      }
      if (gate.kind === "cancelled") return { kind: "outcome", outcome: { status: "cancelled", stepId: step.id } };
      if (gate.kind === "suspend") {
        return { kind: "outcome", outcome: { status: "waiting", resumeAt: gate.resumeAt, reason: "rate_limit", stepId: step.id, attempt } };
      }
      // The attempt starts when its request can go, not when it began waiting for a token.
      startedAt = clock.now();
    }
    const attemptId = await store.startAttempt({ executionId: execution.id, stepId: step.id, attempt, startedAt, input: renderedInput });
    attemptsThisInvocation++;
    return { attemptId, startedAt, config, error };
  }

  // Runs attempts of one unfinished step until it completes, fails for good, or the execution must pause. With
  // `resumeFrom`, the first attempt is that suspended one, continued through the runner's `resume`.
  async function runStep(step: LeafStep, position: number, list: StepList, firstAttempt: number, resumeFrom?: AttemptRecord): Promise<StepEnd> {
    const runner = registry.require(step.type);
    const settings = resolveRetrySettings(step, definition.defaults?.retry);
    const timeoutMs = resolveTimeoutMs(step, definition.defaults?.timeout, options.defaultTimeoutMs);
    // Computed when a runner reads it: steps that call nobody (log, transform) never need it.
    let idempotencyKey: string | undefined;
    const keyOf = () => (idempotencyKey ??= idempotencyKeyFor(execution.id, step.id));
    const location = `${list.path}[${position}].config`;

    for (let attempt = firstAttempt; ; attempt++) {
      if (attempt > firstAttempt && (await cancelRequested())) return { kind: "outcome", outcome: { status: "cancelled", stepId: step.id } };
      // A sibling branch failed: no further attempt (the failed one keeps its pending retry on record).
      if (attempt > firstAttempt && list.halt?.stopped) return { kind: "halted" };
      const resuming = attempt === firstAttempt ? resumeFrom : undefined;
      let begun: BegunAttempt;
      if (resuming !== undefined) {
        begun = { attemptId: resuming.attemptId, startedAt: resuming.startedAt, config: undefined, error: undefined };
      } else {
        const next = await beginAttempt(step, runner, location, attempt);
        if ("kind" in next) return next;
        begun = next;
      }
      const { attemptId, startedAt, config } = begun;
      let error = begun.error;

      let result: StepResult | undefined;
      if (error === undefined) {
        const suspended: SuspendedAttempt | undefined = resuming === undefined
          ? undefined
          : { output: resuming.output ?? null, resumeAt: resuming.resumeAt ?? null };
        try {
          result = await executeWithTimeout(runner, config, suspended, (attemptSignal) => ({
            executionId: execution.id,
            stepId: step.id,
            attempt,
            signal: attemptSignal,
            get idempotencyKey() {
              return keyOf();
            },
            event,
            causation: {
              executionId: execution.id,
              stepId: step.id,
              ...(execution.flowId === undefined ? {} : { flowId: execution.flowId }),
              ...(execution.versionId === undefined ? {} : { versionId: execution.versionId }),
            },
            clock,
            http: ports.http,
            store,
            ...(ports.functions === undefined ? {} : { functions: ports.functions }),
          }), timeoutMs, signal, step.id);
        } catch (caught) {
          error = toFlowError(caught);
        }
      }

      if (result !== undefined) {
        const logs = result.logs === undefined ? undefined : redact(result.logs as StepLog[]);
        const withLogs = logs === undefined ? {} : { logs };
        if (result.status === "suspended") {
          // A runner that is woken by something else (a sub-flow) stays suspended until its own resume says otherwise;
          // only a plain wait is over once its time has come.
          if (runner.resume !== undefined || result.resumeAt.getTime() > clock.now().getTime()) {
            const recorded = result.output === undefined ? {} : { output: redact(result.output) };
            await finish(attemptId, startedAt, { status: "suspended", resumeAt: result.resumeAt, ...recorded, ...withLogs });
            suspendedAttempts.set(step.id, { attemptId, startedAt, output: result.output });
            return { kind: "outcome", outcome: { status: "waiting", resumeAt: result.resumeAt, reason: "wait", stepId: step.id } };
          }
          const output = { waited_until: result.resumeAt.toISOString() };
          await finish(attemptId, startedAt, { status: "completed", output, ...withLogs });
          return { kind: "done", state: { status: "completed", output } };
        }
        if (result.status === "branch" && result.next !== null) {
          const target = list.positions.get(result.next);
          if (target === undefined || target <= position) {
            error = new FlowError("BRANCH_TARGET_INVALID", `Step "${step.id}" branched to "${result.next}", which is not a later step`);
          }
        }
        if (error === undefined) {
          const output = redact(result.output);
          const branch = result.status === "branch" ? { next: result.next } : undefined;
          await finish(attemptId, startedAt, { status: "completed", output, ...withLogs, ...(branch === undefined ? {} : { branch }) });
          return { kind: "done", state: { status: "completed", output }, ...(branch === undefined ? {} : { next: branch.next }) };
        }
      }

      const failure = error!;
      if (signal.aborted) {
        await finish(attemptId, startedAt, { status: "failed", error: redactError(new FlowError("CANCELLED", "Execution cancelled during the step")) });
        return { kind: "outcome", outcome: { status: "cancelled", stepId: step.id } };
      }
      const serialized = redactError(failure);
      const decision = decideRetry(attempt, failure, settings, random);
      if (decision.retry) {
        ports.logger.log("info", `step ${step.id} attempt ${attempt} failed (${failure.code}); retrying in ${decision.delayMs} ms`, {
          executionId: execution.id,
          stepId: step.id,
        });
        const threshold = options.suspendThresholdMs ?? 2000;
        if (decision.delayMs < threshold) {
          // resumeAt marks the retry as pending, so a worker that dies during the sleep leaves it to be retried on
          // resume rather than read as the step's final failure.
          await finish(attemptId, startedAt, {
            status: "failed",
            error: serialized,
            resumeAt: new Date(clock.now().getTime() + decision.delayMs),
          });
          try {
            await clock.sleep(decision.delayMs, signal);
          } catch {
            return { kind: "outcome", outcome: { status: "cancelled", stepId: step.id } };
          }
          continue;
        }
        // Long backoffs must not hold the function: record when the retry is due and pause.
        const resumeAt = new Date(clock.now().getTime() + decision.delayMs);
        await finish(attemptId, startedAt, { status: "failed", error: serialized, resumeAt });
        return { kind: "outcome", outcome: { status: "waiting", resumeAt, reason: "retry", stepId: step.id, attempt: attempt + 1 } };
      }
      const continued = step.continue_on_error === true;
      await finish(attemptId, startedAt, { status: "failed", error: serialized, ...(continued ? { continued } : {}) });
      ports.logger.log(continued ? "warn" : "error", `step ${step.id} failed (${failure.code})${continued ? "; continuing" : ""}`, {
        executionId: execution.id,
        stepId: step.id,
      });
      if (continued) return { kind: "done", state: { status: "failed", error: serialized } };
      return { kind: "outcome", outcome: { status: "failed", error: serialized, stepId: step.id } };
    }
  }

  // Walks one list of steps from its start: recorded results are taken, the first unfinished step runs.
  async function runSequence(list: StepList): Promise<SequenceEnd> {
    const { steps } = list;
    let position = 0;
    while (position < steps.length) {
      if (list.halt?.stopped) return { kind: "halted" };
      const step = steps[position]!;
      const end = step.type === "parallel" ? await runParallel(step, position, list) : await advanceStep(step, position, list);
      if (end.kind === "outcome" || end.kind === "halted") return end;
      states[step.id] = end.state;
      position = nextPosition(position, end.next);
    }
    return { kind: "done" };

    function nextPosition(current: number, next: string | null | undefined): number {
      if (next === undefined) return current + 1;
      if (next === null) return steps.length;
      return list.positions.get(next) ?? steps.length;
    }
  }

  // Takes a finished step's recorded result, or resumes or starts its next attempt.
  async function advanceStep(step: LeafStep, position: number, list: StepList): Promise<StepEnd> {
    const attempts = attemptsByStep.get(step.id) ?? [];
    const last = attempts.at(-1);

    // Finished in an earlier invocation: take the recorded result, never run it again.
    if (last?.status === "completed") {
      return { kind: "done", state: { status: "completed", output: last.output }, ...(last.branch ? { next: last.branch.next } : {}) };
    }
    if (last?.status === "failed" && !last.resumeAt) {
      const error = recordedError(last);
      if (last.continued) return { kind: "done", state: { status: "failed", error } };
      return { kind: "outcome", outcome: { status: "failed", error, stepId: step.id } };
    }

    if (await cancelRequested()) {
      if (last?.status === "suspended") {
        await finish(last.attemptId, last.startedAt, { status: "failed", error: serializeError(new FlowError("CANCELLED", "Execution cancelled while waiting")) });
      }
      return { kind: "outcome", outcome: { status: "cancelled", stepId: step.id } };
    }
    if (options.yieldAfterMs !== undefined && attemptsThisInvocation > 0 && clock.now().getTime() - invocationStart >= options.yieldAfterMs) {
      return { kind: "outcome", outcome: { status: "waiting", resumeAt: clock.now(), reason: "yield", stepId: step.id } };
    }

    const firstAttempt = (last?.attempt ?? 0) + 1;
    const now = clock.now();
    if (last?.status === "suspended") {
      suspendedAttempts.set(step.id, { attemptId: last.attemptId, startedAt: last.startedAt, output: last.output });
      // A runner that can be woken (a sub-flow) looks at what it waits for; a wait ends when its time has come.
      if (registry.require(step.type).resume !== undefined) return await runStep(step, position, list, last.attempt, last);
      const resumeAt = last.resumeAt ?? now;
      if (resumeAt.getTime() > now.getTime()) return { kind: "outcome", outcome: { status: "waiting", resumeAt, reason: "wait", stepId: step.id } };
      const output = { waited_until: resumeAt.toISOString() };
      await finish(last.attemptId, last.startedAt, { status: "completed", output });
      return { kind: "done", state: { status: "completed", output } };
    }
    if (last?.status === "failed" && last.resumeAt && last.resumeAt.getTime() > now.getTime()) {
      return { kind: "outcome", outcome: { status: "waiting", resumeAt: last.resumeAt, reason: "retry", stepId: step.id, attempt: firstAttempt } };
    }
    if (last?.status === "running") {
      // The previous invocation died mid-attempt; the outcome is unknown, so it counts as a retryable failure.
      const interrupted = new FlowError("ATTEMPT_INTERRUPTED", `Attempt ${last.attempt} of step ${step.id} was interrupted`);
      const decision = decideRetry(last.attempt, interrupted, resolveRetrySettings(step, definition.defaults?.retry), random);
      if (!decision.retry) {
        const continued = step.continue_on_error === true;
        const error = serializeError(interrupted);
        await finish(last.attemptId, last.startedAt, { status: "failed", error, ...(continued ? { continued } : {}) });
        if (!continued) return { kind: "outcome", outcome: { status: "failed", error, stepId: step.id } };
        return { kind: "done", state: { status: "failed", error } };
      }
      const resumeAt = new Date(now.getTime() + decision.delayMs);
      await finish(last.attemptId, last.startedAt, { status: "failed", error: serializeError(interrupted), resumeAt });
      if (decision.delayMs >= (options.suspendThresholdMs ?? 2000)) {
        return { kind: "outcome", outcome: { status: "waiting", resumeAt, reason: "retry", stepId: step.id, attempt: firstAttempt } };
      }
      try {
        await clock.sleep(decision.delayMs, signal);
      } catch {
        return { kind: "outcome", outcome: { status: "cancelled", stepId: step.id } };
      }
    }

    return await runStep(step, position, list, firstAttempt);
  }

  // Runs every branch at once. A branch that fails stops the others before their next step; a branch that waits
  // makes the execution wait (after the other branches have gone as far as they can) until the earliest resume.
  async function runParallel(step: ParallelStep, position: number, list: StepList): Promise<StepEnd> {
    const last = (attemptsByStep.get(step.id) ?? []).at(-1);
    if (last?.status === "completed") {
      restoreBranchStates(step);
      return { kind: "done", state: { status: "completed", output: last.output } };
    }
    if (last?.status === "failed") {
      restoreBranchStates(step);
      const error = recordedError(last);
      if (last.continued) return { kind: "done", state: { status: "failed", error } };
      return { kind: "outcome", outcome: { status: "failed", error, stepId: step.id } };
    }
    // Running or suspended: re-entered, not retried (its branches' steps keep their own records).
    let attemptId = last?.attemptId;
    const startedAt = last?.startedAt ?? clock.now();
    if (attemptId === undefined) {
      if (await cancelRequested()) return { kind: "outcome", outcome: { status: "cancelled", stepId: step.id } };
      const input = { branches: step.config.branches.map((branch) => branch.id) };
      attemptId = await store.startAttempt({ executionId: execution.id, stepId: step.id, attempt: 1, startedAt, input });
      attemptsThisInvocation++;
    }

    const halt = { stopped: false };
    const settled = await Promise.allSettled(step.config.branches.map(async (branch, b) => {
      try {
        const end = await runSequence({
          steps: branch.steps,
          positions: new Map(branch.steps.map((inner, index) => [inner.id, index])),
          path: `${list.path}[${position}].config.branches[${b}].steps`,
          halt,
        });
        if (end.kind === "outcome" && end.outcome.status !== "waiting") halt.stopped = true;
        return end;
      } catch (error) {
        // The store failed (a lost lease, say): the other branches stop before their next step, and the error is
        // thrown only once they have, so nothing keeps running behind an invocation that gave the execution up.
        halt.stopped = true;
        throw error;
      }
    }));
    const thrown = settled.find((result) => result.status === "rejected");
    if (thrown !== undefined) throw thrown.reason;
    const ends = settled.map((result) => (result as PromiseFulfilledResult<SequenceEnd>).value);

    const outcomes = ends.flatMap((end, b) => (end.kind === "outcome" ? [{ outcome: end.outcome, branch: step.config.branches[b]!.id }] : []));
    const cancelled = outcomes.find((o) => o.outcome.status === "cancelled");
    if (cancelled !== undefined) {
      await finish(attemptId, startedAt, { status: "failed", error: serializeError(new FlowError("CANCELLED", "Execution cancelled during the step")) });
      return { kind: "outcome", outcome: cancelled.outcome };
    }
    const failure = outcomes.find((o) => o.outcome.status === "failed");
    if (failure !== undefined && failure.outcome.status === "failed") {
      const cause = failure.outcome.error;
      const error = serializeError(new FlowError("BRANCH_FAILED", `Branch "${failure.branch}" failed at step "${failure.outcome.stepId ?? step.id}": ${cause.message}`, {
        details: { branch: failure.branch, step_id: failure.outcome.stepId ?? null, error: cause },
      }));
      await closeWaitingBranches(step, outcomes.flatMap((o) => (o.outcome.status === "waiting" ? [o] : [])), failure.branch);
      const continued = step.continue_on_error === true;
      await finish(attemptId, startedAt, { status: "failed", error, ...(continued ? { continued } : {}) });
      if (continued) return { kind: "done", state: { status: "failed", error } };
      return { kind: "outcome", outcome: { status: "failed", error, stepId: failure.outcome.stepId ?? step.id } };
    }
    const waits = outcomes.flatMap((o) => (o.outcome.status === "waiting" ? [o.outcome] : []));
    if (waits.length > 0) {
      const first = waits.reduce((a, b) => (b.resumeAt.getTime() < a.resumeAt.getTime() ? b : a));
      await finish(attemptId, startedAt, { status: "suspended", resumeAt: first.resumeAt });
      return { kind: "outcome", outcome: first };
    }
    const output = { branches: Object.fromEntries(step.config.branches.map((branch) => [branch.id, branchStatus(branch.steps)])) };
    await finish(attemptId, startedAt, { status: "completed", output });
    return { kind: "done", state: { status: "completed", output } };
  }

  // Branches left waiting when another failed will not be resumed: their suspended attempts are closed as failed, and a
  // sub-flow one of them waits for is asked to stop, since nothing will read its result.
  async function closeWaitingBranches(step: ParallelStep, waiting: Array<{ outcome: ExecutionOutcome; branch: string }>, failedBranch: string) {
    const types = new Map(step.config.branches.flatMap((branch) => branch.steps.map((inner) => [inner.id, inner.type] as const)));
    for (const { outcome } of waiting) {
      const stepId = "stepId" in outcome ? outcome.stepId : undefined;
      const suspended = stepId === undefined ? undefined : suspendedAttempts.get(stepId);
      if (stepId === undefined || suspended === undefined) continue;
      const stopped = new FlowError("BRANCH_FAILED", `Stopped: branch "${failedBranch}" of step "${step.id}" failed`);
      await finish(suspended.attemptId, suspended.startedAt, { status: "failed", error: serializeError(stopped) });
      suspendedAttempts.delete(stepId);
      const waitedFor = (suspended.output as { execution_id?: unknown } | null)?.execution_id;
      if (types.get(stepId) === "sub_flow" && typeof waitedFor === "string" && store.cancelSubFlow !== undefined) {
        await store.cancelSubFlow(execution.id, waitedFor);
      }
    }
  }

  // A branch completed unless one of its steps failed (and the branch went on because of continue_on_error).
  function branchStatus(steps: readonly LeafStep[]): "completed" | "completed_with_errors" {
    return steps.some((inner) => states[inner.id]?.status === "failed") ? "completed_with_errors" : "completed";
  }

  // A finished parallel step is not walked again, but later steps may read its branches' outputs.
  function restoreBranchStates(step: ParallelStep): void {
    for (const branch of step.config.branches) {
      for (const inner of branch.steps) {
        const last = (attemptsByStep.get(inner.id) ?? []).at(-1);
        if (last?.status === "completed") states[inner.id] = { status: "completed", output: last.output };
        else if (last?.status === "failed" && last.continued && last.error) states[inner.id] = { status: "failed", error: last.error };
      }
    }
  }

  const end = await runSequence({ steps: definition.steps, positions: new Map(definition.steps.map((step, index) => [step.id, index])), path: "steps" });
  if (end.kind === "outcome") return end.outcome;

  const outputs: Record<string, unknown> = {};
  for (const [stepId, state] of Object.entries(states)) if (state.status === "completed") outputs[stepId] = state.output;
  return { status: "completed", result: { outputs } };
}

// The error a failed attempt recorded (an attempt stored without one is reported as such, not as a success).
function recordedError(attempt: AttemptRecord): SerializedFlowError {
  return attempt.error ?? serializeError(new FlowError("UNEXPECTED_ERROR", "Attempt failed without an error"));
}

// Runs one attempt under a timeout. The race guarantees the timeout even for a runner that ignores
// its signal; the late result of such a runner is discarded.
async function executeWithTimeout(
  runner: StepRunner,
  config: unknown,
  suspended: SuspendedAttempt | undefined,
  contextFor: (signal: AbortSignal) => StepContext,
  timeoutMs: number,
  outer: AbortSignal,
  stepId: string,
): Promise<StepResult> {
  if (runner.instant === true && suspended === undefined) {
    // It does no I/O and never waits, so no timer or abort could interrupt it: skip the wiring.
    if (outer.aborted) throw outer.reason;
    const context = contextFor(outer);
    try {
      return await runner.execute(config, context);
    } finally {
      await cleanUp(runner, context);
    }
  }
  // One controller per attempt, aborted by the timer or the execution's signal. Cheaper than AbortSignal.any, and
  // the timeout's error (an Error captures a stack) is only built when the timer fires.
  const attempt = new AbortController();
  const signal = attempt.signal;
  const context = contextFor(signal);
  const timer = context.clock.timeout(timeoutMs, null);
  timer.signal.addEventListener("abort", () => {
    attempt.abort(new FlowError("TIMEOUT", `Step ${stepId} timed out after ${timeoutMs} ms`));
  }, { once: true });
  const onOuterAbort = () => attempt.abort(outer.reason);
  if (outer.aborted) onOuterAbort();
  else outer.addEventListener("abort", onOuterAbort, { once: true });
  try {
    const work = suspended !== undefined && runner.resume !== undefined ? runner.resume(suspended, context) : runner.execute(config, context);
    return await raceAbort(work, signal);
  } catch (error) {
    if (timer.signal.aborted && !outer.aborted) throw signal.reason;
    throw error;
  } finally {
    timer.clear();
    outer.removeEventListener("abort", onOuterAbort);
    await cleanUp(runner, context);
  }
}

async function cleanUp(runner: StepRunner, context: StepContext): Promise<void> {
  if (runner.cleanup === undefined) return;
  try {
    await runner.cleanup(context);
  } catch {
    // A failed cleanup must not change the step's result.
  }
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

// Secret aliases some placeholder of a definition uses. Definitions are immutable once validated (the runtime keeps
// one object per published version), so each is scanned once, not on every execution.
const usedSecretsByDefinition = new WeakMap<FlowDefinition, ReadonlySet<string>>();

function usedSecrets(definition: FlowDefinition): ReadonlySet<string> {
  const cached = usedSecretsByDefinition.get(definition);
  if (cached !== undefined) return cached;
  const aliases = definition.aliases ?? {};
  const used = new Set<string>();
  const roots = new Set<string>(TEMPLATE_ROOTS);
  for (const { step } of listSteps(definition.steps)) {
    // A parallel step's config holds its branches' steps, which the list visits on their own.
    if (step.type === "parallel") continue;
    const config = step.type === "condition" ? { ...step.config, rules: undefined } : step.config;
    forEachString(config, (text) => {
      if (!hasPlaceholder(text)) return;
      for (const part of parseTemplate(text).parts) {
        if (typeof part === "string") continue;
        let segments = part.segments;
        if (!roots.has(segments[0]!) && aliases[segments[0]!] !== undefined) segments = aliases[segments[0]!]!.split(".");
        if (segments[0] === "secrets" && segments[1] !== undefined) used.add(segments[1]);
      }
    });
  }
  usedSecretsByDefinition.set(definition, used);
  return used;
}

// Only secrets that some placeholder uses are fetched: an unused, missing secret must not fail a run.
async function resolveSecrets(definition: FlowDefinition, ports: EnginePorts): Promise<Record<string, string>> {
  const declared = definition.secrets ?? {};
  const used = usedSecrets(definition);
  if (used.size === 0) return {};
  const names = [...used].map((alias) => {
    const name = declared[alias];
    if (name === undefined) throw new FlowError("SECRET_NOT_FOUND", `Secret "${alias}" is not declared in "secrets"`);
    return name;
  });
  const values = await ports.secrets.getSecrets(names);
  const resolved: Record<string, string> = {};
  for (const alias of used) {
    const name = declared[alias]!;
    const value = values[name];
    if (value === undefined) {
      throw new FlowError("SECRET_NOT_FOUND", `Secret "${alias}" (vault name "${name}") was not found`, { details: { alias, name } });
    }
    resolved[alias] = value;
  }
  return resolved;
}
