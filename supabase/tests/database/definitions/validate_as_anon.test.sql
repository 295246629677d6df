-- flows.validate_definition is callable by anon through the API. These calls come first in their transaction, as
-- anon: PL/pgSQL checks the right to execute a helper the first time an expression calls it in a transaction, so an
-- earlier call by a more privileged role would hide a helper anon may not execute.
begin;
\ir ../000-setup/helpers.psql
select plan(4);

select tests.authenticate_as_anon();

select is(flows.validate_definition('{"trigger": {"type": "row_change", "table": "sales.leads", "events": ["INSERT"]},
    "steps": [{"id": "fan", "type": "parallel", "config": {"branches": [
      {"id": "left", "steps": [{"id": "a", "type": "log", "config": {"message": "hi"}}]},
      {"id": "right", "steps": [{"id": "b", "type": "sub_flow", "config": {"flow": "enrich"}}]}]}}]}'),
  '[]'::jsonb, 'anon validates a row_change definition with a parallel step');
select is(flows.validate_definition('{"trigger": {"type": "row_change", "table": "auth.users", "events": ["INSERT"]},
    "steps": [{"id": "a", "type": "log"}]}') -> 0 ->> 'path',
  'trigger.table', 'and hears about a reserved table');
select is(flows.validate_definition('{"trigger": {"type": "manual"},
    "steps": [{"id": "fan", "type": "parallel", "config": {"branches": []}}]}'),
  '[{"path": "steps[0].config.branches", "message": "Expected at least one branch"}]'::jsonb,
  'and about a parallel step without branches');
select is(flows.validate_definition('{"trigger": {"type": "schedule", "cron": "every minute"}, "steps": []}') -> 0 ->> 'path',
  'trigger.cron', 'and about a schedule that is not cron');

select * from finish();
rollback;
