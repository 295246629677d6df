-- The structural check of flow definitions (object, size, trigger, step ids and types) that publishing enforces,
-- so that plain SQL can never publish what the engine cannot run. The engine's zod schema
-- (packages/engine/src/definition/schema.ts) is the full check; the two agree on this subset, proven by
-- tests/e2e/definition-agreement.test.ts. Paths are formatted like the engine's: `steps[2].id`, `trigger.events[0]`,
-- `(root)` for the whole definition.

create function flows.is_reserved_table(table_name text) returns boolean
language sql
immutable
set search_path = ''
as $$
  -- The same list as the engine's RESERVED_SCHEMAS (packages/engine/src/definition/schema.ts).
  select coalesce(nullif(split_part(table_name, '.', 1), table_name), 'public') = any (array[
           'flows', 'auth', 'vault', 'net', 'cron', 'extensions', 'storage', 'realtime', 'graphql', 'graphql_public',
           'supabase_functions', 'supabase_migrations', 'pgsodium', 'pgsodium_masks', 'information_schema', 'pg_catalog'])
      or coalesce(nullif(split_part(table_name, '.', 1), table_name), 'public') like 'pg\_%'
$$;

comment on function flows.is_reserved_table(text) is
  'True when a table name (table or schema.table) lies in a schema flows may not watch: its own, the platform''s, pg_*.';

create function flows.validate_definition(definition jsonb) returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
declare
  max_bytes constant integer := 524288;
  max_steps constant integer := 100;
  trigger_types constant text[] := array['row_change', 'schedule', 'manual', 'webhook'];
  row_events constant text[] := array['INSERT', 'UPDATE', 'DELETE'];
  step_types constant text[] :=
    array['tabular', 'http', 'wait', 'db_update', 'function_call', 'condition', 'transform', 'log'];
  problems jsonb := '[]'::jsonb;
  size_bytes integer;
  trigger_value jsonb;
  trigger_kind text;
  field jsonb;
  item jsonb;
  item_index integer;
  seen_events text[] := '{}'::text[];
  seen_ids text[] := '{}'::text[];
  step_count integer;
  step_path text;
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

  -- trigger
  trigger_value := definition -> 'trigger';
  if trigger_value is null then
    problems := problems || jsonb_build_object('path', 'trigger', 'message', 'Required');
  elsif jsonb_typeof(trigger_value) <> 'object' then
    problems := problems || jsonb_build_object('path', 'trigger',
      'message', format('Expected an object, received %s', jsonb_typeof(trigger_value)));
  else
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
  end if;

  -- steps
  field := definition -> 'steps';
  if field is null then
    problems := problems || jsonb_build_object('path', 'steps', 'message', 'Required');
  elsif jsonb_typeof(field) <> 'array' then
    problems := problems || jsonb_build_object('path', 'steps',
      'message', format('Expected an array, received %s', jsonb_typeof(field)));
  else
    step_count := jsonb_array_length(field);
    if step_count = 0 then
      problems := problems || jsonb_build_object('path', 'steps', 'message', 'Expected at least one step');
    elsif step_count > max_steps then
      problems := problems || jsonb_build_object('path', 'steps',
        'message', format('Too many steps: %s; the limit is %s', step_count, max_steps));
    end if;

    for item, item_index in
      select e.value, (e.ordinality - 1)::integer from jsonb_array_elements(field) with ordinality as e
    loop
      step_path := format('steps[%s]', item_index);
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
            'message', format('Duplicate step id %s (first used by steps[%s])', (item -> 'id')::text,
              array_position(seen_ids, step_identifier) - 1));
        end if;
      end if;
      -- Keeps positions aligned with step indexes, so the first use of an id can be named.
      seen_ids := seen_ids || coalesce(step_identifier, '');

      if item -> 'type' is null then
        problems := problems || jsonb_build_object('path', step_path || '.type', 'message', 'Required');
      elsif jsonb_typeof(item -> 'type') <> 'string' or not (item ->> 'type') = any (step_types) then
        problems := problems || jsonb_build_object('path', step_path || '.type',
          'message', format('Unknown step type %s: expected one of %s', (item -> 'type')::text,
            array_to_string(step_types, ', ')));
      end if;
    end loop;
  end if;

  return problems;
end
$$;

comment on function flows.validate_definition(jsonb) is
  'Structural problems of a flow definition as a JSON array of {path, message}; empty when publishable. '
  'Checks: a JSON object of at most 512 KB; trigger.type in row_change, schedule, manual, webhook; row_change '
  'needs table and distinct events; schedule needs a 5-field cron; 1 to 100 steps with unique ids and known types.';

create function flows.describe_problems(problems jsonb) returns text
language sql
immutable
set search_path = ''
as $$
  select (problems -> 0 ->> 'path') || ': ' || (problems -> 0 ->> 'message')
      || case
           when jsonb_array_length(problems) > 1
             then format(' (and %s more; see the error detail)', jsonb_array_length(problems) - 1)
           else ''
         end
$$;

comment on function flows.describe_problems(jsonb) is
  'One line for an error message from validate_definition''s problems: the first as "path: message", and how many more.';

create function flows.assert_valid_definition(definition jsonb) returns void
language plpgsql
immutable
set search_path = ''
as $$
declare
  problems jsonb := flows.validate_definition(definition);
begin
  if jsonb_array_length(problems) > 0 then
    raise exception using
      errcode = 'FL003',
      message = flows.describe_problems(problems),
      detail = problems::text,
      hint = 'flows.validate_definition(definition) lists every problem';
  end if;
end
$$;

comment on function flows.assert_valid_definition(jsonb) is
  'Raises FL003 naming the first structural problem of a definition (all of them in the detail).';

create function flows.json_changes(old_value jsonb, new_value jsonb, path text default '') returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
declare
  changes jsonb := '[]'::jsonb;
  member_key text;
begin
  if old_value is not distinct from new_value then
    return changes;
  end if;

  if jsonb_typeof(old_value) = 'object' and jsonb_typeof(new_value) = 'object' then
    for member_key in
      select k from (select jsonb_object_keys(old_value) as k union select jsonb_object_keys(new_value)) as keys order by k
    loop
      changes := changes || flows.json_changes(
        old_value -> member_key,
        new_value -> member_key,
        case
          when member_key ~ '^[A-Za-z_$][A-Za-z0-9_$-]*$' then
            case when path = '' then member_key else path || '.' || member_key end
          else path || '[' || to_jsonb(member_key)::text || ']'
        end);
    end loop;
    return changes;
  end if;

  if jsonb_typeof(old_value) = 'array' and jsonb_typeof(new_value) = 'array' then
    for item_position in 0 .. greatest(jsonb_array_length(old_value), jsonb_array_length(new_value)) - 1 loop
      changes := changes || flows.json_changes(old_value -> item_position, new_value -> item_position, path || '[' || item_position || ']');
    end loop;
    return changes;
  end if;

  return jsonb_build_array(jsonb_build_object(
    'path', case when path = '' then '(root)' else path end,
    'kind', case when old_value is null then 'added' when new_value is null then 'removed' else 'changed' end,
    'from', old_value,
    'to', new_value));
end
$$;

comment on function flows.json_changes(jsonb, jsonb, text) is
  'Field-level differences between two JSON values as [{path, kind (added|removed|changed), from, to}], '
  'paths formatted like `config.url` or `events[1]`, prefixed with path.';
