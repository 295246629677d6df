/** The step runner contract shared by every built-in and custom runner. */
import type { z } from "zod";
import { issuesFromZod, type ValidationIssue } from "../definition/validate.ts";
import type { RateLimitRequest } from "../flow-control/rate-limit.ts";
import type { Causation, Clock, FunctionInvoker, HttpPort, StepLog, Store } from "../ports.ts";

/** The triggering event as runners see it. */
export interface StepEvent {
  op?: "INSERT" | "UPDATE" | "DELETE";
  table?: string;
  row?: unknown;
  old?: unknown;
  input?: unknown;
}

/** Everything a runner may use while executing one attempt. */
export interface StepContext {
  readonly executionId: string;
  readonly stepId: string;
  /** 1-based attempt number (informational: requests must not depend on it). */
  readonly attempt: number;
  /** Aborts on step timeout or execution cancellation; pass it to every I/O call. */
  readonly signal: AbortSignal;
  /** SHA-256 hex of execution id and step id: the same for every attempt, so receivers can de-duplicate. */
  readonly idempotencyKey: string;
  readonly event: StepEvent;
  readonly causation: Causation;
  readonly clock: Clock;
  readonly http: HttpPort;
  readonly store: Store;
  readonly functions?: FunctionInvoker;
}

/** The step finished; `output` becomes `{{steps.<id>.output}}`. */
export interface CompletedResult {
  status: "completed";
  output: unknown;
  logs?: StepLog[];
}

/** The execution must pause until `resumeAt` (a wait); the executor returns `waiting`. */
export interface SuspendedResult {
  status: "suspended";
  resumeAt: Date;
  reason: string;
  /** Recorded with the suspended attempt and handed to the runner's `resume` (what it is waiting for). */
  output?: unknown;
  logs?: StepLog[];
}

/** A suspended attempt as a runner's `resume` sees it. */
export interface SuspendedAttempt {
  /** The `output` the runner returned when it suspended. */
  output: unknown;
  /** When the suspension ends by itself (the runner's deadline). */
  resumeAt: Date | null;
}

/** The step chose where execution continues; `next: null` ends the execution. */
export interface BranchResult {
  status: "branch";
  next: string | null;
  output: unknown;
  logs?: StepLog[];
}

/** What `execute` returns. Failures are thrown as FlowErrors, never returned. */
export type StepResult = CompletedResult | SuspendedResult | BranchResult;

/** Result of `validateConfig`. */
export type ConfigCheck<C> = { valid: true; config: C } | { valid: false; errors: ValidationIssue[] };

/**
 * A step runner. Runners never retry: they throw taxonomy errors with `retryable` set and the
 * executor decides (retry-policy.ts).
 */
export interface StepRunner<C = unknown> {
  readonly stepType: string;
  readonly configSchema: z.ZodType<C>;
  /** Top-level config keys left unrendered (data that must not be treated as templates). */
  readonly rawConfigKeys?: readonly string[];
  /**
   * True when `execute` does no I/O and never waits: the executor then runs it without a timeout timer or abort
   * wiring (a timer cannot interrupt code that does not wait). Such a runner must not use `signal`.
   */
  readonly instant?: boolean;
  /** Checks a config; called on raw configs at publish time and on rendered configs before each attempt. */
  validateConfig(config: unknown): ConfigCheck<C>;
  execute(config: C, context: StepContext): Promise<StepResult>;
  /**
   * Continues a suspended attempt when its execution resumes, before `resumeAt` if something woke it (a sub-flow
   * finished). Runners without it are waits: their attempt completes once `resumeAt` has passed.
   */
  resume?(suspended: SuspendedAttempt, context: StepContext): Promise<StepResult>;
  /**
   * The destination an attempt with this (rendered) config calls and that destination's limit, or null when it is
   * not limited. The executor takes a token before each attempt; runners never wait for one themselves.
   */
  rateLimit?(config: C): RateLimitRequest | null;
  /** Called after every attempt, success or failure, to release what `execute` acquired. */
  cleanup?(context: StepContext): Promise<void>;
}

/** Builds `validateConfig` from the zod schema plus optional checks the schema cannot express. */
export function configValidator<C>(
  schema: z.ZodType<C>,
  extra?: (config: C) => ValidationIssue[],
): (config: unknown) => ConfigCheck<C> {
  return (config) => {
    const parsed = schema.safeParse(config);
    if (!parsed.success) return { valid: false, errors: issuesFromZod(parsed.error.issues) };
    const errors = extra?.(parsed.data) ?? [];
    return errors.length > 0 ? { valid: false, errors } : { valid: true, config: parsed.data };
  };
}
