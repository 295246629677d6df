/** An in-memory {@link Store} with helpers for assertions. */
import { isPlainObject } from "../json.ts";
import { FlowError } from "../errors.ts";
import type {
  AttemptFinish,
  AttemptRecord,
  AttemptStart,
  Causation,
  Checkpoint,
  RowUpdateResult,
  Store,
  SubFlowStart,
  SubFlowState,
} from "../ports.ts";

/** A sub-flow execution as the in-memory store keeps it. */
export interface StoredSubFlow extends SubFlowState {
  start: SubFlowStart;
  cancelRequested: boolean;
}

/** An attempt as the in-memory store keeps it: start and latest finish merged. */
export interface StoredAttempt extends AttemptRecord {
  executionId: string;
  input: unknown;
  finishedAt?: Date;
  durationMs?: number;
  logs?: AttemptFinish["logs"];
  /** Every finish recorded for this attempt, oldest first (a wait is finished twice). */
  finishes: AttemptFinish[];
}

/** A row update as recorded, for assertions on causation. */
export interface RecordedUpdate {
  table: string;
  keyColumn: string;
  key: string | number;
  values: Record<string, unknown>;
  causation: Causation;
}

/** The in-memory store. Tables hold plain rows; updates match the key column by string comparison. */
export class InMemoryStore implements Store {
  /** Every attempt, in start order. */
  readonly attempts: StoredAttempt[] = [];
  /** Every updateRow call. */
  readonly updates: RecordedUpdate[] = [];
  private readonly tables = new Map<string, Record<string, unknown>[]>();
  /** Every sub-flow execution started, in start order. */
  readonly subFlows: StoredSubFlow[] = [];
  /** Flow keys a sub_flow step may start; any other key is refused as unavailable. */
  readonly subFlowKeys = new Set<string>();
  private readonly cancelled = new Set<string>();
  private nextId = 1;

  /** Sets how a sub-flow execution stands, as the database would once it ran. */
  settleSubFlow(executionId: string, state: Omit<SubFlowState, "executionId">): void {
    const subFlow = this.subFlows.find((candidate) => candidate.executionId === executionId);
    if (subFlow === undefined) throw new Error(`Unknown sub-flow execution ${executionId}`);
    Object.assign(subFlow, structuredClone(state));
  }

  /** Puts rows into a table (name as the step writes it, e.g. `public.tasks`). */
  seedRows(table: string, rows: Record<string, unknown>[]): void {
    this.tables.set(table, rows.map((row) => ({ ...row })));
  }

  /** Rows of a table. */
  rows(table: string): Record<string, unknown>[] {
    return this.tables.get(table) ?? [];
  }

  /** Marks an execution as cancel-requested. */
  requestCancel(executionId: string): void {
    this.cancelled.add(executionId);
  }

  /** Attempts of one execution (optionally of one step). */
  attemptsOf(executionId: string, stepId?: string): StoredAttempt[] {
    return this.attempts.filter((attempt) => attempt.executionId === executionId && (stepId === undefined || attempt.stepId === stepId));
  }

  /** Adds a finished attempt directly, to simulate work done by an earlier invocation. */
  seedAttempt(attempt: Omit<StoredAttempt, "attemptId" | "finishes" | "input"> & { input?: unknown }): string {
    const attemptId = `attempt-${this.nextId++}`;
    this.attempts.push({ input: null, ...attempt, attemptId, finishes: [] });
    return attemptId;
  }

  loadCheckpoint(executionId: string): Promise<Checkpoint> {
    return Promise.resolve({
      attempts: this.attemptsOf(executionId).map((attempt) => ({
        attemptId: attempt.attemptId,
        stepId: attempt.stepId,
        attempt: attempt.attempt,
        status: attempt.status,
        startedAt: attempt.startedAt,
        output: structuredClone(attempt.output),
        branch: attempt.branch ?? null,
        error: attempt.error ?? null,
        resumeAt: attempt.resumeAt ?? null,
        continued: attempt.continued ?? false,
      })),
    });
  }

  startAttempt(start: AttemptStart): Promise<string> {
    const attemptId = `attempt-${this.nextId++}`;
    this.attempts.push({
      attemptId,
      executionId: start.executionId,
      stepId: start.stepId,
      attempt: start.attempt,
      status: "running",
      startedAt: start.startedAt,
      input: structuredClone(start.input),
      finishes: [],
    });
    return Promise.resolve(attemptId);
  }

  finishAttempt(attemptId: string, finish: AttemptFinish): Promise<void> {
    const attempt = this.attempts.find((candidate) => candidate.attemptId === attemptId);
    if (attempt === undefined) return Promise.reject(new Error(`Unknown attempt ${attemptId}`));
    // Persisting means serialising: clone so later mutation by the engine cannot alter history.
    const copy = structuredClone(finish);
    attempt.finishes.push(copy);
    attempt.status = copy.status;
    attempt.finishedAt = copy.finishedAt;
    attempt.durationMs = copy.durationMs;
    if (copy.output !== undefined) attempt.output = copy.output;
    if (copy.branch !== undefined) attempt.branch = copy.branch;
    attempt.error = copy.error ?? null;
    attempt.resumeAt = copy.resumeAt ?? null;
    if (copy.continued !== undefined) attempt.continued = copy.continued;
    if (copy.logs !== undefined) attempt.logs = copy.logs;
    return Promise.resolve();
  }

  isCancelRequested(executionId: string): Promise<boolean> {
    return Promise.resolve(this.cancelled.has(executionId));
  }

  startSubFlow(start: SubFlowStart): Promise<SubFlowState> {
    if (!this.subFlowKeys.has(start.flowKey)) {
      return Promise.reject(new FlowError("SUB_FLOW_UNAVAILABLE", `sub_flow: flow "${start.flowKey}" not found`));
    }
    // As in the database: one execution per parent step, found again by any later attempt however it ended.
    const earlier = this.subFlows.find((s) => s.start.parentExecutionId === start.parentExecutionId && s.start.parentStepId === start.parentStepId);
    if (earlier !== undefined) return Promise.resolve(this.stateOf(earlier));
    const subFlow: StoredSubFlow = { executionId: `sub-${this.nextId++}`, status: "pending", start: structuredClone(start), cancelRequested: false };
    this.subFlows.push(subFlow);
    return Promise.resolve(this.stateOf(subFlow));
  }

  getSubFlow(parentExecutionId: string, executionId: string): Promise<SubFlowState | null> {
    const subFlow = this.subFlows.find((s) => s.executionId === executionId && s.start.parentExecutionId === parentExecutionId);
    return Promise.resolve(subFlow === undefined ? null : this.stateOf(subFlow));
  }

  cancelSubFlow(parentExecutionId: string, executionId: string): Promise<void> {
    const subFlow = this.subFlows.find((s) => s.executionId === executionId && s.start.parentExecutionId === parentExecutionId);
    if (subFlow !== undefined) subFlow.cancelRequested = true;
    return Promise.resolve();
  }

  private stateOf(subFlow: StoredSubFlow): SubFlowState {
    const { start: _start, cancelRequested: _cancel, ...state } = subFlow;
    return structuredClone(state);
  }

  updateRow(
    table: string,
    keyColumn: string,
    key: string | number,
    values: Record<string, unknown>,
    causation: Causation,
  ): Promise<RowUpdateResult> {
    this.updates.push({ table, keyColumn, key, values: structuredClone(values), causation });
    let updatedCount = 0;
    for (const row of this.tables.get(table) ?? []) {
      if (isPlainObject(row) && String(row[keyColumn]) === String(key)) {
        Object.assign(row, structuredClone(values));
        updatedCount++;
      }
    }
    return Promise.resolve({ updatedCount });
  }
}
