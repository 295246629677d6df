-- Bad definitions are refused with FL003 and a message naming the path (the first problem; the error detail
-- and flows.validate_definition list them all). Drafts may be incomplete but must be an object within 512 KB.
begin;
\ir ../000-setup/helpers.psql
select plan(26);

select flow_id as flow from flows.create_flow('bad-input', 'Bad input') \gset

create function pg_temp.publish(definition jsonb) returns void
language plpgsql
volatile
set search_path = ''
as $$
begin
  perform flows.publish_version((flows.create_draft(current_setting('test.flow')::uuid, definition)).version_id);
end
$$;
select set_config('test.flow', :'flow', true) is not null as ok \gset

-- Unknown step type.
select throws_ok($$select pg_temp.publish('{"trigger": {"type": "manual"}, "steps": [{"id": "go", "type": "teleport"}]}')$$,
  'FL003', 'steps[0].type: Unknown step type "teleport": expected one of tabular, http, wait, db_update, function_call, condition, transform, log, sub_flow, parallel',
  'an unknown step type is refused, naming steps[0].type');
-- Duplicate step ids.
select throws_ok($$select pg_temp.publish('{"trigger": {"type": "manual"}, "steps": [{"id": "notify", "type": "log"}, {"id": "fetch", "type": "http"}, {"id": "notify", "type": "log"}]}')$$,
  'FL003', 'steps[2].id: Duplicate step id "notify" (first used by steps[0])',
  'a duplicate step id is refused, naming steps[2].id');
-- Missing trigger.
select throws_ok($$select pg_temp.publish('{"steps": [{"id": "go", "type": "log"}]}')$$,
  'FL003', 'trigger: Required', 'a missing trigger is refused');
-- Wrong types.
select throws_ok($$select pg_temp.publish('{"trigger": "manual", "steps": [{"id": "go", "type": "log"}]}')$$,
  'FL003', 'trigger: Expected an object, received string', 'a trigger that is not an object is refused');
select throws_ok($$select pg_temp.publish('{"trigger": {"type": "manual"}, "steps": {"id": "go"}}')$$,
  'FL003', 'steps: Expected an array, received object', 'steps that are not an array are refused');
select throws_ok($$select pg_temp.publish('{"trigger": {"type": "manual"}, "steps": [{"id": 7, "type": "log"}]}')$$,
  'FL003', 'steps[0].id: Expected a string, received number', 'a numeric step id is refused');
select throws_ok($$select pg_temp.publish('{"trigger": {"type": "manual"}, "steps": ["go"]}')$$,
  'FL003', 'steps[0]: Expected an object, received string', 'a step that is not an object is refused');
select throws_ok($$select pg_temp.publish('{"trigger": {"type": "manual"}, "steps": [{"id": "Go Now", "type": "log"}]}')$$,
  'FL003', 'steps[0].id: Invalid step id "Go Now": use a-z, 0-9, _ and -, starting with a letter, at most 63 characters',
  'a step id that is not a slug is refused');
select throws_ok($$select pg_temp.publish('{"trigger": {"type": "cron"}, "steps": [{"id": "go", "type": "log"}]}')$$,
  'FL003', 'trigger.type: Invalid value "cron": expected one of row_change, schedule, manual, webhook',
  'an unknown trigger type is refused');
select throws_ok($$select pg_temp.publish('{"trigger": {"type": "row_change", "table": "leads", "events": ["INSERT", "TRUNCATE"]}, "steps": [{"id": "go", "type": "log"}]}')$$,
  'FL003', 'trigger.events[1]: Invalid value "TRUNCATE": expected one of INSERT, UPDATE, DELETE',
  'an unknown row event is refused, naming trigger.events[1]');
select throws_ok($$select pg_temp.publish('{"trigger": {"type": "row_change", "table": "leads", "events": ["UPDATE", "UPDATE"]}, "steps": [{"id": "go", "type": "log"}]}')$$,
  'FL003', 'trigger.events[1]: Duplicate event "UPDATE"', 'a repeated row event is refused');
select throws_ok($$select pg_temp.publish('{"trigger": {"type": "row_change", "events": ["INSERT"]}, "steps": [{"id": "go", "type": "log"}]}')$$,
  'FL003', 'trigger.table: Required', 'row_change without a table is refused');
select throws_ok($$select pg_temp.publish('{"trigger": {"type": "row_change", "table": "Public.Leads", "events": ["INSERT"]}, "steps": [{"id": "go", "type": "log"}]}')$$,
  'FL003', 'trigger.table: Invalid table "Public.Leads": use table or schema.table in lowercase', 'a table name in capitals is refused');
select throws_ok($$select pg_temp.publish('{"trigger": {"type": "row_change", "table": "leads", "events": []}, "steps": [{"id": "go", "type": "log"}]}')$$,
  'FL003', 'trigger.events: Expected at least one of INSERT, UPDATE, DELETE', 'row_change without events is refused');
select throws_ok($$select pg_temp.publish('{"trigger": {"type": "schedule"}, "steps": [{"id": "go", "type": "log"}]}')$$,
  'FL003', 'trigger.cron: Required', 'a schedule without cron is refused');
select throws_ok(format($$select pg_temp.publish(%L)$$, tests.definition(array(select 's' || n from generate_series(1, 101) as n))),
  'FL003', 'steps: Too many steps: 101; the limit is 100', 'more than 100 steps are refused');
select throws_ok($$select pg_temp.publish('{"trigger": {"type": "manual"}, "steps": [{"id": "go", "type": "nope"}, {"id": "go", "type": "log"}]}')$$,
  'FL003', 'steps[0].type: Unknown step type "nope": expected one of tabular, http, wait, db_update, function_call, condition, transform, log, sub_flow, parallel (and 1 more; see the error detail)',
  'several problems: the first is named and the rest counted');

-- A 1 MB definition.
select throws_like(
  format($$select flows.create_draft(%L, %L)$$, :'flow', tests.definition() || jsonb_build_object('description', repeat('x', 1048576))),
  '(root): Definition is % bytes; the limit is 524288', 'a 1 MB definition is refused by create_draft, naming the size');
select throws_ok(
  format($$select flows.create_draft(%L, %L)$$, :'flow', tests.definition() || jsonb_build_object('description', repeat('x', 1048576))),
  'FL003', null, 'with FL003');
select throws_ok(
  format($$insert into flows.versions (flow_id, tenant_id, definition) values (%L, flows.default_tenant(), %L)$$,
    :'flow', tests.definition() || jsonb_build_object('description', repeat('x', 1048576))),
  '23514', null, 'and by the table''s check constraint when inserted directly');
select throws_ok(format($$select flows.create_draft(%L, '[1, 2]')$$, :'flow'),
  'FL003', '(root): Definition must be a JSON object', 'a draft must be a JSON object');

-- validate_definition reports every problem, for anyone.
select is(flows.validate_definition('{"trigger": {"type": "row_change", "table": "Leads", "events": "INSERT"}, "steps": [{"id": "a"}, {"id": "a", "type": "log"}]}'),
  '[{"path": "trigger.table", "message": "Invalid table \"Leads\": use table or schema.table in lowercase"},
    {"path": "trigger.events", "message": "Expected an array, received string"},
    {"path": "steps[0].type", "message": "Required"},
    {"path": "steps[1].id", "message": "Duplicate step id \"a\" (first used by steps[0])"}]'::jsonb,
  'validate_definition lists every problem with its path');
select is(flows.validate_definition(tests.row_change_definition('sales.leads', array['INSERT', 'DELETE'])), '[]'::jsonb,
  'a row_change definition is valid');
select is(flows.validate_definition('{"trigger": {"type": "schedule", "cron": "*/5 * * * *"}, "steps": [{"id": "tick", "type": "wait"}]}'),
  '[]'::jsonb, 'a schedule definition is valid');
select tests.authenticate_as_anon();
select is(flows.validate_definition('{"trigger": {"type": "webhook"}, "steps": [{"id": "hook", "type": "transform"}]}'),
  '[]'::jsonb, 'anon may call validate_definition');
select throws_ok($$select flows.create_flow('nope', 'Nope')$$, '42501', null, 'but no admin RPC');

select * from finish();
rollback;
