-- Steps that hold or start other work: `parallel` (branches of steps run at the same time, then join) and `sub_flow`
-- (an execution of another flow, which the parent waits for without holding a function invocation).
--
-- The structural check learns both types and the steps inside branches; executions learn who started them (parent
-- execution, step and attempt), how deep the chain is, and two triggers: a finished sub-flow wakes its waiting parent,
-- and cancelling a parent cancels what it started. Reruns reuse the outputs of branch steps as well.

-- Structural check -----------------------------------------------------------------------------------------------------

create function flows.trigger_problems(trigger_value jsonb) returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
declare
  trigger_types constant text[] := array['row_change', 'schedule', 'manual', 'webhook'];
  row_events constant text[] := array['INSERT', 'UPDATE', 'DELETE'];
  problems jsonb := '[]'::jsonb;
  trigger_kind text;
  field jsonb;
  item jsonb;
  item_index integer;
  seen_events text[] := '{}'::text[];
begin
  if trigger_value is null then
    return jsonb_build_array(jsonb_build_object('path', 'trigger', 'message', 'Required'));
  elsif jsonb_typeof(trigger_value) <> 'object' then
    return jsonb_build_array(jsonb_build_object('path', 'trigger',
      'message', format('Expected an object, received %s', jsonb_typeof(trigger_value))));
  end if;

  field := trigger_value -> 'type';
  trigger_kind := case when jsonb_typeof(field) = 'string' then field #>> '{}' end;
  if field is null then
    problems := problems || jsonb_build_object('path', 'trigger.type', 'message', 'Required');
  elsif trigger_kind is null or not trigger_kind = any (trigger_types) then
    problems := problems || jsonb_build_object('path', 'trigger.type',
      'message', format('Invalid value %s: expected one of %s', field::text, array_to_string(trigger_types, ', ')));
  elsif trigger_kind = 'row_change' then
    field := trigger_value -> 'table';
    if field is null then
      problems := problems || jsonb_build_object('path', 'trigger.table', 'message', 'Required');
    elsif jsonb_typeof(field) <> 'string' then
      problems := problems || jsonb_build_object('path', 'trigger.table',
        'message', format('Expected a string, received %s', jsonb_typeof(field)));
    elsif (field #>> '{}') = '' or length(field #>> '{}') > 127
          or (field #>> '{}') !~ '^([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$' then
      problems := problems || jsonb_build_object('path', 'trigger.table',
        'message', format('Invalid table %s: use table or schema.table in lowercase', field::text));
    elsif flows.is_reserved_table(field #>> '{}') then
      problems := problems || jsonb_build_object('path', 'trigger.table',
        'message', 'Reserved schema: flows cannot watch system tables');
    end if;

    field := trigger_value -> 'events';
    if field is null then
      problems := problems || jsonb_build_object('path', 'trigger.events', 'message', 'Required');
    elsif jsonb_typeof(field) <> 'array' then
      problems := problems || jsonb_build_object('path', 'trigger.events',
        'message', format('Expected an array, received %s', jsonb_typeof(field)));
    elsif jsonb_array_length(field) = 0 then
      problems := problems || jsonb_build_object('path', 'trigger.events',
        'message', 'Expected at least one of INSERT, UPDATE, DELETE');
    else
      for item, item_index in
        select e.value, (e.ordinality - 1)::integer from jsonb_array_elements(field) with ordinality as e
      loop
        if jsonb_typeof(item) <> 'string' or not (item #>> '{}') = any (row_events) then
          problems := problems || jsonb_build_object('path', format('trigger.events[%s]', item_index),
            'message', format('Invalid value %s: expected one of INSERT, UPDATE, DELETE', item::text));
        elsif (item #>> '{}') = any (seen_events) then
          problems := problems || jsonb_build_object('path', format('trigger.events[%s]', item_index),
            'message', format('Duplicate event %s', item::text));
        else
          seen_events := seen_events || (item #>> '{}');
        end if;
      end loop;
    end if;
  elsif trigger_kind = 'schedule' then
    field := trigger_value -> 'cron';
    if field is null then
      problems := problems || jsonb_build_object('path', 'trigger.cron', 'message', 'Required');
    elsif jsonb_typeof(field) <> 'string' then
      problems := problems || jsonb_build_object('path', 'trigger.cron',
        'message', format('Expected a string, received %s', jsonb_typeof(field)));
    elsif btrim(field #>> '{}') = '' or length(field #>> '{}') > 200
          or cardinality(regexp_split_to_array(btrim(field #>> '{}'), '\s+')) <> 5 then
      problems := problems || jsonb_build_object('path', 'trigger.cron',
        'message', format('Invalid cron %s: expected 5 fields (minute hour day month weekday)', field::text));
    end if;
  end if;
  return problems;
end
$$;

comment on function flows.trigger_problems(jsonb) is
  'Structural problems of a definition''s trigger as [{path, message}] (part of flows.validate_definition).';

create function flows.branch_problems(step jsonb, step_path text) returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
declare
  max_branches constant integer := 10;
  problems jsonb := '[]'::jsonb;
  branches jsonb := step -> 'config' -> 'branches';
  branch jsonb;
  branch_index integer;
  branch_path text;
  seen_branches text[] := '{}'::text[];
begin
  if step -> 'config' is null then
    return jsonb_build_array(jsonb_build_object('path', step_path || '.config', 'message', 'Required'));
  elsif jsonb_typeof(step -> 'config') <> 'object' then
    return jsonb_build_array(jsonb_build_object('path', step_path || '.config',
      'message', format('Expected an object, received %s', jsonb_typeof(step -> 'config'))));
  elsif branches is null then
    return jsonb_build_array(jsonb_build_object('path', step_path || '.config.branches', 'message', 'Required'));
  elsif jsonb_typeof(branches) <> 'array' then
    return jsonb_build_array(jsonb_build_object('path', step_path || '.config.branches',
      'message', format('Expected an array, received %s', jsonb_typeof(branches))));
  elsif jsonb_array_length(branches) = 0 then
    return jsonb_build_array(jsonb_build_object('path', step_path || '.config.branches', 'message', 'Expected at least one branch'));
  elsif jsonb_array_length(branches) > max_branches then
    return jsonb_build_array(jsonb_build_object('path', step_path || '.config.branches',
      'message', format('Too many branches: %s; the limit is %s', jsonb_array_length(branches), max_branches)));
  end if;

  for branch, branch_index in
    select b.value, (b.ordinality - 1)::integer from jsonb_array_elements(branches) with ordinality as b
  loop
    branch_path := format('%s.config.branches[%s]', step_path, branch_index);
    if jsonb_typeof(branch) <> 'object' then
      problems := problems || jsonb_build_object('path', branch_path,
        'message', format('Expected an object, received %s', jsonb_typeof(branch)));
      continue;
    end if;
    if jsonb_typeof(branch -> 'id') is distinct from 'string' or (branch ->> 'id') !~ '^[a-z][a-z0-9_-]{0,62}$' then
      problems := problems || jsonb_build_object('path', branch_path || '.id',
        'message', 'Invalid branch id: use a-z, 0-9, _ and -, starting with a letter, at most 63 characters');
    elsif (branch ->> 'id') = any (seen_branches) then
      problems := problems || jsonb_build_object('path', branch_path || '.id',
        'message', format('Duplicate branch id %s (first used by branches[%s])', (branch -> 'id')::text,
          array_position(seen_branches, branch ->> 'id') - 1));
    end if;
    seen_branches := seen_branches || coalesce(branch ->> 'id', '');
    if jsonb_typeof(branch -> 'steps') is distinct from 'array' or jsonb_array_length(branch -> 'steps') = 0 then
      problems := problems || jsonb_build_object('path', branch_path || '.steps', 'message', 'Expected at least one step');
    end if;
  end loop;
  return problems;
end
$$;

comment on function flows.branch_problems(jsonb, text) is
  'Structural problems of a parallel step''s branches (1 to 10, distinct ids, each with steps) as [{path, message}].';

create or replace function flows.validate_definition(definition jsonb) returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
declare
  max_bytes constant integer := 524288;
  max_steps constant integer := 100;
  step_types constant text[] :=
    array['tabular', 'http', 'wait', 'db_update', 'function_call', 'condition', 'transform', 'log', 'sub_flow', 'parallel'];
  problems jsonb := '[]'::jsonb;
  size_bytes integer;
  field jsonb;
  item jsonb;
  step_path text;
  in_branch boolean;
  allowed text[];
  seen_ids text[] := '{}'::text[];
  seen_paths text[] := '{}'::text[];
  step_count integer := 0;
  top_count integer;
  step_identifier text;
begin
  if definition is null or jsonb_typeof(definition) <> 'object' then
    return jsonb_build_array(jsonb_build_object('path', '(root)', 'message', 'Definition must be a JSON object'));
  end if;

  -- Checked first so an oversized definition costs one serialization, not a walk.
  size_bytes := octet_length(definition::text);
  if size_bytes > max_bytes then
    return jsonb_build_array(jsonb_build_object(
      'path', '(root)',
      'message', format('Definition is %s bytes; the limit is %s', size_bytes, max_bytes)));
  end if;

  problems := flows.trigger_problems(definition -> 'trigger');

  field := definition -> 'steps';
  if field is null then
    return problems || jsonb_build_object('path', 'steps', 'message', 'Required');
  elsif jsonb_typeof(field) <> 'array' then
    return problems || jsonb_build_object('path', 'steps',
      'message', format('Expected an array, received %s', jsonb_typeof(field)));
  end if;
  top_count := jsonb_array_length(field);
  if top_count = 0 then
    problems := problems || jsonb_build_object('path', 'steps', 'message', 'Expected at least one step');
  end if;

  -- Every step in the order the engine lists them: each top-level step, then the steps of its branches.
  for item, step_path, in_branch in
    select s.item, s.step_path, s.in_branch
      from (
        select t.value as item, format('steps[%s]', t.ordinality - 1) as step_path, false as in_branch,
               t.ordinality as top_order, -1::bigint as branch_order, 0::bigint as step_order
          from jsonb_array_elements(field) with ordinality as t
        union all
        select inner_step.value, format('steps[%s].config.branches[%s].steps[%s]', t.ordinality - 1, b.ordinality - 1,
                 inner_step.ordinality - 1), true, t.ordinality, b.ordinality, inner_step.ordinality
          from jsonb_array_elements(field) with ordinality as t
          cross join lateral jsonb_array_elements(
            case when jsonb_typeof(t.value -> 'config' -> 'branches') = 'array' then t.value -> 'config' -> 'branches'
                 else '[]'::jsonb end) with ordinality as b
          cross join lateral jsonb_array_elements(
            case when jsonb_typeof(b.value -> 'steps') = 'array' then b.value -> 'steps' else '[]'::jsonb end)
            with ordinality as inner_step
         where t.value ->> 'type' = 'parallel'
      ) as s
     order by s.top_order, s.branch_order, s.step_order
  loop
    step_count := step_count + 1;
    if jsonb_typeof(item) <> 'object' then
      problems := problems || jsonb_build_object('path', step_path,
        'message', format('Expected an object, received %s', jsonb_typeof(item)));
      continue;
    end if;

    step_identifier := null;
    if item -> 'id' is null then
      problems := problems || jsonb_build_object('path', step_path || '.id', 'message', 'Required');
    elsif jsonb_typeof(item -> 'id') <> 'string' then
      problems := problems || jsonb_build_object('path', step_path || '.id',
        'message', format('Expected a string, received %s', jsonb_typeof(item -> 'id')));
    elsif (item ->> 'id') !~ '^[a-z][a-z0-9_-]{0,62}$' then
      problems := problems || jsonb_build_object('path', step_path || '.id',
        'message', format('Invalid step id %s: use a-z, 0-9, _ and -, starting with a letter, at most 63 characters',
          (item -> 'id')::text));
    else
      step_identifier := item ->> 'id';
      if step_identifier = any (seen_ids) then
        problems := problems || jsonb_build_object('path', step_path || '.id',
          'message', format('Duplicate step id %s (first used by %s)', (item -> 'id')::text,
            seen_paths[array_position(seen_ids, step_identifier)]));
      end if;
    end if;
    -- Keeps positions aligned, so the first use of an id can be named.
    seen_ids := seen_ids || coalesce(step_identifier, '');
    seen_paths := seen_paths || step_path;

    -- Branches do not nest: a parallel step's branches hold every other type.
    allowed := case when in_branch then array_remove(step_types, 'parallel') else step_types end;
    if item -> 'type' is null then
      problems := problems || jsonb_build_object('path', step_path || '.type', 'message', 'Required');
    elsif jsonb_typeof(item -> 'type') <> 'string' or not (item ->> 'type') = any (allowed) then
      problems := problems || jsonb_build_object('path', step_path || '.type',
        'message', format('Unknown step type %s: expected one of %s', (item -> 'type')::text,
          array_to_string(allowed, ', ')));
    elsif item ->> 'type' = 'parallel' then
      problems := problems || flows.branch_problems(item, step_path);
    end if;
  end loop;

  if step_count > max_steps then
    problems := problems || jsonb_build_object('path', 'steps',
      'message', case when step_count = top_count
                      then format('Too many steps: %s; the limit is %s', step_count, max_steps)
                      else format('Too many steps: %s counting parallel branches; the limit is %s', step_count, max_steps)
                 end);
  end if;
  return problems;
end
$$;

comment on function flows.validate_definition(jsonb) is
  'Structural problems of a flow definition as a JSON array of {path, message}; empty when publishable. '
  'Checks: a JSON object of at most 512 KB; trigger.type in row_change, schedule, manual, webhook; row_change '
  'needs table and distinct events; schedule needs a 5-field cron; 1 to 100 steps (counting the steps of parallel '
  'branches) with unique ids and known types; parallel steps have 1 to 10 branches with distinct ids and steps, '
  'and no parallel step inside a branch.';

revoke execute on function flows.trigger_problems(jsonb) from public, anon;
revoke execute on function flows.branch_problems(jsonb, text) from public, anon;
grant execute on function flows.trigger_problems(jsonb) to authenticated, service_role;
grant execute on function flows.branch_problems(jsonb, text) to authenticated, service_role;

-- Sub-flow executions --------------------------------------------------------------------------------------------------

alter table flows.executions
  add column parent_execution_id uuid references flows.executions (execution_id) on delete set null,
  add column parent_step_id text,
  add column parent_attempt integer,
  add column call_depth integer not null default 0,
  add constraint executions_call_depth_check check (call_depth >= 0),
  -- The parent itself may be deleted (set null above); which step of it started a sub-flow stays recorded.
  add constraint executions_sub_flow_parent_check
    check ((trigger_type = 'sub_flow') = (parent_step_id is not null and parent_attempt is not null));

alter table flows.executions drop constraint executions_trigger_type_check;
alter table flows.executions add constraint executions_trigger_type_check
  check (trigger_type in ('row_change', 'schedule', 'manual', 'webhook', 'rerun', 'sub_flow'));

comment on column flows.executions.parent_execution_id is
  'For sub_flow executions: the execution whose sub_flow step started this one (null once that one is deleted).';
comment on column flows.executions.parent_step_id is 'For sub_flow executions: the parent''s step that started it.';
comment on column flows.executions.parent_attempt is
  'For sub_flow executions: the parent step''s attempt that started it.';
comment on column flows.executions.call_depth is
  'How many sub_flow steps led here (0 for executions started otherwise); limited by engine_state.max_causation_depth.';

-- One execution per parent step: an interrupted attempt finds it again instead of starting a second one. Also finds a
-- parent's sub-flows for waking and cancelling.
create unique index executions_parent_step_idx on flows.executions (parent_execution_id, parent_step_id)
  where parent_execution_id is not null;

create function flows.start_sub_flow(p_parent uuid, p_owner text, p_step_id text, p_attempt integer, p_flow_key text,
                                     p_input jsonb default '{}'::jsonb)
returns setof flows.executions
language plpgsql
volatile
set search_path = ''
as $$
declare
  parent flows.executions;
  existing flows.executions;
  target flows.flows;
  published flows.versions;
  max_depth integer;
  run_input jsonb := coalesce(p_input, '{}'::jsonb);
  problems jsonb;
begin
  -- Fenced by the lease, as every write of the engine: an invocation that lost its execution starts nothing.
  select e.* into parent from flows.executions as e
   where e.execution_id = p_parent and e.lease_owner = p_owner and e.status = 'running';
  if not found then
    raise exception using errcode = 'FL005',
      message = pg_catalog.format('execution %s is not running under lease %s', p_parent, p_owner);
  end if;

  -- The same step again (an interrupted attempt, a retry after a store error) finds what it started, however that
  -- ended: a failed or cancelled sub-flow is reported as such, never quietly run again.
  select c.* into existing from flows.executions as c
   where c.parent_execution_id = p_parent and c.parent_step_id = p_step_id;
  if found then
    return next existing;
    return;
  end if;

  select s.max_causation_depth into max_depth from flows.engine_state as s where s.engine_state_id;
  if parent.call_depth + 1 > coalesce(max_depth, 5) then
    raise exception using errcode = 'FL007',
      message = pg_catalog.format('sub_flow "%s": %s nested sub-flows already; the limit is %s (engine_state.max_causation_depth)',
        p_flow_key, parent.call_depth, coalesce(max_depth, 5));
  end if;

  select f.* into target from flows.flows as f where f.tenant_id = parent.tenant_id and f.key = p_flow_key;
  if not found then
    raise exception using errcode = 'FL002', message = pg_catalog.format('sub_flow: flow "%s" not found', p_flow_key);
  end if;
  select v.* into published from flows.versions as v where v.flow_id = target.flow_id and v.status = 'published';
  if not found then
    raise exception using errcode = 'FL002',
      message = pg_catalog.format('sub_flow: flow "%s" has no published version', p_flow_key);
  end if;
  if not target.is_active then
    raise exception using errcode = 'FL007', message = pg_catalog.format('sub_flow: flow "%s" is inactive', p_flow_key);
  end if;
  if published.trigger_type not in ('manual', 'webhook') then
    raise exception using errcode = 'FL007',
      message = pg_catalog.format('sub_flow: flow "%s" has a %s trigger; only manual and webhook flows take input',
        p_flow_key, published.trigger_type);
  end if;
  if published.definition ? 'parameters' then
    problems := flows.parameter_problems(published.definition -> 'parameters', run_input);
    if pg_catalog.jsonb_array_length(problems) > 0 then
      raise exception using errcode = 'FL007',
        message = pg_catalog.format('sub_flow "%s": %s: %s', p_flow_key, problems -> 0 ->> 'path', problems -> 0 ->> 'message'),
        detail = problems::text;
    end if;
  end if;

  return query
    insert into flows.executions (tenant_id, flow_id, version_id, trigger_type, status, input, context, executed_by,
                                  parent_execution_id, parent_step_id, parent_attempt, call_depth)
    values (target.tenant_id, target.flow_id, published.version_id, 'sub_flow', 'pending', run_input,
            pg_catalog.jsonb_build_object('parent', pg_catalog.jsonb_build_object(
              'execution_id', parent.execution_id, 'flow_id', parent.flow_id, 'step_id', p_step_id)),
            parent.executed_by, parent.execution_id, p_step_id, p_attempt, parent.call_depth + 1)
    returning *;
end
$$;

revoke execute on function flows.start_sub_flow(uuid, text, text, integer, text, jsonb) from public, anon, authenticated;
grant execute on function flows.start_sub_flow(uuid, text, text, integer, text, jsonb) to service_role;
comment on function flows.start_sub_flow(uuid, text, text, integer, text, jsonb) is
  'The engine''s sub_flow step: starts a pending execution of the published version of the flow with this key in the '
  'parent''s tenant, or returns the one this step already started, however it ended. '
  'Errors: FL005 parent not running under p_owner''s lease; FL002 unknown flow or no published version; FL007 '
  'inactive, not a manual or webhook flow, input not matching its parameters, or too many nested sub-flows.';

-- How a sub-flow is stopped, whoever stops it: pending and waiting executions are cancelled at once (nothing runs
-- them); a running one is asked to stop and the engine running it does so at its next check.
create function flows.stop_sub_flows(p_execution_ids uuid[], p_requested_at timestamptz, p_requested_by uuid,
                                     p_message text) returns void
language sql
volatile
set search_path = ''
as $$
  update flows.executions as e
     set cancel_requested_at = coalesce(e.cancel_requested_at, p_requested_at),
         cancel_requested_by = coalesce(e.cancel_requested_by, p_requested_by),
         status = case when e.status in ('pending', 'waiting') then 'cancelled' else e.status end,
         error_code = case when e.status in ('pending', 'waiting') then 'CANCELLED' else e.error_code end,
         error_message = case when e.status in ('pending', 'waiting') then p_message else e.error_message end
   where e.execution_id = any (p_execution_ids) and e.status not in ('completed', 'failed', 'cancelled');
$$;

revoke execute on function flows.stop_sub_flows(uuid[], timestamptz, uuid, text) from public, anon, authenticated;
comment on function flows.stop_sub_flows(uuid[], timestamptz, uuid, text) is
  'Cancels pending and waiting executions at once and asks running ones to stop (cancel_sub_flow, cancel_sub_flows).';

create function flows.cancel_sub_flow(p_parent uuid, p_owner text, p_execution uuid) returns void
language sql
volatile
set search_path = ''
as $$
  -- Fenced by the parent's lease: an invocation that lost the parent cancels nothing.
  select flows.stop_sub_flows(array[c.execution_id], pg_catalog.now(), null, 'Cancelled: the parent execution stopped waiting')
    from flows.executions as c
   where c.execution_id = p_execution and c.parent_execution_id = p_parent
     and exists (select 1 from flows.executions as p
                  where p.execution_id = p_parent and p.lease_owner = p_owner and p.status = 'running');
$$;

revoke execute on function flows.cancel_sub_flow(uuid, text, uuid) from public, anon, authenticated;
grant execute on function flows.cancel_sub_flow(uuid, text, uuid) to service_role;
comment on function flows.cancel_sub_flow(uuid, text, uuid) is
  'The engine''s sub_flow step gave up waiting (timeout_seconds), or its parallel branch was stopped: asks that '
  'sub-flow execution to stop, if p_owner still holds the parent''s lease.';

-- A finished sub-flow makes its waiting parent due now, instead of at the sub_flow step's deadline.
create function flows.wake_parent_execution() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  -- Waits for a parent whose own update is in flight: without the lock, a parent recording its wait at this moment
  -- would be read as still running here, and its BEFORE trigger cannot see this uncommitted end either.
  perform 1 from flows.executions as p where p.execution_id = new.parent_execution_id for update;
  update flows.executions as p
     set resume_at = pg_catalog.now(), updated_at = pg_catalog.now()
   where p.execution_id = new.parent_execution_id and p.status = 'waiting' and p.resume_at > pg_catalog.now();
  if found then
    perform flows.request_drain(false);
  end if;
  return null;
end
$$;

create trigger executions_wake_parent
  after update of status on flows.executions
  for each row
  when (new.parent_execution_id is not null and new.status in ('completed', 'failed', 'cancelled')
        and old.status is distinct from new.status)
  execute function flows.wake_parent_execution();

-- The parent may record its wait after its sub-flow already finished (another invocation ran it meanwhile): then
-- the wait is due at once rather than at the deadline.
create function flows.resume_if_sub_flow_finished() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if exists (
    select 1 from flows.executions as c
      join flows.execution_steps as s
        on s.execution_id = c.parent_execution_id and s.step_id = c.parent_step_id and s.status = 'suspended'
     where c.parent_execution_id = new.execution_id and c.status in ('completed', 'failed', 'cancelled')
       -- Only the sub-flow this suspended attempt waits for: other finished sub-flows must not make waits due.
       and s.output ->> 'execution_id' = c.execution_id::text) then
    new.resume_at := pg_catalog.now();
  end if;
  return new;
end
$$;

create trigger executions_resume_if_sub_flow_finished
  before update of status on flows.executions
  for each row
  when (old.status = 'running' and new.status = 'waiting')
  execute function flows.resume_if_sub_flow_finished();

-- Cancelling an execution cancels the sub-flows it started (and theirs, as this trigger fires for them in turn).
create function flows.cancel_sub_flows() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform flows.stop_sub_flows(
    array(select c.execution_id from flows.executions as c
           where c.parent_execution_id = new.execution_id and c.status not in ('completed', 'failed', 'cancelled')),
    new.cancel_requested_at, new.cancel_requested_by, 'Cancelled with its parent execution');
  return null;
end
$$;

create trigger executions_cancel_sub_flows
  after update of cancel_requested_at on flows.executions
  for each row
  when (old.cancel_requested_at is null and new.cancel_requested_at is not null)
  execute function flows.cancel_sub_flows();

revoke execute on function flows.wake_parent_execution() from public, anon, authenticated;
revoke execute on function flows.resume_if_sub_flow_finished() from public, anon, authenticated;
revoke execute on function flows.cancel_sub_flows() from public, anon, authenticated;

-- Reruns ----------------------------------------------------------------------------------------------------------------

-- As before, and the steps inside earlier parallel steps are reused too (later steps may read their outputs). A step
-- inside a branch cannot be the starting point: the rerun starts at its parallel step.
create or replace function flows.rerun(execution_id uuid, from_step text default null) returns uuid
language plpgsql volatile security definer set search_path = ''
-- definer: only the engine writes executions; this checks the caller's role first.
as $$
declare
  original flows.executions;
  definition jsonb;
  step_ids text[];
  start_index integer;
  enclosing text;
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
      select t.s ->> 'id' into enclosing
        from pg_catalog.jsonb_array_elements(definition -> 'steps') as t(s)
        cross join lateral pg_catalog.jsonb_array_elements(t.s -> 'config' -> 'branches') as b(branch)
        cross join lateral pg_catalog.jsonb_array_elements(b.branch -> 'steps') as i(inner_step)
       where t.s ->> 'type' = 'parallel' and i.inner_step ->> 'id' = from_step;
      raise exception using errcode = 'FL007',
        message = case
          when enclosing is not null then pg_catalog.format(
            'from_step: step "%s" is inside parallel step "%s"; rerun from "%s"', from_step, enclosing, enclosing)
          else pg_catalog.format('from_step: step "%s" is not in version %s (steps: %s)', from_step, original.version_id,
            pg_catalog.array_to_string(step_ids, ', '))
        end;
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

  -- Steps before the start (and the steps inside those that are parallel) are not run again: their last attempt is
  -- recorded as reused if it completed, or failed with continue_on_error (later steps may read its status and error).
  insert into flows.execution_steps (execution_id, tenant_id, step_id, step_type, status, attempt, input, output, branch,
                                     error, error_code, error_message, continued, logs, started_at, finished_at,
                                     duration_ms, reused_from_attempt_id)
  select new_id, a.tenant_id, a.step_id, a.step_type, a.status, 1, a.input, a.output, a.branch,
         a.error, a.error_code, a.error_message, a.continued, a.logs,
         pg_catalog.now(), pg_catalog.now(), 0, a.step_attempt_id
    from (
      select t.s ->> 'id' as step_id
        from pg_catalog.jsonb_array_elements(definition -> 'steps') with ordinality as t(s, n)
       where t.n < start_index
      union all
      select i.inner_step ->> 'id'
        from pg_catalog.jsonb_array_elements(definition -> 'steps') with ordinality as t(s, n)
        cross join lateral pg_catalog.jsonb_array_elements(t.s -> 'config' -> 'branches') as b(branch)
        cross join lateral pg_catalog.jsonb_array_elements(b.branch -> 'steps') as i(inner_step)
       where t.n < start_index and t.s ->> 'type' = 'parallel') as earlier
    cross join lateral (
      select s.* from flows.execution_steps as s
       where s.execution_id = original.execution_id and s.step_id = earlier.step_id
         and (s.status = 'completed' or (s.status = 'failed' and s.continued))
       order by s.attempt desc limit 1) as a;

  perform flows.request_drain(true);
  return new_id;
end
$$;

comment on function flows.rerun(uuid, text) is
  'Starts a new execution of the same pinned version (admin or manager), reusing the outputs of the steps before from_step (default: the first step that did not complete), including the steps inside earlier parallel steps. from_step must be a top-level step. Returns the new execution id. Errors: FL001, FL002, FL005, FL007.';
