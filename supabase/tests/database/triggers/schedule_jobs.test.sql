-- Schedule jobs follow the flow: publishing a schedule version installs flows_schedule_<flow id>, publishing another
-- schedule replaces it, rollback restores it, and archiving, publishing a non-schedule version, deactivating and
-- deleting remove it. Unknown time zones and malformed cron expressions are refused at publish.
begin;
\ir ../000-setup/helpers.psql
select plan(23);

create temporary table nightly as
  select (flows.create_flow('nightly', 'Nightly sync')).flow_id;
create function pg_temp.job() returns table (schedule text, command text)
language sql as $$
  select j.schedule, j.command from cron.job as j where j.jobname = flows.schedule_job_name((select flow_id from nightly))
$$;
create function pg_temp.draft(definition jsonb) returns uuid
language sql as $$
  select (flows.create_draft((select flow_id from nightly), definition)).version_id
$$;
create function pg_temp.schedule(cron text, extra jsonb default '{}') returns jsonb
language sql as $$
  select jsonb_build_object('trigger', jsonb_build_object('type', 'schedule', 'cron', cron) || extra,
                            'steps', jsonb_build_array(jsonb_build_object('id', 'log', 'type', 'log', 'config', jsonb_build_object('message', 'tick'))))
$$;

select is(flows.schedule_job_name('0b6c2c3e-1111-4222-8333-944445555666'), 'flows_schedule_0b6c2c3e111142228333944445555666',
  'the job is named after the flow id without dashes');
select is_empty($$select * from pg_temp.job()$$, 'a flow with no published version has no job');

create temporary table v1 as select pg_temp.draft(pg_temp.schedule('*/5 * * * *')) as version_id;
select is_empty($$select * from pg_temp.job()$$, 'a schedule draft installs nothing');
select flows.publish_version((select version_id from v1)) is not null as ok \gset
select results_eq($$select * from pg_temp.job()$$,
  format($$values ('*/5 * * * *', %L)$$, format('select flows.fire_schedule(%L)', (select flow_id from nightly))),
  'publishing a schedule version installs the job with its cron and fire_schedule');
select is((select username::text from cron.job where jobname = flows.schedule_job_name((select flow_id from nightly))), 'postgres',
  'the job runs as the schema owner');

create temporary table v2 as select pg_temp.draft(pg_temp.schedule('0  3 * * 1-5', '{"timezone": "UTC"}')) as version_id;
select flows.publish_version((select version_id from v2)) is not null as ok \gset
select results_eq($$select schedule from pg_temp.job()$$, $$values ('0 3 * * 1-5')$$,
  'publishing another schedule replaces the job (whitespace normalised; timezone UTC accepted)');
select is((select count(*)::int from cron.job where jobname = flows.schedule_job_name((select flow_id from nightly))), 1, 'still one job for the flow');

select flows.rollback_to_version((select flow_id from nightly), (select version_id from v1)) is not null as ok \gset
select results_eq($$select schedule from pg_temp.job()$$, $$values ('*/5 * * * *')$$, 'a rollback restores the earlier schedule');

select flows.set_flow_active((select flow_id from nightly), false) is not null as ok \gset
select is_empty($$select * from pg_temp.job()$$, 'deactivating the flow removes the job');
select flows.set_flow_active((select flow_id from nightly), true) is not null as ok \gset
select results_eq($$select schedule from pg_temp.job()$$, $$values ('*/5 * * * *')$$, 'activating it again reinstalls it');

select flows.archive_version((select version_id from flows.versions where flow_id = (select flow_id from nightly) and status = 'published')) is not null as ok \gset
select is_empty($$select * from pg_temp.job()$$, 'archiving the published version removes the job');

select flows.rollback_to_version((select flow_id from nightly), (select version_id from v2)) is not null as ok \gset
select results_eq($$select schedule from pg_temp.job()$$, $$values ('0 3 * * 1-5')$$, 'rolling back to a schedule version installs it');
select flows.publish_version(pg_temp.draft(tests.definition())) is not null as ok \gset
select is_empty($$select * from pg_temp.job()$$, 'publishing a manual version removes the job');

-- Other time zones: the job runs every minute and fire_schedule picks the minutes (see fire_schedule.test.sql).
create temporary table paris as select pg_temp.draft(pg_temp.schedule('0 9 * * *', '{"timezone": "Europe/Paris"}')) as version_id;
select flows.publish_version((select version_id from paris)) is not null as ok \gset
select results_eq($$select schedule from pg_temp.job()$$, $$values ('* * * * *')$$,
  'a schedule in another time zone runs its job every minute');

-- Refused at publish.
create temporary table mars as select pg_temp.draft(pg_temp.schedule('0 9 * * *', '{"timezone": "Mars/Olympus_Mons"}')) as version_id;
select throws_ok(format('select flows.publish_version(%L)', (select version_id from mars)), 'FL003',
  'trigger.timezone: "Mars/Olympus_Mons" is not a time zone this database knows', 'an unknown time zone is refused at publish');
select is((select status from flows.versions where version_id = (select version_id from mars)), 'draft', 'and the version stays a draft');
create temporary table bad_cron as select pg_temp.draft(pg_temp.schedule('61 * * * *')) as version_id;
select throws_like(format('select flows.publish_version(%L)', (select version_id from bad_cron)),
  'trigger.cron: "61 * * * *" was refused by pg_cron:%', 'a cron expression pg_cron refuses is FL003 at publish');
create temporary table bad_zoned_cron as
  select pg_temp.draft(pg_temp.schedule('0 25 * * *', '{"timezone": "America/New_York"}')) as version_id;
select throws_ok(format('select flows.publish_version(%L)', (select version_id from bad_zoned_cron)), 'FL003',
  'trigger.cron: "0 25 * * *" is not a valid cron expression: "25" is not between 0 and 23',
  'so is a malformed cron expression in another zone');

-- Deleting the flow.
select flows.rollback_to_version((select flow_id from nightly), (select version_id from v1)) is not null as ok \gset
select isnt_empty($$select * from pg_temp.job()$$, 'the job is back before the delete');
select flows.delete_flow((select flow_id from nightly));
select is_empty($$select * from pg_temp.job()$$, 'deleting the flow removes the job');

-- refresh_schedules reconciles: jobs of flows that no longer exist go.
select cron.schedule('flows_schedule_00000000000000000000000000000bad', '* * * * *', 'select 1') is not null as ok \gset
select flows.refresh_schedules();
select is((select count(*)::int from cron.job where jobname = 'flows_schedule_00000000000000000000000000000bad'), 0,
  'refresh_schedules removes the job of a flow that does not exist');

-- Who may call what.
select tests.authenticate_as(tests.create_user('someone@example.com'));
select throws_ok($$select flows.refresh_schedules()$$, '42501', null, 'signed-in users cannot call refresh_schedules');
select throws_ok($$select flows.fire_schedule(gen_random_uuid())$$, '42501', null, 'nor fire_schedule');

select * from finish();
rollback;
