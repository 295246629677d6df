-- flows.v1_convert_steps, one seed-000 v1 flow at a time: how each step config maps onto the definition format,
-- and every problem it names instead of guessing.
begin;
\ir ../000-setup/helpers.psql
select plan(22);

create function pg_temp.convert(steps jsonb) returns jsonb
language sql stable set search_path = '' as $$
  select flows.v1_convert_steps(jsonb_build_object('id', 9, 'nome', 'Probe', 'steps', steps, 'is_active', true))
$$;

-- The first converted step, or the problems.
create function pg_temp.step(type text, config jsonb, extra jsonb default '{}') returns jsonb
language sql stable set search_path = '' as $$
  select coalesce(c -> 'definition' -> 'steps' -> 0, c -> 'problems')
    from pg_temp.convert(jsonb_build_array(jsonb_build_object('id', 'probe', 'type', type, 'config', config) || extra)) as c
$$;

-- http_call.
select is(pg_temp.step('http_call', '{"method": "put", "url": "https://api.example.com/x", "body": "texto", "timeout": 1500}'),
  '{"id": "probe", "type": "http", "name": "v1 step probe (http_call)", "timeout": 1500, "retry": {"max_attempts": 1},
    "config": {"method": "PUT", "url": "https://api.example.com/x", "body": "texto"}}',
  'methods are upper-cased, a text body stays text, timeout moves to the step, no retry means one attempt');
select is(pg_temp.step('http_call', '{"method": "POST", "url": "https://api.example.com/x", "body": {"a": null, "b": [null]}, "headers": null}'),
  '{"id": "probe", "type": "http", "name": "v1 step probe (http_call)", "retry": {"max_attempts": 1},
    "config": {"method": "POST", "url": "https://api.example.com/x", "body": {"a": null, "b": [null]}}}',
  'nulls inside a body are kept; null headers are dropped');
select is(pg_temp.step('http_call', '{"method": "GET", "url": "https://api.example.com/x", "retry": {"max_attempts": 5, "delay": 0}}') -> 'retry',
  '{"max_attempts": 5, "delay": 0, "backoff": "fixed"}', 'retry keeps v1''s fixed delay');
select is(pg_temp.step('http_call', '{"url": "ftp://example.com", "body": {"a": 1}}'),
  '["steps[0].config.method: missing (http_call needs method and url)",
    "steps[0].config.url: \"ftp://example.com\" is not an http or https URL"]',
  'a missing method is refused (v1 required it), and so is a URL that is not http(s)');
select is(pg_temp.step('http_call', '{"method": "GET", "url": "https://x.example.com", "body": "x", "headers": {"X Bad": "1"}, "timeout": 0, "retry": {"max_attempts": 0, "delay": 1.5, "backoff": "exponential"}}'),
  '["steps[0].config.body: not allowed with GET",
    "steps[0].config.headers: must be an object of header names to strings",
    "steps[0].config.timeout: 0 is not a whole number of milliseconds from 1 to 600000",
    "steps[0].config.retry.backoff: unknown key (retry takes max_attempts, delay)",
    "steps[0].config.retry.max_attempts: 0 is not a whole number from 1 to 20",
    "steps[0].config.retry.delay: 1.5 is not a whole number of milliseconds from 0 to 86400000"]',
  'a body with GET, bad headers, timeouts and retry settings out of range are refused, all at once');
select is(pg_temp.step('http_call', '{"method": "TRACE", "url": "https://x.example.com", "timeout": "5000", "retry": 3}'),
  '["steps[0].config.method: \"TRACE\" is not GET, POST, PUT, PATCH, DELETE or HEAD",
    "steps[0].config.timeout: \"5000\" is not a whole number of milliseconds from 1 to 600000",
    "steps[0].config.retry: must be an object {max_attempts, delay}"]',
  'unknown methods, a timeout as text and a retry that is not an object are refused');

-- tabular.
select is(pg_temp.step('tabular', '{"webhook_url": "https://b.example.com/rest/1/t/", "field": "OPPORTUNITY", "value": 1500, "additional_fields": {"UF_X": [1, 2]}}'),
  '{"id": "probe", "type": "tabular", "name": "v1 step probe (tabular)",
    "config": {"webhook_url": "https://b.example.com/rest/1/t/", "id": "{{input.lead_id}}", "field": "OPPORTUNITY",
               "value": 1500, "additional_fields": {"UF_X": [1, 2]}}}',
  'tabular values keep their JSON type; additional fields may be an object; the record is the run''s lead');
select is(pg_temp.step('tabular', '{"webhook_url": "", "additional_fields": [{"field": "A"}], "entity": "deal"}'),
  '["steps[0].config.entity: unknown key (tabular takes webhook_url, field, value, additional_fields)",
    "steps[0].config.webhook_url: missing (tabular needs webhook_url, field and value)",
    "steps[0].config.field: missing (tabular needs webhook_url, field and value)",
    "steps[0].config.value: missing (tabular needs webhook_url, field and value)",
    "steps[0].config.additional_fields: must be a list of {\"field\", \"value\"} objects (or an object of field names to values)"]',
  'tabular needs webhook_url, field and value; unknown keys and malformed additional fields are refused');

-- wait.
select is(pg_temp.step('wait', '{"seconds": 3600}') -> 'config', '{"seconds": 3600}', 'a wait of an hour is the longest');
select is(pg_temp.step('wait', '{"seconds": "60", "reason": 5}'),
  '["steps[0].config.seconds: \"60\" is not a number from 0 to 3600",
    "steps[0].config.reason: must be text of at most 500 characters"]',
  'seconds as text and a reason that is not text are refused');
select is(pg_temp.step('wait', '{}'), '["steps[0].config.seconds: missing (wait needs seconds)"]', 'wait needs seconds');

-- Placeholders.
select is(pg_temp.step('wait', '{"seconds": 1, "reason": "lead {{leadId}}: {{ variables.motivo.texto }} {{variables.lista[0]}} {{variables}}"}') -> 'config' -> 'reason',
  '"lead {{input.lead_id}}: {{input.variables.motivo.texto}} {{input.variables.lista[0]}} {{input.variables}}"',
  '{{leadId}} and {{variables…}} become input paths, whatever the spacing');
select is(pg_temp.step('wait', '{"seconds": 1, "reason": "{{leadId.nome}} {{row.id}} {{variables.a | default: 1}} {{leadId"}'),
  '["steps[0].config: placeholder \"{{leadId.nome}}\" is not one v1 resolves (known: {{leadId}}, {{variables.<name>}})",
    "steps[0].config: placeholder \"{{row.id}}\" is not one v1 resolves (known: {{leadId}}, {{variables.<name>}})",
    "steps[0].config: placeholder \"{{variables.a | default: 1}}\" is not one v1 resolves (known: {{leadId}}, {{variables.<name>}})",
    "steps[0].config: \"{{\" without a closing \"}}\" in \"{{leadId.nome}} {{row.id}} {{variables.a | default: 1}} {{leadId\""]',
  'other placeholders, and a {{ never closed, are refused');
select is(pg_temp.step('http_call', '{"method": "POST", "url": "https://x.example.com", "body": {"{{leadId}}": 1}}') -> 'config' -> 'body',
  '{"{{input.lead_id}}": 1}', 'a placeholder in a key is not refused (keys are never rendered)');

-- Steps.
select is(pg_temp.step('wait', '{"seconds": 1}', '{"nome": "Pausa", "continue_on_error": false}'),
  '{"id": "probe", "type": "wait", "name": "Pausa", "continue_on_error": false, "config": {"seconds": 1}}',
  'nome becomes the step''s name; continue_on_error is kept as given');
select is(pg_temp.step('wait', '{"seconds": 1}', '{"name": "Pause", "continue_on_error": "yes", "ordem": 1}'),
  '["steps[0].ordem: unknown key (a v1 step has id, type, nome or name, config, continue_on_error)",
    "steps[0].continue_on_error: must be true or false"]',
  'unknown step keys and a continue_on_error that is not a boolean are refused');
select is((pg_temp.convert('[{"id": "a", "type": "wait", "config": {"seconds": 1}},
                             {"id": "Passo B", "type": "wait", "config": {"seconds": 1}},
                             {"id": "a", "type": "wait", "config": {"seconds": 1}}]')
           -> 'definition' -> 'steps') @? '$[*] ? (@.id == "a")', false,
  'an invalid or duplicate v1 id gives every step a made-up id');
select is((select jsonb_agg(s -> 'id') from jsonb_array_elements(pg_temp.convert(
            '[{"id": "a", "type": "wait", "config": {"seconds": 1}}, {"id": "Passo B", "type": "http_call", "config": {"method": "GET", "url": "https://x.example.com"}}]')
            -> 'definition' -> 'steps') as s),
  '["wait_1", "http_2"]', 'made-up ids are <type>_<position>');
select is(pg_temp.step('tabular', '"{\"webhook_url\": \"https://b.example.com/rest/1/t/\", \"field\": \"F\", \"value\": true}"') -> 'config' -> 'value',
  'true', 'a config stored as JSON text is read as JSON');
select is(pg_temp.convert('"[{\"id\": \"a\", \"type\": \"wait\", \"config\": {\"seconds\": 1}}]"') -> 'problems', '[]',
  'and so are steps stored as JSON text');
select is(
  (select jsonb_agg(p) from (select pg_temp.convert(s) -> 'problems' as p
                               from unnest(array['{"a": 1}'::jsonb, 'null', '[1, {"type": "wait", "config": 3}]',
                                                 (select jsonb_agg(jsonb_build_object('type', 'wait', 'config', jsonb_build_object('seconds', 1)))
                                                    from generate_series(1, 101))]) as s) as problems),
  '[["steps: must be a JSON array of step objects"], ["steps: none; a flow needs at least one step"],
    ["steps[0]: must be a JSON object", "steps[1].config: must be a JSON object"],
    ["steps: more than 100; a flow has at most 100 steps"]]',
  'steps that are not a list, none, entries that are not objects and more than 100 steps are refused');
select is(flows.v1_convert_steps('{"id": 9, "name": "English names", "steps": [{"id": "a", "type": "wait", "config": {"seconds": 1}}]}')
            -> 'definition' ->> 'name', 'English names', 'the name may come from a name column');

select * from finish();
rollback;
