/**
 * Ports: the only ways the engine reaches the world. Adapters (Postgres store, Vault secrets,
 * supabase-js functions, Deno entry point) implement these and hold no business logic; tests use
 * the in-memory versions in `src/testing/`.
 */
import type { SerializedFlowError } from "./errors.ts";

/** Status of one attempt of one step. */
export type AttemptStatus = "running" | "completed" | "failed" | "suspended";

/** A log line produced by a step (persisted with its attempt, already redacted). */
export interface StepLog {
  level: "debug" | "info" | "warn" | "error";
  message: string;
  data?: unknown;
  at?: string;
}

/** Who caused a database write: lets triggers recognise (and skip) changes made by a flow itself. */
export interface Causation {
  executionId: string;
  stepId: string;
  flowId?: string;
  versionId?: string;
}

/** What the executor records when an attempt starts. */
export interface AttemptStart {
  executionId: string;
  stepId: string;
  /** 1 for the first attempt of the step, 2 for the first retry, ... */
  attempt: number;
  startedAt: Date;
  /** Rendered configuration with secrets replaced by "[redacted]"; null when rendering itself failed. */
  input: unknown;
}

/** What the executor records when an attempt ends (or is suspended). */
export interface AttemptFinish {
  status: Exclude<AttemptStatus, "running">;
  finishedAt: Date;
  durationMs: number;
  /** Redacted output (completed attempts). */
  output?: unknown;
  /** Set by condition steps: where execution continues; `{ next: null }` ends it. Absent = next step in order. */
  branch?: { next: string | null };
  /** Redacted error (failed attempts). */
  error?: SerializedFlowError;
  /** Redacted step logs. */
  logs?: StepLog[];
  /** Suspended attempts: when to resume. Failed attempts: when the retry is due (absent = no retry). */
  resumeAt?: Date;
  /** Failed attempts: the step failed for good but `continue_on_error` let the execution go on. */
  continued?: boolean;
}

/** An attempt as the store returns it on resume. */
export interface AttemptRecord {
  attemptId: string;
  stepId: string;
  attempt: number;
  status: AttemptStatus;
  startedAt: Date;
  output?: unknown;
  branch?: { next: string | null } | null;
  error?: SerializedFlowError | null;
  resumeAt?: Date | null;
  continued?: boolean;
}

/** Everything needed to resume an execution: its attempts so far, in any order. */
export interface Checkpoint {
  attempts: AttemptRecord[];
}

/** A sub_flow step's request to start an execution of another flow. */
export interface SubFlowStart {
  parentExecutionId: string;
  parentStepId: string;
  /** The parent step's attempt that starts it (recorded; any later attempt of the step finds the same execution). */
  attempt: number;
  /** The key of a flow in the parent's tenant. */
  flowKey: string;
  input: unknown;
}

/** How a sub-flow execution stands. */
export interface SubFlowState {
  executionId: string;
  status: "pending" | "running" | "waiting" | "completed" | "failed" | "cancelled";
  /** Completed: the execution's result (`{ outputs }`). */
  result?: unknown;
  /** Failed or cancelled: why. */
  error?: { code: string; message: string } | null;
}

/** Result of a row update. */
export interface RowUpdateResult {
  /** Rows changed; 0 means no row had that key. */
  updatedCount: number;
}

/**
 * Persistence used by the executor. Shaped so a Postgres adapter is a handful of statements over
 * one attempts table. The executor never persists execution status: it returns an outcome and the
 * caller stores it.
 */
export interface Store {
  /** Every attempt recorded for the execution (a fresh execution returns `{ attempts: [] }`). */
  loadCheckpoint(executionId: string): Promise<Checkpoint>;
  /** Records the start of an attempt and returns its id. */
  startAttempt(start: AttemptStart): Promise<string>;
  /**
   * Records how an attempt ended. Called a second time for a `suspended` attempt (a wait) to mark
   * it `completed` when the execution resumes after `resumeAt`.
   */
  finishAttempt(attemptId: string, finish: AttemptFinish): Promise<void>;
  /** True once someone asked to cancel the execution. Checked before every attempt. */
  isCancelRequested(executionId: string): Promise<boolean>;
  /**
   * Sets `values` on the row of `table` whose `keyColumn` equals `key`. Identifiers arrive
   * validated (`^[a-z_][a-z0-9_]*$`, optional schema prefix) but adapters must still quote them and
   * pass `key` and `values` as parameters, never as SQL text.
   */
  updateRow(
    table: string,
    keyColumn: string,
    key: string | number,
    values: Record<string, unknown>,
    causation: Causation,
  ): Promise<RowUpdateResult>;
  /**
   * Starts (or finds again) the sub-flow execution of a parent's step: a parent's step starts at most one, and every
   * later attempt of that step (after an interruption, say) gets that one back, however it ended. Throws a
   * FlowError SUB_FLOW_UNAVAILABLE when the flow cannot be started (unknown key, no published version, inactive,
   * no input trigger, invalid input, depth limit). Needed only by flows with sub_flow steps.
   */
  startSubFlow?(start: SubFlowStart): Promise<SubFlowState>;
  /** The current state of a sub-flow execution this parent started; null when it does not exist. */
  getSubFlow?(parentExecutionId: string, executionId: string): Promise<SubFlowState | null>;
  /** Asks a sub-flow execution to stop (its parent gave up waiting). */
  cancelSubFlow?(parentExecutionId: string, executionId: string): Promise<void>;
}

/** Time. Injected so tests control it and waits never block a real clock. */
export interface Clock {
  /** The current time. */
  now(): Date;
  /** Resolves after `ms`; rejects with the signal's reason if it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** A signal that aborts with `reason` after `ms`; call `clear` to release the timer. */
  timeout(ms: number, reason: unknown): { signal: AbortSignal; clear(): void };
}

/** A `fetch`-compatible function. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** Outbound HTTP and the network policy applied to it (see runners/net-guard.ts). */
export interface HttpPort {
  fetch: FetchLike;
  /** Resolves a host name to IP addresses so resolved addresses are checked too. Optional. */
  resolveHost?(hostname: string): Promise<string[]>;
  /** Allow loopback, private, link-local and metadata destinations (local development and tests only). */
  allowPrivateNetworks?: boolean;
  /** Host names (or IP literals) allowed even though they are private. */
  allowedHosts?: readonly string[];
}

/** Secret lookup (Supabase Vault in production). */
export interface SecretsPort {
  /** Returns the values of the named secrets; names that do not exist are absent from the result. */
  getSecrets(names: readonly string[]): Promise<Record<string, string>>;
}

/** Severity of engine log lines. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Operational logging of the engine itself (not step logs, which are persisted with attempts). */
export interface Logger {
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
}

/** Invokes another Edge Function (supabase-js `functions.invoke` with the service key in production). */
export interface FunctionInvoker {
  /** Returns the function's response body; throws a FlowError (FUNCTION_ERROR, retryable for 5xx). */
  invokeFunction(name: string, body: unknown, signal: AbortSignal): Promise<unknown>;
}

/** A token bucket as the rate limiter keeps it. */
export interface TokenBucket {
  /** Tokens added per second. */
  ratePerSecond: number;
  /** Most tokens the bucket holds (at least 1). */
  capacity: number;
}

/**
 * Per-destination token buckets shared by every invocation (Postgres `flows.take_rate_token` in production). Shaped
 * so an adapter is one statement: refill, then take one token or say how long until there is one.
 */
export interface RateLimiterPort {
  /**
   * Takes one token from `destination`'s bucket (created full on first use) and resolves `{waitMs: 0}`, or takes
   * nothing and resolves the milliseconds until a token will be there. Concurrent callers are serialised per
   * destination, so a token is never handed out twice.
   */
  takeToken(destination: string, bucket: TokenBucket): Promise<{ waitMs: number }>;
}

/** All ports the executor needs. */
export interface EnginePorts {
  store: Store;
  clock: Clock;
  http: HttpPort;
  secrets: SecretsPort;
  logger: Logger;
  /** Needed only by flows with function_call steps. */
  functions?: FunctionInvoker;
  /**
   * Shared rate-limit buckets. Without it, buckets are kept per process, which holds a limit only while one process
   * does all the calling.
   */
  rateLimiter?: RateLimiterPort;
  /** Source of randomness for retry jitter; defaults to Math.random. */
  random?: () => number;
}
