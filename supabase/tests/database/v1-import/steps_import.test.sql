-- flows.import_v1 on seed 000's model (flows with a steps column, flows_runs): manual flows taking the lead as
-- input, published when active, finished runs as executions pinned to version 1, pending and running runs left for
-- a later run, refusals naming the step and field, and re-runs that import nothing twice but pick up new runs.
begin;
\ir ../000-setup/helpers.psql
\ir steps_fixture.psql
select plan(24);
set local client_min_messages = warning;

create temporary table reports (run integer primary key, report jsonb not null);
insert into reports values (1, flows.import_v1('v1_steps'));

create function pg_temp.entries(run_number integer)
returns table (v1_flow_id text, status text, key text, version_status text, executions_imported integer)
language sql stable set search_path = '' as $$
  select pg_catalog.right(e.value ->> 'v1_flow_id', 2), e.value ->> 'status', e.value ->> 'key',
         e.value ->> 'version_status', (e.value ->> 'executions_imported')::integer
    from pg_temp.reports as r, jsonb_array_elements(r.report -> 'flows') as e
   where r.run = run_number
$$;

create function pg_temp.definition_of(v1_flow_id text) returns jsonb
language sql stable set search_path = '' as $$
  select v.definition from flows.v1_imports as m join flows.versions as v on v.version_id = m.version_id
   where m.source_schema = 'v1_steps' and m.v1_flow_id = 'a0000000-0000-4000-8000-0000000000' || definition_of.v1_flow_id
$$;

-- First run ----------------------------------------------------------------------------------------------------

select is((select report - 'flows' from reports where run = 1),
  jsonb_build_object('source_schema', 'v1_steps', 'tenant_id', flows.default_tenant(), 'dry_run', false,
                     'imported', 3, 'skipped', 0, 'refused', 2, 'executions_imported', 4),
  'a flows table with a steps column is imported as seed 000''s model: three flows and four runs, two flows refused');

select results_eq($$select * from pg_temp.entries(1)$$,
  $$values ('01', 'imported', 'qualificar-lead', 'published', 3),
           ('02', 'imported', 'v1-flow-a0000000-0000-4000-8000-000000000002', 'draft', 1),
           ('03', 'refused', null, null, 0),
           ('04', 'refused', null, null, 0),
           ('05', 'imported', 'qualificar-lead-2', 'published', 0)$$,
  'every v1 flow is reported in id order; keys are slugs of the names (or of the id), de-duplicated');

select is(pg_temp.definition_of('01'), $${
  "name": "Qualificar lead",
  "trigger": {"type": "manual"},
  "parameters": {
    "type": "object", "required": ["lead_id", "variables"], "additionalProperties": false,
    "properties": {
      "lead_id": {"type": "integer", "description": "the lead the run is for (leadId in v1)"},
      "variables": {"type": "object", "description": "values the steps read as input.variables.<name> (variables.<name> in v1)"}
    }
  },
  "steps": [
    {"id": "step-1", "type": "tabular", "name": "Atualizar status",
     "config": {"webhook_url": "https://example.bitrix24.com/rest/1/abc/", "id": "{{input.lead_id}}",
                "field": "STATUS_ID", "value": "QUALIFIED",
                "additional_fields": [{"field": "UF_CRM_ORIGEM", "value": "{{input.variables.origem}}"},
                                      {"field": "COMMENTS", "value": "lead {{input.lead_id}} qualificado"}]}},
    {"id": "step-2", "type": "wait", "name": "Esperar o Bitrix", "config": {"seconds": 300, "reason": "Bitrix indexa o lead"}},
    {"id": "step-3", "type": "http", "name": "Avisar o CRM", "continue_on_error": true, "timeout": 5000,
     "retry": {"max_attempts": 3, "delay": 2000, "backoff": "fixed"},
     "config": {"method": "POST", "url": "https://crm.example.com/leads/{{input.lead_id}}/qualified",
                "headers": {"Authorization": "Bearer token-1"}, "body": {"lead": "{{input.lead_id}}", "nota": null}}}
  ]
}$$::jsonb,
  'a manual flow on {lead_id, variables}: placeholders rewritten, tabular aimed at the lead, http_call as http with '
  'its timeout and fixed-delay retry on the step, ids and names kept');

select is(pg_temp.definition_of('02'), $${
  "name": "v1 flow a0000000-0000-4000-8000-000000000002",
  "trigger": {"type": "manual"},
  "parameters": {
    "type": "object", "required": ["lead_id"], "additionalProperties": false,
    "properties": {
      "lead_id": {"type": "integer", "description": "the lead the run is for (leadId in v1)"},
      "variables": {"type": "object", "description": "values the steps read as input.variables.<name> (variables.<name> in v1)"}
    }
  },
  "steps": [
    {"id": "http_1", "type": "http", "name": "v1 step 1 (http_call)", "retry": {"max_attempts": 1},
     "config": {"method": "GET", "url": "https://crm.example.com/ping"}}
  ]
}$$::jsonb,
  'without ids, steps get <type>_<position>; without retry settings an http_call is tried once, as in v1; '
  'variables are required only when a step reads them');

select results_eq(
  $$select pg_catalog.right(m.v1_flow_id, 2), f.name, f.description, f.is_active, v.version_number, v.status,
           v.published_at is not null, v.change_notes, v.trigger_type
      from flows.v1_imports as m
      join flows.flows as f on f.flow_id = m.flow_id
      join flows.versions as v on v.version_id = m.version_id
     order by m.v1_flow_id$$,
  $$values
    ('01', 'Qualificar lead', 'Marca o lead como qualificado no Bitrix e avisa o CRM', true, 1, 'published', true,
     'Imported from v1 (v1_steps.flows, id a0000000-0000-4000-8000-000000000001)', 'manual'),
    ('02', 'v1 flow a0000000-0000-4000-8000-000000000002',
     'Imported from v1 (v1_steps.flows, id a0000000-0000-4000-8000-000000000002)', true, 1, 'draft', false,
     'Imported from v1 (v1_steps.flows, id a0000000-0000-4000-8000-000000000002)', 'manual'),
    ('05', 'Qualificar Lead!', 'Imported from v1 (v1_steps.flows, id a0000000-0000-4000-8000-000000000005)', true, 1,
     'published', true, 'Imported from v1 (v1_steps.flows, id a0000000-0000-4000-8000-000000000005)', 'manual')$$,
  'active flows get a published version 1, the inactive one a draft; descricao is the flow''s description');

select is((select count(*)::integer from flows.watches), 0, 'manual flows watch no table');

select results_eq(
  $$select pg_catalog.right(i.v1_execution_id, 2), e.status, e.trigger_type, e.version_id = m.version_id, e.input,
           e.created_at, e.started_at, e.finished_at, e.executed_by, e.result, e.error_message
      from flows.v1_execution_imports as i
      join flows.executions as e on e.execution_id = i.execution_id
      join flows.v1_imports as m on m.flow_id = e.flow_id
     order by i.v1_execution_id$$,
  $$values
    ('01', 'completed', 'manual', true, '{"lead_id": 42}'::jsonb, '2025-11-01 09:00:00+00'::timestamptz,
     '2025-11-01 09:00:00+00'::timestamptz, '2025-11-01 09:05:02+00'::timestamptz,
     'c0000000-0000-4000-8000-000000000001'::uuid, '{"step-1": {"result": true}}'::jsonb, null::text),
    ('02', 'failed', 'manual', true, '{"lead_id": 43}', '2025-11-02 10:00:00+00', '2025-11-02 10:00:00+00',
     '2025-11-02 10:00:01+00', 'c0000000-0000-4000-8000-000000000001', null, 'step-1: Bitrix answered 400'),
    ('03', 'cancelled', 'manual', true, '{"lead_id": 44}', '2025-11-03 11:00:00+00', '2025-11-03 11:00:00+00',
     '2025-11-03 11:00:00+00', null, null, null),
    ('06', 'completed', 'manual', true, '{"lead_id": 50}', '2025-10-15 08:00:00+00', '2025-10-15 08:00:00+00',
     '2025-10-15 08:00:01+00', null, '{"status": 200}', null)$$,
  'finished runs become executions pinned to version 1: the lead as input, v1 times, who ran it, result and error');

select is(
  (select e.context from flows.executions as e join flows.v1_execution_imports as i using (execution_id)
    where i.v1_execution_id = 'b0000000-0000-4000-8000-000000000001'),
  '{"v1": {"source_schema": "v1_steps", "run_id": "b0000000-0000-4000-8000-000000000001", "status": "completed",
           "lead_id": 42, "executed_by": "c0000000-0000-4000-8000-000000000001",
           "logs": [{"step": "step-1", "level": "info", "message": "ok"}]}}'::jsonb,
  'the v1 run, with its logs, stays in context.v1');

select is(
  (select e.value -> 'executions_refused' from reports as r, jsonb_array_elements(r.report -> 'flows') as e
    where r.run = 1 and e.value ->> 'v1_flow_id' = 'a0000000-0000-4000-8000-000000000001'),
  '[{"v1_execution_id": "b0000000-0000-4000-8000-000000000005",
     "reason": "status: \"running\": the run has not finished in v1; it is imported once it has"},
    {"v1_execution_id": "b0000000-0000-4000-8000-000000000004",
     "reason": "status: \"pending\": the run has not finished in v1; it is imported once it has"}]'::jsonb,
  'running and pending runs are not imported, and the report says why');

select results_eq(
  $$select pg_catalog.right(e.value ->> 'v1_flow_id', 2), e.value -> 'reasons'
      from reports as r, jsonb_array_elements(r.report -> 'flows') as e
     where r.run = 1 and e.value ->> 'status' = 'refused'
     order by 1$$,
  $$values
    ('03', '["steps[0].type: unknown step type \"email\" (known: tabular, http_call, wait)",
             "steps[1].config.url: missing (http_call needs method and url)",
             "steps[2].config.seconds: 7200 is not a number from 0 to 3600",
             "steps[3].config: placeholder \"{{user.id}}\" is not one v1 resolves (known: {{leadId}}, {{variables.<name>}})"]'::jsonb),
    ('04', '["steps: none; a flow needs at least one step"]')$$,
  'refused flows are reported with every reason, each naming the step and field');

select is(
  (select array[(select count(*) from flows.flows where description like '%a0000000-0000-4000-8000-000000000003%'),
                (select count(*) from flows.v1_execution_imports
                  where v1_execution_id = 'b0000000-0000-4000-8000-000000000007')]::integer[]),
  array[0, 0], 'a refused flow writes nothing, not even its runs');

-- The imported flow runs ------------------------------------------------------------------------------------------

-- No engine URL in Vault here: the kick's warning is expected.
set local client_min_messages = error;
select lives_ok($$select flows.start_run('qualificar-lead', '{"lead_id": 7, "variables": {"origem": "site"}}')$$,
  'the published flow starts with a lead and variables');
set local client_min_messages = warning;
select results_eq(
  $$select e.status, e.trigger_type, e.input, e.version_id = m.version_id
      from flows.executions as e join flows.v1_imports as m on m.flow_id = e.flow_id
     where m.v1_flow_id = 'a0000000-0000-4000-8000-000000000001'
       and not exists (select 1 from flows.v1_execution_imports as i where i.execution_id = e.execution_id)$$,
  $$values ('pending', 'manual', '{"lead_id": 7, "variables": {"origem": "site"}}'::jsonb, true)$$,
  'as a pending manual execution pinned to version 1');
select throws_ok($$select flows.start_run('qualificar-lead', '{"lead_id": 7}')$$, 'FL007',
  'input.variables: Required', 'a run of a flow that reads variables needs them');
select throws_ok($$select flows.start_run('qualificar-lead', '{"lead_id": "7", "variables": {}}')$$, 'FL007',
  'input.lead_id: Expected integer, received string', 'the lead is a whole number');
select throws_ok($$select flows.start_run('v1-flow-a0000000-0000-4000-8000-000000000002', '{"lead_id": 7}')$$, 'FL002',
  'flow "v1-flow-a0000000-0000-4000-8000-000000000002" has no published version',
  'the inactive flow''s draft does not run until it is published');

-- Second run: nothing new ------------------------------------------------------------------------------------------

insert into reports values (2, flows.import_v1('v1_steps'));
select is((select report - 'flows' - 'tenant_id' - 'source_schema' - 'dry_run' from reports where run = 2),
  '{"imported": 0, "skipped": 3, "refused": 2, "executions_imported": 0}'::jsonb,
  'a second run imports nothing and reports the imported flows as skipped');
select results_eq($$select v1_flow_id, status, key, version_status from pg_temp.entries(2) where status = 'skipped'$$,
  $$select v1_flow_id, 'skipped', key, version_status from pg_temp.entries(1) where status = 'imported'$$,
  'skipped flows name the flow and version they became');
select is(
  (select array[(select count(*) from flows.flows), (select count(*) from flows.versions),
                (select count(*) from flows.executions), (select count(*) from flows.v1_imports),
                (select count(*) from flows.v1_execution_imports)]::integer[]),
  array[3, 3, 5, 3, 4],
  'and writes nothing (the fifth execution is the manual run above)');

-- Third run: a run that finished since, a new run, a fixed flow ---------------------------------------------------

update v1_steps.flows_runs set status = 'completed', started_at = '2025-11-05 08:00:00+00',
                               finished_at = '2025-11-05 08:05:00+00'
 where id = 'b0000000-0000-4000-8000-000000000004';
insert into v1_steps.flows_runs (id, flow_id, lead_id, status, started_at, finished_at) values
  ('b0000000-0000-4000-8000-000000000008', 'a0000000-0000-4000-8000-000000000005', 70, 'completed',
   '2025-11-06 08:00:00+00', '2025-11-06 08:00:00+00');
update v1_steps.flows set steps = '[{"id": "pause", "type": "wait", "config": {"seconds": 60}}]'
 where id = 'a0000000-0000-4000-8000-000000000004';
insert into reports values (3, flows.import_v1('v1_steps'));

select is((select report - 'flows' - 'tenant_id' - 'source_schema' - 'dry_run' from reports where run = 3),
  '{"imported": 1, "skipped": 3, "refused": 1, "executions_imported": 2}'::jsonb,
  'a later run imports the flow fixed since and the runs not yet imported');
select results_eq($$select * from pg_temp.entries(3) where v1_flow_id in ('01', '04', '05')$$,
  $$values ('01', 'skipped', 'qualificar-lead', 'published', 1),
           ('04', 'imported', 'sem-passos', 'published', 0),
           ('05', 'skipped', 'qualificar-lead-2', 'published', 1)$$,
  'the run that finished and the new run land on their flows'' version 1');
select is(
  (select e.value -> 'executions_refused' -> 0 ->> 'v1_execution_id' from reports as r,
          jsonb_array_elements(r.report -> 'flows') as e
    where r.run = 3 and e.value ->> 'v1_flow_id' = 'a0000000-0000-4000-8000-000000000001'),
  'b0000000-0000-4000-8000-000000000005', 'the run still running is still left for later');
select is((select array_agg(pg_catalog.right(i.v1_execution_id, 2) order by i.v1_execution_id) from flows.v1_execution_imports as i),
  array['01', '02', '03', '04', '06', '08'], 'every finished v1 run is imported exactly once');

-- Deleting an imported flow forgets its mapping, so it can be imported again.
select flows.delete_flow(flow_id) from flows.v1_imports where v1_flow_id = 'a0000000-0000-4000-8000-000000000002';
insert into reports values (4, flows.import_v1('v1_steps'));
select results_eq($$select * from pg_temp.entries(4) where v1_flow_id = '02'$$,
  $$values ('02', 'imported', 'v1-flow-a0000000-0000-4000-8000-000000000002', 'draft', 1)$$,
  'a deleted imported flow comes back with its runs on the next import');

select * from finish();
rollback;
