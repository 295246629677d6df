-- flows.fire_schedule: each firing creates one pending schedule execution and kicks the engine; while an earlier one
-- has not started, further firings create nothing (missed minutes coalesce into one run).
begin;
\ir ../000-setup/helpers.psql
select plan(24);

create temporary table every_minute as select (flows.create_flow('every-minute', 'Every minute')).flow_id;
select flows.publish_version((flows.create_draft((select flow_id from every_minute), jsonb_build_object(
  'trigger', jsonb_build_object('type', 'schedule', 'cron', '* * * * *'),
  'steps', jsonb_build_array(jsonb_build_object('id', 'log', 'type', 'log', 'config', jsonb_build_object('message', 'tick')))
))).version_id) is not null as ok \gset
update flows.engine_state set last_kick_at = '-infinity';

create temporary table fired (n integer, execution_id uuid);
insert into fired select 1, flows.fire_schedule((select flow_id from every_minute));
select isnt((select execution_id from fired where n = 1), null, 'a firing creates an execution');
select results_eq(
  format($$select tenant_id, trigger_type, status, executed_by, version_id from flows.executions where execution_id = %L$$,
    (select execution_id from fired where n = 1)),
  format($$values ('00000000-0000-0000-0000-000000000001'::uuid, 'schedule', 'pending', null::uuid, %L::uuid)$$,
    (select version_id from flows.versions where flow_id = (select flow_id from every_minute) and status = 'published')),
  'pending, trigger_type schedule, pinned to the published version');
select matches((select input ->> 'scheduled_at' from flows.executions where execution_id = (select execution_id from fired where n = 1)),
  '^\d{4}-\d\d-\d\dT\d\d:\d\d:00Z$', 'the input records the minute it was scheduled for, in UTC');
select ok((select last_kick_at > '-infinity' from flows.engine_state), 'the flow-engine was kicked');

insert into fired select 2, flows.fire_schedule((select flow_id from every_minute));
insert into fired select 3, flows.fire_schedule((select flow_id from every_minute));
select is((select count(*)::int from fired where execution_id is null), 2, 'firings while the first has not started return null');
select is((select count(*)::int from flows.executions where flow_id = (select flow_id from every_minute)), 1,
  'and create nothing: missed firings coalesce into one run');

-- Once the engine has started it, the next firing makes a new execution.
update flows.executions set status = 'running' where execution_id = (select execution_id from fired where n = 1);
insert into fired select 4, flows.fire_schedule((select flow_id from every_minute));
select isnt((select execution_id from fired where n = 4), null, 'a firing after the previous run started creates one');
select is((select count(*)::int from flows.executions where flow_id = (select flow_id from every_minute)), 2, 'two executions now');
insert into fired select 5, flows.fire_schedule((select flow_id from every_minute));
select is((select execution_id from fired where n = 5), null, 'and the new pending one coalesces again');

-- Firings for flows that have no active schedule do nothing.
select flows.set_flow_active((select flow_id from every_minute), false) is not null as ok \gset
update flows.executions set status = 'cancelled' where flow_id = (select flow_id from every_minute) and status = 'pending';
select is(flows.fire_schedule((select flow_id from every_minute)), null, 'an inactive flow does not fire');
select is(flows.fire_schedule(gen_random_uuid()), null, 'an unknown flow does not fire');
select flows.set_flow_active((select flow_id from every_minute), true) is not null as ok \gset
select flows.publish_version((flows.create_draft((select flow_id from every_minute), tests.definition())).version_id) is not null as ok \gset
select is(flows.fire_schedule((select flow_id from every_minute)), null, 'a flow whose published version is not a schedule does not fire');

-- Cron expressions in another zone: fire_schedule matches them against that zone's wall clock.
select ok(flows.cron_matches('*/15 * * * *', '2026-01-05 10:30'), '*/15 matches :30');
select ok(not flows.cron_matches('*/15 * * * *', '2026-01-05 10:31'), 'and not :31');
select ok(flows.cron_matches('0 9 * * mon-fri', '2026-01-05 09:00'), 'names: a Monday is in mon-fri');
select ok(not flows.cron_matches('0 9 * * mon-fri', '2026-01-04 09:00'), 'a Sunday is not');
select ok(flows.cron_matches('0 9 * * 7', '2026-01-04 09:00'), '7 is Sunday too');
select ok(flows.cron_matches('0 0 1 * mon', '2026-01-05 00:00'), 'both day fields restricted: either matching is enough');
select ok(not flows.cron_matches('0 0 * jan *', '2026-02-01 00:00'), 'month names');
select ok(flows.cron_matches('5-59/20 1,3 * * *', '2026-02-01 03:45'), 'lists, ranges and steps');
select throws_ok($$select flows.cron_matches('* * *', '2026-01-05 10:30')$$, '22023',
  'expected 5 fields (minute hour day month weekday)', 'five fields are required');
select throws_ok($$select flows.cron_matches('0 0 * * fri-mon', '2026-01-05 10:30')$$, '22023',
  '"fri-mon": the range runs backwards', 'a backwards range is refused');

create temporary table zoned as select (flows.create_flow('zoned', 'Zoned')).flow_id;
-- Every minute in a zone whose wall clock is never at minute 61: the job runs, the firing never matches.
select flows.publish_version((flows.create_draft((select flow_id from zoned), jsonb_build_object(
  'trigger', jsonb_build_object('type', 'schedule', 'cron', format('%s * * * *', (extract(minute from now() at time zone 'Asia/Kolkata')::int + 1) % 60), 'timezone', 'Asia/Kolkata'),
  'steps', jsonb_build_array(jsonb_build_object('id', 'log', 'type', 'log', 'config', jsonb_build_object('message', 'tick')))
))).version_id) is not null as ok \gset
select is(flows.fire_schedule((select flow_id from zoned)), null, 'a zoned schedule does not fire in a minute that does not match there');
select flows.publish_version((flows.create_draft((select flow_id from zoned), jsonb_build_object(
  'trigger', jsonb_build_object('type', 'schedule', 'cron', format('%s * * * *', extract(minute from now() at time zone 'Asia/Kolkata')::int), 'timezone', 'Asia/Kolkata'),
  'steps', jsonb_build_array(jsonb_build_object('id', 'log', 'type', 'log', 'config', jsonb_build_object('message', 'tick')))
))).version_id) is not null as ok \gset
select isnt(flows.fire_schedule((select flow_id from zoned)), null, 'and fires in one that does (Kolkata is UTC+5:30, so the minute differs from UTC''s hour)');

select * from finish();
rollback;
