/**
 * Every SQL statement the flow-engine function runs, over postgres.js. Pooler-safe: no prepared statements, no
 * session state (advisory locks are transaction-scoped). No business logic lives here: the drain loop and the
 * executor decide; this file reads and writes.
 */
import type postgres from "postgres";
import {
  type AttemptFinish,
  type AttemptRecord,
  type AttemptStart,
  builtInRunners,
  type Causation,
  type ExecutionOutcome,
  type FlowDefinition,
  FlowError,
  formatIssue,
  isReservedTable,
  listSteps,
  type SecretsPort,
  storableJsonText,
  type Store,
  type SubFlowStart,
  type SubFlowState,
  validateFlowDefinition,
} from "../../../engine/src/index.ts";
import type {
  ClaimedEvent,
  ClaimedExecution,
  ListeningVersion,
  NewExecution,
  RuntimeStore,
  SkippedEvent,
  StopCheck,
} from "../ports.ts";
import { GroupCommit } from "../group-commit.ts";
import { commitStatus, connectionLost, retryIfRefused, transaction } from "./connection-loss.ts";

type Sql = postgres.Sql;

// Published versions never change, so a parsed definition (or why it cannot run) is cached for the process.
const definitions = new Map<string, { definition: FlowDefinition } | { error: string }>();

/**
 * The engine's full check of a version's definition. SQL's publish check is structural only, so a definition
 * published with plain SQL can still fail here (a bad URL, say): that is reported per execution, never thrown,
 * so one bad version cannot stall a batch of other work.
 */
function parseDefinition(versionId: string, raw: unknown): { definition: FlowDefinition } | { error: string } {
  const cached = definitions.get(versionId);
  if (cached) return cached;
  const checked = validateFlowDefinition(raw);
  const parsed = checked.success
    ? { definition: checked.data }
    : { error: `version ${versionId} cannot run: ${checked.errors.map(formatIssue).join("; ")}` };
  definitions.set(versionId, parsed);
  return parsed;
}

/** The Postgres implementation of the runtime's and the executor's stores. */
export function createPostgresStore(sql: Sql): RuntimeStore {
  const writes = createEngineWrites(sql);
  // Per execution in flight: attempts of steps without side effects, done but not written yet.
  const unwritten = new Map<string, AttemptRow[]>();
  return {
    async heartbeat(leaseMs) {
      await retryIfRefused(() => sql`select flows.mark_draining(${Math.round(leaseMs)})`);
    },

    async processEvents(owner, limit, match, start) {
      // One transaction from the claim to the executions it creates: events are marked processed as they are
      // claimed (one update per event, not two), and a failure anywhere rolls the batch back into the outbox.
      return await retryIfRefused(() => transaction(sql, async (tx) => {
        const rows = await tx`
          update flows.events e
             set claimed_at = now(), claimed_by = ${owner}, processed_at = now()
           where e.event_id in (
             select event_id from flows.events
              where processed_at is null and (claimed_at is null or claimed_at < now() - interval '60 seconds')
              order by event_id
              limit ${limit}
              for update skip locked)
          returning e.event_id::text as event_id, e.source_schema, e.source_table, e.operation, e.new_row, e.old_row,
                    e.row_key, e.causation_depth`;
        if (rows.length === 0) return { events: 0, executionsCreated: 0, started: [] };
        const events = rows
          .map((r): ClaimedEvent => ({
            eventId: r.event_id,
            table: `${r.source_schema}.${r.source_table}`,
            operation: r.operation,
            newRow: r.new_row,
            oldRow: r.old_row,
            rowKey: r.row_key,
            causationDepth: r.causation_depth,
          }))
          .sort((a, b) => Number(BigInt(a.eventId) - BigInt(b.eventId)));
        const versionRows = await tx`
          select v.version_id, v.flow_id, v.tenant_id, v.trigger_table, v.trigger_events, v.definition,
                 not f.is_paused and f.max_concurrency is null as starts_at_once
            from flows.versions v
            join flows.flows f on f.flow_id = v.flow_id
           where v.status = 'published' and f.is_active and v.trigger_type = 'row_change'
             and v.trigger_table = any(${tx.array([...new Set(events.map((e) => e.table))])}::text[])`;
        const versions = versionRows.map((r): ListeningVersion => ({
          versionId: r.version_id,
          flowId: r.flow_id,
          tenantId: r.tenant_id,
          table: r.trigger_table,
          events: r.trigger_events,
          ...parseDefinition(r.version_id, r.definition),
        }));
        const matches = match(events, versions);
        for (const skip of matches.skipped) {
          await tx`update flows.events set error_message = ${skip.reason} where event_id = ${skip.eventId}::bigint`;
        }
        if (matches.executions.length === 0) return { events: events.length, executionsCreated: 0, started: [] };
        // Executions of flows that are neither paused nor limited start at once, up to the free slots, in row order:
        // created already leased to this invocation, they skip a round trip and an update of the claim.
        const startsAtOnce = new Set(versionRows.filter((r) => r.starts_at_once).map((r) => r.version_id as string));
        let slots = start.limit;
        const starts = matches.executions.map((x) => slots > 0 && startsAtOnce.has(x.versionId) && slots-- > 0);
        const created = await tx`
          insert into flows.executions (tenant_id, flow_id, version_id, trigger_type, event_id, subject, status,
                                        lease_owner, lease_expires_at, started_at, attempt_count)
          select t, f, v, 'row_change', e, s, case when r then 'running' else 'pending' end,
                 case when r then ${owner} end,
                 case when r then now() + make_interval(secs => ${start.leaseMs / 1000}) end,
                 case when r then now() end, case when r then 1 else 0 end
            from unnest(${tx.array(matches.executions.map((x) => x.tenantId))}::uuid[],
                        ${tx.array(matches.executions.map((x) => x.flowId))}::uuid[],
                        ${tx.array(matches.executions.map((x) => x.versionId))}::uuid[],
                        ${tx.array(matches.executions.map((x) => x.eventId))}::bigint[],
                        ${tx.array(matches.executions.map((x) => x.subject ?? ""))}::text[],
                        ${tx.array(starts)}::boolean[]) as m(t, f, v, e, s, r)
          on conflict (event_id, version_id) do nothing
          returning execution_id, event_id::text as event_id, version_id, status`;
        const eventsById = new Map(events.map((e) => [e.eventId, e]));
        const versionsById = new Map(versions.map((v) => [v.versionId, v]));
        const started = created.filter((r) => r.status === "running").map((r): ClaimedExecution => {
          const event = eventsById.get(r.event_id)!;
          const version = versionsById.get(r.version_id)!;
          return {
            executionId: r.execution_id,
            tenantId: version.tenantId,
            flowId: version.flowId,
            versionId: version.versionId,
            triggerType: "row_change",
            ...(version.definition ? { definition: version.definition } : { error: version.error }),
            input: {},
            event: { op: event.operation, table: event.table, row: event.newRow ?? event.oldRow, old: event.oldRow },
            causationDepth: event.causationDepth,
            cancelRequested: false,
            fresh: true,
            leaseOwner: owner,
          };
        });
        return { events: events.length, executionsCreated: created.length, started };
      }));
    },

    async claimExecutions(owner, limit, leaseMs) {
      // flows.claim_executions leases the work (paused flows and concurrency limits are applied there) and returns
      // the rows as updated: joining flows.executions here instead would read them as they were before the claim.
      const rows = await retryIfRefused(() => sql`
        select x.execution_id, x.tenant_id, x.flow_id, x.version_id, x.trigger_type, x.input, x.context, v.definition,
               ev.operation, ev.source_schema, ev.source_table, ev.new_row, ev.old_row,
               coalesce(ev.causation_depth, 0) as causation_depth,
               x.cancel_requested_at is not null as cancel_requested,
               -- First claim of an execution that copied no attempts: its checkpoint is empty, no need to read it.
               (x.attempt_count = 1 and x.trigger_type <> 'rerun') as fresh
          from flows.claim_executions(${owner}, ${limit}, ${leaseMs}) x
          join flows.versions v on v.version_id = x.version_id
          left join flows.events ev on ev.event_id = coalesce(x.event_id, x.source_event_id)`);
      return rows.map((r): ClaimedExecution => ({
        executionId: r.execution_id,
        tenantId: r.tenant_id,
        flowId: r.flow_id,
        versionId: r.version_id,
        triggerType: r.trigger_type,
        ...parseDefinition(r.version_id, r.definition),
        input: r.input,
        // A rerun carries a copy of its row in context.event, for when retention has pruned the event.
        event: r.operation
          ? {
            op: r.operation,
            table: `${r.source_schema}.${r.source_table}`,
            row: r.new_row ?? r.old_row,
            old: r.old_row,
          }
          : r.context?.event ?? null,
        causationDepth: r.causation_depth,
        cancelRequested: r.cancel_requested,
        fresh: r.fresh,
        leaseOwner: owner,
      }));
    },

    async cancelRequested(executionIds) {
      if (executionIds.length === 0) return [];
      const rows = await sql`
        select execution_id from flows.executions
         where execution_id = any(${sql.array(executionIds)}::uuid[]) and cancel_requested_at is not null`;
      return rows.map((r) => r.execution_id as string);
    },

    async renewLeases(owner, executionIds, leaseMs) {
      // Rows locked in key order, as flows.record_engine_writes writes outcomes: the two never deadlock.
      const rows = await sql`
        update flows.executions x set lease_expires_at = now() + make_interval(secs => ${leaseMs / 1000})
          from (select execution_id from flows.executions
                 where execution_id = any(${sql.array(executionIds)}::uuid[]) and lease_owner = ${owner} and status = 'running'
                 order by execution_id
                 for no key update) held
         where x.execution_id = held.execution_id
        returning x.execution_id`;
      return rows.map((r) => r.execution_id as string);
    },

    async saveOutcome(owner, executionId, outcome: ExecutionOutcome) {
      const error = outcome.status === "failed"
        ? outcome.error
        : outcome.status === "cancelled"
        ? { code: "CANCELLED", message: "Cancelled on request" }
        : null;
      // Attempts of steps without side effects that are still in memory go with the outcome, in its transaction.
      const attempts = unwritten.get(executionId) ?? [];
      unwritten.delete(executionId);
      await writes.submit({
        attempts,
        outcome: {
          owner,
          execution_id: executionId,
          status: outcome.status,
          result: outcome.status === "completed" ? outcome.result ?? null : null,
          error_code: error?.code ?? null,
          error_message: error?.message ?? null,
          resume_at: outcome.status === "waiting" ? outcome.resumeAt : null,
          current_step_id: "stepId" in outcome ? outcome.stepId ?? null : null,
        },
      });
    },

    releaseExecution(executionId) {
      unwritten.delete(executionId);
    },

    storeFor(execution, isCancelRequested) {
      const attempts: AttemptRow[] = [];
      unwritten.set(execution.executionId, attempts);
      return createExecutionStore(sql, writes, execution, attempts, isCancelRequested);
    },

    async nextResumeAt() {
      // Only work this invocation could claim counts: a paused flow's due wait must not keep it spinning.
      const [row] = await sql`
        select min(e.resume_at) as due from flows.executions e
         where e.status = 'waiting'
           and not exists (select 1 from flows.flows f where f.flow_id = e.flow_id and f.is_paused)`;
      return row?.due ?? null;
    },

    async maxCausationDepth() {
      const [row] = await sql`select max_causation_depth from flows.engine_state where engine_state_id`;
      return row?.max_causation_depth ?? 5;
    },

    async stopDraining(): Promise<StopCheck> {
      // Writers kick again from here on; one that holds the state row is kicking already.
      await sql`select flows.clear_draining()`;
      // Writers that skipped their kick hold the lock shared until they commit.
      const [row] = await sql`select pg_try_advisory_xact_lock(flows.drain_lock_key()) as free`;
      return row.free ? "clear" : "writers-pending";
    },

    async waitForSkippedWriters(timeoutMs) {
      // Polled, never queued: a waiting exclusive request would make every new writer's shared request wait behind it.
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const [row] = await sql`select pg_try_advisory_xact_lock(flows.drain_lock_key()) as free`;
        if (row.free) return true;
        if (Date.now() >= deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

/**
 * Step types with no effect outside the execution (the built-in runners that do no I/O: `instant`): their attempts
 * are written once, when done, together with the execution's next write. Lost in a crash, such an attempt simply
 * runs again. Every other step type's attempt is written as started before its runner is called, so a step with
 * side effects never runs twice unrecorded.
 */
const STEPS_WITHOUT_SIDE_EFFECTS = new Set(builtInRunners().filter((runner) => runner.instant === true).map((runner) => runner.stepType));

/** A row of flows.execution_steps as flows.record_engine_writes takes it. */
interface AttemptRow {
  owner: string;
  execution_id: string;
  tenant_id: string;
  step_id: string;
  step_type: string;
  status: string;
  attempt: number;
  input: unknown;
  output?: unknown;
  branch?: unknown;
  error?: unknown;
  error_code?: string | null;
  error_message?: string | null;
  logs?: unknown;
  resume_at?: Date | null;
  continued?: boolean;
  started_at: Date;
  finished_at?: Date | null;
  duration_ms?: number | null;
}

/** The end of an attempt whose start is written. */
interface FinishRow {
  owner: string;
  execution_id: string;
  step_attempt_id: string;
  status: string;
  output: unknown;
  branch: unknown;
  error: unknown;
  error_code: string | null;
  error_message: string | null;
  logs: unknown;
  resume_at: Date | null;
  continued: boolean;
  finished_at: Date;
  duration_ms: number;
}

/** An execution's outcome. */
interface OutcomeRow {
  owner: string;
  execution_id: string;
  status: string;
  result: unknown;
  error_code: string | null;
  error_message: string | null;
  resume_at: Date | null;
  current_step_id: string | null;
}

/** One execution's writes of one moment: always written together, in one transaction. */
interface EngineWrite {
  attempts: AttemptRow[];
  finish?: FinishRow;
  outcome?: OutcomeRow;
}

/** Which of an {@link EngineWrite}'s rows the lease let through. */
interface EngineWriteResult {
  /** Written attempts' ids, by `step_id:attempt`. */
  attemptIds: Map<string, string>;
  finished: boolean;
  outcomeSaved: boolean;
}

/** Attempt writes and outcomes of every execution in flight, sent to flows.record_engine_writes in batches. */
function createEngineWrites(sql: Sql): GroupCommit<EngineWrite, EngineWriteResult> {
  return new GroupCommit(async (batch) => {
    const payload = {
      attempts: batch.flatMap((w) => w.attempts),
      finishes: batch.flatMap((w) => (w.finish ? [w.finish] : [])),
      // In key order, as lease renewals lock: see flows.record_engine_writes.
      outcomes: batch.flatMap((w) => (w.outcome ? [w.outcome] : [])).sort((a, b) => (a.execution_id < b.execution_id ? -1 : 1)),
    };
    const rows = await retryIfRefused(() => sql`
      select write_kind, execution_id, step_id, attempt, step_attempt_id::text as step_attempt_id
        from flows.record_engine_writes(${storableJsonText(payload)}::text::jsonb)`);
    const attempts = new Map<string, Map<string, string>>();
    const finished = new Set<string>();
    const saved = new Set<string>();
    for (const row of rows) {
      if (row.write_kind === "attempt") {
        const ids = attempts.get(row.execution_id) ?? new Map<string, string>();
        ids.set(`${row.step_id}:${row.attempt}`, row.step_attempt_id);
        attempts.set(row.execution_id, ids);
      } else if (row.write_kind === "finish") finished.add(row.step_attempt_id);
      else saved.add(row.execution_id);
    }
    return batch.map((w): EngineWriteResult => {
      const executionId = w.outcome?.execution_id ?? w.finish?.execution_id ?? w.attempts[0]?.execution_id ?? "";
      return {
        attemptIds: attempts.get(executionId) ?? new Map(),
        finished: w.finish !== undefined && finished.has(w.finish.step_attempt_id),
        outcomeSaved: saved.has(executionId),
      };
    });
  }, { maxInFlight: 2 });
}

/** The error an invocation gets when another one has taken its execution over (its lease expired). */
function leaseLost(executionId: string): FlowError {
  return new FlowError("STORE_ERROR", `execution ${executionId}: the lease was lost to another invocation; stopping here`);
}

/**
 * The executor's Store for one execution: its attempts, its cancellation flag, and row updates it causes.
 * `unwritten` holds its attempts of steps without side effects until its next write (see STEPS_WITHOUT_SIDE_EFFECTS).
 */
function createExecutionStore(
  sql: Sql,
  writes: GroupCommit<EngineWrite, EngineWriteResult>,
  execution: ClaimedExecution,
  unwritten: AttemptRow[],
  cancelled?: () => boolean,
): Store {
  const stepTypes = new Map(listSteps(execution.definition?.steps ?? []).map(({ step }) => [step.id, step.type]));
  // Attempts started in memory only, by their local id, until they finish.
  const localStarts = new Map<string, AttemptRow>();
  let localIds = 0;
  let fresh = execution.fresh;
  const owner = execution.leaseOwner;
  return {
    async loadCheckpoint(executionId) {
      if (fresh) {
        fresh = false;
        return { attempts: [] };
      }
      const rows = await sql`
        select step_attempt_id::text as attempt_id, step_id, attempt, status, started_at, output, branch, error,
               resume_at, continued
          from flows.execution_steps where execution_id = ${executionId}`;
      return {
        attempts: rows.map((r): AttemptRecord => ({
          attemptId: r.attempt_id,
          stepId: r.step_id,
          attempt: r.attempt,
          status: r.status,
          startedAt: r.started_at,
          output: r.output ?? undefined,
          branch: r.branch,
          error: r.error,
          resumeAt: r.resume_at,
          continued: r.continued,
        })),
      };
    },

    async startAttempt(start: AttemptStart) {
      const stepType = stepTypes.get(start.stepId) ?? "unknown";
      const row: AttemptRow = {
        owner,
        execution_id: start.executionId,
        tenant_id: execution.tenantId,
        step_id: start.stepId,
        step_type: stepType,
        status: "running",
        attempt: start.attempt,
        input: start.input ?? null,
        started_at: start.startedAt,
      };
      if (STEPS_WITHOUT_SIDE_EFFECTS.has(stepType)) {
        const localId = `local:${++localIds}`;
        localStarts.set(localId, row);
        return localId;
      }
      // Written before the runner is called, with the attempts still in memory. Fenced by the lease: an invocation
      // that lost the execution to another records nothing and stops here.
      const result = await writes.submit({ attempts: [...unwritten.splice(0), row] });
      const attemptId = result.attemptIds.get(`${row.step_id}:${row.attempt}`);
      if (attemptId === undefined) throw leaseLost(start.executionId);
      return attemptId;
    },

    async finishAttempt(attemptId: string, finish: AttemptFinish) {
      const end = {
        status: finish.status,
        output: finish.output ?? null,
        branch: finish.branch ?? null,
        error: finish.error ?? null,
        error_code: finish.error?.code ?? null,
        error_message: finish.error?.message ?? null,
        logs: finish.logs ?? null,
        resume_at: finish.resumeAt ?? null,
        continued: finish.continued ?? false,
        finished_at: finish.finishedAt,
        duration_ms: Math.max(0, Math.round(finish.durationMs)),
      };
      const started = localStarts.get(attemptId);
      if (started) {
        localStarts.delete(attemptId);
        unwritten.push({ ...started, ...end });
        return;
      }
      const result = await writes.submit({
        attempts: unwritten.splice(0),
        finish: { owner, execution_id: execution.executionId, step_attempt_id: attemptId, ...end },
      });
      if (!result.finished) throw leaseLost(execution.executionId);
    },

    async isCancelRequested(executionId) {
      // The drain loop polls cancellation requests for every running execution; ask the database only without it.
      if (cancelled) return cancelled();
      const [row] = await sql`select cancel_requested_at is not null as requested from flows.executions where execution_id = ${executionId}`;
      return row?.requested ?? false;
    },

    async startSubFlow(start: SubFlowStart) {
      try {
        const [row] = await sql`
          select execution_id, status, result, error_code, error_message
            from flows.start_sub_flow(${start.parentExecutionId}, ${execution.leaseOwner}, ${start.parentStepId}, ${start.attempt},
                                      ${start.flowKey}, ${storableJsonText(start.input ?? {})}::text::jsonb)`;
        return subFlowState(row!);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === "FL005") throw leaseLost(start.parentExecutionId);
        if (code === "FL002" || code === "FL007") {
          throw new FlowError("SUB_FLOW_UNAVAILABLE", (error as Error).message, { details: { flow: start.flowKey } });
        }
        throw error;
      }
    },

    async getSubFlow(parentExecutionId: string, executionId: string) {
      const [row] = await sql`
        select execution_id, status, result, error_code, error_message from flows.executions
         where execution_id = ${executionId} and parent_execution_id = ${parentExecutionId}`;
      return row ? subFlowState(row) : null;
    },

    async cancelSubFlow(parentExecutionId: string, executionId: string) {
      await sql`select flows.cancel_sub_flow(${parentExecutionId}, ${execution.leaseOwner}, ${executionId})`;
    },

    async updateRow(table: string, keyColumn: string, key: string | number, values: Record<string, unknown>, causation: Causation) {
      if (isReservedTable(table)) {
        // Validation refuses these; this guards definitions that reached the engine another way.
        throw new FlowError("CONFIG_INVALID", `db_update: ${table} is in a reserved schema; flows cannot write system tables`);
      }
      const [schema, name] = table.includes(".") ? table.split(".") : ["public", table];
      const columns = Object.keys(values);
      if (columns.length === 0) return { updatedCount: 0 };
      // Set once the update ran: a connection lost after that was lost during COMMIT, which may have been applied.
      let ran: { updatedCount: number; xid: string } | undefined;
      const updated = transaction(sql, async (tx) => {
        // Capture triggers read this to record the change's causation (the loop guard counts depth). The transaction
        // id answers, after a lost COMMIT, whether the update was applied.
        const [{ xid }] = await tx`select set_config('flows.causation', ${JSON.stringify({
          execution_id: causation.executionId,
          step_id: causation.stepId,
          depth: execution.causationDepth + 1,
        })}, true), pg_catalog.txid_current()::text as xid`;
        // The key is compared in the column's own type, so the column's index is used.
        const types = new Map<string, { type_name: string; json_or_array: boolean }>();
        for (const row of await tx`
          select a.attname as name, pg_catalog.format_type(a.atttypid, a.atttypmod) as type_name,
                 (t.typcategory = 'A' or t.typname in ('json', 'jsonb')) as json_or_array
            from pg_catalog.pg_attribute a
            join pg_catalog.pg_type t on t.oid = a.atttypid
           where a.attrelid = pg_catalog.to_regclass(${`${schema}.${name}`}) and a.attname = any(${[keyColumn, ...columns]})
             and a.attnum > 0 and not a.attisdropped`) {
          types.set(row.name, { type_name: row.type_name, json_or_array: row.json_or_array });
        }
        const column = types.get(keyColumn);
        if (!column) {
          throw new FlowError("ROW_NOT_FOUND", `db_update: ${schema}.${name} has no column ${keyColumn}`);
        }
        // An object or array bound for any other column (text, say) is written as its JSON text; left to the driver
        // it would become "[object Object]".
        const params = Object.fromEntries(columns.map((c) => {
          const value = values[c];
          const asJson = typeof value === "object" && value !== null && types.get(c)?.json_or_array === false;
          return [c, asJson ? JSON.stringify(value) : value];
        }));
        const result = await tx`
          update ${tx(schema)}.${tx(name)} set ${tx(params as Record<string, postgres.SerializableParameter>, columns)}
           where ${tx(keyColumn)} = ${String(key)}::text::${tx.unsafe(column.type_name)}`;
        ran = { updatedCount: result.count, xid };
        return { updatedCount: result.count };
      });
      return await updated.catch(async (error) => {
        if (!connectionLost(error)) throw error;
        const lost = `db_update: the database connection was lost${ran ? " during COMMIT" : ""}: ${(error as Error).message}`;
        // Lost before COMMIT, the transaction went with its session: the update did not happen, another attempt may.
        if (!ran) throw new FlowError("NETWORK_ERROR", lost, { cause: error });
        const status = await commitStatus(sql, ran.xid);
        if (status === "committed") return { updatedCount: ran.updatedCount };
        if (status === "aborted") throw new FlowError("NETWORK_ERROR", lost, { cause: error });
        // Not retryable: running the update again could apply it twice.
        throw new FlowError("STORE_ERROR", `${lost}; whether transaction ${ran.xid} committed is unknown`, { cause: error });
      });
    },
  };
}

function subFlowState(row: postgres.Row): SubFlowState {
  return {
    executionId: row.execution_id,
    status: row.status,
    ...(row.result === null ? {} : { result: row.result }),
    error: row.error_code === null ? null : { code: row.error_code, message: row.error_message ?? "" },
  };
}

/** Reads secrets from Vault (`vault.decrypted_secrets`). */
export function createVaultSecrets(sql: Sql): SecretsPort {
  return {
    async getSecrets(names) {
      if (names.length === 0) return {};
      const rows = await sql`
        select name, decrypted_secret from vault.decrypted_secrets where name = any(${sql.array([...names])}::text[])`;
      return Object.fromEntries(rows.map((r) => [r.name, r.decrypted_secret]));
    },
  };
}

/** A request to start a manual run of a flow by key. */
export interface ManualRunRequest {
  flowKey: string;
  input: unknown;
  /** The signed-in user, or null for the service role. */
  userId: string | null;
  /** The caller's JWT claims, as PostgREST would set them. */
  claims: Record<string, unknown>;
}

/**
 * Creates a pending manual execution after the same checks as the SQL API: the caller's tenant comes from
 * `flows.current_tenant()` under the caller's claims, and only a member of that tenant may run its flows.
 * Throws errors with `code` FL001 (not a member), FL002 (no such flow or no published version), FL007 (inactive flow,
 * unusable definition, or an app_metadata.tenant_id that is not a uuid) or PARAMETERS_INVALID.
 */
export async function startManualRun(
  sql: Sql,
  request: ManualRunRequest,
  validateInput: (definition: FlowDefinition, input: unknown) => void,
): Promise<{ executionId: string }> {
  return await transaction(sql, async (tx) => {
    await tx`select set_config('request.jwt.claims', ${JSON.stringify(request.claims)}, true)`;
    // The service role acts for the tenant its token names in app_metadata.tenant_id (checked to be a uuid, FL007),
    // else for the default tenant; anyone else must also be a member of their tenant.
    const [who] = await tx`select flows.current_tenant() as tenant_id, flows.current_member_role() as role`;
    if (!who?.tenant_id || (request.claims.role !== "service_role" && !who.role)) {
      throw Object.assign(new Error("you are not a member of any tenant that may run flows"), { code: "FL001" });
    }
    const tenantId: string = who.tenant_id;
    const [flow] = await tx`
      select f.flow_id, f.is_active, v.version_id, v.definition
        from flows.flows f
        left join flows.versions v on v.flow_id = f.flow_id and v.status = 'published'
       where f.tenant_id = ${tenantId} and f.key = ${request.flowKey}`;
    if (!flow) throw Object.assign(new Error(`flow "${request.flowKey}" not found`), { code: "FL002" });
    if (!flow.version_id) throw Object.assign(new Error(`flow "${request.flowKey}" has no published version`), { code: "FL002" });
    if (!flow.is_active) throw Object.assign(new Error(`flow "${request.flowKey}" is inactive`), { code: "FL007" });
    const parsed = parseDefinition(flow.version_id, flow.definition);
    if ("error" in parsed) throw Object.assign(new Error(parsed.error), { code: "FL007" });
    validateInput(parsed.definition, request.input);
    const [row] = await tx`
      insert into flows.executions (tenant_id, flow_id, version_id, trigger_type, status, input, executed_by)
      values (${tenantId}, ${flow.flow_id}, ${flow.version_id}, 'manual', 'pending', ${storableJsonText(request.input ?? {})}::text::jsonb, ${request.userId})
      returning execution_id`;
    return { executionId: row.execution_id };
  });
}
