-- Steering executions: pause and resume a flow (new events are kept as pending executions, not run, until it
-- resumes), and rerun an execution from a step on its pinned version, reusing the recorded outputs of the steps
-- before it. Cancellation is flows.request_cancel; the engine aborts a running execution's in-flight request.

alter table flows.flows add column is_paused boolean not null default false;
comment on column flows.flows.is_paused is
  'Paused flows keep receiving events (their executions wait as pending) but run nothing until resumed.';

alter table flows.executions
  add column source_event_id bigint,
  add column rerun_of_execution_id uuid references flows.executions (execution_id) on delete set null;
comment on column flows.executions.source_event_id is
  'The event whose row the execution sees: its own event_id, or the original''s for a rerun (event_id stays unique per version).';
comment on column flows.executions.rerun_of_execution_id is 'For reruns: the execution this one reruns.';
create index executions_rerun_of_idx on flows.executions (rerun_of_execution_id) where rerun_of_execution_id is not null;

alter table flows.execution_steps add column reused_from_attempt_id bigint references flows.execution_steps (step_attempt_id) on delete set null;
comment on column flows.execution_steps.reused_from_attempt_id is
  'Reruns: this attempt was not run again; its output is copied from that attempt of the original execution.';

-- Claiming runnable work skips paused flows; this index keeps the join to flows cheap.
create index flows_paused_idx on flows.flows (flow_id) where is_paused;

create function flows.set_flow_paused(flow_id uuid, is_paused boolean) returns flows.flows
language plpgsql volatile security definer set search_path = ''
-- definer: checks the caller's role itself before writing.
as $$
declare
  target flows.flows := flows.locate_flow(flow_id);
  updated flows.flows;
begin
  perform flows.require_role(array['admin', 'manager'], 'set_flow_paused');
  if is_paused is null then
    raise exception using errcode = 'FL007', message = 'is_paused: must be true or false';
  end if;
  update flows.flows as f set is_paused = set_flow_paused.is_paused where f.flow_id = target.flow_id
  returning f.* into updated;
  if not set_flow_paused.is_paused then
    -- What waited while paused runs now, not at the next tick.
    perform flows.request_drain(true);
  end if;
  return updated;
end
$$;
revoke execute on function flows.set_flow_paused(uuid, boolean) from public, anon;
grant execute on function flows.set_flow_paused(uuid, boolean) to authenticated, service_role;
comment on function flows.set_flow_paused(uuid, boolean) is
  'Pauses or resumes a flow (admin or manager). Paused: events still create pending executions, which run when it resumes. Errors: FL001, FL002, FL007.';

create function flows.rerun(execution_id uuid, from_step text default null) returns uuid
language plpgsql volatile security definer set search_path = ''
-- definer: only the engine writes executions; this checks the caller's role first.
as $$
declare
  original flows.executions;
  definition jsonb;
  step_ids text[];
  start_index integer;
  new_id uuid;
begin
  select e.* into original from flows.executions as e where e.execution_id = rerun.execution_id;
  if not found or not flows.can_see_tenant(original.tenant_id) then
    raise exception using errcode = 'FL002', message = pg_catalog.format('execution %s not found', coalesce(rerun.execution_id::text, 'null'));
  end if;
  perform flows.require_role(array['admin', 'manager'], 'rerun');
  if not (select f.is_active from flows.flows as f where f.flow_id = original.flow_id) then
    raise exception using errcode = 'FL007',
      message = pg_catalog.format('flow %s is inactive; activate it before rerunning its executions', original.flow_id);
  end if;
  if original.status not in ('completed', 'failed', 'cancelled') then
    raise exception using errcode = 'FL005',
      message = pg_catalog.format('execution %s is %s; only finished executions can be rerun', original.execution_id, original.status);
  end if;

  select v.definition into definition from flows.versions as v where v.version_id = original.version_id;
  select pg_catalog.array_agg(s ->> 'id' order by n) into step_ids
    from pg_catalog.jsonb_array_elements(definition -> 'steps') with ordinality as t(s, n);

  if from_step is null then
    -- Default: the first step of the definition that did not complete in the original.
    select min(n) into start_index
      from pg_catalog.unnest(step_ids) with ordinality as t(id, n)
     where not exists (
       select 1 from flows.execution_steps as a
        where a.execution_id = original.execution_id and a.step_id = t.id and a.status = 'completed');
    start_index := coalesce(start_index, 1);
  else
    start_index := pg_catalog.array_position(step_ids, from_step);
    if start_index is null then
      raise exception using errcode = 'FL007',
        message = pg_catalog.format('from_step: step "%s" is not in version %s (steps: %s)', from_step, original.version_id,
          pg_catalog.array_to_string(step_ids, ', '));
    end if;
  end if;

  insert into flows.executions (tenant_id, flow_id, version_id, trigger_type, source_event_id, subject, status, input,
                                context, rerun_of_execution_id, executed_by)
  values (original.tenant_id, original.flow_id, original.version_id, 'rerun',
          coalesce(original.source_event_id, original.event_id), original.subject, 'pending', original.input,
          -- The row the original saw is copied: retention may prune its event before the rerun runs.
          pg_catalog.jsonb_build_object('rerun_of', original.execution_id, 'from_step', step_ids[start_index])
            || coalesce((
              select pg_catalog.jsonb_build_object('event', pg_catalog.jsonb_build_object(
                       'op', ev.operation, 'table', ev.source_schema || '.' || ev.source_table,
                       'row', coalesce(ev.new_row, ev.old_row), 'old', ev.old_row))
                from flows.events as ev where ev.event_id = coalesce(original.source_event_id, original.event_id)),
              -- A rerun of a rerun: the row was copied the first time.
              case when original.context ? 'event' then pg_catalog.jsonb_build_object('event', original.context -> 'event')
                   else '{}'::jsonb end),
          original.execution_id, auth.uid())
  returning flows.executions.execution_id into new_id;

  -- Steps before the start are not run again: their last completed attempt is recorded as reused.
  insert into flows.execution_steps (execution_id, tenant_id, step_id, step_type, status, attempt, input, output, branch,
                                     logs, started_at, finished_at, duration_ms, reused_from_attempt_id)
  select new_id, a.tenant_id, a.step_id, a.step_type, 'completed', 1, a.input, a.output, a.branch, a.logs,
         pg_catalog.now(), pg_catalog.now(), 0, a.step_attempt_id
    from pg_catalog.unnest(step_ids[1:start_index - 1]) as earlier(step_id)
    cross join lateral (
      select s.* from flows.execution_steps as s
       where s.execution_id = original.execution_id and s.step_id = earlier.step_id and s.status = 'completed'
       order by s.attempt desc limit 1) as a;

  perform flows.request_drain(true);
  return new_id;
end
$$;
revoke execute on function flows.rerun(uuid, text) from public, anon;
grant execute on function flows.rerun(uuid, text) to authenticated, service_role;
comment on function flows.rerun(uuid, text) is
  'Starts a new execution of the same pinned version (admin or manager), reusing the outputs of the steps before from_step (default: the first step that did not complete). Returns the new execution id. Errors: FL001, FL002, FL005, FL007.';
