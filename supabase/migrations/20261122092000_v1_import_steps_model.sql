-- The v1 import, second model: seed 000's installation keeps each flow's steps in a jsonb column of `flows`
-- (tabular, http_call and wait steps, run per lead by a user) and its runs in `flows_runs`. This migration renames
-- the rules-model importer to flows.v1_import_rules, adds flows.v1_import_steps for the steps model, and makes
-- flows.import_v1 a dispatcher that reads which model a schema holds (a `flows` table with a `steps` column is the
-- steps model), so operators call one function. Both importers share the mapping tables, the report shape, the dry
-- run and the advisory lock. See docs/v1-import.md.
-- Errors: FL001 not authorized, FL002 the v1 tables are not there, FL007 invalid argument (see docs/sql-api.md).

-- The rules-model importer keeps its body, grants and revokes; only its name changes.
alter function flows.import_v1(text, boolean, uuid) rename to v1_import_rules;

comment on function flows.v1_import_rules(text, boolean, uuid) is
  'The rules-model importer behind flows.import_v1: p_schema.flows (flow_id, name, trigger_table, trigger_event, '
  'is_enabled), rules, actions and, when present, flow_executions. Same arguments, report and errors as '
  'flows.import_v1. See docs/v1-import.md.';

-- Conversion -----------------------------------------------------------------------------------------------------

create function flows.v1_unique_key(tenant_id uuid, base_key text, taken text[]) returns text
language plpgsql
stable
set search_path = ''
as $$
declare
  v_key text := base_key;
  v_suffix integer := 1;
begin
  -- taken holds keys this import already gave out: in a dry run nothing is written, yet the report must show the
  -- keys a real run would choose.
  while v_key = any (coalesce(taken, '{}'::text[]))
     or exists (select 1 from flows.flows as f where f.tenant_id = v1_unique_key.tenant_id and f.key = v_key) loop
    v_suffix := v_suffix + 1;
    v_key := pg_catalog.rtrim(pg_catalog.left(base_key, 63 - pg_catalog.length('-' || v_suffix)), '-') || '-' || v_suffix;
  end loop;
  return v_key;
end
$$;

comment on function flows.v1_unique_key(uuid, text, text[]) is
  'base_key, or base_key-2, -3… (at most 63 characters): the first that no flow of the tenant has and that is not '
  'in taken.';

create function flows.v1_convert_steps(v1_flow jsonb) returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v_problems text[] := '{}'::text[];
  v_steps_value jsonb := v1_flow -> 'steps';
  v_step jsonb;
  v_index integer;
  v_path text;
  v_keep_ids boolean := true;
  v_ids text[] := '{}'::text[];
  v_id text;
  v_type text;
  v_step_type text;
  v_config jsonb;
  v_allowed_keys text[];
  v_key text;
  v_text text;
  v_placeholder text;
  v_placeholder_problem boolean;
  v_uses_variables boolean := false;
  v_name text;
  v_method text;
  v_value jsonb;
  v_step_config jsonb;
  v_retry jsonb;
  v_new_step jsonb;
  v_steps jsonb := '[]'::jsonb;
  v_parameters jsonb;
  v_definition jsonb;
begin
  -- Steps kept as text holding JSON are read as that JSON.
  if pg_catalog.jsonb_typeof(v_steps_value) = 'string' then
    begin
      v_steps_value := (v_steps_value #>> '{}')::jsonb;
    exception when invalid_text_representation then
      return pg_catalog.jsonb_build_object('definition', null, 'problems',
        pg_catalog.jsonb_build_array('steps: text that is not JSON'));
    end;
  end if;
  if v_steps_value is null or pg_catalog.jsonb_typeof(v_steps_value) = 'null' then
    return pg_catalog.jsonb_build_object('definition', null, 'problems',
      pg_catalog.jsonb_build_array('steps: none; a flow needs at least one step'));
  elsif pg_catalog.jsonb_typeof(v_steps_value) <> 'array' then
    return pg_catalog.jsonb_build_object('definition', null, 'problems',
      pg_catalog.jsonb_build_array('steps: must be a JSON array of step objects'));
  elsif pg_catalog.jsonb_array_length(v_steps_value) = 0 then
    v_problems := v_problems || 'steps: none; a flow needs at least one step'::text;
  elsif pg_catalog.jsonb_array_length(v_steps_value) > 100 then
    v_problems := v_problems || 'steps: more than 100; a flow has at most 100 steps'::text;
  end if;

  -- The v1 step ids stay when every one of them is already a valid, distinct step id; otherwise all steps get
  -- <type>_<position>, so a kept id can never collide with a made-up one. v1 had no placeholders that name steps.
  for v_step in select s.value from pg_catalog.jsonb_array_elements(v_steps_value) as s loop
    v_id := case when pg_catalog.jsonb_typeof(v_step -> 'id') = 'string' then v_step ->> 'id' end;
    if v_id is null or v_id !~ '^[a-z][a-z0-9_-]{0,62}$' or v_id = any (v_ids) then
      v_keep_ids := false;
    else
      v_ids := v_ids || v_id;
    end if;
  end loop;

  for v_step, v_index in
    select s.value, (s.ordinality - 1)::integer from pg_catalog.jsonb_array_elements(v_steps_value) with ordinality as s
  loop
    v_path := pg_catalog.format('steps[%s]', v_index);
    if pg_catalog.jsonb_typeof(v_step) <> 'object' then
      v_problems := v_problems || pg_catalog.format('%s: must be a JSON object', v_path);
      continue;
    end if;
    for v_key in select k from pg_catalog.jsonb_object_keys(v_step) as k order by k loop
      if not v_key = any (array['id', 'type', 'nome', 'name', 'config', 'continue_on_error']) then
        v_problems := v_problems || pg_catalog.format(
          '%s.%s: unknown key (a v1 step has id, type, nome or name, config, continue_on_error)', v_path, v_key);
      end if;
    end loop;
    if v_step ? 'continue_on_error' and pg_catalog.jsonb_typeof(v_step -> 'continue_on_error') not in ('boolean', 'null') then
      v_problems := v_problems || pg_catalog.format('%s.continue_on_error: must be true or false', v_path);
    end if;

    v_type := pg_catalog.lower(pg_catalog.btrim(v_step ->> 'type'));
    v_step_type := case v_type when 'tabular' then 'tabular' when 'http_call' then 'http' when 'wait' then 'wait' end;
    v_allowed_keys := case v_type
      when 'tabular' then array['webhook_url', 'field', 'value', 'additional_fields']
      when 'http_call' then array['method', 'url', 'headers', 'body', 'timeout', 'retry']
      when 'wait' then array['seconds', 'reason']
    end;
    if v_step_type is null then
      v_problems := v_problems || pg_catalog.format('%s.type: unknown step type "%s" (known: tabular, http_call, wait)',
        v_path, coalesce(v_step ->> 'type', 'null'));
      continue;
    end if;

    v_config := v_step -> 'config';
    if pg_catalog.jsonb_typeof(v_config) = 'string' then
      begin
        v_config := (v_config #>> '{}')::jsonb;
      exception when invalid_text_representation then
        v_config := null;
      end;
    end if;
    if v_config is null or pg_catalog.jsonb_typeof(v_config) <> 'object' then
      v_problems := v_problems || pg_catalog.format('%s.config: must be a JSON object', v_path);
      continue;
    end if;
    for v_key in select k from pg_catalog.jsonb_object_keys(v_config) as k order by k loop
      if not v_key = any (v_allowed_keys) then
        v_problems := v_problems || pg_catalog.format('%s.config.%s: unknown key (%s takes %s)', v_path, v_key, v_type,
          pg_catalog.array_to_string(v_allowed_keys, ', '));
      end if;
    end loop;

    -- Placeholders: v1 resolved {{leadId}} (the run's lead) and {{variables.<path>}} (what the run was started with).
    -- Those become {{input.lead_id}} and {{input.variables.<path>}}; anything else has no meaning to carry over.
    -- Only string values are read: keys are never rendered.
    v_placeholder_problem := false;
    for v_text in
      select s #>> '{}' from pg_catalog.jsonb_path_query(v_config, 'strict $.** ? (@.type() == "string")') as s
       where pg_catalog.strpos(s #>> '{}', '{{') > 0
    loop
      for v_placeholder in select m[1] from pg_catalog.regexp_matches(v_text, '\{\{([^}]*)\}\}', 'g') as m loop
        if v_placeholder ~ '^\s*leadId\s*$' then
          null;
        elsif v_placeholder ~ '^\s*variables(\.[A-Za-z0-9_$-]+|\[[0-9]+\])*\s*$' then
          v_uses_variables := true;
        else
          v_placeholder_problem := true;
          v_problems := v_problems || pg_catalog.format(
            '%s.config: placeholder "{{%s}}" is not one v1 resolves (known: {{leadId}}, {{variables.<name>}})',
            v_path, v_placeholder);
        end if;
      end loop;
      if pg_catalog.strpos(pg_catalog.regexp_replace(v_text, '\{\{([^}]*)\}\}', '', 'g'), '{{') > 0 then
        v_placeholder_problem := true;
        v_problems := v_problems || pg_catalog.format('%s.config: "{{" without a closing "}}" in "%s"', v_path,
          pg_catalog.left(v_text, 80));
      end if;
    end loop;
    if not v_placeholder_problem then
      -- Safe on the JSON text: the placeholders rewritten hold no quote or backslash.
      v_config := pg_catalog.regexp_replace(pg_catalog.regexp_replace(v_config::text,
        '\{\{\s*leadId\s*\}\}', '{{input.lead_id}}', 'g'),
        '\{\{\s*variables((\.[A-Za-z0-9_$-]+|\[[0-9]+\])*)\s*\}\}', '{{input.variables\1}}', 'g')::jsonb;
    end if;

    v_new_step := pg_catalog.jsonb_build_object('id', case when v_keep_ids then v_step ->> 'id' else v_step_type || '_' || (v_index + 1) end,
      'type', v_step_type);
    v_name := pg_catalog.btrim(coalesce(v_step ->> 'nome', v_step ->> 'name'));
    v_new_step := v_new_step || pg_catalog.jsonb_build_object('name', pg_catalog.left(coalesce(nullif(v_name, ''),
      pg_catalog.format('v1 step %s (%s)', coalesce(v_step ->> 'id', (v_index + 1)::text), v_type)), 200));

    if v_type = 'tabular' then
      if pg_catalog.jsonb_typeof(v_config -> 'webhook_url') is distinct from 'string' or v_config ->> 'webhook_url' = '' then
        v_problems := v_problems || pg_catalog.format('%s.config.webhook_url: missing (tabular needs webhook_url, field and value)', v_path);
      elsif v_config ->> 'webhook_url' !~ '^https?://[^\s]+$' and pg_catalog.strpos(v_config ->> 'webhook_url', '{{') = 0 then
        v_problems := v_problems || pg_catalog.format('%s.config.webhook_url: "%s" is not an http or https URL', v_path,
          v_config ->> 'webhook_url');
      end if;
      if pg_catalog.jsonb_typeof(v_config -> 'field') is distinct from 'string' or v_config ->> 'field' = '' then
        v_problems := v_problems || pg_catalog.format('%s.config.field: missing (tabular needs webhook_url, field and value)', v_path);
      end if;
      if not v_config ? 'value' then
        v_problems := v_problems || pg_catalog.format('%s.config.value: missing (tabular needs webhook_url, field and value)', v_path);
      end if;
      v_value := v_config -> 'additional_fields';
      if v_value is not null and v_value <> 'null'::jsonb and not (
           (pg_catalog.jsonb_typeof(v_value) = 'array'
            and not exists (select 1 from pg_catalog.jsonb_array_elements(v_value) as e
                             where pg_catalog.jsonb_typeof(e.value) <> 'object'
                                or pg_catalog.jsonb_typeof(e.value -> 'field') is distinct from 'string'
                                or e.value ->> 'field' = '' or not e.value ? 'value'
                                or exists (select 1 from pg_catalog.jsonb_object_keys(e.value) as k where k not in ('field', 'value'))))
        or (pg_catalog.jsonb_typeof(v_value) = 'object'
            and not exists (select 1 from pg_catalog.jsonb_object_keys(v_value) as k where k = ''))) then
        v_problems := v_problems || pg_catalog.format(
          '%s.config.additional_fields: must be a list of {"field", "value"} objects (or an object of field names to values)', v_path);
      end if;
      -- v1 updated the lead the run was for; the step says so, since a manual run has no triggering row.
      v_step_config := pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('webhook_url', v_config -> 'webhook_url',
        'id', '{{input.lead_id}}', 'field', v_config -> 'field'))
        || pg_catalog.jsonb_build_object('value', v_config -> 'value');
      if v_value is not null and v_value <> 'null'::jsonb then
        v_step_config := v_step_config || pg_catalog.jsonb_build_object('additional_fields', v_value);
      end if;

    elsif v_type = 'http_call' then
      v_method := pg_catalog.upper(pg_catalog.btrim(v_config ->> 'method'));
      if v_method is null or v_method = '' then
        v_problems := v_problems || pg_catalog.format('%s.config.method: missing (http_call needs method and url)', v_path);
      elsif v_method not in ('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD') then
        v_problems := v_problems || pg_catalog.format(
          '%s.config.method: "%s" is not GET, POST, PUT, PATCH, DELETE or HEAD', v_path, v_config ->> 'method');
      elsif v_method in ('GET', 'HEAD') and v_config ? 'body' and v_config -> 'body' <> 'null' then
        v_problems := v_problems || pg_catalog.format('%s.config.body: not allowed with %s', v_path, v_method);
      end if;
      if pg_catalog.jsonb_typeof(v_config -> 'url') is distinct from 'string' or v_config ->> 'url' = '' then
        v_problems := v_problems || pg_catalog.format('%s.config.url: missing (http_call needs method and url)', v_path);
      elsif v_config ->> 'url' !~ '^https?://[^\s]+$' and pg_catalog.strpos(v_config ->> 'url', '{{') = 0 then
        v_problems := v_problems || pg_catalog.format('%s.config.url: "%s" is not an http or https URL', v_path,
          v_config ->> 'url');
      end if;
      if v_config ? 'headers' and v_config -> 'headers' <> 'null' and (
           pg_catalog.jsonb_typeof(v_config -> 'headers') <> 'object'
           or exists (select 1 from pg_catalog.jsonb_each(v_config -> 'headers') as h
                       where pg_catalog.jsonb_typeof(h.value) <> 'string'
                          or h.key !~ '^[A-Za-z0-9!#$%&''*+.^_`|~-]+$')) then
        v_problems := v_problems || pg_catalog.format('%s.config.headers: must be an object of header names to strings', v_path);
      end if;
      -- Built key by key: jsonb_strip_nulls would also drop null fields inside a body.
      v_step_config := pg_catalog.jsonb_build_object('method', v_method, 'url', v_config -> 'url');
      if v_config -> 'headers' <> 'null'::jsonb then
        v_step_config := v_step_config || pg_catalog.jsonb_build_object('headers', v_config -> 'headers');
      end if;
      if v_config -> 'body' <> 'null'::jsonb then
        v_step_config := v_step_config || pg_catalog.jsonb_build_object('body', v_config -> 'body');
      end if;

      -- timeout and retry become the step's own settings. v1 waited the same delay before every retry (fixed), and
      -- without retry settings it tried once: the engine's default of three exponential attempts would send again
      -- what v1 sent once.
      v_value := v_config -> 'timeout';
      if v_value is not null and v_value <> 'null'::jsonb then
        if not flows.json_type_matches('integer', v_value) or (v_value #>> '{}')::numeric not between 1 and 600000 then
          v_problems := v_problems || pg_catalog.format(
            '%s.config.timeout: %s is not a whole number of milliseconds from 1 to 600000', v_path, v_value);
        else
          v_new_step := v_new_step || pg_catalog.jsonb_build_object('timeout', v_value);
        end if;
      end if;
      v_retry := v_config -> 'retry';
      if v_retry is null or v_retry = 'null'::jsonb then
        v_new_step := v_new_step || pg_catalog.jsonb_build_object('retry', pg_catalog.jsonb_build_object('max_attempts', 1));
      elsif pg_catalog.jsonb_typeof(v_retry) <> 'object' then
        v_problems := v_problems || pg_catalog.format('%s.config.retry: must be an object {max_attempts, delay}', v_path);
      else
        for v_key in select k from pg_catalog.jsonb_object_keys(v_retry) as k order by k loop
          if v_key not in ('max_attempts', 'delay') then
            v_problems := v_problems || pg_catalog.format('%s.config.retry.%s: unknown key (retry takes max_attempts, delay)',
              v_path, v_key);
          end if;
        end loop;
        if not flows.json_type_matches('integer', coalesce(v_retry -> 'max_attempts', 'null'))
           or (v_retry ->> 'max_attempts')::numeric not between 1 and 20 then
          v_problems := v_problems || pg_catalog.format(
            '%s.config.retry.max_attempts: %s is not a whole number from 1 to 20', v_path, coalesce(v_retry -> 'max_attempts', 'null'));
        end if;
        if not flows.json_type_matches('integer', coalesce(v_retry -> 'delay', 'null'))
           or (v_retry ->> 'delay')::numeric not between 0 and 86400000 then
          v_problems := v_problems || pg_catalog.format(
            '%s.config.retry.delay: %s is not a whole number of milliseconds from 0 to 86400000', v_path,
            coalesce(v_retry -> 'delay', 'null'));
        end if;
        v_new_step := v_new_step || pg_catalog.jsonb_build_object('retry', pg_catalog.jsonb_build_object(
          'max_attempts', v_retry -> 'max_attempts', 'delay', v_retry -> 'delay', 'backoff', 'fixed'));
      end if;

    else
      v_value := v_config -> 'seconds';
      if v_value is null or v_value = 'null'::jsonb then
        v_problems := v_problems || pg_catalog.format('%s.config.seconds: missing (wait needs seconds)', v_path);
      elsif pg_catalog.jsonb_typeof(v_value) <> 'number' or (v_value #>> '{}')::numeric not between 0 and 3600 then
        v_problems := v_problems || pg_catalog.format('%s.config.seconds: %s is not a number from 0 to 3600', v_path, v_value);
      end if;
      if v_config ? 'reason' and v_config -> 'reason' <> 'null' and (
           pg_catalog.jsonb_typeof(v_config -> 'reason') <> 'string' or pg_catalog.length(v_config ->> 'reason') > 500) then
        v_problems := v_problems || pg_catalog.format('%s.config.reason: must be text of at most 500 characters', v_path);
      end if;
      v_step_config := pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
        'seconds', v_value, 'reason', nullif(v_config -> 'reason', 'null'::jsonb)));
    end if;

    v_new_step := v_new_step || pg_catalog.jsonb_build_object('config', v_step_config);
    if pg_catalog.jsonb_typeof(v_step -> 'continue_on_error') = 'boolean' then
      v_new_step := v_new_step || pg_catalog.jsonb_build_object('continue_on_error', v_step -> 'continue_on_error');
    end if;
    v_steps := v_steps || v_new_step;
  end loop;

  if pg_catalog.cardinality(v_problems) > 0 then
    return pg_catalog.jsonb_build_object('definition', null, 'problems', pg_catalog.to_jsonb(v_problems));
  end if;

  -- v1 ran a flow for one lead at a user's request: a manual flow whose input is that lead (and the variables the
  -- run was started with, when a step reads them).
  v_parameters := pg_catalog.jsonb_build_object(
    'type', 'object',
    'required', case when v_uses_variables then '["lead_id", "variables"]'::jsonb else '["lead_id"]'::jsonb end,
    'additionalProperties', false,
    'properties', pg_catalog.jsonb_build_object(
      'lead_id', pg_catalog.jsonb_build_object('type', 'integer', 'description', 'the lead the run is for (leadId in v1)'),
      'variables', pg_catalog.jsonb_build_object('type', 'object',
        'description', 'values the steps read as input.variables.<name> (variables.<name> in v1)')));
  v_definition := pg_catalog.jsonb_build_object(
    'name', pg_catalog.left(coalesce(nullif(pg_catalog.btrim(coalesce(v1_flow ->> 'nome', v1_flow ->> 'name')), ''),
                                     'v1 flow ' || (v1_flow ->> 'id')), 200),
    'trigger', pg_catalog.jsonb_build_object('type', 'manual'),
    'parameters', v_parameters,
    'steps', v_steps);
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

comment on function flows.v1_convert_steps(jsonb) is
  'Converts one seed-000 v1 flow row (as JSON, with its steps array) into a manual-trigger definition: '
  '{"definition": …, "problems": []}, or {"definition": null, "problems": ["steps[i].path: message", …]} naming '
  'everything that cannot be converted.';

-- The steps-model import -----------------------------------------------------------------------------------------

create function flows.v1_import_steps(p_schema text default 'public', p_dry_run boolean default false,
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
  v_flows_table regclass;
  v_runs_table regclass;
  v_missing text;
  v_flows jsonb;
  v_runs jsonb := '[]'::jsonb;
  v_flow jsonb;
  v_id text;
  v_name text;
  v_description text;
  v_flow_runs jsonb;
  v_mapping flows.v1_imports;
  v_converted jsonb;
  v_enabled boolean;
  v_key text;
  v_taken text[] := '{}'::text[];
  v_flow_id uuid;
  v_version flows.versions;
  v_notes text;
  v_run jsonb;
  v_run_id text;
  v_run_status text;
  v_started_at timestamptz;
  v_finished_at timestamptz;
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

  -- The v1 model: flows(id, nome or name, steps, is_active or is_enabled[, descricao or description]) is required;
  -- flows_runs(id, flow_id, status[, lead_id, logs, result, error_message, started_at, finished_at, executed_by])
  -- is optional. Columns missing from the optional lists read as null.
  v_flows_table := pg_catalog.to_regclass(pg_catalog.format('%I.flows', p_schema));
  if v_flows_table is null then
    raise exception using errcode = 'FL002', message = pg_catalog.format('v1 table %I.flows not found', p_schema);
  end if;
  select pg_catalog.string_agg(c.name, ', ' order by c.n) into v_missing
    from unnest(array['id', 'nome or name', 'steps', 'is_active or is_enabled']) with ordinality as c (name, n)
   where not exists (
     select 1 from pg_catalog.pg_attribute as a
      where a.attrelid = v_flows_table and a.attnum > 0 and not a.attisdropped
        and a.attname::text = any (pg_catalog.string_to_array(c.name, ' or ')));
  if v_missing is not null then
    raise exception using errcode = 'FL007', message = pg_catalog.format(
      '%I.flows: column %s is missing; import_v1 reads the v1 model flows(id, nome or name, steps, is_active or '
      'is_enabled[, descricao or description])', p_schema, v_missing);
  end if;
  v_runs_table := pg_catalog.to_regclass(pg_catalog.format('%I.flows_runs', p_schema));
  if v_runs_table is not null then
    select pg_catalog.string_agg(c.name, ', ' order by c.n) into v_missing
      from unnest(array['id', 'flow_id', 'status']) with ordinality as c (name, n)
     where not exists (select 1 from pg_catalog.pg_attribute as a
                        where a.attrelid = v_runs_table and a.attnum > 0 and not a.attisdropped and a.attname = c.name);
    if v_missing is not null then
      raise exception using errcode = 'FL007', message = pg_catalog.format(
        '%I.flows_runs: column %s is missing; import_v1 reads the v1 model flows_runs(id, flow_id, status[, lead_id, '
        'logs, result, error_message, started_at, finished_at, executed_by])', p_schema, v_missing);
    end if;
  end if;

  -- One import of a source at a time (the same lock as the rules model's): concurrent runs would both see a v1 flow
  -- as not yet imported.
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('flows.import_v1'), pg_catalog.hashtext(p_schema));

  execute pg_catalog.format(
    'select coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(t) order by t.id), ''[]'') from %I.flows as t', p_schema)
    into v_flows;
  if v_runs_table is not null then
    execute pg_catalog.format(
      'select coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(t) order by t.id), ''[]'') from %I.flows_runs as t',
      p_schema)
      into v_runs;
  end if;

  begin
    for v_flow in select f.value from pg_catalog.jsonb_array_elements(v_flows) with ordinality as f order by f.ordinality loop
      v_id := v_flow ->> 'id';
      v_name := pg_catalog.left(coalesce(nullif(pg_catalog.btrim(coalesce(v_flow ->> 'nome', v_flow ->> 'name')), ''),
                                         'v1 flow ' || v_id), 200);
      v_description := nullif(pg_catalog.btrim(coalesce(v_flow ->> 'descricao', v_flow ->> 'description')), '');
      v_notes := pg_catalog.format('Imported from v1 (%s.flows, id %s)', p_schema, v_id);
      -- Runs in the order they started; one without started_at after the others.
      select coalesce(pg_catalog.jsonb_agg(x.value order by (x.value ->> 'started_at') is null, x.value ->> 'started_at', x.ordinality), '[]')
        into v_flow_runs
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
          v_converted := flows.v1_convert_steps(v_flow);
          if pg_catalog.jsonb_array_length(v_converted -> 'problems') > 0 then
            v_entry := v_entry || pg_catalog.jsonb_build_object('status', 'refused', 'reasons', v_converted -> 'problems');
          else
            v_enabled := coalesce((coalesce(v_flow -> 'is_active', v_flow -> 'is_enabled') #>> '{}')::boolean, false);
            v_key := flows.v1_unique_key(v_tenant, flows.v1_slug(v_name, 'v1-flow-' || v_id), v_taken);

            insert into flows.flows (tenant_id, key, name, description, created_by)
            values (v_tenant, v_key, v_name, coalesce(v_description, v_notes), auth.uid())
            returning flow_id into v_flow_id;
            -- A manual trigger watches no table and has no schedule: publishing needs no refresh_watches().
            insert into flows.versions (flow_id, tenant_id, status, definition, change_notes, created_by)
            values (v_flow_id, v_tenant, case when v_enabled then 'published' else 'draft' end,
                    v_converted -> 'definition', v_notes, auth.uid())
            returning * into v_version;
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
            v_run_id := v_run ->> 'id';
            continue when exists (select 1 from flows.v1_execution_imports as i
                                   where i.source_schema = p_schema and i.v1_execution_id = v_run_id);
            v_run_status := case pg_catalog.lower(pg_catalog.btrim(v_run ->> 'status'))
              when 'completed' then 'completed' when 'failed' then 'failed' when 'cancelled' then 'cancelled' end;
            if v_run_status is null then
              v_runs_refused := v_runs_refused || pg_catalog.jsonb_build_object('v1_execution_id', v_run_id, 'reason',
                case when pg_catalog.lower(pg_catalog.btrim(v_run ->> 'status')) in ('pending', 'running')
                  then pg_catalog.format('status: "%s": the run has not finished in v1; it is imported once it has',
                         v_run ->> 'status')
                  else pg_catalog.format('status: "%s" is not completed, failed or cancelled',
                         coalesce(v_run ->> 'status', 'null'))
                end);
              continue;
            elsif v_mapping.version_id is null then
              v_runs_refused := v_runs_refused || pg_catalog.jsonb_build_object('v1_execution_id', v_run_id,
                'reason', 'version 1 of the imported flow was deleted; there is no version to pin the run to');
              continue;
            end if;
            -- A run whose columns do not read (a lead_id that is not a number, a timestamp or user id that is not
            -- one) is refused alone; its flow and the other runs proceed.
            begin
              if v_run ? 'lead_id' and v_run -> 'lead_id' <> 'null'::jsonb
                 and not flows.json_type_matches('integer', v_run -> 'lead_id') then
                raise exception 'lead_id: % is not a whole number', v_run -> 'lead_id';
              end if;
              v_started_at := (v_run ->> 'started_at')::timestamptz;
              v_finished_at := coalesce((v_run ->> 'finished_at')::timestamptz, v_started_at, pg_catalog.now());
              insert into flows.executions (tenant_id, flow_id, version_id, trigger_type, status, input, context, result,
                                            error_message, started_at, finished_at, executed_by, created_at)
              values (v_tenant, v_mapping.flow_id, v_mapping.version_id, 'manual', v_run_status,
                      case when v_run -> 'lead_id' <> 'null'::jsonb
                        then pg_catalog.jsonb_build_object('lead_id', v_run -> 'lead_id') else '{}'::jsonb end,
                      pg_catalog.jsonb_build_object('v1', pg_catalog.jsonb_build_object('source_schema', p_schema,
                        'run_id', v_run_id, 'status', v_run ->> 'status', 'lead_id', v_run -> 'lead_id',
                        'executed_by', v_run -> 'executed_by', 'logs', v_run -> 'logs')),
                      nullif(v_run -> 'result', 'null'::jsonb),
                      case when v_run_status = 'failed'
                        then coalesce(v_run ->> 'error_message', 'failed in v1 (no error message)')
                        else v_run ->> 'error_message' end,
                      v_started_at, v_finished_at, (v_run ->> 'executed_by')::uuid,
                      coalesce(v_started_at, v_finished_at))
              returning execution_id into v_execution_id;
              insert into flows.v1_execution_imports (source_schema, v1_execution_id, tenant_id, execution_id)
              values (p_schema, v_run_id, v_tenant, v_execution_id);
              v_runs_imported := v_runs_imported + 1;
            exception when others then
              get stacked diagnostics v_error = message_text;
              v_runs_refused := v_runs_refused || pg_catalog.jsonb_build_object('v1_execution_id', v_run_id,
                'reason', v_error);
            end;
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

comment on function flows.v1_import_steps(text, boolean, uuid) is
  'The steps-model importer behind flows.import_v1: p_schema.flows (id, nome or name, steps, is_active or '
  'is_enabled, optional descricao or description) and, when present, flows_runs. Each v1 flow becomes a manual flow '
  'with input {lead_id}; same arguments, report and errors as flows.import_v1. See docs/v1-import.md.';

-- The entry point --------------------------------------------------------------------------------------------------

create function flows.import_v1(p_schema text default 'public', p_dry_run boolean default false,
                                p_tenant_id uuid default null)
returns jsonb
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_flows_table oid;
begin
  -- A `flows` table with a `steps` column is seed 000's model; anything else is the rules model, whose importer
  -- names what is missing. Each importer checks its own arguments and the caller.
  if p_schema is null or p_schema = 'flows' then
    return flows.v1_import_rules(p_schema, p_dry_run, p_tenant_id);
  end if;
  -- Read from the catalog by name: to_regclass would need usage on a schema this caller need not have.
  select c.oid into v_flows_table from pg_catalog.pg_class as c join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
   where n.nspname = p_schema and c.relname = 'flows';
  if exists (select 1 from pg_catalog.pg_attribute as a
              where a.attrelid = v_flows_table and a.attname = 'steps' and a.attnum > 0 and not a.attisdropped) then
    return flows.v1_import_steps(p_schema, p_dry_run, p_tenant_id);
  elsif v_flows_table is not null and not exists (
    select 1 from pg_catalog.pg_class as c join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
     where n.nspname = p_schema and c.relname = 'rules'
  ) then
    -- Neither model: say what each would need rather than only that the rules table is missing.
    raise exception using errcode = 'FL002', message = pg_catalog.format(
      'no v1 model in schema "%s": %I.flows has no steps column (seed 000''s model) and there is no %I.rules table '
      '(the rules model)', p_schema, p_schema, p_schema);
  end if;
  return flows.v1_import_rules(p_schema, p_dry_run, p_tenant_id);
end
$$;

comment on function flows.import_v1(text, boolean, uuid) is
  'Imports a v1 installation from p_schema into the tenant (default: the caller''s). Reads which model the schema '
  'holds: a flows table with a steps column (flows, flows_runs: manual flows run per lead) or the rules model (flows, '
  'rules, actions, flow_executions: row_change flows). Each v1 flow becomes a flow with version 1 (published when '
  'enabled or active, else a draft), its finished runs executions. Idempotent; refuses flow by flow what it cannot '
  'convert. p_dry_run reports without writing. Returns {source_schema, tenant_id, dry_run, imported, skipped, '
  'refused, executions_imported, flows: [{v1_flow_id, name, status: imported | would_import | skipped | refused, '
  'reasons, key, flow_id, version_id, version_status, executions_imported, executions_refused}]}. Errors: FL001, '
  'FL002 (schema or v1 table missing), FL007. See docs/v1-import.md.';

revoke execute on function flows.v1_unique_key(uuid, text, text[]) from public, anon, authenticated;
revoke execute on function flows.v1_convert_steps(jsonb) from public, anon, authenticated;
revoke execute on function flows.v1_import_steps(text, boolean, uuid) from public, anon, authenticated;
revoke execute on function flows.import_v1(text, boolean, uuid) from public, anon, authenticated;
-- A one-off operator task: run it from the SQL editor (postgres) or with the service key.
grant execute on function flows.v1_unique_key(uuid, text, text[]) to service_role;
grant execute on function flows.v1_convert_steps(jsonb) to service_role;
grant execute on function flows.v1_import_steps(text, boolean, uuid) to service_role;
grant execute on function flows.import_v1(text, boolean, uuid) to service_role;
