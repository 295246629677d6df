-- Invariants the database enforces for every role, service_role and postgres included:
-- gapless version numbers, derived trigger columns, immutable published and archived versions, legal version and
-- execution status transitions, no deleting a flow while it runs, and updated_at stamps.
-- Errors: FL003 invalid definition, FL004 immutable version, FL005 illegal status transition, FL006 flow has active
-- executions, FL007 invalid argument (see docs/sql-api.md).

-- updated_at ---------------------------------------------------------------------------------------------------------

create function flows.touch_updated_at() returns trigger
language plpgsql
volatile
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end
$$;

comment on function flows.touch_updated_at() is 'Trigger: stamps updated_at on every update.';

create trigger flows_touch_updated_at
  before update on flows.flows
  for each row execute function flows.touch_updated_at();

create trigger executions_touch_updated_at
  before update on flows.executions
  for each row execute function flows.touch_updated_at();

-- Flows --------------------------------------------------------------------------------------------------------------

create function flows.guard_flow_delete() returns trigger
language plpgsql
volatile
set search_path = ''
as $$
begin
  if exists (
    select 1 from flows.executions as e
     where e.flow_id = old.flow_id
       and e.status in ('pending', 'running', 'waiting')
  ) then
    raise exception using
      errcode = 'FL006',
      message = format('flow "%s" has pending, running or waiting executions; cancel them or wait for them to finish',
        old.key);
  end if;
  return old;
end
$$;

comment on function flows.guard_flow_delete() is
  'Trigger: refuses (FL006) to delete a flow while any of its executions is pending, running or waiting.';

create trigger flows_guard_delete
  before delete on flows.flows
  for each row execute function flows.guard_flow_delete();

-- Versions -----------------------------------------------------------------------------------------------------------

create function flows.derive_version_trigger() returns trigger
language plpgsql
volatile
set search_path = ''
as $$
declare
  trigger_value jsonb := new.definition -> 'trigger';
  table_name text;
begin
  -- Drafts may be half-written: only well-formed values are derived, anything else leaves the column null.
  new.trigger_type := case
    when jsonb_typeof(trigger_value -> 'type') = 'string'
     and (trigger_value ->> 'type') in ('row_change', 'schedule', 'manual', 'webhook')
      then trigger_value ->> 'type'
  end;
  new.trigger_table := null;
  new.trigger_events := null;
  if new.trigger_type = 'row_change' then
    table_name := case when jsonb_typeof(trigger_value -> 'table') = 'string' then trigger_value ->> 'table' end;
    if table_name ~ '^([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$' then
      new.trigger_table := case when strpos(table_name, '.') > 0 then table_name else 'public.' || table_name end;
    end if;
    if jsonb_typeof(trigger_value -> 'events') = 'array' then
      new.trigger_events := nullif(array(
        select distinct e.value
          from jsonb_array_elements_text(trigger_value -> 'events') as e (value)
         where e.value in ('INSERT', 'UPDATE', 'DELETE')
         order by e.value
      ), '{}');
    end if;
  end if;
  return new;
end
$$;

comment on function flows.derive_version_trigger() is
  'Trigger: derives trigger_type, trigger_table (schema.table, public by default) and trigger_events from the '
  'definition.';

create function flows.guard_version_insert() returns trigger
language plpgsql
volatile
-- security definer: numbering must lock the flow and see all of its versions, whatever the inserter may read.
security definer
set search_path = ''
as $$
declare
  next_number integer;
begin
  -- Numbers are assigned under a lock on the flow row, so concurrent inserts queue and numbers never skip.
  perform 1 from flows.flows as f where f.flow_id = new.flow_id for no key update;
  select coalesce(max(v.version_number), 0) + 1 into next_number
    from flows.versions as v
   where v.flow_id = new.flow_id;

  if new.version_number is null then
    new.version_number := next_number;
  elsif new.version_number <> next_number then
    raise exception using
      errcode = 'FL007',
      message = format('version_number: the next version of this flow is %s, not %s', next_number, new.version_number),
      hint = 'leave version_number out; it is assigned';
  end if;

  if new.status = 'archived' then
    raise exception using
      errcode = 'FL005',
      message = 'a version starts as draft or published, never archived';
  elsif new.status = 'published' then
    perform flows.assert_valid_definition(new.definition);
    new.published_at := coalesce(new.published_at, now());
    new.published_by := coalesce(new.published_by, auth.uid());
  end if;
  new.archived_at := null;
  new.created_by := coalesce(new.created_by, auth.uid());
  return new;
end
$$;

comment on function flows.guard_version_insert() is
  'Trigger: assigns the next gapless version_number (FL007 if another is given), refuses archived inserts (FL005) '
  'and validates versions inserted as published (FL003).';

create function flows.guard_version_update() returns trigger
language plpgsql
volatile
set search_path = ''
as $$
begin
  if new.flow_id <> old.flow_id or new.tenant_id <> old.tenant_id or new.version_number <> old.version_number then
    raise exception using
      errcode = 'FL004',
      message = format('version %s: flow_id, tenant_id and version_number never change', old.version_number);
  end if;

  if old.status <> 'draft' then
    -- Only the published -> archived step may touch a published version; archived ones are frozen.
    if (old.status, new.status) is distinct from ('published', 'archived') then
      if new.status <> old.status then
        raise exception using
          errcode = 'FL005',
          message = format('version %s: illegal status transition %s -> %s', old.version_number, old.status, new.status);
      end if;
    end if;
    if new.definition is distinct from old.definition
       or new.change_notes is distinct from old.change_notes
       or new.rolled_back_from_version_id is distinct from old.rolled_back_from_version_id
       or new.created_by is distinct from old.created_by
       or new.created_at is distinct from old.created_at
       or new.published_by is distinct from old.published_by
       or new.published_at is distinct from old.published_at
       or (old.status = 'archived' and new.archived_at is distinct from old.archived_at) then
      raise exception using
        errcode = 'FL004',
        message = format('version %s is %s and cannot change; create a draft instead', old.version_number, old.status);
    end if;
    if new.status = 'archived' and old.status = 'published' then
      new.archived_at := coalesce(new.archived_at, now());
    end if;
    -- Derived columns follow the (unchanged) definition.
    new.trigger_type := old.trigger_type;
    new.trigger_table := old.trigger_table;
    new.trigger_events := old.trigger_events;
    return new;
  end if;

  if new.status = 'archived' then
    raise exception using
      errcode = 'FL005',
      message = format('version %s: illegal status transition draft -> archived; delete the draft instead',
        old.version_number);
  elsif new.status = 'published' then
    perform flows.assert_valid_definition(new.definition);
    new.published_at := coalesce(new.published_at, now());
    new.published_by := coalesce(new.published_by, auth.uid());
  end if;
  return new;
end
$$;

comment on function flows.guard_version_update() is
  'Trigger: published and archived versions never change (FL004); status moves only draft -> published -> '
  'archived (FL005); publishing validates the definition (FL003) and stamps published_at/by.';

create function flows.guard_version_delete() returns trigger
language plpgsql
volatile
set search_path = ''
as $$
begin
  -- Deleting the flow cascades to its versions; by then the flow row is gone.
  if not exists (select 1 from flows.flows as f where f.flow_id = old.flow_id) then
    return old;
  end if;

  if old.status <> 'draft' then
    raise exception using
      errcode = 'FL004',
      message = format('version %s is %s and cannot be deleted; archive it, or delete the flow', old.version_number,
        old.status);
  end if;

  if exists (
    select 1 from flows.versions as v
     where v.flow_id = old.flow_id
       and v.version_number > old.version_number
  ) then
    raise exception using
      errcode = 'FL004',
      message = format('draft version %s is not the latest version; only the latest draft can be deleted so that '
        'version numbers stay gapless', old.version_number);
  end if;
  return old;
end
$$;

comment on function flows.guard_version_delete() is
  'Trigger: only the latest draft may be deleted (FL004); published and archived versions go only with their flow.';

create trigger versions_guard_insert
  before insert on flows.versions
  for each row execute function flows.guard_version_insert();

create trigger versions_guard_update
  before update on flows.versions
  for each row execute function flows.guard_version_update();

create trigger versions_guard_delete
  before delete on flows.versions
  for each row execute function flows.guard_version_delete();

-- Fires after the guards (triggers run in name order): derives from the definition the row will keep.
create trigger versions_x_derive_trigger
  before insert or update of definition on flows.versions
  for each row execute function flows.derive_version_trigger();

-- Executions ---------------------------------------------------------------------------------------------------------

create function flows.guard_execution_status() returns trigger
language plpgsql
volatile
set search_path = ''
as $$
begin
  if new.status is not distinct from old.status then
    return new;
  end if;

  if not (
       (old.status = 'pending' and new.status in ('running', 'cancelled', 'failed'))
    or (old.status = 'running' and new.status in ('completed', 'failed', 'waiting', 'pending', 'cancelled'))
    or (old.status = 'waiting' and new.status in ('running', 'pending', 'cancelled'))
  ) then
    raise exception using
      errcode = 'FL005',
      message = format('execution %s: illegal status transition %s -> %s', old.execution_id, old.status, new.status);
  end if;

  if new.status = 'running' then
    new.started_at := coalesce(new.started_at, now());
  elsif new.status in ('completed', 'failed', 'cancelled') then
    new.finished_at := coalesce(new.finished_at, now());
  end if;
  return new;
end
$$;

comment on function flows.guard_execution_status() is
  'Trigger: only legal execution status transitions (FL005): pending -> running|cancelled|failed; running -> '
  'completed|failed|waiting|pending|cancelled; waiting -> running|pending|cancelled; terminal states never change.';

create trigger executions_guard_status
  before update of status on flows.executions
  for each row execute function flows.guard_execution_status();
