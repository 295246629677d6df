-- Row level security matrix for flows.executions: anon, member, manager, admin, another tenant's admin and
-- service_role x select, insert, update, delete. Each statement runs as that role and is undone
-- (tests.rows_affected), so every cell sees the same world (tests.build_world).
-- Executions: members read their own, admins and managers all of their tenant; only service_role inserts and updates; nobody deletes.
begin;
\ir ../000-setup/helpers.psql
select plan(24);
select tests.build_world();

-- anon
select tests.authenticate_as_anon();
select throws_ok(
  $sql$select tests.rows_affected($$ select * from flows.executions $$)$sql$,
  '42501', 'permission denied for table executions',
  'executions x anon x select (reads): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ insert into flows.executions (tenant_id, flow_id, version_id, trigger_type) values ('00000000-0000-0000-0000-000000000001', {flow_a}, {flow_a_v2}, 'manual') $$)$sql$,
  '42501', 'permission denied for table executions',
  'executions x anon x insert (starts an execution): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ update flows.executions set status = 'completed' where execution_id = {exec_manager_a} $$)$sql$,
  '42501', 'permission denied for table executions',
  'executions x anon x update (completes manager_a''s execution): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ delete from flows.executions where execution_id = {exec_member_a} $$)$sql$,
  '42501', 'permission denied for table executions',
  'executions x anon x delete (deletes member_a''s execution): denied, no privilege');

-- member
select tests.authenticate_as(tests.id('member_a'));
select is(tests.rows_affected($$ select * from flows.executions $$), 1,
  'executions x member x select (reads): 1 row');
select throws_ok(
  $sql$select tests.rows_affected($$ insert into flows.executions (tenant_id, flow_id, version_id, trigger_type) values ('00000000-0000-0000-0000-000000000001', {flow_a}, {flow_a_v2}, 'manual') $$)$sql$,
  '42501', 'permission denied for table executions',
  'executions x member x insert (starts an execution): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ update flows.executions set status = 'completed' where execution_id = {exec_manager_a} $$)$sql$,
  '42501', 'permission denied for table executions',
  'executions x member x update (completes manager_a''s execution): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ delete from flows.executions where execution_id = {exec_member_a} $$)$sql$,
  '42501', 'permission denied for table executions',
  'executions x member x delete (deletes member_a''s execution): denied, no privilege');

-- manager
select tests.authenticate_as(tests.id('manager_a'));
select is(tests.rows_affected($$ select * from flows.executions $$), 2,
  'executions x manager x select (reads): 2 rows');
select throws_ok(
  $sql$select tests.rows_affected($$ insert into flows.executions (tenant_id, flow_id, version_id, trigger_type) values ('00000000-0000-0000-0000-000000000001', {flow_a}, {flow_a_v2}, 'manual') $$)$sql$,
  '42501', 'permission denied for table executions',
  'executions x manager x insert (starts an execution): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ update flows.executions set status = 'completed' where execution_id = {exec_manager_a} $$)$sql$,
  '42501', 'permission denied for table executions',
  'executions x manager x update (completes manager_a''s execution): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ delete from flows.executions where execution_id = {exec_member_a} $$)$sql$,
  '42501', 'permission denied for table executions',
  'executions x manager x delete (deletes member_a''s execution): denied, no privilege');

-- admin
select tests.authenticate_as(tests.id('admin_a'));
select is(tests.rows_affected($$ select * from flows.executions $$), 2,
  'executions x admin x select (reads): 2 rows');
select throws_ok(
  $sql$select tests.rows_affected($$ insert into flows.executions (tenant_id, flow_id, version_id, trigger_type) values ('00000000-0000-0000-0000-000000000001', {flow_a}, {flow_a_v2}, 'manual') $$)$sql$,
  '42501', 'permission denied for table executions',
  'executions x admin x insert (starts an execution): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ update flows.executions set status = 'completed' where execution_id = {exec_manager_a} $$)$sql$,
  '42501', 'permission denied for table executions',
  'executions x admin x update (completes manager_a''s execution): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ delete from flows.executions where execution_id = {exec_member_a} $$)$sql$,
  '42501', 'permission denied for table executions',
  'executions x admin x delete (deletes member_a''s execution): denied, no privilege');

-- other tenant's admin
select tests.authenticate_as(tests.id('admin_b'));
select is(tests.rows_affected($$ select * from flows.executions $$), 1,
  'executions x other tenant''s admin x select (reads): 1 row');
select throws_ok(
  $sql$select tests.rows_affected($$ insert into flows.executions (tenant_id, flow_id, version_id, trigger_type) values ('00000000-0000-0000-0000-000000000001', {flow_a}, {flow_a_v2}, 'manual') $$)$sql$,
  '42501', 'permission denied for table executions',
  'executions x other tenant''s admin x insert (starts an execution): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ update flows.executions set status = 'completed' where execution_id = {exec_manager_a} $$)$sql$,
  '42501', 'permission denied for table executions',
  'executions x other tenant''s admin x update (completes manager_a''s execution): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ delete from flows.executions where execution_id = {exec_member_a} $$)$sql$,
  '42501', 'permission denied for table executions',
  'executions x other tenant''s admin x delete (deletes member_a''s execution): denied, no privilege');

-- service_role
select tests.act_as_service_role();
select is(tests.rows_affected($$ select * from flows.executions $$), 3,
  'executions x service_role x select (reads): 3 rows');
select is(tests.rows_affected($$ insert into flows.executions (tenant_id, flow_id, version_id, trigger_type) values ('00000000-0000-0000-0000-000000000001', {flow_a}, {flow_a_v2}, 'manual') $$), 1,
  'executions x service_role x insert (starts an execution): 1 row');
select is(tests.rows_affected($$ update flows.executions set status = 'completed' where execution_id = {exec_manager_a} $$), 1,
  'executions x service_role x update (completes manager_a''s execution): 1 row');
select throws_ok(
  $sql$select tests.rows_affected($$ delete from flows.executions where execution_id = {exec_member_a} $$)$sql$,
  '42501', 'permission denied for table executions',
  'executions x service_role x delete (deletes member_a''s execution): denied, no privilege');

select * from finish();
rollback;
