-- flows.import_v1 reads which v1 model a schema holds and hands it to that model's importer; a dry run of the steps
-- model writes nothing; the steps model's tables are checked for the columns it reads (English and Portuguese
-- names); and only trusted callers run any of the importers.
begin;
\ir ../000-setup/helpers.psql
\ir fixture.psql
\ir steps_fixture.psql
select plan(17);
set local client_min_messages = warning;

create temporary table reports (run text primary key, report jsonb not null);
insert into reports values ('dry', flows.import_v1('v1_steps', p_dry_run => true));

-- Dry run ------------------------------------------------------------------------------------------------------

select is((select report - 'flows' from reports where run = 'dry'),
  jsonb_build_object('source_schema', 'v1_steps', 'tenant_id', flows.default_tenant(), 'dry_run', true,
                     'imported', 3, 'skipped', 0, 'refused', 2, 'executions_imported', 4),
  'a dry run counts what would be imported and refused');
select results_eq(
  $$select pg_catalog.right(e.value ->> 'v1_flow_id', 2), e.value ->> 'status', e.value ->> 'key',
           e.value ->> 'version_status', e.value ->> 'flow_id', jsonb_array_length(e.value -> 'reasons')
      from reports as r, jsonb_array_elements(r.report -> 'flows') as e where r.run = 'dry'$$,
  $$values ('01', 'would_import', 'qualificar-lead', 'published', null::text, 0),
           ('02', 'would_import', 'v1-flow-a0000000-0000-4000-8000-000000000002', 'draft', null, 0),
           ('03', 'refused', null, null, null, 4),
           ('04', 'refused', null, null, null, 1),
           ('05', 'would_import', 'qualificar-lead-2', 'published', null, 0)$$,
  'each flow is reported as would_import (with its key, no ids) or refused');
select is(
  (select array[(select count(*) from flows.flows), (select count(*) from flows.versions),
                (select count(*) from flows.executions), (select count(*) from flows.v1_imports),
                (select count(*) from flows.v1_execution_imports)]::integer[]),
  array[0, 0, 0, 0, 0],
  'a dry run writes no flow, version, execution or mapping');

insert into reports values ('real', flows.import_v1('v1_steps'));
select results_eq(
  $$select e.value ->> 'v1_flow_id', e.value -> 'definition' from reports as r, jsonb_array_elements(r.report -> 'flows') as e
     where r.run = 'dry' and e.value ? 'definition' order by 1$$,
  $$select m.v1_flow_id, v.definition from flows.v1_imports as m join flows.versions as v using (version_id)
     where m.source_schema = 'v1_steps' order by 1$$,
  'the dry run shows the very definitions the real run stores');
select results_eq(
  $$select e.value ->> 'v1_flow_id', e.value ->> 'key', e.value -> 'reasons', e.value -> 'executions_imported',
           e.value -> 'executions_refused'
      from reports as r, jsonb_array_elements(r.report -> 'flows') as e where r.run = 'dry'$$,
  $$select e.value ->> 'v1_flow_id', e.value ->> 'key', e.value -> 'reasons', e.value -> 'executions_imported',
           e.value -> 'executions_refused'
      from reports as r, jsonb_array_elements(r.report -> 'flows') as e where r.run = 'real'$$,
  'and the same keys, reasons, execution counts and refused runs');

-- Which model ----------------------------------------------------------------------------------------------------

insert into reports values ('rules', flows.import_v1('v1_fixture'));
select is(
  (select array_agg(distinct v.trigger_type order by v.trigger_type) from flows.v1_imports as m
     join flows.versions as v using (version_id) where m.source_schema = 'v1_fixture'),
  array['row_change'], 'a schema of the rules model still goes to the rules importer');
select is((select report -> 'imported' from reports where run = 'rules'), '2'::jsonb, 'which imports as before');

create schema v1_neither;
create table v1_neither.flows (id bigint primary key, nome text, etapas jsonb);
select throws_ok($$select flows.import_v1('v1_neither')$$, 'FL002',
  'no v1 model in schema "v1_neither": v1_neither.flows has no steps column (seed 000''s model) and there is no v1_neither.rules table (the rules model)',
  'a flows table of neither model is named as such');

-- The columns read, in either language.
create schema v1_en;
create table v1_en.flows (id bigint primary key, name text, description text, steps text, is_enabled boolean);
insert into v1_en.flows values
  (1, 'Ping CRM', 'Calls the CRM', '[{"id": "ping", "type": "http_call", "config": {"method": "GET", "url": "https://crm.example.com/{{leadId}}"}}]', true);
select is((select jsonb_build_object('report', r - 'flows' - 'tenant_id', 'status', r -> 'flows' -> 0 ->> 'version_status')
             from flows.import_v1('v1_en', true) as r),
  '{"report": {"source_schema": "v1_en", "dry_run": true, "imported": 1, "skipped": 0, "refused": 0, "executions_imported": 0},
    "status": "published"}'::jsonb,
  'name, description and is_enabled are read too; steps kept as text are read as JSON; flows_runs is optional');
insert into reports values ('en', flows.import_v1('v1_en'));
select is((select f.description from reports as r join flows.flows as f on f.flow_id = (r.report -> 'flows' -> 0 ->> 'flow_id')::uuid
            where r.run = 'en'),
  'Calls the CRM', 'the description becomes the flow''s');

create schema v1_short;
create table v1_short.flows (id bigint primary key, steps jsonb);
select throws_ok($$select flows.import_v1('v1_short')$$, 'FL007',
  'v1_short.flows: column nome or name, is_active or is_enabled is missing; import_v1 reads the v1 model flows(id, nome or name, steps, is_active or is_enabled[, descricao or description])',
  'a flows table without a name or an active flag is refused, naming what is missing');
alter table v1_short.flows add column nome text, add column is_active boolean;
create table v1_short.flows_runs (id bigint primary key, flow_id bigint, estado text);
select throws_ok($$select flows.import_v1('v1_short')$$, 'FL007',
  'v1_short.flows_runs: column status is missing; import_v1 reads the v1 model flows_runs(id, flow_id, status[, lead_id, logs, result, error_message, started_at, finished_at, executed_by])',
  'so is a flows_runs table without a status');

-- Who may run it ------------------------------------------------------------------------------------------------

select is(
  array(select format('%s:%s', p.proname, r.rolname) from pg_catalog.pg_proc as p
          cross join (values ('anon'), ('authenticated'), ('service_role')) as r (rolname)
         where p.pronamespace = 'flows'::regnamespace
           and p.proname in ('import_v1', 'v1_import_rules', 'v1_import_steps', 'v1_convert_steps', 'v1_unique_key')
           and pg_catalog.has_function_privilege(r.rolname, p.oid, 'execute')
         order by 1),
  array['import_v1:service_role', 'v1_convert_steps:service_role', 'v1_import_rules:service_role',
        'v1_import_steps:service_role', 'v1_unique_key:service_role'],
  'only service_role (and postgres) may execute the importers and their helpers');
insert into tests.ids values ('admin', tests.create_user('admin@example.com'));
select tests.add_member(flows.default_tenant(), tests.id('admin'), 'admin');
select tests.authenticate_as(tests.id('admin'));
select throws_ok($$select flows.import_v1('v1_steps', true)$$, '42501', null,
  'a signed-in admin cannot run the import (it reads any schema)');
select throws_ok($$select flows.v1_import_steps('v1_steps', true)$$, '42501', null,
  'nor the steps importer directly');
select tests.act_as_service_role();
select is((flows.import_v1('v1_steps', true) -> 'skipped'), '3'::jsonb, 'service_role can');
select is((flows.v1_import_rules('v1_fixture', true) -> 'skipped'), '2'::jsonb,
  'and can call the rules importer under its new name');

select * from finish();
rollback;
