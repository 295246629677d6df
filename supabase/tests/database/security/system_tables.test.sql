-- A flow may not watch the system's own tables. Capture triggers are installed by a security definer function and
-- write every captured row into flows.events, whatever tenant it belongs to; so watching flows.* would hand other
-- tenants' rows (versions, members, executions) to the author's executions, and watching flows.events would make each
-- captured change insert into the table it watches, recursively. auth.* and vault.* hold users and secrets.
-- A tenant admin (allowed to publish) tries each; publishing must fail with FL003 naming trigger.table, and no
-- trigger may appear on the table.
begin;
\ir ../000-setup/helpers.psql
select plan(8);
select tests.build_world();

select tests.authenticate_as(tests.id('admin_a'));
create temporary table attempt_flow on commit drop as
  select (flows.create_flow('watch-system', 'Watch system tables')).flow_id;
grant select on attempt_flow to authenticated;

create function pg_temp.publish_watching(table_name text) returns void
language plpgsql
as $$
declare
  draft uuid;
begin
  select (flows.create_draft((select flow_id from attempt_flow), tests.row_change_definition(table_name, array['INSERT']))).version_id
    into draft;
  perform flows.publish_version(draft);
end
$$;

select throws_like($$ select pg_temp.publish_watching('flows.events') $$, 'trigger.table: %', 'watching flows.events is refused (it would capture its own inserts)');
select throws_like($$ select pg_temp.publish_watching('flows.versions') $$, 'trigger.table: %', 'watching flows.versions is refused (other tenants'' definitions)');
select throws_like($$ select pg_temp.publish_watching('flows.members') $$, 'trigger.table: %', 'watching flows.members is refused (other tenants'' members)');
select throws_like($$ select pg_temp.publish_watching('auth.users') $$, 'trigger.table: %', 'watching auth.users is refused (every user of the project)');

select tests.clear_authentication();
select is(
  array(select t.tgrelid::regclass::text from pg_catalog.pg_trigger t
         where t.tgname like 'flows_capture_%'
           and t.tgrelid::regclass::text in ('flows.events', 'flows.versions', 'flows.members', 'auth.users')
         order by 1),
  '{}'::text[],
  'no capture trigger was installed on a system table');
select is(
  (select count(*)::int from flows.versions where flow_id = (select flow_id from attempt_flow) and status = 'published'),
  0,
  'nothing was published');

-- The same names are refused by the structural check anyone can call, so editors see it before publishing.
select isnt(flows.validate_definition(tests.row_change_definition('flows.events', array['INSERT'])), '[]'::jsonb,
  'validate_definition reports flows.events');
select isnt(flows.validate_definition(tests.row_change_definition('auth.users', array['INSERT'])), '[]'::jsonb,
  'validate_definition reports auth.users');

select * from finish();
rollback;
