-- diff_versions: what changed between two versions, with steps matched by id and field-level paths.
begin;
\ir ../000-setup/helpers.psql
select plan(11);

select flow_id as flow from flows.create_flow('diffed', 'Diffed') \gset
select version_id as v1 from flows.create_draft(:'flow',
  '{"trigger": {"type": "manual"},
    "steps": [
      {"id": "fetch", "type": "http", "config": {"method": "GET", "url": "https://example.com/a"}},
      {"id": "notify", "type": "log", "config": {"message": "hello"}},
      {"id": "cleanup", "type": "log", "config": {"message": "bye"}}
    ]}') \gset
select version_id as v2 from flows.create_draft(:'flow',
  '{"trigger": {"type": "row_change", "table": "leads", "events": ["INSERT"]},
    "when": {"field": "status", "op": "eq", "value": "new"},
    "env": {"REGION": "eu"},
    "steps": [
      {"id": "notify", "type": "log", "config": {"message": "hello there"}},
      {"id": "fetch", "type": "http", "config": {"method": "POST", "url": "https://example.com/a", "timeout": 5}},
      {"id": "archive", "type": "db_update", "config": {"table": "leads", "key": 1, "set": {"done": true}}}
    ]}') \gset

select flows.diff_versions(:'v1', :'v2') as diff \gset
select is((:'diff'::jsonb) -> 'from' -> 'version_number', '1'::jsonb, 'from names version 1');
select is((:'diff'::jsonb) -> 'to' -> 'version_number', '2'::jsonb, 'to names version 2');
select is((:'diff'::jsonb) -> 'trigger_changed', 'true'::jsonb, 'the trigger changed');
select is((:'diff'::jsonb) -> 'rules_changed', 'true'::jsonb, 'the rules (when) changed');
select is((:'diff'::jsonb) -> 'steps_added', '["archive"]'::jsonb, 'archive was added');
select is((:'diff'::jsonb) -> 'steps_removed', '["cleanup"]'::jsonb, 'cleanup was removed');
select is((:'diff'::jsonb) -> 'steps_reordered', 'true'::jsonb, 'fetch and notify swapped places');
select is((:'diff'::jsonb) -> 'steps_changed',
  '[{"id": "notify", "changes": [{"path": "config.message", "kind": "changed", "from": "hello", "to": "hello there"}]},
    {"id": "fetch", "changes": [{"path": "config.method", "kind": "changed", "from": "GET", "to": "POST"},
                                {"path": "config.timeout", "kind": "added", "from": null, "to": 5}]}]'::jsonb,
  'changed steps list field-level paths, matched by id');
select is((:'diff'::jsonb) -> 'changes',
  '[{"path": "env", "kind": "added", "from": null, "to": {"REGION": "eu"}},
    {"path": "trigger.events", "kind": "added", "from": null, "to": ["INSERT"]},
    {"path": "trigger.table", "kind": "added", "from": null, "to": "leads"},
    {"path": "trigger.type", "kind": "changed", "from": "manual", "to": "row_change"},
    {"path": "when", "kind": "added", "from": null, "to": {"field": "status", "op": "eq", "value": "new"}}]'::jsonb,
  'changes outside steps have field-level paths');
select is((flows.diff_versions(:'v1', :'v1')) -> 'identical', 'true'::jsonb, 'a version is identical to itself');
select throws_ok(format($$select flows.diff_versions(%L, gen_random_uuid())$$, :'v1'), 'FL002', null,
  'an unknown version is not found');

select * from finish();
rollback;
