-- p_dry_run reports exactly what a real run would do and writes nothing; the import checks its arguments and the
-- shape of the v1 tables, and only trusted callers (the SQL editor's postgres, service_role) may run it.
begin;
\ir ../000-setup/helpers.psql
\ir fixture.psql
select plan(15);
set local client_min_messages = warning;

create temporary table reports (run text primary key, report jsonb not null);
insert into reports values ('dry', flows.import_v1('v1_fixture', p_dry_run => true));

select is((select report - 'flows' from reports where run = 'dry'),
  jsonb_build_object('source_schema', 'v1_fixture', 'tenant_id', flows.default_tenant(), 'dry_run', true,
                     'imported', 2, 'skipped', 0, 'refused', 4, 'executions_imported', 3),
  'a dry run counts what would be imported and refused');
select results_eq(
  $$select e.value ->> 'v1_flow_id', e.value ->> 'status', e.value ->> 'key', e.value ->> 'version_status',
           e.value ->> 'flow_id', jsonb_array_length(e.value -> 'reasons')
      from reports as r, jsonb_array_elements(r.report -> 'flows') as e where r.run = 'dry'$$,
  $$values ('1', 'would_import', 'notify-pm-on-high-priority-task', 'published', null::text, 0),
           ('2', 'would_import', 'notify-pm-on-high-priority-task-2', 'draft', null, 0),
           ('3', 'refused', null, null, null, 1),
           ('4', 'refused', null, null, null, 1),
           ('5', 'refused', null, null, null, 3),
           ('6', 'refused', null, null, null, 1)$$,
  'each flow is reported as would_import (with its key, no ids) or refused');

select is(
  (select array[(select count(*) from flows.flows), (select count(*) from flows.versions),
                (select count(*) from flows.executions), (select count(*) from flows.v1_imports),
                (select count(*) from flows.v1_execution_imports), (select count(*) from flows.watches)]::integer[]),
  array[0, 0, 0, 0, 0, 0],
  'a dry run writes no flow, version, execution, mapping or watch');
select hasnt_trigger('v1_fixture', 'tasks', 'flows_capture_update', 'nor a capture trigger');

insert into reports values ('real', flows.import_v1('v1_fixture'));
select is((select report -> 'imported' from reports where run = 'real'), '2'::jsonb,
  'the real run after a dry run still imports');
select results_eq(
  $$select e.value ->> 'v1_flow_id', e.value -> 'definition' from reports as r, jsonb_array_elements(r.report -> 'flows') as e
     where r.run = 'dry' and e.value ? 'definition' order by 1$$,
  $$select m.v1_flow_id, v.definition from flows.v1_imports as m join flows.versions as v using (version_id) order by 1$$,
  'the dry run shows the very definitions the real run stores');
select results_eq(
  $$select e.value ->> 'v1_flow_id', e.value ->> 'key', e.value -> 'reasons', e.value -> 'executions_imported'
      from reports as r, jsonb_array_elements(r.report -> 'flows') as e where r.run = 'dry'$$,
  $$select e.value ->> 'v1_flow_id', e.value ->> 'key', e.value -> 'reasons', e.value -> 'executions_imported'
      from reports as r, jsonb_array_elements(r.report -> 'flows') as e where r.run = 'real'$$,
  'and the same keys, reasons and execution counts');

-- Arguments and the shape of the v1 tables.
select throws_ok($$select flows.import_v1('no_such_schema')$$, 'FL002', 'schema "no_such_schema" not found',
  'an unknown schema is not found');
create schema v1_empty;
select throws_ok($$select flows.import_v1('v1_empty')$$, 'FL002', 'v1 table v1_empty.flows not found',
  'a schema without the v1 tables is not found');
create schema v1_odd;
create table v1_odd.flows (flow_id bigint primary key, name text, trigger_table text, trigger_event text);
create table v1_odd.rules (rule_id bigint, flow_id bigint, field text, operator text, value text);
create table v1_odd.actions (action_id bigint, flow_id bigint, type text, config jsonb);
select throws_ok($$select flows.import_v1('v1_odd')$$, 'FL007',
  'v1_odd.flows: column is_enabled is missing; import_v1 reads the v1 model flows(flow_id, name, trigger_table, trigger_event, is_enabled)',
  'tables of another shape are refused, naming the missing column');
alter table v1_odd.flows add column is_enabled boolean;
insert into v1_odd.flows values (1, 'No history', 'v1_fixture.tasks', 'INSERT', false);
insert into v1_odd.actions values (1, 1, 'FUNCTION_CALL', '"{\"function_name\": \"audit\"}"');
select is((select r - 'flows' - 'tenant_id' from flows.import_v1('v1_odd', true) as r),
  '{"source_schema": "v1_odd", "dry_run": true, "imported": 1, "skipped": 0, "refused": 0, "executions_imported": 0}'::jsonb, 'flow_executions is optional, and a config stored as JSON text is read as JSON');
select throws_ok($$select flows.import_v1('flows')$$, 'FL007', null, 'the flows schema itself is refused');

-- Who may run it.
insert into tests.ids values ('admin', tests.create_user('admin@example.com'));
select tests.add_member(flows.default_tenant(), tests.id('admin'), 'admin');
select tests.authenticate_as(tests.id('admin'));
select throws_ok($$select flows.import_v1('v1_fixture', true)$$, '42501', null,
  'a signed-in admin cannot run the import (it reads any schema)');
select tests.authenticate_as_anon();
select throws_ok($$select flows.import_v1('v1_fixture', true)$$, '42501', null, 'nor can anon');
select tests.act_as_service_role();
select is((flows.import_v1('v1_fixture', true) -> 'skipped'), '2'::jsonb, 'service_role can');

select * from finish();
rollback;
