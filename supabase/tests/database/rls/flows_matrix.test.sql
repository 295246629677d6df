-- Row level security matrix for flows.flows: anon, member, manager, admin, another tenant's admin and
-- service_role x select, insert, update, delete. Each statement runs as that role and is undone
-- (tests.rows_affected), so every cell sees the same world (tests.build_world).
-- Flows: members read active flows; admins and managers read all of their tenant and write; admins delete.
begin;
\ir ../000-setup/helpers.psql
select plan(24);
select tests.build_world();

-- anon
select tests.authenticate_as_anon();
select throws_ok(
  $sql$select tests.rows_affected($$ select * from flows.flows $$)$sql$,
  '42501', 'permission denied for table flows',
  'flows x anon x select (reads): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ insert into flows.flows (tenant_id, key, name) values ('00000000-0000-0000-0000-000000000001', 'new-flow', 'New flow') $$)$sql$,
  '42501', 'permission denied for table flows',
  'flows x anon x insert (creates a flow in tenant A): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ update flows.flows set name = 'Renamed' where flow_id in ({flow_a}, {inactive_a}) $$)$sql$,
  '42501', 'permission denied for table flows',
  'flows x anon x update (renames tenant A''s two flows): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ delete from flows.flows where flow_id = {inactive_a} $$)$sql$,
  '42501', 'permission denied for table flows',
  'flows x anon x delete (deletes the inactive flow): denied, no privilege');

-- member
select tests.authenticate_as(tests.id('member_a'));
select is(tests.rows_affected($$ select * from flows.flows $$), 1,
  'flows x member x select (reads): 1 row');
select throws_ok(
  $sql$select tests.rows_affected($$ insert into flows.flows (tenant_id, key, name) values ('00000000-0000-0000-0000-000000000001', 'new-flow', 'New flow') $$)$sql$,
  '42501', 'new row violates row-level security policy for table "flows"',
  'flows x member x insert (creates a flow in tenant A): denied, the policy refuses the row');
select is(tests.rows_affected($$ update flows.flows set name = 'Renamed' where flow_id in ({flow_a}, {inactive_a}) $$), 0,
  'flows x member x update (renames tenant A''s two flows): 0 rows, hidden by the policy');
select is(tests.rows_affected($$ delete from flows.flows where flow_id = {inactive_a} $$), 0,
  'flows x member x delete (deletes the inactive flow): 0 rows, hidden by the policy');

-- manager
select tests.authenticate_as(tests.id('manager_a'));
select is(tests.rows_affected($$ select * from flows.flows $$), 2,
  'flows x manager x select (reads): 2 rows');
select is(tests.rows_affected($$ insert into flows.flows (tenant_id, key, name) values ('00000000-0000-0000-0000-000000000001', 'new-flow', 'New flow') $$), 1,
  'flows x manager x insert (creates a flow in tenant A): 1 row');
select is(tests.rows_affected($$ update flows.flows set name = 'Renamed' where flow_id in ({flow_a}, {inactive_a}) $$), 2,
  'flows x manager x update (renames tenant A''s two flows): 2 rows');
select is(tests.rows_affected($$ delete from flows.flows where flow_id = {inactive_a} $$), 0,
  'flows x manager x delete (deletes the inactive flow): 0 rows, hidden by the policy');

-- admin
select tests.authenticate_as(tests.id('admin_a'));
select is(tests.rows_affected($$ select * from flows.flows $$), 2,
  'flows x admin x select (reads): 2 rows');
select is(tests.rows_affected($$ insert into flows.flows (tenant_id, key, name) values ('00000000-0000-0000-0000-000000000001', 'new-flow', 'New flow') $$), 1,
  'flows x admin x insert (creates a flow in tenant A): 1 row');
select is(tests.rows_affected($$ update flows.flows set name = 'Renamed' where flow_id in ({flow_a}, {inactive_a}) $$), 2,
  'flows x admin x update (renames tenant A''s two flows): 2 rows');
select is(tests.rows_affected($$ delete from flows.flows where flow_id = {inactive_a} $$), 1,
  'flows x admin x delete (deletes the inactive flow): 1 row');

-- other tenant's admin
select tests.authenticate_as(tests.id('admin_b'));
select is(tests.rows_affected($$ select * from flows.flows $$), 1,
  'flows x other tenant''s admin x select (reads): 1 row');
select throws_ok(
  $sql$select tests.rows_affected($$ insert into flows.flows (tenant_id, key, name) values ('00000000-0000-0000-0000-000000000001', 'new-flow', 'New flow') $$)$sql$,
  '42501', 'new row violates row-level security policy for table "flows"',
  'flows x other tenant''s admin x insert (creates a flow in tenant A): denied, the policy refuses the row');
select is(tests.rows_affected($$ update flows.flows set name = 'Renamed' where flow_id in ({flow_a}, {inactive_a}) $$), 0,
  'flows x other tenant''s admin x update (renames tenant A''s two flows): 0 rows, hidden by the policy');
select is(tests.rows_affected($$ delete from flows.flows where flow_id = {inactive_a} $$), 0,
  'flows x other tenant''s admin x delete (deletes the inactive flow): 0 rows, hidden by the policy');

-- service_role
select tests.act_as_service_role();
select is(tests.rows_affected($$ select * from flows.flows $$), 3,
  'flows x service_role x select (reads): 3 rows');
select is(tests.rows_affected($$ insert into flows.flows (tenant_id, key, name) values ('00000000-0000-0000-0000-000000000001', 'new-flow', 'New flow') $$), 1,
  'flows x service_role x insert (creates a flow in tenant A): 1 row');
select is(tests.rows_affected($$ update flows.flows set name = 'Renamed' where flow_id in ({flow_a}, {inactive_a}) $$), 2,
  'flows x service_role x update (renames tenant A''s two flows): 2 rows');
select is(tests.rows_affected($$ delete from flows.flows where flow_id = {inactive_a} $$), 1,
  'flows x service_role x delete (deletes the inactive flow): 1 row');

select * from finish();
rollback;
