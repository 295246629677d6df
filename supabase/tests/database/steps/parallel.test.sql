-- Parallel steps in SQL: the structural check walks the steps inside branches (unique ids everywhere, known types, no
-- parallel inside a branch, 1 to 10 branches, the 100-step limit counting branch steps), publish_version enforces it,
-- and a rerun reuses the outputs of the steps inside earlier parallel steps.
begin;
\ir ../000-setup/helpers.psql
select plan(14);
select tests.build_world();

create function pg_temp.def(steps jsonb) returns jsonb language sql as $$
  select jsonb_build_object('trigger', jsonb_build_object('type', 'manual'), 'steps', steps)
$$;
create function pg_temp.log_step(id text) returns jsonb language sql as $$
  select jsonb_build_object('id', id, 'type', 'log', 'config', jsonb_build_object('message', 'hi'))
$$;
create function pg_temp.parallel(id text, variadic branches jsonb[]) returns jsonb language sql as $$
  select jsonb_build_object('id', id, 'type', 'parallel', 'config', jsonb_build_object('branches',
    (select jsonb_agg(jsonb_build_object('id', 'b' || n, 'steps', b) order by n) from unnest(branches) with ordinality as t(b, n))))
$$;

select is(flows.validate_definition(pg_temp.def(jsonb_build_array(
    pg_temp.log_step('before'),
    pg_temp.parallel('fan', jsonb_build_array(pg_temp.log_step('a1'), pg_temp.log_step('a2')), jsonb_build_array(
      jsonb_build_object('id', 'call', 'type', 'sub_flow', 'config', jsonb_build_object('flow', 'enrich')))),
    pg_temp.log_step('after')))),
  '[]'::jsonb, 'a parallel step with branches of steps, and a sub_flow step, are publishable');
select is(flows.validate_definition(pg_temp.def(jsonb_build_array(
    pg_temp.log_step('a1'), pg_temp.parallel('fan', jsonb_build_array(pg_temp.log_step('a1')), jsonb_build_array(pg_temp.log_step('fan')))))),
  '[{"path": "steps[1].config.branches[0].steps[0].id", "message": "Duplicate step id \"a1\" (first used by steps[0])"},
    {"path": "steps[1].config.branches[1].steps[0].id", "message": "Duplicate step id \"fan\" (first used by steps[1])"}]'::jsonb,
  'step ids are unique across branches and the top level, and the first use is named');
select is(flows.validate_definition(pg_temp.def(jsonb_build_array(
    pg_temp.parallel('outer', jsonb_build_array(pg_temp.parallel('inner', jsonb_build_array(pg_temp.log_step('x')))))))) -> 0 ->> 'path',
  'steps[0].config.branches[0].steps[0].type', 'a parallel step inside a branch is refused');
select ok(flows.validate_definition(pg_temp.def(jsonb_build_array(
    pg_temp.parallel('outer', jsonb_build_array(pg_temp.parallel('inner', jsonb_build_array(pg_temp.log_step('x')))))))) -> 0 ->> 'message'
  not like '%parallel,%' and flows.validate_definition(pg_temp.def(jsonb_build_array(
    pg_temp.parallel('outer', jsonb_build_array(pg_temp.parallel('inner', jsonb_build_array(pg_temp.log_step('x')))))))) -> 0 ->> 'message'
  like 'Unknown step type "parallel": expected one of %sub_flow', 'and the message lists what a branch may hold');
select is(flows.validate_definition(pg_temp.def(jsonb_build_array(jsonb_build_object('id', 'p', 'type', 'parallel', 'config', '{}'::jsonb)))),
  '[{"path": "steps[0].config.branches", "message": "Required"}]'::jsonb, 'a parallel step needs branches');
select is(flows.validate_definition(pg_temp.def(jsonb_build_array(jsonb_build_object('id', 'p', 'type', 'parallel', 'config',
    jsonb_build_object('branches', (select jsonb_agg(jsonb_build_object('id', 'b' || n, 'steps', jsonb_build_array(pg_temp.log_step('s' || n))))
                                      from generate_series(1, 11) as n)))))),
  '[{"path": "steps[0].config.branches", "message": "Too many branches: 11; the limit is 10"}]'::jsonb, 'at most 10 branches');
select is(flows.validate_definition(pg_temp.def(jsonb_build_array(jsonb_build_object('id', 'p', 'type', 'parallel', 'config',
    jsonb_build_object('branches', jsonb_build_array(
      jsonb_build_object('id', 'x', 'steps', jsonb_build_array(pg_temp.log_step('a'))),
      jsonb_build_object('id', 'x', 'steps', '[]'::jsonb))))))),
  '[{"path": "steps[0].config.branches[1].id", "message": "Duplicate branch id \"x\" (first used by branches[0])"},
    {"path": "steps[0].config.branches[1].steps", "message": "Expected at least one step"}]'::jsonb,
  'branch ids are distinct and every branch has steps');
select is(flows.validate_definition(pg_temp.def(jsonb_build_array(pg_temp.parallel('fan',
    (select jsonb_agg(pg_temp.log_step('a' || n)) from generate_series(1, 50) as n),
    (select jsonb_agg(pg_temp.log_step('b' || n)) from generate_series(1, 50) as n))))),
  '[{"path": "steps", "message": "Too many steps: 101 counting parallel branches; the limit is 100"}]'::jsonb,
  'the 100-step limit counts the steps inside branches');

-- publish_version enforces it.
select tests.authenticate_as(tests.id('manager_a'));
select throws_ok(format($$select flows.publish_version((flows.update_draft(%L, %L)).version_id)$$, tests.id('flow_a_v3'), pg_temp.def(jsonb_build_array(
    pg_temp.parallel('fan', jsonb_build_array(pg_temp.log_step('a1')), jsonb_build_array(pg_temp.log_step('a1')))))),
  'FL003', 'steps[0].config.branches[1].steps[0].id: Duplicate step id "a1" (first used by steps[0].config.branches[0].steps[0])',
  'a draft with a duplicate id inside branches is refused, naming both places');
select tests.clear_authentication();

-- Rerun: an execution of a version with a parallel step, failed at the step after it.
select tests.add_flow('fanout', '00000000-0000-0000-0000-000000000001', 'fanout', tests.id('admin_a')) is not null as ok \gset
select tests.add_version('fanout_v1', 'fanout', 'published', pg_temp.def(jsonb_build_array(
  pg_temp.log_step('first'), pg_temp.parallel('fan', jsonb_build_array(pg_temp.log_step('a1')), jsonb_build_array(pg_temp.log_step('b1'))),
  pg_temp.log_step('last'))), tests.id('admin_a')) is not null as ok \gset
insert into flows.executions (execution_id, tenant_id, flow_id, version_id, trigger_type, status)
values ('11111111-1111-1111-1111-111111111111', '00000000-0000-0000-0000-000000000001', tests.id('fanout'), tests.id('fanout_v1'),
        'manual', 'failed');
insert into flows.execution_steps (execution_id, tenant_id, step_id, step_type, status, attempt, output)
select '11111111-1111-1111-1111-111111111111', '00000000-0000-0000-0000-000000000001', s.id, s.type, s.status, 1, to_jsonb(s.id)
  from (values ('first', 'log', 'completed'), ('fan', 'parallel', 'completed'), ('a1', 'log', 'completed'),
               ('b1', 'log', 'completed'), ('last', 'log', 'failed')) as s(id, type, status);

select tests.authenticate_as(tests.id('admin_a'));
select lives_ok($$select flows.rerun('11111111-1111-1111-1111-111111111111')$$, 'the failed execution is rerun');
select tests.clear_authentication();
select is(
  (select array_agg(step_id order by step_id) from flows.execution_steps
    where execution_id = (select execution_id from flows.executions where rerun_of_execution_id = '11111111-1111-1111-1111-111111111111')),
  array['a1', 'b1', 'fan', 'first'],
  'the rerun reuses the earlier steps, the steps inside the parallel step included');
select is((select context ->> 'from_step' from flows.executions where rerun_of_execution_id = '11111111-1111-1111-1111-111111111111'),
  'last', 'and starts at the step that failed');

select tests.authenticate_as(tests.id('admin_a'));
select throws_ok($$select flows.rerun('11111111-1111-1111-1111-111111111111', 'b1')$$, 'FL007',
  'from_step: step "b1" is inside parallel step "fan"; rerun from "fan"', 'a step inside a branch is not a starting point');
select lives_ok($$select flows.rerun('11111111-1111-1111-1111-111111111111', 'fan')$$, 'the parallel step is');
select tests.clear_authentication();

select * from finish();
rollback;
