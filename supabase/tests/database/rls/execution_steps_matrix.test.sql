-- Row level security matrix for flows.execution_steps: anon, member, manager, admin, another tenant's admin and
-- service_role x select, insert, update, delete. Each statement runs as that role and is undone
-- (tests.rows_affected), so every cell sees the same world (tests.build_world).
-- Execution steps: readable like their executions; only service_role inserts and updates; nobody deletes.
begin;
\ir ../000-setup/helpers.psql
select plan(24);
select tests.build_world();

-- anon
select tests.authenticate_as_anon();
select throws_ok(
  $sql$select tests.rows_affected($$ select * from flows.execution_steps $$)$sql$,
  '42501', 'permission denied for table execution_steps',
  'execution_steps x anon x select (reads): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ insert into flows.execution_steps (execution_id, tenant_id, step_id, step_type) values ({exec_manager_a}, '00000000-0000-0000-0000-000000000001', 'second', 'log') $$)$sql$,
  '42501', 'permission denied for table execution_steps',
  'execution_steps x anon x insert (records a step attempt): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ update flows.execution_steps set status = 'completed' where execution_id = {exec_manager_a} $$)$sql$,
  '42501', 'permission denied for table execution_steps',
  'execution_steps x anon x update (completes a step attempt): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ delete from flows.execution_steps where execution_id = {exec_member_a} $$)$sql$,
  '42501', 'permission denied for table execution_steps',
  'execution_steps x anon x delete (deletes a step attempt): denied, no privilege');

-- member
select tests.authenticate_as(tests.id('member_a'));
select is(tests.rows_affected($$ select * from flows.execution_steps $$), 1,
  'execution_steps x member x select (reads): 1 row');
select throws_ok(
  $sql$select tests.rows_affected($$ insert into flows.execution_steps (execution_id, tenant_id, step_id, step_type) values ({exec_manager_a}, '00000000-0000-0000-0000-000000000001', 'second', 'log') $$)$sql$,
  '42501', 'permission denied for table execution_steps',
  'execution_steps x member x insert (records a step attempt): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ update flows.execution_steps set status = 'completed' where execution_id = {exec_manager_a} $$)$sql$,
  '42501', 'permission denied for table execution_steps',
  'execution_steps x member x update (completes a step attempt): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ delete from flows.execution_steps where execution_id = {exec_member_a} $$)$sql$,
  '42501', 'permission denied for table execution_steps',
  'execution_steps x member x delete (deletes a step attempt): denied, no privilege');

-- manager
select tests.authenticate_as(tests.id('manager_a'));
select is(tests.rows_affected($$ select * from flows.execution_steps $$), 2,
  'execution_steps x manager x select (reads): 2 rows');
select throws_ok(
  $sql$select tests.rows_affected($$ insert into flows.execution_steps (execution_id, tenant_id, step_id, step_type) values ({exec_manager_a}, '00000000-0000-0000-0000-000000000001', 'second', 'log') $$)$sql$,
  '42501', 'permission denied for table execution_steps',
  'execution_steps x manager x insert (records a step attempt): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ update flows.execution_steps set status = 'completed' where execution_id = {exec_manager_a} $$)$sql$,
  '42501', 'permission denied for table execution_steps',
  'execution_steps x manager x update (completes a step attempt): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ delete from flows.execution_steps where execution_id = {exec_member_a} $$)$sql$,
  '42501', 'permission denied for table execution_steps',
  'execution_steps x manager x delete (deletes a step attempt): denied, no privilege');

-- admin
select tests.authenticate_as(tests.id('admin_a'));
select is(tests.rows_affected($$ select * from flows.execution_steps $$), 2,
  'execution_steps x admin x select (reads): 2 rows');
select throws_ok(
  $sql$select tests.rows_affected($$ insert into flows.execution_steps (execution_id, tenant_id, step_id, step_type) values ({exec_manager_a}, '00000000-0000-0000-0000-000000000001', 'second', 'log') $$)$sql$,
  '42501', 'permission denied for table execution_steps',
  'execution_steps x admin x insert (records a step attempt): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ update flows.execution_steps set status = 'completed' where execution_id = {exec_manager_a} $$)$sql$,
  '42501', 'permission denied for table execution_steps',
  'execution_steps x admin x update (completes a step attempt): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ delete from flows.execution_steps where execution_id = {exec_member_a} $$)$sql$,
  '42501', 'permission denied for table execution_steps',
  'execution_steps x admin x delete (deletes a step attempt): denied, no privilege');

-- other tenant's admin
select tests.authenticate_as(tests.id('admin_b'));
select is(tests.rows_affected($$ select * from flows.execution_steps $$), 1,
  'execution_steps x other tenant''s admin x select (reads): 1 row');
select throws_ok(
  $sql$select tests.rows_affected($$ insert into flows.execution_steps (execution_id, tenant_id, step_id, step_type) values ({exec_manager_a}, '00000000-0000-0000-0000-000000000001', 'second', 'log') $$)$sql$,
  '42501', 'permission denied for table execution_steps',
  'execution_steps x other tenant''s admin x insert (records a step attempt): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ update flows.execution_steps set status = 'completed' where execution_id = {exec_manager_a} $$)$sql$,
  '42501', 'permission denied for table execution_steps',
  'execution_steps x other tenant''s admin x update (completes a step attempt): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ delete from flows.execution_steps where execution_id = {exec_member_a} $$)$sql$,
  '42501', 'permission denied for table execution_steps',
  'execution_steps x other tenant''s admin x delete (deletes a step attempt): denied, no privilege');

-- service_role
select tests.act_as_service_role();
select is(tests.rows_affected($$ select * from flows.execution_steps $$), 3,
  'execution_steps x service_role x select (reads): 3 rows');
select is(tests.rows_affected($$ insert into flows.execution_steps (execution_id, tenant_id, step_id, step_type) values ({exec_manager_a}, '00000000-0000-0000-0000-000000000001', 'second', 'log') $$), 1,
  'execution_steps x service_role x insert (records a step attempt): 1 row');
select is(tests.rows_affected($$ update flows.execution_steps set status = 'completed' where execution_id = {exec_manager_a} $$), 1,
  'execution_steps x service_role x update (completes a step attempt): 1 row');
select throws_ok(
  $sql$select tests.rows_affected($$ delete from flows.execution_steps where execution_id = {exec_member_a} $$)$sql$,
  '42501', 'permission denied for table execution_steps',
  'execution_steps x service_role x delete (deletes a step attempt): denied, no privilege');

select * from finish();
rollback;
