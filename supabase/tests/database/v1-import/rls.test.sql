-- Who reads the import mappings: admins and managers of the tenant the flows were imported into; members, other
-- tenants and anon read nothing; nobody but flows.import_v1 writes them.
begin;
\ir ../000-setup/helpers.psql
\ir fixture.psql
select plan(8);
set local client_min_messages = warning;
select tests.build_world();
select flows.import_v1('v1_fixture');

create function pg_temp.visible() returns integer[]
language sql stable set search_path = '' as $$
  select array[(select count(*) from flows.v1_imports), (select count(*) from flows.v1_execution_imports)]::integer[]
$$;
grant execute on function pg_temp.visible() to anon, authenticated, service_role;

select tests.authenticate_as(tests.id('admin_a'));
select is(pg_temp.visible(), array[2, 3], 'an admin of the tenant reads its flow and execution mappings');
select throws_ok($$insert into flows.v1_imports (source_schema, v1_flow_id, tenant_id, flow_id)
                   select 'x', '1', tenant_id, flow_id from flows.flows limit 1$$, '42501', null,
  'but cannot write them');
select throws_ok($$delete from flows.v1_execution_imports$$, '42501', null, 'nor delete them');
select tests.authenticate_as(tests.id('manager_a'));
select is(pg_temp.visible(), array[2, 3], 'a manager reads them');
select tests.authenticate_as(tests.id('member_a'));
select is(pg_temp.visible(), array[0, 0], 'a member does not');
select tests.authenticate_as(tests.id('admin_b'));
select is(pg_temp.visible(), array[0, 0], 'nor another tenant''s admin');
select tests.authenticate_as_anon();
select throws_ok($$select pg_temp.visible()$$, '42501', null, 'anon has no privilege on them');
select tests.act_as_service_role();
select is(pg_temp.visible(), array[2, 3], 'service_role reads everything');

select * from finish();
rollback;
