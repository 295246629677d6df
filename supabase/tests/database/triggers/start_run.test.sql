-- flows.start_run: any member of the caller's tenant starts a manual run of a published, active flow by key; the
-- input is checked against the version's parameters; the execution records who ran it and the engine is kicked.
begin;
\ir ../000-setup/helpers.psql
select plan(22);
select tests.build_world();

-- lead-form (tenant A): published with parameters. draft-only (tenant A): a draft and nothing published.
select tests.add_flow('lead_form', '00000000-0000-0000-0000-000000000001', 'lead-form', tests.id('admin_a')) is not null as ok \gset
select tests.add_version('lead_form_v1', 'lead_form', 'published',
  tests.definition(array['log']) || jsonb_build_object('parameters', jsonb_build_object(
    'type', 'object',
    'required', jsonb_build_array('lead_id'),
    'additionalProperties', false,
    'properties', jsonb_build_object(
      'lead_id', jsonb_build_object('type', 'integer', 'minimum', 1),
      'tier', jsonb_build_object('enum', jsonb_build_array('gold', 'silver')),
      'email', jsonb_build_object('type', 'string', 'maxLength', 20),
      'tags', jsonb_build_object('type', 'array', 'items', jsonb_build_object('type', 'string')),
      'customer', jsonb_build_object('type', 'object', 'properties',
        jsonb_build_object('vip', jsonb_build_object('type', 'boolean'))))
  )),
  tests.id('admin_a')) is not null as ok \gset
select tests.add_flow('draft_only', '00000000-0000-0000-0000-000000000001', 'draft-only', tests.id('admin_a')) is not null as ok \gset
select tests.add_version('draft_only_v1', 'draft_only', 'draft', tests.definition(), tests.id('admin_a')) is not null as ok \gset

update flows.engine_state set last_kick_at = '-infinity';

-- A member of tenant A.
select tests.authenticate_as(tests.id('member_a'));
select lives_ok($$select flows.start_run('lead-intake', '{"note": "hi"}')$$, 'a member starts a run of a published flow');
select tests.clear_authentication();
select results_eq(
  format($$select trigger_type, status, input, executed_by, version_id, tenant_id from flows.executions
            where flow_id = %L and trigger_type = 'manual' and status = 'pending'$$, tests.id('flow_a')),
  format($$values ('manual', 'pending', '{"note": "hi"}'::jsonb, %L::uuid, %L::uuid, '00000000-0000-0000-0000-000000000001'::uuid)$$,
    tests.id('member_a'), tests.id('flow_a_v2')),
  'the execution is pending, pinned to the published version, with the input and who ran it');
select ok((select last_kick_at > '-infinity' from flows.engine_state), 'the flow-engine was kicked');

select tests.authenticate_as(tests.id('member_a'));
select is((select count(*)::int from flows.executions where trigger_type = 'manual' and status = 'pending'
            and executed_by = tests.id('member_a')), 1,
  'the member reads the execution they started (row level security)');
select throws_ok($$select flows.start_run('nope')$$, 'FL002', 'flow "nope" not found', 'an unknown key is FL002');
select throws_ok($$select flows.start_run('draft-only')$$, 'FL002', 'flow "draft-only" has no published version',
  'a flow with no published version is FL002');
select throws_ok($$select flows.start_run('paused')$$, 'FL007', 'flow "paused" is inactive', 'an inactive flow is FL007');

-- Parameters.
select lives_ok($$select flows.start_run('lead-form', '{"lead_id": 42, "tier": "gold", "tags": ["a"], "customer": {"vip": true}}')$$,
  'input that satisfies the parameters is accepted');
select lives_ok($$select flows.start_run('lead-form', '{"lead_id": 3.0}')$$, 'a whole number written 3.0 is an integer');
select throws_ok($$select flows.start_run('lead-form')$$, 'FL007', 'input.lead_id: Required', 'a missing required property');
select throws_ok($$select flows.start_run('lead-form', '{"lead_id": "42"}')$$, 'FL007',
  'input.lead_id: Expected integer, received string', 'a property of the wrong type');
select throws_ok($$select flows.start_run('lead-form', '{"lead_id": 1.5}')$$, 'FL007',
  'input.lead_id: Expected integer, received number', 'a fraction is not an integer');
select throws_ok($$select flows.start_run('lead-form', '{"lead_id": 1, "tier": "bronze"}')$$, 'FL007',
  'input.tier: Expected one of "gold", "silver"', 'a value outside the enum');
select throws_ok($$select flows.start_run('lead-form', '{"lead_id": 1, "tags": ["a", 2]}')$$, 'FL007',
  'input.tags[1]: Expected string, received integer', 'array items are checked with their index');
select throws_ok($$select flows.start_run('lead-form', '{"lead_id": 1, "customer": {"vip": "yes"}}')$$, 'FL007',
  'input.customer.vip: Expected boolean, received string', 'nested objects are checked');
select throws_ok($$select flows.start_run('lead-form', '{"lead_id": 1, "colour": "red"}')$$, 'FL007',
  'input.colour: Unknown property', 'additionalProperties false refuses other properties');
select throws_ok($$select flows.start_run('lead-form', '[1]')$$, 'FL007',
  'input: Expected object, received array', 'input of the wrong type');
select is(flows.parameter_problems(
    (select definition -> 'parameters' from flows.versions where version_id = tests.id('lead_form_v1')),
    '{"lead_id": 0, "email": "a-very-long-address@example.com"}'),
  '[{"path": "input.email", "message": "Must be at most 20 characters"}, {"path": "input.lead_id", "message": "Must be >= 1"}]'::jsonb,
  'every problem is reported (the FL007 detail), properties in key order');

-- Other callers.
select tests.authenticate_as(tests.id('outsider'));
select throws_ok($$select flows.start_run('lead-intake')$$, 'FL001', null, 'a signed-in user of no tenant is FL001');
select tests.authenticate_as_anon();
select throws_ok($$select flows.start_run('lead-intake')$$, '42501', null, 'anon cannot call start_run');
create temporary table started (caller text, execution_id uuid);
grant all on started to authenticated, service_role;
select tests.authenticate_as(tests.id('admin_b'));
insert into started select 'admin_b', flows.start_run('lead-intake');
select tests.act_as_service_role();
insert into started select 'service_role', flows.start_run('lead-intake');
select tests.clear_authentication();
select is((select e.tenant_id from flows.executions as e join started as s using (execution_id) where s.caller = 'admin_b'),
  '00000000-0000-0000-0000-000000000002'::uuid, 'the same key in another tenant runs that tenant''s flow');
select results_eq($$select e.tenant_id, e.executed_by from flows.executions as e join started as s using (execution_id)
                    where s.caller = 'service_role'$$,
  $$values ('00000000-0000-0000-0000-000000000001'::uuid, null::uuid)$$,
  'service_role acts for the default tenant, with no user');

select * from finish();
rollback;
