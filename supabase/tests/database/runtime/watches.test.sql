-- Capture triggers follow published versions: installed for the operations needed, removed when nothing needs them;
-- a table that cannot be watched refuses the version being published and turning its flow on, but a problem that
-- appeared later under an older version (a dropped primary key) does not block publishing or turning on other flows.
begin;
\ir ../000-setup/helpers.psql
select plan(13);

create table public.watch_leads (id bigint generated always as identity primary key, status text);

select (flows.create_flow('watch-a', 'Watch A')).flow_id as flow_a \gset
select (flows.create_draft(:'flow_a', tests.row_change_definition('watch_leads', array['INSERT', 'UPDATE']))).version_id as a1 \gset
select lives_ok(format($$select flows.publish_version(%L)$$, :'a1'), 'publishing an INSERT/UPDATE flow on a table with a primary key');
select is(
  array(select tgname::text collate "default" from pg_catalog.pg_trigger
         where tgrelid = 'public.watch_leads'::regclass and tgname like 'flows_capture_%' order by 1),
  array['flows_capture_insert', 'flows_capture_update'],
  'only the operations some version listens to get a trigger');

insert into public.watch_leads (status) values ('new');
select is((select count(*)::int from flows.events where source_table = 'watch_leads' and operation = 'INSERT'), 1,
  'an insert is captured in the same transaction');
delete from public.watch_leads;
select is((select count(*)::int from flows.events where source_table = 'watch_leads' and operation = 'DELETE'), 0,
  'a delete nobody listens to costs no event');

-- The primary key goes away under the published version.
alter table public.watch_leads drop constraint watch_leads_pkey;
select (flows.create_flow('watch-b', 'Watch B')).flow_id as flow_b \gset
select (flows.create_draft(:'flow_b', tests.definition())).version_id as b1 \gset
select lives_ok(format($$select flows.publish_version(%L)$$, :'b1'),
  'an unrelated flow still publishes while another flow''s table lost its primary key');
select lives_ok(format($$select flows.set_flow_active(%L, false)$$, :'flow_b'), 'and turns off')
union all
select lives_ok(format($$select flows.set_flow_active(%L, true)$$, :'flow_b'), 'and on again');

select (flows.create_draft(:'flow_a', tests.row_change_definition('watch_leads', array['UPDATE']))).version_id as a2 \gset
select throws_ok(format($$select flows.publish_version(%L)$$, :'a2'), 'FL003',
  'trigger.table: table public.watch_leads needs a single-column primary key for UPDATE events (old and new rows are paired by it)',
  'publishing a version that watches UPDATE on it is refused, naming the reason');

select lives_ok(format($$select flows.set_flow_active(%L, false)$$, :'flow_a'), 'deactivating the flow');
select is((select count(*)::int from pg_catalog.pg_trigger where tgrelid = 'public.watch_leads'::regclass and tgname like 'flows_capture_%'), 0,
  'a table no active published version needs loses its triggers');

select throws_ok(format($$select flows.set_flow_active(%L, true)$$, :'flow_a'), 'FL003',
  'trigger.table: table public.watch_leads needs a single-column primary key for UPDATE events (old and new rows are paired by it)',
  'turning the flow on again is refused while its table cannot be watched');
select is((select is_active from flows.flows where flow_id = :'flow_a'), false, 'and the flow stays off');

select tests.authenticate_as_anon();
select throws_ok($$select flows.drain_lock_key()$$, '42501', null, 'anon cannot call the engine''s internal functions');

select * from finish();
rollback;
