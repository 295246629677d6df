-- flows.v1_convert, one v1 flow at a time: every operator and action shape it converts, and every problem it names
-- instead of guessing. flows.v1_slug makes flow keys from v1 names.
begin;
\ir ../000-setup/helpers.psql
\ir fixture.psql
select plan(16);

create function pg_temp.flow(trigger_event text default 'UPDATE') returns jsonb
language sql immutable set search_path = '' as $$
  select jsonb_build_object('flow_id', 9, 'name', 'Probe', 'trigger_table', 'v1_fixture.tasks',
                            'trigger_event', trigger_event, 'is_enabled', true)
$$;

create function pg_temp.one_action(type text, config jsonb) returns jsonb
language sql immutable set search_path = '' as $$
  select jsonb_build_array(jsonb_build_object('action_id', 1, 'flow_id', 9, 'type', type, 'config', config))
$$;

create function pg_temp.convert_action(type text, config jsonb) returns jsonb
language sql stable set search_path = '' as $$
  select coalesce(c -> 'definition' -> 'steps' -> 0 -> 'config', c -> 'problems')
    from flows.v1_convert(pg_temp.flow(), '[]', pg_temp.one_action(type, config)) as c
$$;

create function pg_temp.convert_rule(operator text, value text) returns jsonb
language sql stable set search_path = '' as $$
  select coalesce(c -> 'definition' -> 'when' -> 'all' -> 0, c -> 'problems')
    from flows.v1_convert(pg_temp.flow(),
                          jsonb_build_array(jsonb_build_object('rule_id', 1, 'flow_id', 9, 'field', 'score',
                                                               'operator', operator, 'value', value)),
                          pg_temp.one_action('FUNCTION_CALL', '{"function_name": "f"}')) as c
$$;

-- Rules.
select results_eq(
  $$select o.operator, pg_temp.convert_rule(o.operator, '5') ->> 'op'
      from (values ('='), ('=='), ('!='), ('<>'), ('>'), ('>='), ('<'), ('<='), ('CONTAINS'), ('contains'),
                   ('NOT CONTAINS'), ('NOT_CONTAINS'), ('STARTS_WITH'), ('ENDS_WITH')) as o (operator)$$,
  $$values ('=', 'eq'), ('==', 'eq'), ('!=', 'ne'), ('<>', 'ne'), ('>', 'gt'), ('>=', 'gte'), ('<', 'lt'), ('<=', 'lte'),
           ('CONTAINS', 'contains'), ('contains', 'contains'), ('NOT CONTAINS', 'not_contains'),
           ('NOT_CONTAINS', 'not_contains'), ('STARTS_WITH', 'starts_with'), ('ENDS_WITH', 'ends_with')$$,
  'v1 operators map to the engine''s, whatever their case and spacing');
select is(pg_temp.convert_rule('>', '1500'), '{"field": "score", "op": "gt", "value": "1500"}',
  'values stay strings (the engine compares numeric strings as numbers)');
select is(pg_temp.convert_rule('IS NULL', 'ignored'), '{"field": "score", "op": "is_null"}',
  'IS NULL takes no value');
select is(pg_temp.convert_rule('=', null),
  '["rules[rule_id=1].value: missing (operator \"=\" compares with a value)"]', 'a comparison without a value is refused');
select is((flows.v1_convert(pg_temp.flow(), '[]', pg_temp.one_action('FUNCTION_CALL', '{"function_name": "f"}'))
            -> 'definition') ? 'when', false, 'a flow without rules runs on every change (no when)');

-- Actions.
select is(pg_temp.convert_action('API_CALL', '{"url": "https://example.com/hook", "body": {"a": 1}, "headers": {"X-Key": "k"}}'),
  '{"method": "POST", "url": "https://example.com/hook", "body": {"a": 1}, "headers": {"X-Key": "k"}}',
  'an API_CALL with a body and no method is a POST; headers are kept');
select is(pg_temp.convert_action('API_CALL', '{"url": "https://example.com/status", "method": "get"}'),
  '{"method": "GET", "url": "https://example.com/status"}', 'methods are upper-cased; no body means no body');
select is(pg_temp.convert_action('API_CALL', '{"url": "ftp://example.com", "method": "GET", "body": "x", "timeout": 5}'),
  '["actions[action_id=1].config.timeout: unknown key (API_CALL takes url, method, headers, body)",
    "actions[action_id=1].config.url: \"ftp://example.com\" is not an http or https URL",
    "actions[action_id=1].config.body: not allowed with GET"]',
  'unknown keys, other schemes and a GET with a body are refused, all at once');
select is(pg_temp.convert_action('API_CALL', '{"url": "https://example.com/t/{{task_id}}"}'),
  '["actions[action_id=1].config: placeholder \"{{task_id…}}\" is not one the engine resolves (use {{row.<column>}}, {{old.<column>}} or {{execution.id}})"]',
  'v1 placeholders are not rewritten but refused');
select is(pg_temp.convert_action('API_CALL', '{"url": "https://example.com/t/{{row.id}}"}'),
  '{"method": "GET", "url": "https://example.com/t/{{row.id}}"}', 'placeholders of the row are kept');
select is(pg_temp.convert_action('DB_UPDATE', '{"table": "v1_fixture.tasks", "field": "score", "value": 0}'),
  '{"table": "v1_fixture.tasks", "key_column": "id", "key": "{{row.id}}", "set": {"score": 0}}',
  'DB_UPDATE sets the field on the triggering row, the value keeping its JSON type');
select is(pg_temp.convert_action('DB_UPDATE', '{"table": "v1_fixture.flows", "field": "name", "value": "x"}'),
  '["actions[action_id=1].config.table: \"v1_fixture.flows\" is not the trigger table; v1 updates the triggering row, so there is no key for another table"]',
  'DB_UPDATE of another table is refused: there is no key');
select is(pg_temp.convert_action('DB_UPDATE', '{"table": "v1_fixture.tasks", "field": "owner", "value": "x"}'),
  '["actions[action_id=1].config.field: table v1_fixture.tasks has no column owner"]',
  'DB_UPDATE of a column that does not exist is refused');
select is(pg_temp.convert_action('FUNCTION_CALL', '{"function_name": "send email", "params": {"to": "a@b.c"}}'),
  '["actions[action_id=1].config.function_name: \"send email\" is not an Edge Function name"]',
  'FUNCTION_CALL needs a valid function name');

-- Trigger.
select is(flows.v1_convert(pg_temp.flow('TRUNCATE'), '[]', pg_temp.one_action('FUNCTION_CALL', '{"function_name": "f"}')) -> 'problems',
  '["trigger_event: \"TRUNCATE\" is not INSERT, UPDATE or DELETE"]', 'only row events convert');

-- Keys.
select results_eq(
  $$select flows.v1_slug(n, 'v1-flow-7') from (values ('Café & Crème: Daily!'), ('***'), (repeat('long name ', 10))) as t (n)$$,
  $$values ('caf-cr-me-daily'), ('v1-flow-7'), ('long-name-long-name-long-name-long-name-long-name-long-name-lon')$$,
  'keys are slugs of at most 63 characters, with a fallback for names without letters or digits');

select * from finish();
rollback;
