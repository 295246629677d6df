/**
 * The runtime's store port: what draining needs from the database beyond the executor's own Store.
 * `src/postgres/store.ts` implements it; tests may implement it in memory.
 */
import type { ExecutionOutcome, FlowDefinition, Store } from "../../engine/src/index.ts";
import type { MatchResult } from "./matching.ts";

/** A row change claimed from the outbox. */
export interface ClaimedEvent {
  eventId: string;
  /** `schema.table`. */
  table: string;
  operation: "INSERT" | "UPDATE" | "DELETE";
  newRow: Record<string, unknown> | null;
  oldRow: Record<string, unknown> | null;
  /** The changed row's primary key as text. */
  rowKey: string | null;
  /** How many flow-made changes led to this one (0 = a change made by a user). */
  causationDepth: number;
}

/** A published version of an active flow that listens to row changes. */
export interface ListeningVersion {
  versionId: string;
  flowId: string;
  tenantId: string;
  table: string;
  events: string[];
  /** The parsed definition; absent when the engine cannot run it (see `error`). */
  definition?: FlowDefinition;
  /** Why the engine cannot run this version's definition. */
  error?: string;
}

/** An execution to create for an event × version match. */
export interface NewExecution {
  tenantId: string;
  flowId: string;
  versionId: string;
  eventId: string;
  subject: string | null;
}

/** An event that was not run, and why (recorded on the event). */
export interface SkippedEvent {
  eventId: string;
  reason: string;
}

/** An execution claimed to run, with everything the executor needs. */
export interface ClaimedExecution {
  executionId: string;
  tenantId: string;
  flowId: string;
  versionId: string;
  triggerType: string;
  /** The parsed definition; absent when the engine cannot run it (see `error`). */
  definition?: FlowDefinition;
  /** Why the engine cannot run this version's definition: the execution fails with it. */
  error?: string;
  input: unknown;
  event: { op: "INSERT" | "UPDATE" | "DELETE"; table: string; row: unknown; old: unknown } | null;
  causationDepth: number;
  /** Someone asked to cancel it before it was claimed (a re-claim after an expired lease). */
  cancelRequested: boolean;
  /** First claim and no copied attempts: its checkpoint is known to be empty. */
  fresh: boolean;
  /** The invocation holding the lease; attempt writes are fenced by it. */
  leaseOwner: string;
}

/** What one batch of events became. */
export interface ProcessedEvents {
  events: number;
  executionsCreated: number;
  /** Executions created already leased to the caller, to run now. */
  started: ClaimedExecution[];
}

/** What a draining invocation found when it tried to stop. */
export type StopCheck = "clear" | "writers-pending";

/** Persistence used by the drain loop. */
export interface RuntimeStore {
  /** Marks an invocation as draining until now + `leaseMs` (writers then skip their kicks). */
  heartbeat(leaseMs: number): Promise<void>;
  /**
   * Claims up to `limit` unprocessed events, oldest first, skipping those another invocation holds, and records what
   * `match` makes of them in the same transaction: the events processed, the skipped ones' reasons, and new
   * executions (idempotently per event × version). Up to `start.limit` of those, of flows neither paused nor
   * concurrency-limited, are created already leased to `owner` and returned to run.
   */
  processEvents(
    owner: string,
    limit: number,
    match: (events: ClaimedEvent[], versions: ListeningVersion[]) => MatchResult,
    start: { limit: number; leaseMs: number },
  ): Promise<ProcessedEvents>;
  /** Claims runnable executions (pending, due waits, expired leases) with a lease. */
  claimExecutions(owner: string, limit: number, leaseMs: number): Promise<ClaimedExecution[]>;
  /** Which of these executions someone asked to cancel. */
  cancelRequested(executionIds: string[]): Promise<string[]>;
  /** Extends the lease of executions this owner runs; returns those it still holds. */
  renewLeases(owner: string, executionIds: string[], leaseMs: number): Promise<string[]>;
  /**
   * Persists an execution's outcome, only while this owner holds its lease, with any of its attempts the store has
   * not written yet.
   */
  saveOutcome(owner: string, executionId: string, outcome: ExecutionOutcome): Promise<void>;
  /** Drops what the store holds for an execution that ends here without an outcome (its lease decides what next). */
  releaseExecution(executionId: string): void;
  /**
   * The executor's Store for one claimed execution. `isCancelRequested`, when given, answers cancellation checks
   * from what the caller already polls instead of a query per step.
   */
  storeFor(execution: ClaimedExecution, isCancelRequested?: () => boolean): Store;
  /** The earliest time a waiting execution is due, if any. */
  nextResumeAt(): Promise<Date | null>;
  /** The causation depth past which events are recorded and not run. */
  maxCausationDepth(): Promise<number>;
  /** Clears the draining mark, then checks that no writer that skipped its kick is still committing. */
  stopDraining(): Promise<StopCheck>;
  /** Waits up to `timeoutMs` for writers that skipped their kick to commit; false on timeout. */
  waitForSkippedWriters(timeoutMs: number): Promise<boolean>;
}
