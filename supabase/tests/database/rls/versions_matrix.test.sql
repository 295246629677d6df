-- Row level security matrix for flows.versions: anon, member, manager, admin, another tenant's admin and
-- service_role x select, insert, update, delete. Each statement runs as that role and is undone
-- (tests.rows_affected), so every cell sees the same world (tests.build_world).
-- Versions: members read published versions and their own drafts; admins and managers read all of their tenant and write; admins delete.
begin;
\ir ../000-setup/helpers.psql
select plan(24);
select tests.build_world();

-- anon
select tests.authenticate_as_anon();
select throws_ok(
  $sql$select tests.rows_affected($$ select * from flows.versions $$)$sql$,
  '42501', 'permission denied for table versions',
  'versions x anon x select (reads): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ insert into flows.versions (flow_id, tenant_id, definition) values ({flow_a}, '00000000-0000-0000-0000-000000000001', '{"trigger": {"type": "manual"}, "steps": []}') $$)$sql$,
  '42501', 'permission denied for table versions',
  'versions x anon x insert (drafts a version of flow_a): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ update flows.versions set change_notes = 'edited' where version_id = {flow_a_v3} $$)$sql$,
  '42501', 'permission denied for table versions',
  'versions x anon x update (edits manager_a''s draft): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ delete from flows.versions where version_id = {flow_a_v4} $$)$sql$,
  '42501', 'permission denied for table versions',
  'versions x anon x delete (deletes the latest draft): denied, no privilege');

-- member
select tests.authenticate_as(tests.id('member_a'));
select is(tests.rows_affected($$ select * from flows.versions $$), 3,
  'versions x member x select (reads): 3 rows');
select throws_ok(
  $sql$select tests.rows_affected($$ insert into flows.versions (flow_id, tenant_id, definition) values ({flow_a}, '00000000-0000-0000-0000-000000000001', '{"trigger": {"type": "manual"}, "steps": []}') $$)$sql$,
  '42501', 'new row violates row-level security policy for table "versions"',
  'versions x member x insert (drafts a version of flow_a): denied, the policy refuses the row');
select is(tests.rows_affected($$ update flows.versions set change_notes = 'edited' where version_id = {flow_a_v3} $$), 0,
  'versions x member x update (edits manager_a''s draft): 0 rows, hidden by the policy');
select is(tests.rows_affected($$ delete from flows.versions where version_id = {flow_a_v4} $$), 0,
  'versions x member x delete (deletes the latest draft): 0 rows, hidden by the policy');

-- manager
select tests.authenticate_as(tests.id('manager_a'));
select is(tests.rows_affected($$ select * from flows.versions $$), 5,
  'versions x manager x select (reads): 5 rows');
select is(tests.rows_affected($$ insert into flows.versions (flow_id, tenant_id, definition) values ({flow_a}, '00000000-0000-0000-0000-000000000001', '{"trigger": {"type": "manual"}, "steps": []}') $$), 1,
  'versions x manager x insert (drafts a version of flow_a): 1 row');
select is(tests.rows_affected($$ update flows.versions set change_notes = 'edited' where version_id = {flow_a_v3} $$), 1,
  'versions x manager x update (edits manager_a''s draft): 1 row');
select is(tests.rows_affected($$ delete from flows.versions where version_id = {flow_a_v4} $$), 0,
  'versions x manager x delete (deletes the latest draft): 0 rows, hidden by the policy');

-- admin
select tests.authenticate_as(tests.id('admin_a'));
select is(tests.rows_affected($$ select * from flows.versions $$), 5,
  'versions x admin x select (reads): 5 rows');
select is(tests.rows_affected($$ insert into flows.versions (flow_id, tenant_id, definition) values ({flow_a}, '00000000-0000-0000-0000-000000000001', '{"trigger": {"type": "manual"}, "steps": []}') $$), 1,
  'versions x admin x insert (drafts a version of flow_a): 1 row');
select is(tests.rows_affected($$ update flows.versions set change_notes = 'edited' where version_id = {flow_a_v3} $$), 1,
  'versions x admin x update (edits manager_a''s draft): 1 row');
select is(tests.rows_affected($$ delete from flows.versions where version_id = {flow_a_v4} $$), 1,
  'versions x admin x delete (deletes the latest draft): 1 row');

-- other tenant's admin
select tests.authenticate_as(tests.id('admin_b'));
select is(tests.rows_affected($$ select * from flows.versions $$), 2,
  'versions x other tenant''s admin x select (reads): 2 rows');
select throws_ok(
  $sql$select tests.rows_affected($$ insert into flows.versions (flow_id, tenant_id, definition) values ({flow_a}, '00000000-0000-0000-0000-000000000001', '{"trigger": {"type": "manual"}, "steps": []}') $$)$sql$,
  '42501', 'new row violates row-level security policy for table "versions"',
  'versions x other tenant''s admin x insert (drafts a version of flow_a): denied, the policy refuses the row');
select is(tests.rows_affected($$ update flows.versions set change_notes = 'edited' where version_id = {flow_a_v3} $$), 0,
  'versions x other tenant''s admin x update (edits manager_a''s draft): 0 rows, hidden by the policy');
select is(tests.rows_affected($$ delete from flows.versions where version_id = {flow_a_v4} $$), 0,
  'versions x other tenant''s admin x delete (deletes the latest draft): 0 rows, hidden by the policy');

-- service_role
select tests.act_as_service_role();
select is(tests.rows_affected($$ select * from flows.versions $$), 7,
  'versions x service_role x select (reads): 7 rows');
select is(tests.rows_affected($$ insert into flows.versions (flow_id, tenant_id, definition) values ({flow_a}, '00000000-0000-0000-0000-000000000001', '{"trigger": {"type": "manual"}, "steps": []}') $$), 1,
  'versions x service_role x insert (drafts a version of flow_a): 1 row');
select is(tests.rows_affected($$ update flows.versions set change_notes = 'edited' where version_id = {flow_a_v3} $$), 1,
  'versions x service_role x update (edits manager_a''s draft): 1 row');
select is(tests.rows_affected($$ delete from flows.versions where version_id = {flow_a_v4} $$), 1,
  'versions x service_role x delete (deletes the latest draft): 1 row');

select * from finish();
rollback;
