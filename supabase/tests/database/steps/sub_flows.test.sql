-- flows.start_sub_flow and the triggers around sub-flow executions: a sub_flow step starts one execution of another
-- flow's published version per step attempt (fenced by the parent's lease), refuses what cannot run with a clear
-- error, wakes its waiting parent when it ends, and is cancelled with its parent.
begin;
\ir ../000-setup/helpers.psql
select plan(29);
select tests.build_world();

-- The parent: manager_a's running execution, leased to worker w1.
update flows.executions set lease_owner = 'w1', lease_expires_at = now() + interval '1 minute'
 where execution_id = tests.id('exec_manager_a');
update flows.engine_state set last_kick_at = '-infinity', draining_until = '-infinity';
select setval('flows.engine_quiet_until', 0) is not null as reset \gset

select tests.add_flow('hourly', '00000000-0000-0000-0000-000000000001', 'hourly', tests.id('admin_a')) is not null as ok \gset
select tests.add_version('hourly_v1', 'hourly', 'published',
  tests.definition(array['x']) || '{"trigger": {"type": "schedule", "cron": "0 * * * *"}}', tests.id('admin_a')) is not null as ok \gset
select tests.add_flow('typed', '00000000-0000-0000-0000-000000000001', 'typed', tests.id('admin_a')) is not null as ok \gset
select tests.add_version('typed_v1', 'typed', 'published', tests.definition(array['x']) || jsonb_build_object('parameters',
  jsonb_build_object('type', 'object', 'required', jsonb_build_array('lead_id'),
    'properties', jsonb_build_object('lead_id', jsonb_build_object('type', 'integer')))), tests.id('admin_a')) is not null as ok \gset
select tests.add_flow('only_b', '00000000-0000-0000-0000-000000000002', 'only-b', tests.id('admin_b')) is not null as ok \gset
select tests.add_version('only_b_v1', 'only_b', 'published', tests.definition(), tests.id('admin_b')) is not null as ok \gset

create temporary table started as
  select * from flows.start_sub_flow(tests.id('exec_manager_a'), 'w1', 'call', 1, 'lead-intake', '{"lead": 7}');
select results_eq(
  $$select trigger_type, status, input, version_id, executed_by, parent_execution_id, parent_step_id, parent_attempt, call_depth,
           context -> 'parent' ->> 'step_id' from started$$,
  format($$values ('sub_flow', 'pending', '{"lead": 7}'::jsonb, %L::uuid, %L::uuid, %L::uuid, 'call', 1, 1, 'call')$$,
    tests.id('flow_a_v2'), tests.id('manager_a'), tests.id('exec_manager_a')),
  'a pending sub_flow execution of the published version, with its parent, step, attempt, depth and the parent''s user');
select is((select execution_id from flows.start_sub_flow(tests.id('exec_manager_a'), 'w1', 'call', 1, 'lead-intake', '{}')),
  (select execution_id from started), 'the same step attempt again finds the same execution');
select is((select execution_id from flows.start_sub_flow(tests.id('exec_manager_a'), 'w1', 'call', 2, 'lead-intake', '{}')),
  (select execution_id from started), 'a later attempt (after an interruption) gets the same execution back');
select is((select count(*)::int from flows.executions where parent_execution_id = tests.id('exec_manager_a')), 1,
  'one sub-flow execution so far');

select throws_ok($$select * from flows.start_sub_flow(tests.id('exec_manager_a'), 'w2', 'other', 1, 'lead-intake', '{}')$$,
  'FL005', null, 'an invocation that does not hold the parent''s lease starts nothing');
select throws_ok($$select * from flows.start_sub_flow(tests.id('exec_manager_a'), 'w1', 'other', 1, 'nope', '{}')$$,
  'FL002', 'sub_flow: flow "nope" not found', 'an unknown key');
select throws_ok($$select * from flows.start_sub_flow(tests.id('exec_manager_a'), 'w1', 'other', 1, 'only-b', '{}')$$,
  'FL002', 'sub_flow: flow "only-b" not found', 'another tenant''s flow is not found');
select throws_ok($$select * from flows.start_sub_flow(tests.id('exec_manager_a'), 'w1', 'other', 1, 'paused', '{}')$$,
  'FL007', 'sub_flow: flow "paused" is inactive', 'an inactive flow');
select throws_ok($$select * from flows.start_sub_flow(tests.id('exec_manager_a'), 'w1', 'other', 1, 'hourly', '{}')$$,
  'FL007', 'sub_flow: flow "hourly" has a schedule trigger; only manual and webhook flows take input',
  'a flow that takes no input');
select throws_ok($$select * from flows.start_sub_flow(tests.id('exec_manager_a'), 'w1', 'other', 1, 'typed', '{"lead_id": "x"}')$$,
  'FL007', 'sub_flow "typed": input.lead_id: Expected integer, received string', 'input is checked against the parameters');
update flows.executions set call_depth = 5 where execution_id = tests.id('exec_manager_a');
select throws_ok($$select * from flows.start_sub_flow(tests.id('exec_manager_a'), 'w1', 'deeper', 1, 'lead-intake', '{}')$$,
  'FL007', 'sub_flow "lead-intake": 5 nested sub-flows already; the limit is 5 (engine_state.max_causation_depth)',
  'the causation depth limit ends recursion');
update flows.executions set call_depth = 0 where execution_id = tests.id('exec_manager_a');

-- Only the engine starts sub-flows.
select tests.authenticate_as(tests.id('admin_a'));
select throws_ok($$select * from flows.start_sub_flow(tests.id('exec_manager_a'), 'w1', 'x', 1, 'lead-intake', '{}')$$,
  '42501', null, 'signed-in users cannot call start_sub_flow');
select tests.clear_authentication();
select throws_ok(format($$insert into flows.executions (tenant_id, flow_id, version_id, trigger_type)
                           values ('00000000-0000-0000-0000-000000000001', %L, %L, 'sub_flow')$$, tests.id('flow_a'), tests.id('flow_a_v2')),
  '23514', null, 'a sub_flow execution must name its parent step');

-- Waking: the parent waits on its suspended step until its deadline; the sub-flow's end makes it due now.
insert into flows.execution_steps (execution_id, tenant_id, step_id, step_type, status, attempt, resume_at, output)
select tests.id('exec_manager_a'), '00000000-0000-0000-0000-000000000001', 'call', 'sub_flow', 'suspended', 1,
       now() + interval '1 day', jsonb_build_object('execution_id', execution_id, 'flow', 'lead-intake')
  from started;
update flows.executions set status = 'waiting', resume_at = now() + interval '1 day', lease_owner = null
 where execution_id = tests.id('exec_manager_a');
select ok((select resume_at > now() + interval '23 hours' from flows.executions where execution_id = tests.id('exec_manager_a')),
  'the parent waits until the deadline while its sub-flow is unfinished');
update flows.executions set status = 'running' where execution_id = (select execution_id from started);
select ok((select resume_at > now() from flows.executions where execution_id = tests.id('exec_manager_a')),
  'a sub-flow that starts running wakes nobody');
update flows.executions set status = 'completed', result = '{"outputs": {}}' where execution_id = (select execution_id from started);
select ok((select resume_at <= now() from flows.executions where execution_id = tests.id('exec_manager_a')),
  'a finished sub-flow makes its waiting parent due now');
select ok((select last_kick_at > '-infinity' from flows.engine_state), 'and asks for a flow-engine invocation');

-- The other order: the sub-flow finished before the parent recorded its wait.
update flows.executions set status = 'running', lease_owner = 'w1' where execution_id = tests.id('exec_manager_a');
update flows.executions set status = 'waiting', resume_at = now() + interval '1 day', lease_owner = null
 where execution_id = tests.id('exec_manager_a');
select ok((select resume_at <= now() from flows.executions where execution_id = tests.id('exec_manager_a')),
  'a wait recorded after the sub-flow finished is due at once');
update flows.execution_steps set status = 'completed' where execution_id = tests.id('exec_manager_a') and step_id = 'call';
update flows.executions set status = 'running', lease_owner = 'w1' where execution_id = tests.id('exec_manager_a');
update flows.executions set status = 'waiting', resume_at = now() + interval '1 hour', lease_owner = null
 where execution_id = tests.id('exec_manager_a');
select ok((select resume_at > now() from flows.executions where execution_id = tests.id('exec_manager_a')),
  'once the step has used the result, an unrelated wait keeps its time');

-- Another step waits for an unfinished sub-flow while the finished one above is done with: no early wake.
update flows.executions set status = 'running', lease_owner = 'w1', resume_at = null where execution_id = tests.id('exec_manager_a');
create temporary table slow as
  select * from flows.start_sub_flow(tests.id('exec_manager_a'), 'w1', 'slow', 1, 'lead-intake', '{}');
insert into flows.execution_steps (execution_id, tenant_id, step_id, step_type, status, attempt, resume_at, output)
select tests.id('exec_manager_a'), '00000000-0000-0000-0000-000000000001', 'slow', 'sub_flow', 'suspended', 1,
       now() + interval '1 day', jsonb_build_object('execution_id', execution_id, 'flow', 'lead-intake')
  from slow;
update flows.execution_steps set status = 'suspended' where execution_id = tests.id('exec_manager_a') and step_id = 'call';
update flows.execution_steps set output = '{"execution_id": "00000000-0000-0000-0000-00000000dead"}'
 where execution_id = tests.id('exec_manager_a') and step_id = 'call';
update flows.executions set status = 'waiting', resume_at = now() + interval '1 day', lease_owner = null
 where execution_id = tests.id('exec_manager_a');
select ok((select resume_at > now() from flows.executions where execution_id = tests.id('exec_manager_a')),
  'a finished sub-flow that no suspended attempt waits for does not make the wait due');

-- A failed sub-flow is found again by a later attempt, reported as failed, never quietly run again.
update flows.executions set status = 'running', lease_owner = 'w1', resume_at = null where execution_id = tests.id('exec_manager_a');
select is((select count(*)::int from flows.start_sub_flow(tests.id('exec_manager_a'), 'w1', 'retry', 1, 'lead-intake', '{}')), 1,
  'a second step starts its own sub-flow');
update flows.executions set status = 'failed', error_code = 'X', error_message = 'no'
 where parent_execution_id = tests.id('exec_manager_a') and parent_step_id = 'retry';
select results_eq(
  $$select status, parent_attempt from flows.start_sub_flow(tests.id('exec_manager_a'), 'w1', 'retry', 2, 'lead-intake', '{}')$$,
  $$values ('failed', 1)$$, 'a later attempt of the step gets the failed sub-flow back');

-- Cancelling: the sub-flow's own cancel (fenced by the parent's lease), and the cascade from a cancelled parent.
select flows.cancel_sub_flow(tests.id('exec_manager_a'), 'w2', execution_id) from slow;
select is((select status from flows.executions where execution_id = (select execution_id from slow)), 'pending',
  'an invocation without the parent''s lease cancels nothing');
select flows.cancel_sub_flow(tests.id('exec_manager_a'), 'w1', execution_id) from slow;
select results_eq(
  $$select status, error_code from flows.executions where execution_id = (select execution_id from slow)$$,
  $$values ('cancelled', 'CANCELLED')$$, 'cancel_sub_flow stops a pending sub-flow at once');
create temporary table child as
  select * from flows.start_sub_flow(tests.id('exec_manager_a'), 'w1', 'tree', 1, 'lead-intake', '{}');
update flows.executions set status = 'running', lease_owner = 'w9' where execution_id = (select execution_id from child);
create temporary table grandchild as
  select * from flows.start_sub_flow((select execution_id from child), 'w9', 'inner', 1, 'lead-intake', '{}');
select is((select call_depth from grandchild), 2, 'a sub-flow of a sub-flow is one level deeper');
select tests.authenticate_as(tests.id('manager_a'));
select lives_ok(format('select flows.request_cancel(%L)', tests.id('exec_manager_a')), 'the manager cancels the parent');
select tests.clear_authentication();
select results_eq(
  $$select status, cancel_requested_at is not null, cancel_requested_by from flows.executions where execution_id = (select execution_id from child)$$,
  format($$values ('running', true, %L::uuid)$$, tests.id('manager_a')),
  'its running sub-flow is asked to stop, by the same user');
select results_eq(
  $$select status, error_message from flows.executions where execution_id = (select execution_id from grandchild)$$,
  $$values ('cancelled', 'Cancelled with its parent execution')$$,
  'and the sub-flow''s own pending sub-flow is cancelled at once');
select is((select count(*)::int from flows.executions where parent_execution_id = tests.id('exec_manager_a') and status = 'completed'), 1,
  'finished sub-flows are left as they are');

select * from finish();
rollback;
