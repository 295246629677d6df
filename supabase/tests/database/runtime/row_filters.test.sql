-- Capture only rows some flow can use: when rules become a row-level trigger's condition, translated exactly where
-- the engine's coercion can be mirrored and as "maybe" elsewhere, so no row a flow could match is left out.
begin;
\ir ../000-setup/helpers.psql
select plan(36);

create table public.filter_deals (
  id bigint generated always as identity primary key,
  stage text,
  amount integer,
  big bigint,
  won boolean,
  note varchar(40),
  data jsonb,
  closed_at timestamptz
);

create function pg_temp.filter(rule jsonb) returns text language sql as $$
  select (flows.rule_row_filter(rule, 'public.filter_deals'::regclass, 'new')).filter
$$;
create function pg_temp.exact(rule jsonb) returns boolean language sql as $$
  select (flows.rule_row_filter(rule, 'public.filter_deals'::regclass, 'new')).exact
$$;

-- Translations.
select is(pg_temp.filter('{"field": "stage", "op": "eq", "value": "won"}'), 'coalesce(new.stage collate "C" = ''won'', false)',
  'eq on a text column compares bytes');
select is(pg_temp.filter('{"field": "amount", "op": ">", "value": 5}'), 'true', 'an ordering operator is left to the engine');
select is(pg_temp.exact('{"field": "amount", "op": ">", "value": 5}'), false, '... and says so');
select is(pg_temp.filter('{"field": "amount", "op": "eq", "value": "5"}'), 'coalesce(new.amount::float8 = ''5''::float8, false)',
  'a numeric string equals an integer column as a number');
select is(pg_temp.filter('{"field": "amount", "op": "eq", "value": "five"}'), 'coalesce(false, false)',
  'a string that is no number never equals an integer column');
select is(pg_temp.filter('{"field": "amount", "op": "eq", "value": " 5"}'), 'true',
  'a numeric string with spaces is left to the engine');
select is(pg_temp.filter('{"field": "amount", "op": "eq", "value": 1e400}'), 'true',
  'a number out of float8''s range is left to the engine');
select is(pg_temp.filter('{"field": "stage", "op": "eq", "value": 5}'), 'true', 'a number against a text column is left to the engine');
select is(pg_temp.filter('{"field": "stage", "op": "eq", "value": "2024-01-01"}'), 'true',
  'a date-like value against a text column is left to the engine (it compares instants)');
select is(pg_temp.filter('{"field": "won", "op": "eq", "value": "true"}'), 'coalesce(new.won = true, false)',
  'the string "true" equals a true boolean');
select is(pg_temp.filter('{"field": "stage", "op": "eq", "value": null}'), 'coalesce(new.stage is null, false)', 'eq null is is null');
select is(pg_temp.filter('{"field": "stage", "op": "ne", "value": "lost"}'), '(not coalesce(new.stage collate "C" = ''lost'', false))',
  'ne lets a null field through, as the engine does');
select is(pg_temp.filter('{"field": "stage", "op": "in", "value": ["won", "closed"]}'),
  'coalesce(coalesce(new.stage collate "C" = ''won'', false) or coalesce(new.stage collate "C" = ''closed'', false), false)',
  'in is a disjunction of equalities');
select is(pg_temp.filter('{"field": "data", "op": "eq", "value": "x"}'), 'true', 'a jsonb column is left to the engine');
select is(pg_temp.filter('{"field": "closed_at", "op": "is_null"}'), 'true', 'so is a timestamp column');
select is(pg_temp.filter('{"field": "customer.tier", "op": "eq", "value": "gold"}'), 'true', 'and a nested path');
select is(pg_temp.filter('{"field": "missing", "op": "eq", "value": "x"}'), 'true', 'and a field that is no column');
select is(pg_temp.filter('{"field": "stage", "op": "eq", "value": "o''brien"}'), 'coalesce(new.stage collate "C" = ''o''''brien'', false)',
  'a value is quoted as a literal');
select is(pg_temp.filter('{"all": [{"field": "stage", "op": "eq", "value": "won"}, {"field": "amount", "op": "gt", "value": 5}]}'),
  '(coalesce(new.stage collate "C" = ''won'', false))', 'all keeps what translates and drops the rest');
select is(pg_temp.filter('{"any": [{"field": "stage", "op": "eq", "value": "won"}, {"field": "amount", "op": "gt", "value": 5}]}'),
  'true', 'any with an untranslatable part lets every row through');
select is(pg_temp.filter('{"not": {"all": [{"field": "stage", "op": "eq", "value": "won"}, {"field": "amount", "op": "gt", "value": 5}]}}'),
  'true', 'not of an inexact condition lets every row through');
select is(pg_temp.filter('{"not": {"field": "stage", "op": "eq", "value": "won"}}'), '(not coalesce(new.stage collate "C" = ''won'', false))',
  'not of an exact condition is negated');

select is(pg_temp.filter('{"field": "stage", "op": "eq", "value": "won", "note": "x"}'), 'true',
  'a condition with a key the engine refuses is left to the engine');
select is(pg_temp.filter('{"all": "{{x}}"}'), 'true', 'a malformed rule (publishing does not check rules deeply) is left to the engine');
select is(pg_temp.filter((repeat('{"not": ', 14) || '{"field": "stage", "op": "eq", "value": "won"}' || repeat('}', 14))::jsonb), 'true',
  'so is one nested deeper than the engine accepts');
select is(pg_temp.filter(jsonb_build_object('field', 'stage', 'op', 'in', 'value', (select jsonb_agg(g) from generate_series(1, 201) g))), 'true',
  'and an in list longer than 200 values');

-- Installed triggers: row-level with the filter when every version translates, statement-level otherwise.
select (flows.create_flow('filter-won', 'Won deals')).flow_id as flow_won \gset
select (flows.create_draft(:'flow_won', tests.row_change_definition('filter_deals', array['INSERT', 'UPDATE'])
        || '{"when": {"field": "stage", "op": "eq", "value": "won"}}')).version_id as won1 \gset
select flows.publish_version(:'won1') is not null as published \gset
select is((select row_filters from flows.watches where table_name = 'public.filter_deals'),
  '{"INSERT": "coalesce(new.stage collate \"C\" = ''won'', false)", "UPDATE": "coalesce(new.stage collate \"C\" = ''won'', false)"}'::jsonb,
  'the watch records each operation''s filter');

update flows.engine_state set last_kick_at = '-infinity';
select setval('flows.engine_quiet_until', 0) is not null as reset \gset
insert into public.filter_deals (stage) values ('new'), ('lost'), (null);
select is((select count(*)::int from flows.events where source_table = 'filter_deals'), 0, 'rows no flow can use are not captured');
select is((select last_kick_at from flows.engine_state), '-infinity'::timestamptz, '... and ask for no invocation');
insert into public.filter_deals (stage, amount) values ('won', 7);
select is((select new_row ->> 'amount' from flows.events where source_table = 'filter_deals' and operation = 'INSERT'), '7',
  'a row a flow can use is captured whole');
select ok((select last_kick_at > '-infinity' from flows.engine_state), '... and asks for a flow-engine invocation');
update public.filter_deals set stage = 'won' where stage = 'new';
select is((select old_row ->> 'stage' from flows.events where source_table = 'filter_deals' and operation = 'UPDATE'), 'new',
  'an update carries the old row beside the new');

-- A second flow on the table without a when rule: every row is wanted again.
select (flows.create_flow('filter-all', 'All deals')).flow_id as flow_all \gset
select (flows.create_draft(:'flow_all', tests.row_change_definition('filter_deals', array['INSERT']))).version_id as all1 \gset
select flows.publish_version(:'all1') is not null as published \gset
select is(
  (select array_agg(tgname::text || ':' || case when (tgtype & 1) = 1 then 'row' else 'statement' end order by tgname)
     from pg_catalog.pg_trigger where tgrelid = 'public.filter_deals'::regclass and tgname like 'flows_capture_%'),
  array['flows_capture_insert:statement', 'flows_capture_update:row'],
  'an operation some flow wants whole gets the statement-level trigger; the other keeps its filter');

-- The filter depends on the column it names: dropping the column needs cascade, which drops the trigger; the tick
-- puts it back, translated again without the column.
select throws_ok($$alter table public.filter_deals drop column stage$$, '2BP01', null,
  'a column a row filter names cannot be dropped without cascade');
alter table public.filter_deals drop column stage cascade;
select is((select count(*)::int from pg_catalog.pg_trigger where tgrelid = 'public.filter_deals'::regclass and tgname = 'flows_capture_update'),
  0, 'cascade drops the filtered trigger');
select flows.tick() is not null as ticked \gset
select is(
  (select array_agg(tgname::text || ':' || case when (tgtype & 1) = 1 then 'row' else 'statement' end order by tgname)
     from pg_catalog.pg_trigger where tgrelid = 'public.filter_deals'::regclass and tgname like 'flows_capture_%'),
  array['flows_capture_insert:statement', 'flows_capture_update:statement'],
  'the tick reinstalls it; without the column the rule no longer filters');

select * from finish();
rollback;
