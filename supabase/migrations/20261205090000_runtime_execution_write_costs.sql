-- What every execution pays in Postgres when the engine records it. Each execution row is inserted once and updated
-- at least once (its outcome); that update is never HOT (the status is indexed), so it adds an entry to every index
-- whose predicate the new row meets, and it called two PL/pgSQL trigger functions per row. Now:
--   * the two BEFORE UPDATE triggers carry WHEN conditions, so the updates the engine makes (it stamps updated_at
--     and finished_at itself, and moves only running executions to an outcome) call no function; every other update
--     is checked and stamped exactly as before;
--   * executions_executed_by_idx holds only executions someone started by hand (executed_by is null for row-change,
--     schedule and webhook executions), which is what its only readers, the member policies, look up.

-- updated_at: stamped by the trigger unless the statement itself moved it forward (the engine sets it to now()).
drop trigger executions_touch_updated_at on flows.executions;
create trigger executions_touch_updated_at
  before update on flows.executions
  for each row
  when (new.updated_at is null or old.updated_at is null or new.updated_at <= old.updated_at)
  execute function flows.touch_updated_at();

-- Status transitions: the function is called for every change of status except running -> waiting and running ->
-- completed|failed|cancelled with finished_at given, which are legal and need no stamp. An unchanged status never
-- needed the call (the function returned at once).
drop trigger executions_guard_status on flows.executions;
create trigger executions_guard_status
  before update of status on flows.executions
  for each row
  when (old.status is distinct from new.status
        and not (old.status = 'running'
                 and (new.status = 'waiting'
                      or (new.status in ('completed', 'failed', 'cancelled') and new.finished_at is not null))))
  execute function flows.guard_execution_status();

drop index flows.executions_executed_by_idx;
create index executions_executed_by_idx on flows.executions (executed_by) where executed_by is not null;
comment on index flows.executions_executed_by_idx is
  'Executions started by a person (manual runs, their reruns and sub-flows): what a member''s policy looks up. Other executions carry no executed_by and no entry.';
