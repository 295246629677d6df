-- Capture only rows some flow can use. When every published version watching a table for an operation has a `when`
-- rule, refresh_watches translates the rules into one SQL condition and installs a row-level trigger that fires only
-- for rows meeting it (the condition is evaluated by Postgres itself, so a row no flow wants costs the writer next to
-- nothing). The translation is conservative: a condition it cannot express exactly as the engine evaluates it
-- (flows.rule_row_filter) becomes "maybe", so the filter lets through every row the engine could match, and the
-- engine still evaluates the rule on each captured row. Tables with a version without `when`, or whose rules translate
-- to "maybe", keep the statement-level trigger, which is cheaper per row for large statements.

alter table flows.watches add column row_filters jsonb;
comment on column flows.watches.row_filters is
  'Per operation, the SQL condition a changed row must meet to be captured ({"INSERT": "..."}); an operation not listed captures every row.';

-- The SQL for one comparison "field equals raw" as the engine's looseEquals decides it (packages/engine/src/rules/
-- coerce.ts), or null when this column type or value cannot be mirrored exactly.
create function flows.equals_row_filter(p_column text, p_kind text, p_raw jsonb) returns text
language plpgsql immutable set search_path = ''
as $$
declare
  v_text text;
  v_number double precision;
begin
  if p_raw is null or pg_catalog.jsonb_typeof(p_raw) = 'null' then
    return pg_catalog.format('%s is null', p_column);
  end if;
  case pg_catalog.jsonb_typeof(p_raw)
    when 'string' then
      v_text := p_raw #>> '{}';
      if p_kind = 'text' then
        -- A date-like rule value makes the engine compare text fields as instants: not mirrored.
        if v_text ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}' then
          return null;
        end if;
        return pg_catalog.format('%s collate "C" = %L', p_column, v_text);
      elsif p_kind = 'boolean' then
        return case when v_text in ('true', 'false') then pg_catalog.format('%s = %s', p_column, v_text) else 'false' end;
      end if;
      -- An integer field equals a numeric string's number (as JavaScript numbers, so compared as float8). Strings
      -- with spaces are left to the engine: JavaScript's idea of white space is not the regex engine's.
      if v_text !~ '^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$' then
        return case when v_text ~ '^[!-~]*$' then 'false' end;
      end if;
    when 'number' then
      if p_kind <> 'integer' then
        -- A text field equal to a number after coercion ("5.0" = 5) is not mirrored; a boolean never equals one.
        return case when p_kind = 'boolean' then 'false' end;
      end if;
      v_text := p_raw::text;
    when 'boolean' then
      return case p_kind
        when 'boolean' then pg_catalog.format('%s = %s', p_column, p_raw::text)
        when 'text' then pg_catalog.format('%s collate "C" = %L', p_column, p_raw::text)
        else 'false'
      end;
    else
      -- Objects and arrays equal only objects and arrays; these columns never hold one.
      return 'false';
  end case;
  begin
    v_number := v_text::double precision;
  exception when others then
    -- Out of float8's range (JavaScript reads it as Infinity or 0): not mirrored.
    return null;
  end;
  -- The literal as written, so the trigger parses it exactly as this check did (whatever extra_float_digits says).
  return pg_catalog.format('%s::float8 = %s::float8', p_column, pg_catalog.quote_literal(v_text));
end
$$;
revoke execute on function flows.equals_row_filter(text, text, jsonb) from public, anon, authenticated;
comment on function flows.equals_row_filter(text, text, jsonb) is
  'SQL for "column equals raw" as the engine''s rule coercion decides it, for text, integer and boolean columns; null when it cannot be mirrored exactly.';

-- Translates a rule tree into a SQL condition on the row named p_row of table p_table. exact says the condition
-- decides the rule as the engine does; when not exact, the condition is true for every row the rule could match.
create function flows.rule_row_filter(p_rule jsonb, p_table regclass, p_row text, p_depth integer default 0, out filter text, out exact boolean)
language plpgsql stable set search_path = ''
as $$
declare
  v_op text;
  v_kind text;
  v_column text;
  v_equals text;
  v_parts text[] := '{}';
  v_all_exact boolean := true;
  v_child record;
  v_item jsonb;
begin
  filter := 'true';
  exact := false;
  -- Shapes the engine would refuse are not translated (publishing checks rules less deeply than the engine does).
  -- Deeper than the engine accepts (12 levels; publishing does not check rules that deeply).
  if pg_catalog.jsonb_typeof(p_rule) is distinct from 'object' or p_depth > 12 then
    return;
  end if;
  if p_rule ? 'all' or p_rule ? 'any' then
    if pg_catalog.jsonb_typeof(coalesce(p_rule -> 'all', p_rule -> 'any')) <> 'array' then
      return;
    end if;
    for v_item in select value from pg_catalog.jsonb_array_elements(coalesce(p_rule -> 'all', p_rule -> 'any')) loop
      select * into v_child from flows.rule_row_filter(v_item, p_table, p_row, p_depth + 1);
      v_all_exact := v_all_exact and v_child.exact;
      v_parts := v_parts || v_child.filter;
    end loop;
    if p_rule ? 'all' then
      -- "true" parts (not translatable) drop out of a conjunction: what is left still lets every match through.
      v_parts := pg_catalog.array_remove(v_parts, 'true');
      filter := case when pg_catalog.cardinality(v_parts) = 0 then 'true' else '(' || pg_catalog.array_to_string(v_parts, ' and ') || ')' end;
    else
      filter := case when 'true' = any (v_parts) then 'true'
                     when pg_catalog.cardinality(v_parts) = 0 then 'false'
                     else '(' || pg_catalog.array_to_string(v_parts, ' or ') || ')' end;
    end if;
    exact := v_all_exact;
    return;
  elsif p_rule ? 'not' then
    select * into v_child from flows.rule_row_filter(p_rule -> 'not', p_table, p_row, p_depth + 1);
    -- Negating a condition that lets extra rows through would drop matches: only exact ones are negated.
    if v_child.exact then
      filter := '(not ' || v_child.filter || ')';
      exact := true;
    else
      filter := 'true';
      exact := false;
    end if;
    return;
  end if;

  -- A condition with keys the engine refuses is left to it (it records the failure for every row).
  if exists (select 1 from pg_catalog.jsonb_object_keys(p_rule) as k where k not in ('field', 'op', 'value')) then
    return;
  end if;
  -- Only a top-level column of a type whose JSON form the engine compares exactly as SQL does.
  select a.attname, case
           when a.atttypid in ('text'::regtype, 'character varying'::regtype) then 'text'
           when a.atttypid in ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype) then 'integer'
           when a.atttypid = 'boolean'::regtype then 'boolean'
         end
    into v_column, v_kind
    from pg_catalog.pg_attribute a
   where a.attrelid = p_table and a.attname = p_rule ->> 'field' and a.attnum > 0 and not a.attisdropped;
  if v_kind is null then
    return;
  end if;
  v_column := pg_catalog.format('%s.%I', p_row, v_column);
  v_op := case p_rule ->> 'op' when '=' then 'eq' when '!=' then 'ne' else p_rule ->> 'op' end;
  if v_op in ('eq', 'ne') then
    v_equals := flows.equals_row_filter(v_column, v_kind, p_rule -> 'value');
  elsif v_op in ('in', 'not_in') and pg_catalog.jsonb_typeof(p_rule -> 'value') = 'array'
        and pg_catalog.jsonb_array_length(p_rule -> 'value') <= 200 then
    for v_item in select value from pg_catalog.jsonb_array_elements(p_rule -> 'value') loop
      v_equals := flows.equals_row_filter(v_column, v_kind, v_item);
      if v_equals is null then
        return;
      end if;
      v_parts := v_parts || ('coalesce(' || v_equals || ', false)');
    end loop;
    v_equals := case when pg_catalog.cardinality(v_parts) = 0 then 'false' else pg_catalog.array_to_string(v_parts, ' or ') end;
  elsif v_op = 'is_null' then
    v_equals := v_column || ' is null';
  elsif v_op = 'is_not_null' then
    v_equals := v_column || ' is not null';
  end if;
  if v_equals is null then
    return;
  end if;
  -- Two-valued: a null field compares false in the engine, never "unknown".
  filter := 'coalesce(' || v_equals || ', false)';
  if v_op in ('ne', 'not_in') then
    filter := '(not ' || filter || ')';
  end if;
  exact := true;
end
$$;
revoke execute on function flows.rule_row_filter(jsonb, regclass, text, integer) from public, anon, authenticated;
comment on function flows.rule_row_filter(jsonb, regclass, text, integer) is
  'Translates a flow''s when rule into a SQL condition on a row of the table (filter), true for every row the rule could match; exact when it decides the rule as the engine does.';

-- Row-level capture, for tables whose triggers carry a row filter: the filter ran already (the trigger's WHEN).
create function flows.capture_row_change() returns trigger
language plpgsql volatile security definer set search_path = ''
-- definer: the writer (an app user under RLS) cannot insert into flows.events itself.
as $$
declare
  v_causation jsonb := nullif(pg_catalog.current_setting('flows.causation', true), '')::jsonb;
  v_new jsonb;
  v_old jsonb;
begin
  if tg_op <> 'DELETE' then
    v_new := pg_catalog.to_jsonb(new);
  end if;
  if tg_op <> 'INSERT' then
    v_old := pg_catalog.to_jsonb(old);
  end if;
  insert into flows.events (source_schema, source_table, operation, new_row, old_row, row_key, causation_depth, caused_by_execution_id)
  values (tg_table_schema, tg_table_name, tg_op, v_new, v_old, coalesce(v_new, v_old) ->> tg_argv[0],
          greatest(coalesce((v_causation ->> 'depth')::integer, 0), 0), (v_causation ->> 'execution_id')::uuid);
  -- As in capture_row_changes; the lock is taken once per transaction however many rows follow.
  perform pg_catalog.pg_advisory_xact_lock_shared(flows.drain_lock_key());
  if coalesce(pg_catalog.pg_sequence_last_value('flows.engine_quiet_until'::regclass), 0)
     <= (pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()) * 1000)::bigint then
    perform flows.request_drain(false);
  end if;
  return null;
end
$$;
revoke execute on function flows.capture_row_change() from public, anon, authenticated;
comment on function flows.capture_row_change() is
  'Row-level capture trigger of watched tables whose flows all have translatable when rules: one flows.events row for a changed row that met the trigger''s filter, then a coalesced engine kick.';

create or replace function flows.refresh_watches() returns void
language plpgsql volatile security definer set search_path = ''
-- definer: installing triggers on app tables needs their owner's rights; callers are permission-checked RPCs.
as $$
declare
  v_need record;
  v_watch record;
  v_op text;
  v_regclass regclass;
  v_key_column text;
  v_problem text;
  v_filters jsonb;
  v_filter text;
  v_parts text[];
  v_rule jsonb;
  v_translated record;
begin
  for v_need in
    select v.trigger_table as table_name, array_agg(distinct e order by e) as events
      from flows.versions v
      join flows.flows f on f.flow_id = v.flow_id
      cross join lateral unnest(v.trigger_events) as e
     where v.status = 'published' and f.is_active and v.trigger_type = 'row_change'
     group by v.trigger_table
  loop
    -- A table that cannot be watched refuses the version being published now (publish_version and
    -- rollback_to_version name it in flows.publishing_version_id). A problem that appeared later under an older
    -- published version (a dropped table or primary key) must not block every other publish: that table is skipped
    -- with a warning, its flow capturing nothing until fixed.
    v_problem := null;
    v_regclass := null;
    v_key_column := null;
    if flows.is_reserved_table(v_need.table_name) then
      v_problem := pg_catalog.format('trigger.table: %s is in a reserved schema; flows cannot watch system tables', v_need.table_name);
    else
      v_regclass := pg_catalog.to_regclass(v_need.table_name);
      if v_regclass is null then
        v_problem := pg_catalog.format('trigger.table: table %s does not exist', v_need.table_name);
      else
        select a.attname into v_key_column
          from pg_catalog.pg_index i
          join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
         where i.indrelid = v_regclass and i.indisprimary and i.indnatts = 1;
        if v_key_column is null and 'UPDATE' = any (v_need.events) then
          v_problem := pg_catalog.format(
            'trigger.table: table %s needs a single-column primary key for UPDATE events (old and new rows are paired by it)',
            v_need.table_name);
        end if;
      end if;
    end if;
    if v_problem is not null then
      if exists (select 1 from flows.versions v
                  where v.version_id = nullif(pg_catalog.current_setting('flows.publishing_version_id', true), '')::uuid
                    and v.trigger_table = v_need.table_name) then
        raise exception using errcode = 'FL003', message = v_problem;
      end if;
      raise warning 'flows: % — the published versions watching it capture nothing until this is fixed', v_problem;
      continue;
    end if;
    v_filters := '{}';
    foreach v_op in array array['INSERT', 'UPDATE', 'DELETE'] loop
      execute pg_catalog.format('drop trigger if exists %I on %s', 'flows_capture_' || pg_catalog.lower(v_op), v_regclass);
      if not v_op = any (v_need.events) then
        continue;
      end if;
      -- One filter per operation: a row is captured when some version's rule could match it. The engine reads
      -- the new row (the old one for DELETE), so the filter does too.
      v_filter := null;
      v_parts := '{}';
      for v_rule in
        select v.definition -> 'when'
          from flows.versions v join flows.flows f on f.flow_id = v.flow_id
         where v.status = 'published' and f.is_active and v.trigger_type = 'row_change'
           and v.trigger_table = v_need.table_name and v_op = any (v.trigger_events)
      loop
        if v_rule is null or pg_catalog.jsonb_typeof(v_rule) <> 'object' then
          v_parts := array['true'];
          exit;
        end if;
        select * into v_translated from flows.rule_row_filter(v_rule, v_regclass, case when v_op = 'DELETE' then 'old' else 'new' end);
        v_parts := v_parts || v_translated.filter;
      end loop;
      v_filter := pg_catalog.array_to_string(v_parts, ' or ');
      -- A condition too long to be worth evaluating per row (hundreds of rules) is left to the engine.
      if pg_catalog.cardinality(v_parts) > 0 and not 'true' = any (v_parts) and pg_catalog.length(v_filter) <= 20000 then
        v_filters := v_filters || pg_catalog.jsonb_build_object(v_op, v_filter);
        execute pg_catalog.format(
          'create trigger %I after %s on %s for each row when (%s) execute function flows.capture_row_change(%L)',
          'flows_capture_' || pg_catalog.lower(v_op), v_op, v_regclass, v_filter, coalesce(v_key_column, ''));
      else
        execute pg_catalog.format(
          'create trigger %I after %s on %s referencing %s for each statement execute function flows.capture_row_changes(%L)',
          'flows_capture_' || pg_catalog.lower(v_op), v_op, v_regclass,
          case v_op
            when 'INSERT' then 'new table as flows_new_rows'
            when 'UPDATE' then 'old table as flows_old_rows new table as flows_new_rows'
            else 'old table as flows_old_rows'
          end,
          coalesce(v_key_column, ''));
      end if;
    end loop;
    insert into flows.watches (table_name, events, key_column, row_filters)
    values (v_need.table_name, v_need.events, v_key_column, nullif(v_filters, '{}'))
    on conflict (table_name) do update
      set events = excluded.events, key_column = excluded.key_column, row_filters = excluded.row_filters, installed_at = pg_catalog.now();
  end loop;

  -- Tables no active published version needs any more: remove their triggers.
  for v_watch in
    select w.table_name from flows.watches w
     where not exists (
       select 1 from flows.versions v join flows.flows f on f.flow_id = v.flow_id
        where v.status = 'published' and f.is_active and v.trigger_type = 'row_change' and v.trigger_table = w.table_name)
  loop
    v_regclass := pg_catalog.to_regclass(v_watch.table_name);
    if v_regclass is not null then
      foreach v_op in array array['insert', 'update', 'delete'] loop
        execute pg_catalog.format('drop trigger if exists %I on %s', 'flows_capture_' || v_op, v_regclass);
      end loop;
    end if;
    delete from flows.watches where table_name = v_watch.table_name;
  end loop;
  perform pg_catalog.set_config('flows.publishing_version_id', '', true);
end
$$;
comment on function flows.refresh_watches() is
  'Installs capture triggers on every table an active published row_change version watches (only for the operations needed; row-level with a filter when every version''s when rule translates, statement-level otherwise) and removes them from tables no longer needed.';

-- Tables watched before this migration get their filters now, not at their next publish.
select flows.refresh_watches();
