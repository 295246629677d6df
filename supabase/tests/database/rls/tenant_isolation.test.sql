-- No path crosses tenants: not by reading, not by naming another tenant's flow, not by a claim naming a tenant
-- the user does not belong to. A user in several tenants must say which one.
begin;
\ir ../000-setup/helpers.psql
select plan(9);
select tests.build_world();

select tests.authenticate_as(tests.id('admin_b'));
select is(
  (select count(*)::int from flows.flows where tenant_id <> '00000000-0000-0000-0000-000000000002')
  + (select count(*)::int from flows.versions where tenant_id <> '00000000-0000-0000-0000-000000000002')
  + (select count(*)::int from flows.executions where tenant_id <> '00000000-0000-0000-0000-000000000002')
  + (select count(*)::int from flows.execution_steps where tenant_id <> '00000000-0000-0000-0000-000000000002')
  + (select count(*)::int from flows.members where tenant_id <> '00000000-0000-0000-0000-000000000002'),
  0, 'tenant B''s admin reads no row of tenant A');
select throws_ok(
  format($$insert into flows.versions (flow_id, tenant_id, definition) values (%L, '00000000-0000-0000-0000-000000000002', '{}')$$,
    tests.id('flow_a')),
  '23503', null, 'a version of tenant A''s flow cannot be filed under tenant B');

-- A claim naming a tenant the user is not a member of gives no role there.
select tests.authenticate_as(tests.id('admin_b'), '00000000-0000-0000-0000-000000000001');
select is(flows.current_member_role(), null, 'claiming tenant A gives tenant B''s admin no role in A');
select is((select count(*)::int from flows.flows), 0, 'and no rows');

select tests.authenticate_as(tests.id('outsider'));
select is((select count(*)::int from flows.flows) + (select count(*)::int from flows.members), 0,
  'a user without membership reads nothing');

-- A user in two tenants.
select tests.clear_authentication();
select tests.add_member('00000000-0000-0000-0000-000000000002', tests.id('member_a'), 'admin');
select tests.authenticate_as(tests.id('member_a'));
select throws_ok($$select count(*) from flows.flows$$, 'FL007',
  'the caller belongs to several tenants; set app_metadata.tenant_id in the JWT to choose one',
  'a user in two tenants without a claim is asked to choose');
select tests.authenticate_as(tests.id('member_a'), '00000000-0000-0000-0000-000000000002');
select is((select count(*)::int from flows.flows), 1, 'with the claim for B they see B''s flows as its admin');
select tests.authenticate_as(tests.id('member_a'), '00000000-0000-0000-0000-000000000001');
select is((select count(*)::int from flows.flows), 1, 'with the claim for A they are a member of A again');
select throws_ok($$select flows.create_flow('as-member', 'As member')$$, 'FL001', null,
  'and their admin role in B gives them nothing in A');

select * from finish();
rollback;
