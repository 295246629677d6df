-- The v1 import: turns a v1 installation (the rules tables flows / rules / actions / flow_executions, in whatever
-- schema they live) into flows with a version 1 each, published when the v1 flow was enabled, and its runs into
-- finished executions pinned to that version. Two mapping tables make it idempotent; what cannot be converted is
-- refused flow by flow with reasons, and a refused flow writes nothing. See docs/v1-import.md.
-- Errors: FL001 not authorized, FL002 the v1 tables are not there, FL007 invalid argument (see docs/sql-api.md).

-- Mapping tables -------------------------------------------------------------------------------------------------

create table flows.v1_imports (
  source_schema text not null,
  v1_flow_id text not null,
  tenant_id uuid not null,
  flow_id uuid not null,
  version_id uuid,
  imported_at timestamptz not null default now(),
  constraint v1_imports_pkey primary key (source_schema, v1_flow_id),
  -- Deleting the imported flow forgets the mapping, so the next import brings the v1 flow back.
  constraint v1_imports_flow_fkey foreign key (flow_id, tenant_id)
    references flows.flows (flow_id, tenant_id) on delete cascade,
  constraint v1_imports_version_fkey foreign key (version_id) references flows.versions (version_id) on delete set null
);

comment on table flows.v1_imports is
  'Which v1 flow (source schema, v1 flow_id) became which flow and version 1, so flows.import_v1 never imports a '
  'v1 flow twice. Written by flows.import_v1 only; admins and managers read their tenant''s rows.';

create index v1_imports_flow_idx on flows.v1_imports (flow_id, tenant_id);
create index v1_imports_version_idx on flows.v1_imports (version_id);

create table flows.v1_execution_imports (
  source_schema text not null,
  v1_execution_id text not null,
  tenant_id uuid not null,
  execution_id uuid not null,
  imported_at timestamptz not null default now(),
  constraint v1_execution_imports_pkey primary key (source_schema, v1_execution_id),
  constraint v1_execution_imports_execution_fkey foreign key (execution_id, tenant_id)
    references flows.executions (execution_id, tenant_id) on delete cascade
);

comment on table flows.v1_execution_imports is
  'Which v1 run (source schema, v1 execution_id) became which execution, so re-running flows.import_v1 imports '
  'only runs not yet imported. Written by flows.import_v1 only; admins and managers read their tenant''s rows.';

create index v1_execution_imports_execution_idx on flows.v1_execution_imports (execution_id, tenant_id);

-- Where a flow or an execution came from is history admins and managers may read, as they read all of their
-- tenant's flows and executions; only flows.import_v1 (the owner) writes.
alter table flows.v1_imports enable row level security;
alter table flows.v1_execution_imports enable row level security;
revoke all on flows.v1_imports, flows.v1_execution_imports from public, anon, authenticated, service_role;
grant select on flows.v1_imports, flows.v1_execution_imports to authenticated, service_role;

create policy v1_imports_select_authenticated on flows.v1_imports
  for select to authenticated
  using (tenant_id = (select flows.current_tenant()) and (select flows.current_member_role()) in ('admin', 'manager'));

create policy v1_execution_imports_select_authenticated on flows.v1_execution_imports
  for select to authenticated
  using (tenant_id = (select flows.current_tenant()) and (select flows.current_member_role()) in ('admin', 'manager'));

-- Conversion -----------------------------------------------------------------------------------------------------

create function flows.v1_slug(name text, fallback text) returns text
language sql
immutable
set search_path = ''
as $$
  -- Lowercase letters and digits joined by single hyphens, at most 63 characters; the fallback when nothing is left.
  select coalesce(
    nullif(pg_catalog.rtrim(pg_catalog.left(pg_catalog.btrim(
      pg_catalog.regexp_replace(pg_catalog.lower(coalesce(name, '')), '[^a-z0-9]+', '-', 'g'), '-'), 63), '-'), ''),
    pg_catalog.rtrim(pg_catalog.left(pg_catalog.btrim(
      pg_catalog.regexp_replace(pg_catalog.lower(coalesce(fallback, '')), '[^a-z0-9]+', '-', 'g'), '-'), 63), '-'))
$$;

comment on function flows.v1_slug(text, text) is
  'A flow key made from a v1 name: lowercase letters and digits joined by hyphens, at most 63 characters; made '
  'from fallback when the name has none.';

create function flows.v1_convert(v1_flow jsonb, v1_rules jsonb, v1_actions jsonb) returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v_problems text[] := '{}'::text[];
  v_table text := pg_catalog.btrim(v1_flow ->> 'trigger_table');
  v_event text := pg_catalog.upper(pg_catalog.btrim(v1_flow ->> 'trigger_event'));
  v_trigger_table text;
  v_conditions jsonb := '[]'::jsonb;
  v_steps jsonb := '[]'::jsonb;
  v_rule jsonb;
  v_rule_path text;
  v_operator text;
  v_op text;
  v_field text;
  v_action jsonb;
  v_action_path text;
  v_position integer := 0;
  v_type text;
  v_config jsonb;
  v_step_config jsonb;
  v_step_type text;
  v_allowed_keys text[];
  v_key text;
  v_root text;
  v_method text;
  v_update_table text;
  v_update_regclass regclass;
  v_definition jsonb;
begin
  -- The trigger: the table must exist now, or publishing (refresh_watches) would refuse it.
  if v_table is null or v_table = '' then
    v_problems := v_problems || 'trigger_table: missing'::text;
  elsif v_table !~ '^([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$' or pg_catalog.length(v_table) > 127 then
    v_problems := v_problems
      || pg_catalog.format('trigger_table: "%s" is not a lowercase table or schema.table name', v_table);
  else
    v_trigger_table := case when pg_catalog.strpos(v_table, '.') > 0 then v_table else 'public.' || v_table end;
    if pg_catalog.to_regclass(v_trigger_table) is null then
      v_problems := v_problems || pg_catalog.format('trigger_table: table %s does not exist', v_trigger_table);
    end if;
  end if;
  if v_event is null or v_event not in ('INSERT', 'UPDATE', 'DELETE') then
    v_problems := v_problems
      || pg_catalog.format('trigger_event: "%s" is not INSERT, UPDATE or DELETE', coalesce(v1_flow ->> 'trigger_event', 'null'));
  end if;

  -- Rules: every rule must hold, as in v1. Values stay the strings v1 stored; the engine coerces numeric strings.
  for v_rule in select r.value from pg_catalog.jsonb_array_elements(v1_rules) with ordinality as r order by r.ordinality loop
    v_rule_path := pg_catalog.format('rules[rule_id=%s]', v_rule ->> 'rule_id');
    v_field := pg_catalog.btrim(v_rule ->> 'field');
    v_operator := pg_catalog.upper(pg_catalog.regexp_replace(pg_catalog.btrim(coalesce(v_rule ->> 'operator', '')), '\s+', '_', 'g'));
    v_op := case v_operator
      when '=' then 'eq' when '==' then 'eq'
      when '!=' then 'ne' when '<>' then 'ne'
      when '>' then 'gt' when '>=' then 'gte' when '<' then 'lt' when '<=' then 'lte'
      when 'CONTAINS' then 'contains' when 'NOT_CONTAINS' then 'not_contains'
      when 'STARTS_WITH' then 'starts_with' when 'ENDS_WITH' then 'ends_with'
      when 'IS_NULL' then 'is_null' when 'IS_NOT_NULL' then 'is_not_null'
    end;
    if v_field is null or v_field !~ '^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$' or pg_catalog.length(v_field) > 200 then
      v_problems := v_problems
        || pg_catalog.format('%s.field: "%s" is not a field name', v_rule_path, coalesce(v_rule ->> 'field', 'null'));
    end if;
    if v_op is null then
      v_problems := v_problems || pg_catalog.format(
        '%s.operator: unknown operator "%s" (known: =, !=, >, >=, <, <=, CONTAINS, NOT_CONTAINS, STARTS_WITH, '
        'ENDS_WITH, IS_NULL, IS_NOT_NULL)', v_rule_path, coalesce(v_rule ->> 'operator', 'null'));
    elsif v_op in ('is_null', 'is_not_null') then
      v_conditions := v_conditions || pg_catalog.jsonb_build_object('field', v_field, 'op', v_op);
    elsif v_rule ->> 'value' is null then
      v_problems := v_problems
        || pg_catalog.format('%s.value: missing (operator "%s" compares with a value)', v_rule_path, v_rule ->> 'operator');
    else
      v_conditions := v_conditions
        || pg_catalog.jsonb_build_object('field', v_field, 'op', v_op, 'value', v_rule ->> 'value');
    end if;
  end loop;

  -- Actions become steps in action_id order.
  if pg_catalog.jsonb_array_length(v1_actions) = 0 then
    v_problems := v_problems || 'actions: none; a flow needs at least one action to become a step'::text;
  elsif pg_catalog.jsonb_array_length(v1_actions) > 100 then
    v_problems := v_problems || 'actions: more than 100; a flow has at most 100 steps'::text;
  end if;

  for v_action in select a.value from pg_catalog.jsonb_array_elements(v1_actions) with ordinality as a order by a.ordinality loop
    v_position := v_position + 1;
    v_action_path := pg_catalog.format('actions[action_id=%s]', v_action ->> 'action_id');
    v_type := pg_catalog.upper(pg_catalog.btrim(v_action ->> 'type'));
    v_config := v_action -> 'config';
    -- A config kept as text holding JSON is read as that JSON.
    if pg_catalog.jsonb_typeof(v_config) = 'string' then
      v_config := (v_config #>> '{}')::jsonb;
    end if;
    v_allowed_keys := case v_type
      when 'DB_UPDATE' then array['table', 'field', 'value']
      when 'API_CALL' then array['url', 'method', 'headers', 'body']
      when 'FUNCTION_CALL' then array['function_name', 'params']
    end;

    if v_allowed_keys is null then
      v_problems := v_problems || pg_catalog.format(
        '%s.type: unknown action type "%s" (known: DB_UPDATE, API_CALL, FUNCTION_CALL)', v_action_path,
        coalesce(v_action ->> 'type', 'null'));
      continue;
    end if;
    if v_config is null or pg_catalog.jsonb_typeof(v_config) <> 'object' then
      v_problems := v_problems || pg_catalog.format('%s.config: must be a JSON object', v_action_path);
      continue;
    end if;

    for v_key in select k from pg_catalog.jsonb_object_keys(v_config) as k order by k loop
      if not v_key = any (v_allowed_keys) then
        v_problems := v_problems || pg_catalog.format('%s.config.%s: unknown key (%s takes %s)', v_action_path, v_key,
          v_type, pg_catalog.array_to_string(v_allowed_keys, ', '));
      end if;
    end loop;

    -- v1 placeholders are not rewritten: only ones the engine resolves for a row change may stay.
    for v_root in
      select distinct m[1]
        from pg_catalog.regexp_matches(v_config::text, '\{\{\s*([^\s}.|\[]*)', 'g') as m
       where m[1] not in ('row', 'old', 'execution')
       order by 1
    loop
      v_problems := v_problems || pg_catalog.format(
        '%s.config: placeholder "{{%s…}}" is not one the engine resolves (use {{row.<column>}}, {{old.<column>}} '
        'or {{execution.id}})', v_action_path, v_root);
    end loop;

    v_step_config := null;
    if v_type = 'DB_UPDATE' then
      v_step_type := 'db_update';
      v_update_regclass := null;
      v_update_table := pg_catalog.btrim(v_config ->> 'table');
      v_field := v_config ->> 'field';
      if v_update_table is null or v_update_table = '' then
        v_problems := v_problems
          || pg_catalog.format('%s.config.table: missing (DB_UPDATE needs table, field and value)', v_action_path);
      elsif v_update_table !~ '^([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$' or pg_catalog.length(v_update_table) > 127 then
        v_problems := v_problems || pg_catalog.format(
          '%s.config.table: "%s" is not a lowercase table or schema.table name', v_action_path, v_update_table);
      elsif (case when pg_catalog.strpos(v_update_table, '.') > 0 then v_update_table else 'public.' || v_update_table end)
            is distinct from v_trigger_table then
        -- v1 updated the row that triggered the flow; on another table there is no key to find the row by.
        v_problems := v_problems || pg_catalog.format(
          '%s.config.table: "%s" is not the trigger table; v1 updates the triggering row, so there is no key for '
          'another table', v_action_path, v_update_table);
      else
        v_update_regclass := pg_catalog.to_regclass(v_trigger_table);
        if v_update_regclass is not null and not exists (
          select 1 from pg_catalog.pg_attribute as a
           where a.attrelid = v_update_regclass and a.attname = 'id' and a.attnum > 0 and not a.attisdropped
        ) then
          v_problems := v_problems || pg_catalog.format(
            '%s.config.table: table %s has no column id to find the triggering row by', v_action_path, v_trigger_table);
        end if;
      end if;
      if v_field is null or v_field = '' then
        v_problems := v_problems
          || pg_catalog.format('%s.config.field: missing (DB_UPDATE needs table, field and value)', v_action_path);
      elsif v_field !~ '^[a-z_][a-z0-9_]*$' or pg_catalog.length(v_field) > 63 then
        v_problems := v_problems
          || pg_catalog.format('%s.config.field: "%s" is not a lowercase column name', v_action_path, v_field);
      elsif v_update_regclass is not null and not exists (
        select 1 from pg_catalog.pg_attribute as a
         where a.attrelid = v_update_regclass and a.attname = v_field and a.attnum > 0 and not a.attisdropped
      ) then
        v_problems := v_problems
          || pg_catalog.format('%s.config.field: table %s has no column %s', v_action_path, v_trigger_table, v_field);
      end if;
      if not v_config ? 'value' then
        v_problems := v_problems
          || pg_catalog.format('%s.config.value: missing (DB_UPDATE needs table, field and value)', v_action_path);
      end if;
      if v_field is not null then
        v_step_config := pg_catalog.jsonb_build_object('table', v_update_table, 'key_column', 'id', 'key', '{{row.id}}',
          'set', pg_catalog.jsonb_build_object(v_field, v_config -> 'value'));
      end if;

    elsif v_type = 'API_CALL' then
      v_step_type := 'http';
      v_method := pg_catalog.upper(pg_catalog.btrim(v_config ->> 'method'));
      if v_method is null then
        v_method := case when v_config ? 'body' and v_config -> 'body' <> 'null' then 'POST' else 'GET' end;
      end if;
      if pg_catalog.jsonb_typeof(v_config -> 'url') is distinct from 'string' or v_config ->> 'url' = '' then
        v_problems := v_problems || pg_catalog.format('%s.config.url: missing (API_CALL needs url)', v_action_path);
      elsif v_config ->> 'url' !~ '^https?://[^\s]+$' and pg_catalog.strpos(v_config ->> 'url', '{{') = 0 then
        v_problems := v_problems
          || pg_catalog.format('%s.config.url: "%s" is not an http or https URL', v_action_path, v_config ->> 'url');
      end if;
      if v_method not in ('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD') then
        v_problems := v_problems || pg_catalog.format(
          '%s.config.method: "%s" is not GET, POST, PUT, PATCH, DELETE or HEAD', v_action_path, v_config ->> 'method');
      elsif v_method in ('GET', 'HEAD') and v_config ? 'body' and v_config -> 'body' <> 'null' then
        v_problems := v_problems || pg_catalog.format('%s.config.body: not allowed with %s', v_action_path, v_method);
      end if;
      if v_config ? 'headers' and (
           pg_catalog.jsonb_typeof(v_config -> 'headers') <> 'object'
           or exists (select 1 from pg_catalog.jsonb_each(v_config -> 'headers') as h
                       where pg_catalog.jsonb_typeof(h.value) <> 'string'
                          or h.key !~ '^[A-Za-z0-9!#$%&''*+.^_`|~-]+$')) then
        v_problems := v_problems
          || pg_catalog.format('%s.config.headers: must be an object of header names to strings', v_action_path);
      end if;
      v_step_config := pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
        'method', v_method, 'url', v_config -> 'url', 'headers', v_config -> 'headers',
        'body', nullif(v_config -> 'body', 'null'::jsonb)));

    else
      v_step_type := 'function_call';
      if pg_catalog.jsonb_typeof(v_config -> 'function_name') is distinct from 'string' or v_config ->> 'function_name' = '' then
        v_problems := v_problems
          || pg_catalog.format('%s.config.function_name: missing (FUNCTION_CALL needs function_name)', v_action_path);
      elsif v_config ->> 'function_name' !~ '^[A-Za-z0-9][A-Za-z0-9_-]*$'
            or pg_catalog.length(v_config ->> 'function_name') > 128 then
        v_problems := v_problems || pg_catalog.format('%s.config.function_name: "%s" is not an Edge Function name',
          v_action_path, v_config ->> 'function_name');
      end if;
      v_step_config := pg_catalog.jsonb_build_object('function_name', v_config -> 'function_name');
      if v_config ? 'params' and v_config -> 'params' <> 'null' then
        v_step_config := v_step_config || pg_catalog.jsonb_build_object('body', v_config -> 'params');
      end if;
    end if;

    v_steps := v_steps || pg_catalog.jsonb_build_object(
      'id', v_step_type || '_' || v_position,
      'type', v_step_type,
      'name', pg_catalog.format('v1 action %s (%s)', v_action ->> 'action_id', v_type),
      'config', v_step_config);
  end loop;

  if pg_catalog.cardinality(v_problems) > 0 then
    return pg_catalog.jsonb_build_object('definition', null, 'problems', pg_catalog.to_jsonb(v_problems));
  end if;

  v_definition := pg_catalog.jsonb_build_object(
    'name', pg_catalog.left(coalesce(nullif(pg_catalog.btrim(v1_flow ->> 'name'), ''), 'v1 flow ' || (v1_flow ->> 'flow_id')), 200),
    'trigger', pg_catalog.jsonb_build_object('type', 'row_change', 'table', v_table, 'events', pg_catalog.jsonb_build_array(v_event)),
    'steps', v_steps);
  if pg_catalog.jsonb_array_length(v_conditions) > 0 then
    v_definition := v_definition || pg_catalog.jsonb_build_object('when', pg_catalog.jsonb_build_object('all', v_conditions));
  end if;
  -- The same structural check publishing runs, so a draft is never one that could not be published.
  select v_problems || coalesce(array_agg((p.value ->> 'path') || ': ' || (p.value ->> 'message')), '{}')
    into v_problems
    from pg_catalog.jsonb_array_elements(flows.validate_definition(v_definition)) as p;
  if pg_catalog.cardinality(v_problems) > 0 then
    return pg_catalog.jsonb_build_object('definition', null, 'problems', pg_catalog.to_jsonb(v_problems));
  end if;
  return pg_catalog.jsonb_build_object('definition', v_definition, 'problems', '[]'::jsonb);
end
$$;

comment on function flows.v1_convert(jsonb, jsonb, jsonb) is
  'Converts one v1 flow row with its rule and action rows (as JSON, in rule_id and action_id order) into a '
  'definition: {"definition": …, "problems": []}, or {"definition": null, "problems": ["path: message", …]} naming '
  'everything that cannot be converted.';

-- The import ---------------------------------------------------------------------------------------------------

create function flows.import_v1(p_schema text default 'public', p_dry_run boolean default false,
                                p_tenant_id uuid default null)
returns jsonb
language plpgsql
volatile
-- security definer: reads the v1 tables wherever they live and writes finished executions, which only the engine may.
security definer
set search_path = ''
as $$
declare
  v_tenant uuid;
  v_table text;
  v_column text;
  v_required jsonb := '{
    "flows": ["flow_id", "name", "trigger_table", "trigger_event", "is_enabled"],
    "rules": ["rule_id", "flow_id", "field", "operator", "value"],
    "actions": ["action_id", "flow_id", "type", "config"],
    "flow_executions": ["execution_id", "flow_id", "status", "triggered_at", "log"]
  }'::jsonb;
  v_has_runs boolean;
  v_flows jsonb;
  v_rules jsonb;
  v_actions jsonb;
  v_runs jsonb := '[]'::jsonb;
  v_flow jsonb;
  v_id text;
  v_name text;
  v_flow_rules jsonb;
  v_flow_actions jsonb;
  v_flow_runs jsonb;
  v_mapping flows.v1_imports;
  v_converted jsonb;
  v_enabled boolean;
  v_key text;
  v_base_key text;
  v_suffix integer;
  v_taken text[] := '{}'::text[];
  v_flow_id uuid;
  v_version flows.versions;
  v_run jsonb;
  v_run_id text;
  v_run_status text;
  v_run_at timestamptz;
  v_execution_id uuid;
  v_runs_imported integer;
  v_runs_refused jsonb;
  v_entry jsonb;
  v_entries jsonb := '[]'::jsonb;
  v_error text;
begin
  perform flows.require_role(array['admin'], 'import_v1');
  if p_schema is null or pg_catalog.btrim(p_schema) = '' then
    raise exception using errcode = 'FL007', message = 'p_schema: required (the schema holding the v1 tables)';
  elsif p_schema = 'flows' then
    raise exception using errcode = 'FL007',
      message = 'p_schema: "flows" is this project''s schema; rename the v1 schema or give the schema it lives in';
  end if;
  if p_dry_run is null then
    raise exception using errcode = 'FL007', message = 'p_dry_run: must be true or false';
  end if;
  if not exists (select 1 from pg_catalog.pg_namespace as n where n.nspname = p_schema) then
    raise exception using errcode = 'FL002', message = pg_catalog.format('schema "%s" not found', p_schema);
  end if;
  v_tenant := coalesce(p_tenant_id, flows.current_tenant());
  if not flows.can_see_tenant(v_tenant) then
    raise exception using errcode = 'FL001', message = 'import_v1 imports into the caller''s own tenant only';
  end if;

  -- The v1 model: flows, rules and actions are required (a missing rules table must not turn rules into "always");
  -- flow_executions is optional.
  for v_table in select t from pg_catalog.jsonb_object_keys(v_required) as t loop
    if pg_catalog.to_regclass(pg_catalog.format('%I.%I', p_schema, v_table)) is null then
      if v_table = 'flow_executions' then
        continue;
      end if;
      raise exception using errcode = 'FL002',
        message = pg_catalog.format('v1 table %I.%I not found', p_schema, v_table);
    end if;
    for v_column in select c from pg_catalog.jsonb_array_elements_text(v_required -> v_table) as c loop
      if not exists (
        select 1 from pg_catalog.pg_attribute as a
         where a.attrelid = pg_catalog.to_regclass(pg_catalog.format('%I.%I', p_schema, v_table))
           and a.attname = v_column and a.attnum > 0 and not a.attisdropped
      ) then
        raise exception using errcode = 'FL007',
          message = pg_catalog.format('%I.%I: column %s is missing; import_v1 reads the v1 model %s(%s)', p_schema,
            v_table, v_column, v_table,
            (select pg_catalog.string_agg(c, ', ') from pg_catalog.jsonb_array_elements_text(v_required -> v_table) as c));
      end if;
    end loop;
  end loop;
  v_has_runs := pg_catalog.to_regclass(pg_catalog.format('%I.flow_executions', p_schema)) is not null;

  -- One import of a source at a time: concurrent runs would both see a v1 flow as not yet imported.
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('flows.import_v1'), pg_catalog.hashtext(p_schema));

  execute pg_catalog.format(
    'select coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(t) order by t.flow_id), ''[]'') from %I.flows as t', p_schema)
    into v_flows;
  execute pg_catalog.format(
    'select coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(t) order by t.rule_id), ''[]'') from %I.rules as t', p_schema)
    into v_rules;
  execute pg_catalog.format(
    'select coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(t) order by t.action_id), ''[]'') from %I.actions as t', p_schema)
    into v_actions;
  if v_has_runs then
    execute pg_catalog.format(
      'select coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(t) order by t.triggered_at, t.execution_id), ''[]'') '
      'from %I.flow_executions as t', p_schema)
      into v_runs;
  end if;

  begin
    for v_flow in select f.value from pg_catalog.jsonb_array_elements(v_flows) with ordinality as f order by f.ordinality loop
      v_id := v_flow ->> 'flow_id';
      v_name := pg_catalog.left(coalesce(nullif(pg_catalog.btrim(v_flow ->> 'name'), ''), 'v1 flow ' || v_id), 200);
      select coalesce(pg_catalog.jsonb_agg(r.value order by r.ordinality), '[]') into v_flow_rules
        from pg_catalog.jsonb_array_elements(v_rules) with ordinality as r where r.value ->> 'flow_id' = v_id;
      select coalesce(pg_catalog.jsonb_agg(a.value order by a.ordinality), '[]') into v_flow_actions
        from pg_catalog.jsonb_array_elements(v_actions) with ordinality as a where a.value ->> 'flow_id' = v_id;
      select coalesce(pg_catalog.jsonb_agg(x.value order by x.ordinality), '[]') into v_flow_runs
        from pg_catalog.jsonb_array_elements(v_runs) with ordinality as x where x.value ->> 'flow_id' = v_id;
      v_entry := pg_catalog.jsonb_build_object('v1_flow_id', v_id, 'name', v_name);
      v_mapping := null;
      v_version := null;
      v_key := null;

      -- Each flow in its own subtransaction: a refused flow leaves nothing behind, and the others proceed.
      begin
        select m.* into v_mapping from flows.v1_imports as m
         where m.source_schema = p_schema and m.v1_flow_id = v_id;

        if v_mapping.flow_id is not null then
          select f.key into v_key from flows.flows as f where f.flow_id = v_mapping.flow_id;
          select v.* into v_version from flows.versions as v where v.version_id = v_mapping.version_id;
          v_entry := v_entry || pg_catalog.jsonb_build_object('status', 'skipped', 'reasons',
            pg_catalog.jsonb_build_array('already imported'), 'key', v_key, 'flow_id', v_mapping.flow_id,
            'version_id', v_mapping.version_id, 'version_status', v_version.status);
        else
          v_converted := flows.v1_convert(v_flow, v_flow_rules, v_flow_actions);
          if pg_catalog.jsonb_array_length(v_converted -> 'problems') > 0 then
            v_entry := v_entry || pg_catalog.jsonb_build_object('status', 'refused', 'reasons', v_converted -> 'problems');
          else
            v_enabled := coalesce((v_flow ->> 'is_enabled')::boolean, false);
            v_base_key := flows.v1_slug(v_name, 'v1-flow-' || v_id);
            v_key := v_base_key;
            v_suffix := 1;
            while v_key = any (v_taken)
               or exists (select 1 from flows.flows as f where f.tenant_id = v_tenant and f.key = v_key) loop
              v_suffix := v_suffix + 1;
              v_key := pg_catalog.rtrim(pg_catalog.left(v_base_key, 63 - pg_catalog.length('-' || v_suffix)), '-')
                       || '-' || v_suffix;
            end loop;

            insert into flows.flows (tenant_id, key, name, description, created_by)
            values (v_tenant, v_key, v_name,
                    pg_catalog.format('Imported from v1 (%s.flows, flow_id %s)', p_schema, v_id), auth.uid())
            returning flow_id into v_flow_id;
            -- Inserted as published, the version passes the structural check of the invariant trigger (FL003).
            insert into flows.versions (flow_id, tenant_id, status, definition, change_notes, created_by)
            values (v_flow_id, v_tenant, case when v_enabled then 'published' else 'draft' end,
                    v_converted -> 'definition',
                    pg_catalog.format('Imported from v1 (%s.flows, flow_id %s)', p_schema, v_id), auth.uid())
            returning * into v_version;
            if v_enabled then
              -- Installs the capture trigger; refuses (FL003) a table it cannot watch, refusing this flow.
              perform flows.refresh_watches();
            end if;
            insert into flows.v1_imports (source_schema, v1_flow_id, tenant_id, flow_id, version_id)
            values (p_schema, v_id, v_tenant, v_flow_id, v_version.version_id)
            returning * into v_mapping;
            v_entry := v_entry || pg_catalog.jsonb_build_object('status', 'imported', 'reasons', '[]'::jsonb,
              'key', v_key, 'flow_id', v_flow_id, 'version_id', v_version.version_id,
              'version_status', v_version.status);
            if p_dry_run then
              v_entry := v_entry || pg_catalog.jsonb_build_object('status', 'would_import', 'flow_id', null,
                'version_id', null, 'definition', v_converted -> 'definition');
            end if;
          end if;
        end if;

        -- Runs not imported yet, pinned to version 1 (also for a flow imported by an earlier run).
        v_runs_imported := 0;
        v_runs_refused := '[]';
        if v_mapping.flow_id is not null then
          for v_run in select x.value from pg_catalog.jsonb_array_elements(v_flow_runs) as x loop
            v_run_id := v_run ->> 'execution_id';
            continue when exists (select 1 from flows.v1_execution_imports as i
                                   where i.source_schema = p_schema and i.v1_execution_id = v_run_id);
            v_run_status := case pg_catalog.upper(pg_catalog.btrim(v_run ->> 'status'))
              when 'SUCCESS' then 'completed' when 'FAILURE' then 'failed' end;
            if v_run_status is null then
              v_runs_refused := v_runs_refused || pg_catalog.jsonb_build_object('v1_execution_id', v_run_id,
                'reason', pg_catalog.format('status: "%s" is not SUCCESS or FAILURE', coalesce(v_run ->> 'status', 'null')));
              continue;
            elsif v_mapping.version_id is null then
              v_runs_refused := v_runs_refused || pg_catalog.jsonb_build_object('v1_execution_id', v_run_id,
                'reason', 'version 1 of the imported flow was deleted; there is no version to pin the run to');
              continue;
            end if;
            v_run_at := coalesce((v_run ->> 'triggered_at')::timestamptz, pg_catalog.now());
            insert into flows.executions (tenant_id, flow_id, version_id, trigger_type, status, context, error_message,
                                          started_at, finished_at, created_at)
            values (v_tenant, v_mapping.flow_id, v_mapping.version_id, 'row_change', v_run_status,
                    pg_catalog.jsonb_build_object('v1', pg_catalog.jsonb_build_object('source_schema', p_schema,
                      'execution_id', v_run_id, 'status', v_run ->> 'status', 'log', v_run ->> 'log')),
                    case when v_run_status = 'failed' then coalesce(v_run ->> 'log', 'failed in v1 (no log)') end,
                    v_run_at, v_run_at, v_run_at)
            returning execution_id into v_execution_id;
            insert into flows.v1_execution_imports (source_schema, v1_execution_id, tenant_id, execution_id)
            values (p_schema, v_run_id, v_tenant, v_execution_id);
            v_runs_imported := v_runs_imported + 1;
          end loop;
        end if;
        v_entry := v_entry || pg_catalog.jsonb_build_object('executions_imported', v_runs_imported,
          'executions_refused', v_runs_refused);
        if v_entry ->> 'status' in ('imported', 'would_import') then
          v_taken := v_taken || v_key;
        end if;
      exception when others then
        get stacked diagnostics v_error = message_text;
        v_entry := pg_catalog.jsonb_build_object('v1_flow_id', v_id, 'name', v_name, 'status', 'refused',
          'reasons', pg_catalog.jsonb_build_array(v_error), 'executions_imported', 0, 'executions_refused', '[]'::jsonb);
      end;
      v_entries := v_entries || v_entry;
    end loop;

    if p_dry_run then
      -- Undo everything this run wrote; the report stays.
      raise exception using errcode = 'FLDRY', message = 'dry run';
    end if;
  exception when sqlstate 'FLDRY' then
    null;
  end;

  return pg_catalog.jsonb_build_object(
    'source_schema', p_schema,
    'tenant_id', v_tenant,
    'dry_run', p_dry_run,
    'imported', (select pg_catalog.count(*) from pg_catalog.jsonb_array_elements(v_entries) as e
                  where e.value ->> 'status' in ('imported', 'would_import')),
    'skipped', (select pg_catalog.count(*) from pg_catalog.jsonb_array_elements(v_entries) as e
                 where e.value ->> 'status' = 'skipped'),
    'refused', (select pg_catalog.count(*) from pg_catalog.jsonb_array_elements(v_entries) as e
                 where e.value ->> 'status' = 'refused'),
    'executions_imported', (select coalesce(pg_catalog.sum((e.value ->> 'executions_imported')::integer), 0)
                              from pg_catalog.jsonb_array_elements(v_entries) as e),
    'flows', v_entries);
end
$$;

comment on function flows.import_v1(text, boolean, uuid) is
  'Imports a v1 installation (p_schema.flows, rules, actions and, when present, flow_executions) into the tenant '
  '(default: the caller''s): each v1 flow becomes a flow with version 1 (published when enabled, else a draft), its '
  'runs finished executions. Idempotent; refuses flow by flow what it cannot convert. p_dry_run reports without '
  'writing. Returns {source_schema, tenant_id, dry_run, imported, skipped, refused, executions_imported, flows: '
  '[{v1_flow_id, name, status: imported | would_import | skipped | refused, reasons, key, flow_id, version_id, '
  'version_status, executions_imported, executions_refused}]}. Errors: FL001, FL002 (schema or v1 table missing), '
  'FL007. See docs/v1-import.md.';

revoke execute on function flows.v1_slug(text, text) from public, anon, authenticated;
revoke execute on function flows.v1_convert(jsonb, jsonb, jsonb) from public, anon, authenticated;
revoke execute on function flows.import_v1(text, boolean, uuid) from public, anon, authenticated;
-- A one-off operator task: run it from the SQL editor (postgres) or with the service key.
grant execute on function flows.v1_slug(text, text) to service_role;
grant execute on function flows.v1_convert(jsonb, jsonb, jsonb) to service_role;
grant execute on function flows.import_v1(text, boolean, uuid) to service_role;
