-- The test helpers act the way PostgREST does: each one sets the role and the JWT claims that auth.uid(),
-- flows.current_tenant() and row level security read.
begin;
\ir helpers.psql
select plan(13);

select set_eq('select proname::text from pg_proc where pronamespace = ''tests''::regnamespace',
  array['create_user', 'add_member', 'set_claims', 'authenticate_as', 'authenticate_as_anon', 'act_as_service_role',
        'clear_authentication', 'definition', 'row_change_definition', 'id', 'rows_affected', 'add_flow', 'add_version',
        'add_execution', 'build_world'],
  'the helpers exist');

create temporary table ids (name text primary key, id uuid);
grant select on ids to anon, authenticated, service_role;
insert into ids values ('ada', tests.create_user('ada@example.com'));
select tests.add_member('00000000-0000-0000-0000-000000000001', (select id from ids where name = 'ada'), 'manager');

select tests.authenticate_as((select id from ids where name = 'ada'));
select is(current_user::text, 'authenticated', 'authenticate_as switches to the authenticated role');
select is(auth.uid(), (select id from ids where name = 'ada'), 'auth.uid() is the user');
select is(flows.current_tenant(), '00000000-0000-0000-0000-000000000001'::uuid, 'the only membership is the tenant');
select is(flows.current_member_role(), 'manager', 'and the role is the membership''s');

select tests.authenticate_as((select id from ids where name = 'ada'), '00000000-0000-0000-0000-0000000000aa');
select is(flows.current_tenant(), '00000000-0000-0000-0000-0000000000aa'::uuid, 'an app_metadata.tenant_id claim wins');
select is(flows.current_member_role(), null, 'where the user is no member');

select tests.authenticate_as_anon();
select is(current_user::text, 'anon', 'authenticate_as_anon switches to anon');
select throws_ok('select flows.current_tenant()', '42501', null, 'anon may not even ask for a tenant');

select tests.act_as_service_role();
select is(current_user::text, 'service_role', 'act_as_service_role switches to service_role');

select tests.clear_authentication();
select is(current_user::text, 'postgres', 'clear_authentication returns to postgres');
select set_config('request.jwt.claims', '{"role": "anon"}', true);
select is(flows.current_tenant(), null, 'anon claims have no tenant');
select is(flows.validate_definition(tests.definition(array['a', 'b'])), '[]'::jsonb, 'tests.definition is valid');

select * from finish();
rollback;
