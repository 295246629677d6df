-- Row level security covers every table in schema flows, now and later: each table has RLS enabled and at least one
-- policy, or is one of the documented internal tables (engine_state, watches, events, rate_buckets), which have no
-- policy and no privilege for anon or authenticated. A table added without either fails here until it is secured or documented
-- (docs/security.md, docs/sql-api.md). Also: no view in flows bypasses RLS for API roles, and no security definer
-- function in flows is callable by anon or lacks a fixed search_path.
begin;
\ir ../000-setup/helpers.psql
select plan(37);
select tests.build_world();

create temporary table internal_tables (table_name text primary key) on commit drop;
insert into internal_tables values ('engine_state'), ('watches'), ('events'), ('rate_buckets');
grant select on internal_tables to anon, authenticated;
create temporary table before_counts on commit drop as
  select (select count(*)::int from flows.events) as events,
         (select count(*)::int from flows.events where processed_at is null) as unprocessed,
         (select count(*)::int from flows.watches) as watches;

-- Coverage, derived from the catalog so new tables are included automatically.
select is(
  array(select c.relname::text from pg_catalog.pg_class c
         where c.relnamespace = 'flows'::regnamespace and c.relkind in ('r', 'p') and not c.relrowsecurity
         order by 1),
  '{}'::text[],
  'every table in schema flows has row level security enabled');

select is(
  array(select c.relname::text from pg_catalog.pg_class c
         where c.relnamespace = 'flows'::regnamespace and c.relkind in ('r', 'p')
           and not exists (select 1 from pg_catalog.pg_policy p where p.polrelid = c.oid)
           and c.relname not in (select table_name from internal_tables)
         order by 1),
  '{}'::text[],
  'every table in schema flows has at least one policy, or is a documented internal table');

select is(
  array(select p.polrelid::regclass::text from pg_catalog.pg_policy p
         where p.polrelid in (select ('flows.' || table_name)::regclass from internal_tables)
         order by 1),
  '{}'::text[],
  'internal tables have no policies');

select is(
  (select count(*)::int from pg_catalog.pg_class c
    where c.relnamespace = 'flows'::regnamespace and c.relkind in ('r', 'p') and c.relname in ('engine_state', 'watches', 'events')),
  3,
  'the core internal tables exist (a rename must update the list)');

select is(
  array(select format('%s:%s:%s', c.relname, r.rolname, priv)
          from pg_catalog.pg_class c
          cross join (values ('anon'), ('authenticated')) as r (rolname)
          cross join unnest(array['select', 'insert', 'update', 'delete', 'truncate', 'references', 'trigger']) as priv
         where c.relnamespace = 'flows'::regnamespace and c.relname in (select table_name from internal_tables)
           and pg_catalog.has_table_privilege(r.rolname, c.oid, priv)
         order by 1),
  '{}'::text[],
  'anon and authenticated hold no privilege at all on internal tables');

select is(
  array(select format('%s:%s', c.relname, r.rolname)
          from pg_catalog.pg_class c
          cross join (values ('anon'), ('authenticated')) as r (rolname)
         where c.relnamespace = 'flows'::regnamespace and c.relkind = 'S'
           and (pg_catalog.has_sequence_privilege(r.rolname, c.oid, 'usage') or pg_catalog.has_sequence_privilege(r.rolname, c.oid, 'update'))
         order by 1),
  '{}'::text[],
  'anon and authenticated cannot use or advance sequences in schema flows');

select is(
  array(select c.relname::text from pg_catalog.pg_class c
         where c.relnamespace = 'flows'::regnamespace and c.relkind in ('v', 'm')
           and (pg_catalog.has_table_privilege('anon', c.oid, 'select') or pg_catalog.has_table_privilege('authenticated', c.oid, 'select'))
           and not coalesce('security_invoker=true' = any (c.reloptions), false)
         order by 1),
  '{}'::text[],
  'no view in schema flows readable by API roles runs with its owner''s rights (which would bypass RLS)');

select is(
  array(select p.oid::regprocedure::text from pg_catalog.pg_proc p
         where p.pronamespace = 'flows'::regnamespace and p.prosecdef
           and pg_catalog.has_function_privilege('anon', p.oid, 'execute')
         order by 1),
  '{}'::text[],
  'no security definer function in schema flows is executable by anon');

select is(
  array(select p.oid::regprocedure::text from pg_catalog.pg_proc p
         where p.pronamespace = 'flows'::regnamespace and p.prosecdef
           and not exists (select 1 from unnest(p.proconfig) as setting where setting like 'search_path=%')
         order by 1),
  '{}'::text[],
  'every security definer function in schema flows pins its search_path');

-- Internal tables, by statement: anon and a tenant admin (the most privileged API user) are refused every operation.
select tests.authenticate_as_anon();
select throws_ok($sql$select tests.rows_affected($$ select * from flows.engine_state $$)$sql$, '42501', null, 'engine_state x anon x select: denied');
select throws_ok($sql$select tests.rows_affected($$ insert into flows.engine_state default values $$)$sql$, '42501', null, 'engine_state x anon x insert: denied');
select throws_ok($sql$select tests.rows_affected($$ update flows.engine_state set kick_interval_ms = 0 $$)$sql$, '42501', null, 'engine_state x anon x update: denied');
select throws_ok($sql$select tests.rows_affected($$ delete from flows.engine_state $$)$sql$, '42501', null, 'engine_state x anon x delete: denied');
select throws_ok($sql$select tests.rows_affected($$ select * from flows.watches $$)$sql$, '42501', null, 'watches x anon x select: denied');
select throws_ok($sql$select tests.rows_affected($$ insert into flows.watches (table_name, events) values ('public.x', '{INSERT}') $$)$sql$, '42501', null, 'watches x anon x insert: denied');
select throws_ok($sql$select tests.rows_affected($$ update flows.watches set events = '{}' $$)$sql$, '42501', null, 'watches x anon x update: denied');
select throws_ok($sql$select tests.rows_affected($$ delete from flows.watches $$)$sql$, '42501', null, 'watches x anon x delete: denied');
select throws_ok($sql$select tests.rows_affected($$ select * from flows.events $$)$sql$, '42501', null, 'events x anon x select: denied');
select throws_ok($sql$select tests.rows_affected($$ insert into flows.events (source_schema, source_table, operation) values ('public', 'leads', 'INSERT') $$)$sql$, '42501', null, 'events x anon x insert: denied');
select throws_ok($sql$select tests.rows_affected($$ update flows.events set processed_at = now() $$)$sql$, '42501', null, 'events x anon x update: denied');
select throws_ok($sql$select tests.rows_affected($$ delete from flows.events $$)$sql$, '42501', null, 'events x anon x delete: denied');

select tests.authenticate_as(tests.id('admin_a'));
select throws_ok($sql$select tests.rows_affected($$ select * from flows.engine_state $$)$sql$, '42501', null, 'engine_state x tenant admin x select: denied');
select throws_ok($sql$select tests.rows_affected($$ insert into flows.engine_state default values $$)$sql$, '42501', null, 'engine_state x tenant admin x insert: denied');
select throws_ok($sql$select tests.rows_affected($$ update flows.engine_state set max_causation_depth = 100 $$)$sql$, '42501', null, 'engine_state x tenant admin x update: denied');
select throws_ok($sql$select tests.rows_affected($$ delete from flows.engine_state $$)$sql$, '42501', null, 'engine_state x tenant admin x delete: denied');
select throws_ok($sql$select tests.rows_affected($$ select * from flows.watches $$)$sql$, '42501', null, 'watches x tenant admin x select: denied');
select throws_ok($sql$select tests.rows_affected($$ insert into flows.watches (table_name, events) values ('public.x', '{INSERT}') $$)$sql$, '42501', null, 'watches x tenant admin x insert: denied');
select throws_ok($sql$select tests.rows_affected($$ update flows.watches set events = '{}' $$)$sql$, '42501', null, 'watches x tenant admin x update: denied');
select throws_ok($sql$select tests.rows_affected($$ delete from flows.watches $$)$sql$, '42501', null, 'watches x tenant admin x delete: denied');
select throws_ok($sql$select tests.rows_affected($$ select * from flows.events $$)$sql$, '42501', null, 'events x tenant admin x select: denied');
select throws_ok($sql$select tests.rows_affected($$ insert into flows.events (source_schema, source_table, operation) values ('public', 'leads', 'INSERT') $$)$sql$, '42501', null, 'events x tenant admin x insert: denied');
select throws_ok($sql$select tests.rows_affected($$ update flows.events set processed_at = now() $$)$sql$, '42501', null, 'events x tenant admin x update: denied');
select throws_ok($sql$select tests.rows_affected($$ delete from flows.events $$)$sql$, '42501', null, 'events x tenant admin x delete: denied');

-- Nothing was changed by any of the refused statements.
select tests.clear_authentication();
select is((select count(*)::int from flows.engine_state), 1, 'engine_state still has its one row');
select is((select kick_interval_ms from flows.engine_state), 250, 'engine_state tunables unchanged');
select is(
  (select row((select count(*)::int from flows.events), (select count(*)::int from flows.events where processed_at is null),
              (select count(*)::int from flows.watches))::text),
  (select row(events, unprocessed, watches)::text from before_counts),
  'events (all and unprocessed) and watches are as they were');

-- The engine's role keeps what it needs.
select tests.act_as_service_role();
select is(tests.rows_affected($$ select 1 from flows.events limit 1 $$), 1, 'events x service_role x select: allowed');
select tests.clear_authentication();

select * from finish();
rollback;
