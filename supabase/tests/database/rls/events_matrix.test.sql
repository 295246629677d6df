-- Row level security matrix for flows.events: anon, member, manager, admin, another tenant's admin and
-- service_role x select, insert, update, delete. Each statement runs as that role and is undone
-- (tests.rows_affected), so every cell sees the same world (tests.build_world).
-- Events: the engine's outbox; nobody but service_role reads or writes it.
begin;
\ir ../000-setup/helpers.psql
select plan(24);
select tests.build_world();

-- anon
select tests.authenticate_as_anon();
select throws_ok(
  $sql$select tests.rows_affected($$ select * from flows.events $$)$sql$,
  '42501', 'permission denied for table events',
  'events x anon x select (reads): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ insert into flows.events (source_schema, source_table, operation) values ('public', 'leads', 'UPDATE') $$)$sql$,
  '42501', 'permission denied for table events',
  'events x anon x insert (writes an event): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ update flows.events set processed_at = now() $$)$sql$,
  '42501', 'permission denied for table events',
  'events x anon x update (marks events processed): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ delete from flows.events $$)$sql$,
  '42501', 'permission denied for table events',
  'events x anon x delete (deletes events): denied, no privilege');

-- member
select tests.authenticate_as(tests.id('member_a'));
select throws_ok(
  $sql$select tests.rows_affected($$ select * from flows.events $$)$sql$,
  '42501', 'permission denied for table events',
  'events x member x select (reads): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ insert into flows.events (source_schema, source_table, operation) values ('public', 'leads', 'UPDATE') $$)$sql$,
  '42501', 'permission denied for table events',
  'events x member x insert (writes an event): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ update flows.events set processed_at = now() $$)$sql$,
  '42501', 'permission denied for table events',
  'events x member x update (marks events processed): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ delete from flows.events $$)$sql$,
  '42501', 'permission denied for table events',
  'events x member x delete (deletes events): denied, no privilege');

-- manager
select tests.authenticate_as(tests.id('manager_a'));
select throws_ok(
  $sql$select tests.rows_affected($$ select * from flows.events $$)$sql$,
  '42501', 'permission denied for table events',
  'events x manager x select (reads): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ insert into flows.events (source_schema, source_table, operation) values ('public', 'leads', 'UPDATE') $$)$sql$,
  '42501', 'permission denied for table events',
  'events x manager x insert (writes an event): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ update flows.events set processed_at = now() $$)$sql$,
  '42501', 'permission denied for table events',
  'events x manager x update (marks events processed): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ delete from flows.events $$)$sql$,
  '42501', 'permission denied for table events',
  'events x manager x delete (deletes events): denied, no privilege');

-- admin
select tests.authenticate_as(tests.id('admin_a'));
select throws_ok(
  $sql$select tests.rows_affected($$ select * from flows.events $$)$sql$,
  '42501', 'permission denied for table events',
  'events x admin x select (reads): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ insert into flows.events (source_schema, source_table, operation) values ('public', 'leads', 'UPDATE') $$)$sql$,
  '42501', 'permission denied for table events',
  'events x admin x insert (writes an event): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ update flows.events set processed_at = now() $$)$sql$,
  '42501', 'permission denied for table events',
  'events x admin x update (marks events processed): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ delete from flows.events $$)$sql$,
  '42501', 'permission denied for table events',
  'events x admin x delete (deletes events): denied, no privilege');

-- other tenant's admin
select tests.authenticate_as(tests.id('admin_b'));
select throws_ok(
  $sql$select tests.rows_affected($$ select * from flows.events $$)$sql$,
  '42501', 'permission denied for table events',
  'events x other tenant''s admin x select (reads): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ insert into flows.events (source_schema, source_table, operation) values ('public', 'leads', 'UPDATE') $$)$sql$,
  '42501', 'permission denied for table events',
  'events x other tenant''s admin x insert (writes an event): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ update flows.events set processed_at = now() $$)$sql$,
  '42501', 'permission denied for table events',
  'events x other tenant''s admin x update (marks events processed): denied, no privilege');
select throws_ok(
  $sql$select tests.rows_affected($$ delete from flows.events $$)$sql$,
  '42501', 'permission denied for table events',
  'events x other tenant''s admin x delete (deletes events): denied, no privilege');

-- service_role
select tests.act_as_service_role();
select is(tests.rows_affected($$ select * from flows.events $$), 2,
  'events x service_role x select (reads): 2 rows');
select is(tests.rows_affected($$ insert into flows.events (source_schema, source_table, operation) values ('public', 'leads', 'UPDATE') $$), 1,
  'events x service_role x insert (writes an event): 1 row');
select is(tests.rows_affected($$ update flows.events set processed_at = now() $$), 2,
  'events x service_role x update (marks events processed): 2 rows');
select is(tests.rows_affected($$ delete from flows.events $$), 2,
  'events x service_role x delete (deletes events): 2 rows');

select * from finish();
rollback;
