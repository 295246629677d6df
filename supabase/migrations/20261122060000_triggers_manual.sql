-- Manual runs from SQL: flows.start_run(flow_key, input) creates a pending execution of the flow's published version
-- for any member of the caller's tenant, after checking the input against the version's `parameters` schema, and
-- kicks the flow-engine so it runs now. flows.parameter_problems() is that check, in SQL.

create function flows.json_type_matches(type_name text, value jsonb) returns boolean
language sql
immutable
set search_path = ''
as $$
  select case type_name
    when 'null' then pg_catalog.jsonb_typeof(value) = 'null'
    when 'object' then pg_catalog.jsonb_typeof(value) = 'object'
    when 'array' then pg_catalog.jsonb_typeof(value) = 'array'
    when 'string' then pg_catalog.jsonb_typeof(value) = 'string'
    when 'boolean' then pg_catalog.jsonb_typeof(value) = 'boolean'
    when 'number' then pg_catalog.jsonb_typeof(value) = 'number'
    when 'integer' then pg_catalog.jsonb_typeof(value) = 'number'
                        and (value #>> '{}')::numeric = pg_catalog.trunc((value #>> '{}')::numeric)
    else false
  end
$$;

comment on function flows.json_type_matches(text, jsonb) is
  'True when value has the JSON Schema type type_name (object, array, string, number, integer, boolean, null).';

create function flows.json_type_name(value jsonb) returns text
language sql
immutable
set search_path = ''
as $$
  select case when flows.json_type_matches('integer', value) then 'integer' else pg_catalog.jsonb_typeof(value) end
$$;

comment on function flows.json_type_name(jsonb) is
  'The JSON Schema type of a value as error messages name it (integer for whole numbers).';

create function flows.parameter_problems(schema jsonb, value jsonb, path text default 'input') returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
declare
  problems jsonb := '[]'::jsonb;
  types text[];
  property record;
  element record;
  required_name text;
  length_value integer;
  number_value numeric;
begin
  -- The subset of the engine's validateParameters (packages/engine/src/definition/parameters.ts) that SQL callers
  -- need: type, enum, const, required, properties, additionalProperties, items and the numeric, length and count
  -- bounds, with the same paths and messages. A webhook body is checked by the engine itself.
  if pg_catalog.jsonb_typeof(schema) is distinct from 'object' then
    return problems;
  end if;

  if schema ? 'type' then
    types := case pg_catalog.jsonb_typeof(schema -> 'type')
               when 'string' then array[schema ->> 'type']
               when 'array' then array(select pg_catalog.jsonb_array_elements_text(schema -> 'type'))
             end;
    if types is not null and not exists (select 1 from unnest(types) as t (name) where flows.json_type_matches(t.name, value)) then
      return pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
        'path', path,
        'message', pg_catalog.format('Expected %s, received %s', pg_catalog.array_to_string(types, ' | '), flows.json_type_name(value))));
    end if;
  end if;

  if schema ? 'const' and (schema -> 'const') <> value then
    problems := problems || pg_catalog.jsonb_build_object('path', path, 'message', pg_catalog.format('Expected %s', schema -> 'const'));
  end if;
  if pg_catalog.jsonb_typeof(schema -> 'enum') = 'array'
     and not exists (select 1 from pg_catalog.jsonb_array_elements(schema -> 'enum') as e (option) where e.option = value) then
    problems := problems || pg_catalog.jsonb_build_object('path', path, 'message', pg_catalog.format('Expected one of %s',
      (select pg_catalog.string_agg(e.option::text, ', ' order by e.n)
         from pg_catalog.jsonb_array_elements(schema -> 'enum') with ordinality as e (option, n))));
  end if;

  case pg_catalog.jsonb_typeof(value)
    when 'number' then
      number_value := (value #>> '{}')::numeric;
      if pg_catalog.jsonb_typeof(schema -> 'minimum') = 'number' and number_value < (schema ->> 'minimum')::numeric then
        problems := problems || pg_catalog.jsonb_build_object('path', path, 'message', 'Must be >= ' || (schema ->> 'minimum'));
      end if;
      if pg_catalog.jsonb_typeof(schema -> 'maximum') = 'number' and number_value > (schema ->> 'maximum')::numeric then
        problems := problems || pg_catalog.jsonb_build_object('path', path, 'message', 'Must be <= ' || (schema ->> 'maximum'));
      end if;
    when 'string' then
      length_value := pg_catalog.char_length(value #>> '{}');
      if pg_catalog.jsonb_typeof(schema -> 'minLength') = 'number' and length_value < (schema ->> 'minLength')::numeric then
        problems := problems || pg_catalog.jsonb_build_object('path', path,
          'message', pg_catalog.format('Must be at least %s characters', schema ->> 'minLength'));
      end if;
      if pg_catalog.jsonb_typeof(schema -> 'maxLength') = 'number' and length_value > (schema ->> 'maxLength')::numeric then
        problems := problems || pg_catalog.jsonb_build_object('path', path,
          'message', pg_catalog.format('Must be at most %s characters', schema ->> 'maxLength'));
      end if;
    when 'array' then
      length_value := pg_catalog.jsonb_array_length(value);
      if pg_catalog.jsonb_typeof(schema -> 'minItems') = 'number' and length_value < (schema ->> 'minItems')::numeric then
        problems := problems || pg_catalog.jsonb_build_object('path', path,
          'message', pg_catalog.format('Must have at least %s items', schema ->> 'minItems'));
      end if;
      if pg_catalog.jsonb_typeof(schema -> 'maxItems') = 'number' and length_value > (schema ->> 'maxItems')::numeric then
        problems := problems || pg_catalog.jsonb_build_object('path', path,
          'message', pg_catalog.format('Must have at most %s items', schema ->> 'maxItems'));
      end if;
      if pg_catalog.jsonb_typeof(schema -> 'items') = 'object' then
        for element in select e.item, e.n - 1 as item_index
                         from pg_catalog.jsonb_array_elements(value) with ordinality as e (item, n) order by e.n loop
          problems := problems || flows.parameter_problems(schema -> 'items', element.item,
            pg_catalog.format('%s[%s]', path, element.item_index));
        end loop;
      end if;
    when 'object' then
      if pg_catalog.jsonb_typeof(schema -> 'required') = 'array' then
        for required_name in select pg_catalog.jsonb_array_elements_text(schema -> 'required') loop
          if not value ? required_name then
            problems := problems || pg_catalog.jsonb_build_object('path', path || '.' || required_name, 'message', 'Required');
          end if;
        end loop;
      end if;
      for property in select p.key, p.value from pg_catalog.jsonb_each(value) as p order by p.key loop
        if pg_catalog.jsonb_typeof(schema -> 'properties') = 'object' and (schema -> 'properties') ? property.key then
          problems := problems || flows.parameter_problems(schema -> 'properties' -> property.key, property.value,
            path || '.' || property.key);
        elsif schema -> 'additionalProperties' = 'false'::jsonb then
          problems := problems || pg_catalog.jsonb_build_object('path', path || '.' || property.key, 'message', 'Unknown property');
        elsif pg_catalog.jsonb_typeof(schema -> 'additionalProperties') = 'object' then
          problems := problems || flows.parameter_problems(schema -> 'additionalProperties', property.value,
            path || '.' || property.key);
        end if;
      end loop;
    else
      null;
  end case;
  return problems;
end
$$;

comment on function flows.parameter_problems(jsonb, jsonb, text) is
  'Checks value against a parameters JSON Schema (type, enum, const, required, properties, additionalProperties, '
  'items, minimum/maximum, minLength/maxLength, minItems/maxItems) and returns every problem as '
  '[{"path", "message"}], paths starting at path (input.lead_id). pattern is left to the engine.';

create function flows.start_run(flow_key text, input jsonb default '{}'::jsonb) returns uuid
language plpgsql
volatile
-- security definer: any member may start a run, but row level security keeps flows.executions read-only for members.
security definer
set search_path = ''
as $$
declare
  tenant uuid := flows.current_tenant();
  target flows.flows;
  published flows.versions;
  run_input jsonb := coalesce(start_run.input, '{}'::jsonb);
  problems jsonb;
  created uuid;
begin
  if tenant is null then
    raise exception using errcode = 'FL001', message = 'start_run requires a signed-in member';
  end if;
  perform flows.require_role(array['admin', 'manager', 'member'], 'start_run');

  select f.* into target from flows.flows as f where f.tenant_id = tenant and f.key = start_run.flow_key;
  if not found then
    raise exception using
      errcode = 'FL002', message = pg_catalog.format('flow "%s" not found', coalesce(flow_key, 'null'));
  end if;
  select v.* into published from flows.versions as v where v.flow_id = target.flow_id and v.status = 'published';
  if not found then
    raise exception using
      errcode = 'FL002', message = pg_catalog.format('flow "%s" has no published version', target.key);
  end if;
  if not target.is_active then
    raise exception using errcode = 'FL007', message = pg_catalog.format('flow "%s" is inactive', target.key);
  end if;

  if published.definition ? 'parameters' then
    problems := flows.parameter_problems(published.definition -> 'parameters', run_input);
    if pg_catalog.jsonb_array_length(problems) > 0 then
      raise exception using
        errcode = 'FL007',
        message = pg_catalog.format('%s: %s', problems -> 0 ->> 'path', problems -> 0 ->> 'message'),
        detail = problems::text;
    end if;
  end if;

  insert into flows.executions (tenant_id, flow_id, version_id, trigger_type, status, input, executed_by)
  values (target.tenant_id, target.flow_id, published.version_id, 'manual', 'pending', run_input, auth.uid())
  returning execution_id into created;

  -- Queued through pg_net and sent after commit: the flow-engine claims the pending execution and runs it.
  perform flows.request_drain(true);
  return created;
end
$$;

-- Postgres grants execute to public by default; these are granted explicitly instead (as in the RLS migration).
revoke execute on function flows.json_type_matches(text, jsonb) from public, anon;
revoke execute on function flows.json_type_name(jsonb) from public, anon;
revoke execute on function flows.parameter_problems(jsonb, jsonb, text) from public, anon;
grant execute on function flows.json_type_matches(text, jsonb) to authenticated, service_role;
grant execute on function flows.json_type_name(jsonb) to authenticated, service_role;
grant execute on function flows.parameter_problems(jsonb, jsonb, text) to authenticated, service_role;
revoke execute on function flows.start_run(text, jsonb) from public, anon;
grant execute on function flows.start_run(text, jsonb) to authenticated, service_role;

comment on function flows.start_run(text, jsonb) is
  'Starts a manual run of the published version of the flow with this key in the caller''s tenant (any member; '
  'service_role and postgres act for the default tenant unless a claim names one) and returns the execution id. '
  'input is checked against the version''s parameters. Errors: FL001 not a member, FL002 unknown flow or no '
  'published version, FL007 inactive flow or invalid input (message names the path; detail lists every problem).';
