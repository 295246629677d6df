-- The admin interface: RPC functions to create and edit flows, draft, publish, roll back and archive versions,
-- compare versions and cancel executions. Each checks the caller's role in the flow's tenant and raises a stable
-- SQLSTATE of class FL (documented in docs/sql-api.md):
--   FL001 not authorized, FL002 not found, FL003 invalid definition, FL004 immutable version,
--   FL005 illegal status transition, FL006 flow has active executions, FL007 invalid argument, FL008 already exists.
-- Entry points that write are security definer: they do their own permission checks and write rows (executions,
-- other members' drafts) that row level security keeps read-only for the caller. Readers are security invoker.

-- Permission helpers -------------------------------------------------------------------------------------------------

create function flows.require_role(allowed_roles text[], action text) returns void
language plpgsql
stable
set search_path = ''
as $$
declare
  caller_role text;
begin
  if flows.is_trusted_caller() then
    return;
  end if;
  caller_role := flows.current_member_role();
  if caller_role is null or not caller_role = any (allowed_roles) then
    raise exception using
      errcode = 'FL001',
      message = format('%s requires the role %s in this tenant; the caller is %s', action,
        array_to_string(allowed_roles, ' or '), coalesce(caller_role, 'not a member'));
  end if;
end
$$;

comment on function flows.require_role(text[], text) is
  'Raises FL001 unless the caller is trusted or has one of allowed_roles in flows.current_tenant().';

create function flows.can_see_tenant(tenant_id uuid) returns boolean
language sql
stable
set search_path = ''
as $$
  select flows.is_trusted_caller() or can_see_tenant.tenant_id = flows.current_tenant()
$$;

comment on function flows.can_see_tenant(uuid) is
  'True when the caller may address rows of tenant_id (its current tenant, or any tenant when trusted).';

create function flows.locate_flow(flow_id uuid) returns flows.flows
language plpgsql
volatile
set search_path = ''
as $$
declare
  found_flow flows.flows;
begin
  -- Locks the flow row: version numbering and publishing for one flow happen one at a time.
  select f.* into found_flow from flows.flows as f where f.flow_id = locate_flow.flow_id for no key update;
  if not found or not flows.can_see_tenant(found_flow.tenant_id) then
    raise exception using errcode = 'FL002', message = format('flow %s not found', coalesce(flow_id::text, 'null'));
  end if;
  return found_flow;
end
$$;

comment on function flows.locate_flow(uuid) is
  'The flow row, locked for the rest of the transaction; FL002 when missing or in another tenant.';

create function flows.locate_version(version_id uuid) returns flows.versions
language plpgsql
volatile
set search_path = ''
as $$
declare
  found_version flows.versions;
begin
  select v.* into found_version from flows.versions as v where v.version_id = locate_version.version_id;
  if not found or not flows.can_see_tenant(found_version.tenant_id) then
    raise exception using
      errcode = 'FL002', message = format('version %s not found', coalesce(version_id::text, 'null'));
  end if;
  -- Same lock order as every other writer: the flow first, then the version.
  perform flows.locate_flow(found_version.flow_id);
  select v.* into found_version from flows.versions as v where v.version_id = locate_version.version_id for update;
  return found_version;
end
$$;

comment on function flows.locate_version(uuid) is
  'The version row, with its flow locked first; FL002 when missing or in another tenant.';

create function flows.check_draft_definition(definition jsonb) returns void
language plpgsql
immutable
set search_path = ''
as $$
declare
  problems jsonb := flows.validate_definition(definition);
begin
  -- Drafts may be incomplete; they must still be a JSON object within the size limit.
  if jsonb_array_length(problems) > 0 and problems -> 0 ->> 'path' = '(root)' then
    raise exception using errcode = 'FL003', message = flows.describe_problems(problems), detail = problems::text;
  end if;
end
$$;

comment on function flows.check_draft_definition(jsonb) is
  'Raises FL003 unless a draft definition is a JSON object of at most 512 KB.';

-- Flows --------------------------------------------------------------------------------------------------------------

create function flows.create_flow(key text, name text, description text default null) returns flows.flows
language plpgsql
volatile
-- security definer: checks the caller's role itself and stamps the tenant the caller cannot choose.
security definer
set search_path = ''
as $$
declare
  tenant uuid := flows.current_tenant();
  created flows.flows;
begin
  if tenant is null then
    raise exception using errcode = 'FL001', message = 'create_flow requires a signed-in member';
  end if;
  perform flows.require_role(array['admin', 'manager'], 'create_flow');
  if key is null or key !~ '^[a-z0-9][a-z0-9_-]{0,62}$' then
    raise exception using
      errcode = 'FL007',
      message = format('key: %s is not a slug (a-z, 0-9, _ and -, starting with a letter or digit, at most 63 characters)',
        coalesce(to_jsonb(key)::text, 'null'));
  end if;
  if name is null or length(btrim(name)) not between 1 and 200 then
    raise exception using errcode = 'FL007', message = 'name: must be 1 to 200 characters';
  end if;

  begin
    insert into flows.flows (tenant_id, key, name, description, created_by)
    values (tenant, create_flow.key, btrim(create_flow.name), nullif(create_flow.description, ''), auth.uid())
    returning * into created;
  exception when unique_violation then
    raise exception using errcode = 'FL008', message = format('key: a flow with key "%s" already exists', key);
  end;
  return created;
end
$$;

comment on function flows.create_flow(text, text, text) is
  'Creates a flow in the caller''s tenant (admin or manager). key is a slug unique per tenant. '
  'Errors: FL001, FL007 bad key or name, FL008 key taken.';

create function flows.update_flow(flow_id uuid, name text default null, description text default null)
returns flows.flows
language plpgsql
volatile
-- security definer: checks the caller's role itself before writing.
security definer
set search_path = ''
as $$
declare
  target flows.flows := flows.locate_flow(flow_id);
  updated flows.flows;
begin
  perform flows.require_role(array['admin', 'manager'], 'update_flow');
  if name is not null and length(btrim(name)) not between 1 and 200 then
    raise exception using errcode = 'FL007', message = 'name: must be 1 to 200 characters';
  end if;
  update flows.flows as f
     set name = coalesce(btrim(update_flow.name), f.name),
         description = case when update_flow.description is null then f.description
                            else nullif(update_flow.description, '') end
   where f.flow_id = target.flow_id
  returning f.* into updated;
  return updated;
end
$$;

comment on function flows.update_flow(uuid, text, text) is
  'Renames or re-describes a flow (admin or manager). null keeps a field; an empty description clears it. '
  'Errors: FL001, FL002, FL007.';

create function flows.set_flow_active(flow_id uuid, is_active boolean) returns flows.flows
language plpgsql
volatile
-- security definer: checks the caller's role itself before writing.
security definer
set search_path = ''
as $$
declare
  target flows.flows := flows.locate_flow(flow_id);
  updated flows.flows;
begin
  perform flows.require_role(array['admin', 'manager'], 'set_flow_active');
  if is_active is null then
    raise exception using errcode = 'FL007', message = 'is_active: must be true or false';
  end if;
  update flows.flows as f
     set is_active = set_flow_active.is_active
   where f.flow_id = target.flow_id
  returning f.* into updated;
  perform flows.refresh_watches();
  return updated;
end
$$;

comment on function flows.set_flow_active(uuid, boolean) is
  'Turns a flow on or off (admin or manager); an inactive flow starts no executions. Errors: FL001, FL002, FL007.';

create function flows.delete_flow(flow_id uuid) returns void
language plpgsql
volatile
-- security definer: checks the caller's role itself, then deletes the flow with its versions and history.
security definer
set search_path = ''
as $$
declare
  target flows.flows := flows.locate_flow(flow_id);
begin
  perform flows.require_role(array['admin'], 'delete_flow');
  -- flows.guard_flow_delete refuses (FL006) while executions are pending, running or waiting.
  delete from flows.flows as f where f.flow_id = target.flow_id;
  perform flows.refresh_watches();
end
$$;

comment on function flows.delete_flow(uuid) is
  'Deletes a flow with all its versions and executions (admin only). Errors: FL001, FL002, FL006 while executions '
  'are pending, running or waiting.';

-- Versions -----------------------------------------------------------------------------------------------------------

create function flows.create_draft(flow_id uuid, definition jsonb default null, from_version_id uuid default null)
returns flows.versions
language plpgsql
volatile
-- security definer: checks the caller's role itself before writing.
security definer
set search_path = ''
as $$
declare
  target flows.flows := flows.locate_flow(flow_id);
  source flows.versions;
  draft_definition jsonb := definition;
  created flows.versions;
begin
  perform flows.require_role(array['admin', 'manager'], 'create_draft');
  if definition is not null and from_version_id is not null then
    raise exception using errcode = 'FL007', message = 'give either definition or from_version_id, not both';
  end if;

  if from_version_id is not null then
    select v.* into source
      from flows.versions as v
     where v.version_id = create_draft.from_version_id
       and v.flow_id = target.flow_id;
    if not found then
      raise exception using
        errcode = 'FL002', message = format('version %s not found in flow "%s"', from_version_id, target.key);
    end if;
    draft_definition := source.definition;
  end if;

  draft_definition := coalesce(draft_definition, '{"trigger": {"type": "manual"}, "steps": []}'::jsonb);
  perform flows.check_draft_definition(draft_definition);

  insert into flows.versions (flow_id, tenant_id, status, definition, change_notes, created_by)
  values (target.flow_id, target.tenant_id, 'draft', draft_definition,
          case when source.version_id is not null then format('Copied from version %s', source.version_number) end,
          auth.uid())
  returning * into created;
  return created;
end
$$;

comment on function flows.create_draft(uuid, jsonb, uuid) is
  'Creates the next numbered draft of a flow (admin or manager): empty ({"trigger":{"type":"manual"},"steps":[]}), '
  'with the given definition, or copied from from_version_id. Errors: FL001, FL002, FL003, FL007.';

create function flows.update_draft(version_id uuid, definition jsonb, change_notes text default null)
returns flows.versions
language plpgsql
volatile
-- security definer: checks the caller's role itself before writing.
security definer
set search_path = ''
as $$
declare
  target flows.versions := flows.locate_version(version_id);
  updated flows.versions;
begin
  perform flows.require_role(array['admin', 'manager'], 'update_draft');
  if target.status <> 'draft' then
    raise exception using
      errcode = 'FL004',
      message = format('version %s is %s and cannot change; create a draft instead', target.version_number,
        target.status);
  end if;
  if definition is null then
    raise exception using errcode = 'FL007', message = 'definition: required';
  end if;
  perform flows.check_draft_definition(definition);

  update flows.versions as v
     set definition = update_draft.definition,
         change_notes = coalesce(update_draft.change_notes, v.change_notes)
   where v.version_id = target.version_id
  returning v.* into updated;
  return updated;
end
$$;

comment on function flows.update_draft(uuid, jsonb, text) is
  'Replaces a draft''s definition (admin or manager); null change_notes keeps the notes. '
  'Errors: FL001, FL002, FL003, FL004 when the version is not a draft, FL007.';

create function flows.publish_version(version_id uuid, change_notes text default null) returns flows.versions
language plpgsql
volatile
-- security definer: checks the caller's role itself, then archives and publishes versions in one step.
security definer
set search_path = ''
as $$
declare
  target flows.versions := flows.locate_version(version_id);
  published flows.versions;
begin
  perform flows.require_role(array['admin', 'manager'], 'publish_version');
  if target.status = 'published' then
    raise exception using
      errcode = 'FL005', message = format('version %s is already published', target.version_number);
  elsif target.status = 'archived' then
    raise exception using
      errcode = 'FL005',
      message = format('version %s is archived and cannot be published again; use rollback_to_version',
        target.version_number);
  end if;
  perform flows.assert_valid_definition(target.definition);

  update flows.versions as v
     set status = 'archived'
   where v.flow_id = target.flow_id
     and v.status = 'published';

  update flows.versions as v
     set status = 'published',
         change_notes = coalesce(publish_version.change_notes, v.change_notes),
         published_by = auth.uid(),
         published_at = now()
   where v.version_id = target.version_id
  returning v.* into published;

  -- Problems with the table this version watches refuse this publish; others' are only warned about.
  perform pg_catalog.set_config('flows.publishing_version_id', published.version_id::text, true);
  perform flows.refresh_watches();
  return published;
end
$$;

comment on function flows.publish_version(uuid, text) is
  'Publishes a draft after the structural check (admin or manager), archiving the previously published version. '
  'Errors: FL001, FL002, FL003 invalid definition, FL005 not a draft.';

create function flows.rollback_to_version(flow_id uuid, version_id uuid, change_notes text default null)
returns flows.versions
language plpgsql
volatile
-- security definer: checks the caller's role itself, then archives and publishes versions in one step.
security definer
set search_path = ''
as $$
declare
  target flows.flows := flows.locate_flow(flow_id);
  source flows.versions;
  published flows.versions;
begin
  perform flows.require_role(array['admin', 'manager'], 'rollback_to_version');
  select v.* into source
    from flows.versions as v
   where v.version_id = rollback_to_version.version_id
     and v.flow_id = target.flow_id;
  if not found then
    raise exception using
      errcode = 'FL002', message = format('version %s not found in flow "%s"', version_id, target.key);
  end if;
  if source.status = 'draft' then
    raise exception using
      errcode = 'FL007',
      message = format('version %s is a draft that was never published; publish it instead', source.version_number);
  elsif source.status = 'published' then
    raise exception using
      errcode = 'FL007', message = format('version %s is already the published version', source.version_number);
  end if;

  update flows.versions as v
     set status = 'archived'
   where v.flow_id = target.flow_id
     and v.status = 'published';

  -- A new version, so history stays linear: numbers only grow and nothing published is ever reused.
  insert into flows.versions (flow_id, tenant_id, status, definition, change_notes, rolled_back_from_version_id,
                              created_by, published_by, published_at)
  values (target.flow_id, target.tenant_id, 'published', source.definition,
          coalesce(change_notes, format('Rollback to version %s', source.version_number)), source.version_id,
          auth.uid(), auth.uid(), now())
  returning * into published;

  perform pg_catalog.set_config('flows.publishing_version_id', published.version_id::text, true);
  perform flows.refresh_watches();
  return published;
end
$$;

comment on function flows.rollback_to_version(uuid, uuid, text) is
  'Publishes a new version carrying the definition of an earlier published version (admin or manager); '
  'rolled_back_from_version_id names it. Errors: FL001, FL002, FL003, FL007 when the version is a draft or '
  'already published.';

create function flows.archive_version(version_id uuid) returns flows.versions
language plpgsql
volatile
-- security definer: checks the caller's role itself before writing.
security definer
set search_path = ''
as $$
declare
  target flows.versions := flows.locate_version(version_id);
  archived flows.versions;
begin
  perform flows.require_role(array['admin', 'manager'], 'archive_version');
  if target.status <> 'published' then
    raise exception using
      errcode = 'FL005',
      message = format('version %s is %s; only the published version can be archived', target.version_number,
        target.status);
  end if;
  update flows.versions as v
     set status = 'archived'
   where v.version_id = target.version_id
  returning v.* into archived;
  perform flows.refresh_watches();
  return archived;
end
$$;

comment on function flows.archive_version(uuid) is
  'Archives the published version (admin or manager); the flow then has no running version. '
  'Errors: FL001, FL002, FL005 when the version is not published.';

create function flows.diff_versions(from_version_id uuid, to_version_id uuid) returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  before_version flows.versions;
  after_version flows.versions;
  before_steps jsonb;
  after_steps jsonb;
  before_ids text[];
  after_ids text[];
  changed_steps jsonb;
  other_changes jsonb;
begin
  -- Runs as the caller: row level security decides which versions exist for them.
  select v.* into before_version from flows.versions as v where v.version_id = from_version_id;
  if not found then
    raise exception using
      errcode = 'FL002', message = format('version %s not found', coalesce(from_version_id::text, 'null'));
  end if;
  select v.* into after_version from flows.versions as v where v.version_id = to_version_id;
  if not found then
    raise exception using
      errcode = 'FL002', message = format('version %s not found', coalesce(to_version_id::text, 'null'));
  end if;

  before_steps := case when jsonb_typeof(before_version.definition -> 'steps') = 'array'
                       then before_version.definition -> 'steps' else '[]'::jsonb end;
  after_steps := case when jsonb_typeof(after_version.definition -> 'steps') = 'array'
                      then after_version.definition -> 'steps' else '[]'::jsonb end;
  before_ids := array(select s.value ->> 'id' from jsonb_array_elements(before_steps) with ordinality as s
                       where s.value ->> 'id' is not null order by s.ordinality);
  after_ids := array(select s.value ->> 'id' from jsonb_array_elements(after_steps) with ordinality as s
                      where s.value ->> 'id' is not null order by s.ordinality);

  select coalesce(jsonb_agg(jsonb_build_object('id', b.step_id, 'changes', b.changes) order by b.step_position), '[]'::jsonb)
    into changed_steps
    from (
      select a.value ->> 'id' as step_id,
             a.ordinality as step_position,
             flows.json_changes(
               (select x.value from jsonb_array_elements(before_steps) as x where x.value ->> 'id' = a.value ->> 'id'
                limit 1),
               a.value) as changes
        from jsonb_array_elements(after_steps) with ordinality as a
       where a.value ->> 'id' = any (before_ids)
    ) as b
   where jsonb_array_length(b.changes) > 0;

  other_changes := flows.json_changes(before_version.definition - 'steps', after_version.definition - 'steps');

  return jsonb_build_object(
    'from', jsonb_build_object('version_id', before_version.version_id, 'version_number', before_version.version_number,
                               'flow_id', before_version.flow_id),
    'to', jsonb_build_object('version_id', after_version.version_id, 'version_number', after_version.version_number,
                             'flow_id', after_version.flow_id),
    'identical', before_version.definition = after_version.definition,
    'trigger_changed', (before_version.definition -> 'trigger') is distinct from (after_version.definition -> 'trigger'),
    'rules_changed', (before_version.definition -> 'when') is distinct from (after_version.definition -> 'when'),
    'steps_added', to_jsonb(array(select i from unnest(after_ids) with ordinality as u (i, n)
                                  where not i = any (before_ids) order by n)),
    'steps_removed', to_jsonb(array(select i from unnest(before_ids) with ordinality as u (i, n)
                                    where not i = any (after_ids) order by n)),
    'steps_changed', changed_steps,
    'steps_reordered', array(select i from unnest(before_ids) with ordinality as u (i, n)
                             where i = any (after_ids) order by n)
                       is distinct from
                       array(select i from unnest(after_ids) with ordinality as u (i, n)
                             where i = any (before_ids) order by n),
    'changes', other_changes
  );
end
$$;

comment on function flows.diff_versions(uuid, uuid) is
  'What changed from one version to another: trigger_changed, rules_changed (the `when` rule), steps added, '
  'removed, changed (matched by id, with field-level paths) and reordered, and field-level changes outside steps. '
  'Reads as the caller (FL002 when a version is not visible).';

-- Executions ---------------------------------------------------------------------------------------------------------

create function flows.request_cancel(execution_id uuid) returns flows.executions
language plpgsql
volatile
-- security definer: only the engine writes executions; this checks the caller and records the request for it.
security definer
set search_path = ''
as $$
declare
  target flows.executions;
  caller_role text;
  updated flows.executions;
begin
  select e.* into target from flows.executions as e where e.execution_id = request_cancel.execution_id for update;
  if found and not flows.is_trusted_caller() then
    caller_role := case when flows.can_see_tenant(target.tenant_id) then flows.current_member_role() end;
    if caller_role is null
       or (caller_role = 'member' and target.executed_by is distinct from auth.uid()) then
      -- Someone who cannot read the execution learns nothing about it.
      target := null;
    end if;
  end if;
  if target.execution_id is null then
    raise exception using
      errcode = 'FL002', message = format('execution %s not found', coalesce(execution_id::text, 'null'));
  end if;
  if target.status in ('completed', 'failed', 'cancelled') then
    raise exception using
      errcode = 'FL005', message = format('execution %s is already %s', target.execution_id, target.status);
  end if;

  update flows.executions as e
     set cancel_requested_at = coalesce(e.cancel_requested_at, now()),
         cancel_requested_by = coalesce(e.cancel_requested_by, auth.uid()),
         -- Nothing is executing a pending or waiting execution, so it stops now; a running one stops at the
         -- engine's next check.
         status = case when e.status in ('pending', 'waiting') then 'cancelled' else e.status end,
         error_code = case when e.status in ('pending', 'waiting') then 'CANCELLED' else e.error_code end,
         error_message = case when e.status in ('pending', 'waiting') then 'Cancelled on request' else e.error_message end
   where e.execution_id = target.execution_id
  returning e.* into updated;
  return updated;
end
$$;

comment on function flows.request_cancel(uuid) is
  'Asks an execution to stop (admins and managers of its tenant, or the member who executed it). Pending and '
  'waiting executions are cancelled at once; running ones when the engine next checks. Errors: FL002, FL005 when '
  'already finished.';
