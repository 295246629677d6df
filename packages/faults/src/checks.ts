/**
 * The fault suite's assertions, read from the database and the target's records after the run: every committed row
 * has one event, every event one execution per matching version, every execution is terminal, no completed step ran
 * again, and nothing is left stuck.
 */
import type postgres from "postgres";
import { sha256Hex } from "../../engine/src/index.ts";
import type { Target } from "./target.ts";

/** One assertion's outcome. */
export interface Check {
  ok: boolean;
  name: string;
  detail: string;
}

/** What the checks need to know about the run. */
export interface RunFacts {
  table: string;
  tableName: string;
  rowsPlanned: number;
  /** The watched table's flows, each with its one published version. */
  flows: { key: string; flowId: string; versionId: string }[];
  /** Id of the http step whose requests the target counts, and how many attempts its retry policy allows. */
  httpStepId: string;
  maxAttempts: number;
  target: Target;
}

const RETRYABLE_CODES = ["HTTP_SERVER_ERROR", "TIMEOUT", "NETWORK_ERROR", "ATTEMPT_INTERRUPTED", "RATE_LIMITED"];
const n = (value: unknown) => Number(value ?? 0);

/** Runs every check; figures that are reported but not asserted go into `figures`. */
export async function runChecks(sql: postgres.Sql, facts: RunFacts): Promise<{ checks: Check[]; figures: Record<string, number> }> {
  const checks: Check[] = [];
  const figures: Record<string, number> = {};
  const check = (ok: boolean, name: string, detail: string) => checks.push({ ok, name, detail });
  const flowIds = facts.flows.map((f) => f.flowId);
  const versionIds = facts.flows.map((f) => f.versionId);
  const source = facts.tableName;

  // Rows and events ------------------------------------------------------------------------------------------------
  const [rows] = await sql.unsafe(`
    select (select count(*) from ${facts.table}) as row_count,
           (select count(distinct seq) from ${facts.table}) as distinct_seq,
           (select count(*) from flows.events where source_table = $1) as event_count,
           (select count(*) from ${facts.table} l
             where not exists (select 1 from flows.events e
                                where e.source_table = $1 and e.operation = 'INSERT' and e.row_key = l.id::text)) as rows_without_event,
           (select count(*) from flows.events e
             where e.source_table = $1
               and not exists (select 1 from ${facts.table} l where l.id::text = e.row_key)) as events_without_row,
           (select count(*) from (select row_key from flows.events where source_table = $1 group by row_key having count(*) > 1) d) as rows_with_two_events`,
    [source]);
  figures.rows = n(rows!.row_count);
  figures.events = n(rows!.event_count);
  check(
    n(rows!.row_count) === facts.rowsPlanned && n(rows!.distinct_seq) === facts.rowsPlanned,
    `all ${facts.rowsPlanned} writes are committed (statements retried after the restart, as an application would)`,
    `${rows!.row_count} rows in ${facts.table}`,
  );
  check(
    n(rows!.rows_without_event) === 0 && n(rows!.events_without_row) === 0 && n(rows!.rows_with_two_events) === 0,
    "events = rows: every committed row has exactly one event, and every event a committed row",
    `${rows!.row_count} rows, ${rows!.event_count} events; rows without an event ${rows!.rows_without_event}, ` +
      `events without a row ${rows!.events_without_row}, rows with two events ${rows!.rows_with_two_events}`,
  );

  const [events] = await sql`
    select count(*) filter (where processed_at is null) as unprocessed,
           count(*) filter (where error_message is not null) as with_error
      from flows.events where source_table = ${source}`;
  check(
    n(events!.unprocessed) === 0 && n(events!.with_error) === 0,
    "every event is processed",
    `unprocessed ${events!.unprocessed}, recorded with an error ${events!.with_error}`,
  );

  // Executions -----------------------------------------------------------------------------------------------------
  const [matches] = await sql`
    with expected as (
      select e.event_id, v.version_id
        from flows.events e cross join unnest(${sql.array(versionIds)}::uuid[]) as v(version_id)
       where e.source_table = ${source}
    )
    select (select count(*) from expected) as expected,
           (select count(*) from expected x
             where not exists (select 1 from flows.executions r where r.event_id = x.event_id and r.version_id = x.version_id)) as missing,
           (select count(*) from (select event_id, version_id from flows.executions
                                   where flow_id = any(${sql.array(flowIds)}::uuid[])
                                   group by event_id, version_id having count(*) > 1) d) as duplicated,
           (select count(*) from flows.executions r
             where r.flow_id = any(${sql.array(flowIds)}::uuid[])
               and not exists (select 1 from expected x where x.event_id = r.event_id and x.version_id = r.version_id)) as strays,
           (select count(*) from flows.executions where flow_id = any(${sql.array(flowIds)}::uuid[])) as executions`;
  figures.executions = n(matches!.executions);
  check(
    n(matches!.missing) === 0 && n(matches!.duplicated) === 0 && n(matches!.strays) === 0 && n(matches!.executions) === n(matches!.expected),
    `exactly one execution per event × matching version (${facts.flows.length} flows on the table)`,
    `expected ${matches!.expected}, found ${matches!.executions}; missing ${matches!.missing}, duplicated ${matches!.duplicated}, ` +
      `not matching any event ${matches!.strays}`,
  );

  const statuses = await sql`
    select status, count(*) as count from flows.executions
     where flow_id = any(${sql.array(flowIds)}::uuid[]) group by status order by status`;
  const byStatus = Object.fromEntries(statuses.map((r) => [r.status, n(r.count)]));
  figures.completed = byStatus.completed ?? 0;
  figures.failed = byStatus.failed ?? 0;
  // A failed execution is acceptable only when its http step used every attempt and the last failed retryably.
  const [failures] = await sql`
    with failed as (
      select x.execution_id, x.error_code,
             (select max(s.attempt) from flows.execution_steps s
               where s.execution_id = x.execution_id and s.step_id = ${facts.httpStepId}) as attempts
        from flows.executions x
       where x.flow_id = any(${sql.array(flowIds)}::uuid[]) and x.status = 'failed'
    )
    select count(*) as failed,
           count(*) filter (where error_code = any(${sql.array(RETRYABLE_CODES)}::text[]) and attempts >= ${facts.maxAttempts}) as exhausted,
           coalesce(string_agg(distinct error_code, ', ') filter (
             where not (error_code = any(${sql.array(RETRYABLE_CODES)}::text[]) and attempts >= ${facts.maxAttempts})), '') as other_codes,
           min(attempts) filter (where not (error_code = any(${sql.array(RETRYABLE_CODES)}::text[]) and attempts >= ${facts.maxAttempts})) as other_min_attempts,
           max(attempts) filter (where not (error_code = any(${sql.array(RETRYABLE_CODES)}::text[]) and attempts >= ${facts.maxAttempts})) as other_max_attempts,
           min(execution_id::text) filter (where not (error_code = any(${sql.array(RETRYABLE_CODES)}::text[]) and attempts >= ${facts.maxAttempts})) as other_example
      from failed`;
  figures.failedAfterExhaustingRetries = n(failures!.exhausted);
  figures.failedBeforeExhaustingRetries = n(failures!.failed) - n(failures!.exhausted);
  const terminal = (byStatus.completed ?? 0) + (byStatus.failed ?? 0);
  check(
    terminal === n(matches!.executions) && n(failures!.failed) === n(failures!.exhausted),
    "every execution is terminal: completed, or failed only after exhausting its retries",
    `${Object.entries(byStatus).map(([s, c]) => `${s} ${c}`).join(", ")}; failed after ${facts.maxAttempts} retryable attempts ` +
      `${failures!.exhausted}` +
      (n(failures!.failed) > n(failures!.exhausted)
        ? `; failed before exhausting them: ${n(failures!.failed) - n(failures!.exhausted)} (${failures!.other_codes} after ` +
          `${failures!.other_min_attempts}–${failures!.other_max_attempts} of ${facts.maxAttempts} attempts; e.g. execution ${failures!.other_example})`
        : ""),
  );

  // Completed steps --------------------------------------------------------------------------------------------------
  const [steps] = await sql`
    with attempts as (
      select s.* from flows.execution_steps s
        join flows.executions x on x.execution_id = s.execution_id
       where x.flow_id = any(${sql.array(flowIds)}::uuid[])
    ), completed as (
      select execution_id, step_id, min(finished_at) as finished_at, count(*) as completions
        from attempts where status = 'completed' group by execution_id, step_id
    )
    select (select count(*) from completed) as completed_steps,
           (select count(*) from completed where completions > 1) as completed_twice,
           (select count(*) from attempts a join completed c using (execution_id, step_id)
             where a.started_at > c.finished_at) as attempts_after_completion,
           (select count(*) from attempts where error_code = 'ATTEMPT_INTERRUPTED') as interrupted,
           (select count(*) from attempts where status = 'running') as still_running,
           (select count(*) from attempts) as attempts`;
  figures.attempts = n(steps!.attempts);
  figures.interruptedAttempts = n(steps!.interrupted);
  check(
    n(steps!.completed_twice) === 0 && n(steps!.attempts_after_completion) === 0,
    "no completed step ran twice: one completed attempt per step, and no attempt started after it",
    `${steps!.completed_steps} completed steps; completed twice ${steps!.completed_twice}, attempts started after completion ` +
      `${steps!.attempts_after_completion}; attempts closed as interrupted by a kill ${steps!.interrupted}`,
  );

  // The receiver's view: a request for a step that was already recorded completed is a completed step running again.
  const httpCompleted = await sql`
    select s.execution_id, extract(epoch from min(s.finished_at)) * 1000 as finished_ms
      from flows.execution_steps s
      join flows.executions x on x.execution_id = s.execution_id
     where x.flow_id = any(${sql.array(flowIds)}::uuid[]) and s.step_id = ${facts.httpStepId} and s.status = 'completed'
     group by s.execution_id`;
  let afterCompletion = 0;
  let withoutSuccess = 0;
  const examples: string[] = [];
  for (const row of httpCompleted) {
    const record = facts.target.keys.get(await sha256Hex(`${row.execution_id}:${facts.httpStepId}`));
    if (!record || record.okCount === 0) {
      withoutSuccess++;
      continue;
    }
    const late = record.arrivals.filter((t) => t > n(row.finished_ms));
    if (late.length > 0) {
      afterCompletion++;
      if (examples.length < 3) examples.push(`${row.execution_id} (+${Math.round(late[0]! - n(row.finished_ms))} ms)`);
    }
  }
  const records = [...facts.target.keys.values()];
  figures.targetRequests = facts.target.requestCount;
  figures.keysSentMoreThanOnce = records.filter((r) => r.arrivals.length > 1).length;
  figures.keysWithTwoTimely2xx = records.filter((r) => r.okCount > 1).length;
  figures.keysWithLate2xx = records.filter((r) => r.lateOkCount > 0).length;
  check(
    afterCompletion === 0 && withoutSuccess === 0 && facts.target.unkeyedCount === 0,
    "the target received no request for a step after it was recorded completed, and saw a 2xx for every completed step",
    `${httpCompleted.length} completed http steps; requests after completion ${afterCompletion}` +
      (examples.length ? ` (e.g. ${examples.join(", ")})` : "") +
      `; completed without a 2xx at the target ${withoutSuccess}; requests without an Idempotency-Key ${facts.target.unkeyedCount}`,
  );

  // Nothing stuck ----------------------------------------------------------------------------------------------------
  const [stuck] = await sql`
    select (select count(*) from flows.executions
             where flow_id = any(${sql.array(flowIds)}::uuid[]) and status in ('pending', 'running', 'waiting')) as open_executions,
           (select count(*) from flows.events where processed_at is null) as open_events,
           (select count(*) from net.http_request_queue) as queued_requests`;
  check(
    n(stuck!.open_executions) === 0 && n(stuck!.open_events) === 0 && n(steps!.still_running) === 0 && n(stuck!.queued_requests) === 0,
    "nothing is stuck: no pending, running or waiting execution, no running attempt, no unprocessed event, no queued request",
    `open executions ${stuck!.open_executions}, running attempts ${steps!.still_running}, unprocessed events ${stuck!.open_events}, ` +
      `queued requests ${stuck!.queued_requests}`,
  );
  return { checks, figures };
}

/** Checks that the faults really happened (a fault suite whose faults never fired proves nothing). */
export async function faultChecks(
  sql: postgres.Sql,
  faults: { kills: number; killsPlanned: number; restarts: number; startedAt: Date },
): Promise<{ checks: Check[]; figures: Record<string, number> }> {
  const [kicks] = await sql`
    select count(*) as kicks,
           count(*) filter (where error_msg like 'dropped by the local stack%') as dropped
      from net._http_response where created >= ${faults.startedAt}`;
  const dropped = n(kicks!.dropped);
  const total = n(kicks!.kicks);
  return {
    checks: [{
      ok: faults.kills === faults.killsPlanned && faults.restarts === 1 && dropped > 0,
      name: "the faults happened: function kills, one Postgres restart, dropped kicks",
      detail: `${faults.kills}/${faults.killsPlanned} kills of a live process, ${faults.restarts} Postgres restart, ` +
        `${dropped} of ${total} engine requests dropped (${total ? Math.round((dropped / total) * 100) : 0} %)`,
    }],
    figures: { kicks: total, droppedKicks: dropped },
  };
}
