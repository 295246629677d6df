-- request_cancel: admins and managers of the tenant, or the member who started the execution, ask it to stop.
-- Pending and waiting executions are cancelled at once; running ones are flagged for the engine.
begin;
\ir ../000-setup/helpers.psql
select plan(12);
select tests.build_world();

select tests.add_execution('pending_member_a', 'flow_a_v2', 'pending', tests.id('member_a')) is not null as ok \gset
select tests.add_execution('waiting_admin_a', 'flow_a_v2', 'waiting', tests.id('admin_a')) is not null as ok \gset

-- The member who started it.
select tests.authenticate_as(tests.id('member_a'));
select results_eq(format($$select status, error_code, cancel_requested_by from flows.request_cancel(%L)$$, tests.id('pending_member_a')),
  format($$values ('cancelled', 'CANCELLED', %L::uuid)$$, tests.id('member_a')),
  'a member cancels their own pending execution at once');
select throws_ok(format($$select flows.request_cancel(%L)$$, tests.id('waiting_admin_a')),
  'FL002', format('execution %s not found', tests.id('waiting_admin_a')),
  'a member cannot cancel (or see) someone else''s execution');
select throws_ok(format($$select flows.request_cancel(%L)$$, tests.id('pending_member_a')),
  'FL005', format('execution %s is already cancelled', tests.id('pending_member_a')),
  'a cancelled execution cannot be cancelled again');

-- A manager of the tenant.
select tests.authenticate_as(tests.id('manager_a'));
select results_eq(format($$select status, cancel_requested_at is not null from flows.request_cancel(%L)$$, tests.id('exec_manager_a')),
  $$values ('running', true)$$,
  'a running execution stays running, with the request recorded for the engine');
select results_eq(format($$select status, finished_at is not null from flows.request_cancel(%L)$$, tests.id('waiting_admin_a')),
  $$values ('cancelled', true)$$,
  'a manager cancels anyone''s waiting execution at once');
select throws_ok(format($$select flows.request_cancel(%L)$$, tests.id('exec_member_a')),
  'FL005', null, 'a completed execution cannot be cancelled');

-- Other tenants and anon.
select tests.authenticate_as(tests.id('admin_b'));
select throws_ok(format($$select flows.request_cancel(%L)$$, tests.id('exec_manager_a')),
  'FL002', null, 'another tenant''s admin cannot cancel (or see) it');
select tests.authenticate_as(tests.id('outsider'));
select throws_ok(format($$select flows.request_cancel(%L)$$, tests.id('exec_manager_a')),
  'FL002', null, 'nor can a signed-in user who belongs to no tenant');
select tests.authenticate_as_anon();
select throws_ok(format($$select flows.request_cancel(%L)$$, tests.id('exec_manager_a')),
  '42501', null, 'anon cannot call request_cancel');

-- The engine.
select tests.act_as_service_role();
select lives_ok(format($$update flows.executions set status = 'cancelled' where execution_id = %L$$, tests.id('exec_manager_a')),
  'the engine honours the request: running -> cancelled');
select tests.clear_authentication();
select results_eq(format($$select status, cancel_requested_by from flows.executions where execution_id = %L$$, tests.id('exec_manager_a')),
  format($$values ('cancelled', %L::uuid)$$, tests.id('manager_a')),
  'the execution records who asked');
select throws_ok($$select flows.request_cancel(gen_random_uuid())$$, 'FL002', null, 'an unknown execution is not found');

select * from finish();
rollback;
