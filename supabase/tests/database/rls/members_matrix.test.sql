-- Row level security matrix for flows.members: anon, member, manager, admin, another tenant's admin and
-- service_role x select, insert, update, delete. Each statement runs as that role and is undone
-- (tests.rows_affected), so every cell sees the same world (tests.build_world).
-- Members: a member reads the members of their tenant; only admins add, change or remove them.
begin;
\ir ../000-setup/helpers.psql
select plan(24);
select tests.build_world();

-- anon
select tests.authenticate_as_anon();
select throws_ok(
  $sql$select tests.rows_affected($$ select * from flows.members $$)$sql$,
  '42501', 'permission denied for table members',
  'members x anon x select (reads): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ insert into flows.members (tenant_id, user_id, role) values ('00000000-0000-0000-0000-000000000001', {outsider}, 'member') $$)$sql$,
  '42501', 'permission denied for table members',
  'members x anon x insert (adds a member to tenant A): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ update flows.members set role = 'manager' where user_id = {member_a} $$)$sql$,
  '42501', 'permission denied for table members',
  'members x anon x update (changes member_a''s role): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ delete from flows.members where user_id = {member_a} $$)$sql$,
  '42501', 'permission denied for table members',
  'members x anon x delete (removes member_a): denied, no privilege');

-- member
select tests.authenticate_as(tests.id('member_a'));
select is(tests.rows_affected($$ select * from flows.members $$), 3,
  'members x member x select (reads): 3 rows');
select throws_ok(
  $sql$select tests.rows_affected($$ insert into flows.members (tenant_id, user_id, role) values ('00000000-0000-0000-0000-000000000001', {outsider}, 'member') $$)$sql$,
  '42501', 'new row violates row-level security policy for table "members"',
  'members x member x insert (adds a member to tenant A): denied, the policy refuses the row');
select is(tests.rows_affected($$ update flows.members set role = 'manager' where user_id = {member_a} $$), 0,
  'members x member x update (changes member_a''s role): 0 rows, hidden by the policy');
select is(tests.rows_affected($$ delete from flows.members where user_id = {member_a} $$), 0,
  'members x member x delete (removes member_a): 0 rows, hidden by the policy');

-- manager
select tests.authenticate_as(tests.id('manager_a'));
select is(tests.rows_affected($$ select * from flows.members $$), 3,
  'members x manager x select (reads): 3 rows');
select throws_ok(
  $sql$select tests.rows_affected($$ insert into flows.members (tenant_id, user_id, role) values ('00000000-0000-0000-0000-000000000001', {outsider}, 'member') $$)$sql$,
  '42501', 'new row violates row-level security policy for table "members"',
  'members x manager x insert (adds a member to tenant A): denied, the policy refuses the row');
select is(tests.rows_affected($$ update flows.members set role = 'manager' where user_id = {member_a} $$), 0,
  'members x manager x update (changes member_a''s role): 0 rows, hidden by the policy');
select is(tests.rows_affected($$ delete from flows.members where user_id = {member_a} $$), 0,
  'members x manager x delete (removes member_a): 0 rows, hidden by the policy');

-- admin
select tests.authenticate_as(tests.id('admin_a'));
select is(tests.rows_affected($$ select * from flows.members $$), 3,
  'members x admin x select (reads): 3 rows');
select is(tests.rows_affected($$ insert into flows.members (tenant_id, user_id, role) values ('00000000-0000-0000-0000-000000000001', {outsider}, 'member') $$), 1,
  'members x admin x insert (adds a member to tenant A): 1 row');
select is(tests.rows_affected($$ update flows.members set role = 'manager' where user_id = {member_a} $$), 1,
  'members x admin x update (changes member_a''s role): 1 row');
select is(tests.rows_affected($$ delete from flows.members where user_id = {member_a} $$), 1,
  'members x admin x delete (removes member_a): 1 row');

-- other tenant's admin
select tests.authenticate_as(tests.id('admin_b'));
select is(tests.rows_affected($$ select * from flows.members $$), 1,
  'members x other tenant''s admin x select (reads): 1 row');
select throws_ok(
  $sql$select tests.rows_affected($$ insert into flows.members (tenant_id, user_id, role) values ('00000000-0000-0000-0000-000000000001', {outsider}, 'member') $$)$sql$,
  '42501', 'new row violates row-level security policy for table "members"',
  'members x other tenant''s admin x insert (adds a member to tenant A): denied, the policy refuses the row');
select is(tests.rows_affected($$ update flows.members set role = 'manager' where user_id = {member_a} $$), 0,
  'members x other tenant''s admin x update (changes member_a''s role): 0 rows, hidden by the policy');
select is(tests.rows_affected($$ delete from flows.members where user_id = {member_a} $$), 0,
  'members x other tenant''s admin x delete (removes member_a): 0 rows, hidden by the policy');

-- service_role
select tests.act_as_service_role();
select is(tests.rows_affected($$ select * from flows.members $$), 4,
  'members x service_role x select (reads): 4 rows');
select is(tests.rows_affected($$ insert into flows.members (tenant_id, user_id, role) values ('00000000-0000-0000-0000-000000000001', {outsider}, 'member') $$), 1,
  'members x service_role x insert (adds a member to tenant A): 1 row');
select is(tests.rows_affected($$ update flows.members set role = 'manager' where user_id = {member_a} $$), 1,
  'members x service_role x update (changes member_a''s role): 1 row');
select is(tests.rows_affected($$ delete from flows.members where user_id = {member_a} $$), 1,
  'members x service_role x delete (removes member_a): 1 row');

select * from finish();
rollback;
