-- The engine's hot queries use their indexes once tables hold real history (EXPLAIN on 20,000 finished executions
-- and 20,000 processed events with a handful of live rows). docs/sql-api.md shows the plans.
begin;
\ir ../000-setup/helpers.psql
select plan(6);
select tests.build_world();

insert into flows.executions (tenant_id, flow_id, version_id, trigger_type, status, subject, started_at, finished_at)
select v.tenant_id, v.flow_id, v.version_id, 'row_change', 'completed', 'lead-' || n, now() - n * interval '1 minute', now()
  from flows.versions as v, generate_series(1, 20000) as n
 where v.version_id = tests.id('flow_a_v2');
insert into flows.executions (tenant_id, flow_id, version_id, trigger_type, status, resume_at, lease_owner, lease_expires_at)
select v.tenant_id, v.flow_id, v.version_id, 'manual', s.status, s.resume_at, s.lease_owner, s.lease_expires_at
  from flows.versions as v,
       (values ('pending', null::timestamptz, null, null::timestamptz),
               ('waiting', now() - interval '1 minute', null, null),
               ('running', null, 'worker-1', now() - interval '5 minutes')) as s (status, resume_at, lease_owner, lease_expires_at)
 where v.version_id = tests.id('flow_a_v2');
insert into flows.events (source_schema, source_table, operation, new_row, processed_at)
select 'public', 'leads', 'INSERT', jsonb_build_object('id', n), now() from generate_series(1, 20000) as n;
insert into flows.events (source_schema, source_table, operation, new_row)
select 'public', 'leads', 'INSERT', jsonb_build_object('id', n) from generate_series(1, 5) as n;
analyze flows.executions;
analyze flows.events;
analyze flows.versions;

create function pg_temp.plan_of(query text) returns text
language plpgsql
volatile
set search_path = ''
as $$
declare
  line text;
  plan text := '';
begin
  for line in execute 'explain (costs off) ' || query loop
    plan := plan || line || E'\n';
  end loop;
  return plan;
end
$$;

select matches(pg_temp.plan_of($$
  select event_id from flows.events where processed_at is null order by event_id limit 100 for update skip locked
$$), 'events_unprocessed_idx', 'claiming events reads events_unprocessed_idx');

select matches(pg_temp.plan_of($$
  select execution_id from flows.executions
   where status = 'pending' or (status = 'waiting' and resume_at <= now())
   limit 50 for update skip locked
$$), 'executions_runnable_idx', 'claiming runnable work reads executions_runnable_idx');

select matches(pg_temp.plan_of($$
  select execution_id from flows.executions
   where status = 'running' and lease_expires_at < now()
   limit 50 for update skip locked
$$), 'executions_expired_leases_idx', 'finding expired leases reads executions_expired_leases_idx');

select matches(pg_temp.plan_of(format($$
  select version_id, definition from flows.versions where flow_id = %L and status = 'published'
$$, tests.id('flow_a'))), 'versions_one_published_per_flow_idx|Seq Scan on versions',
  'the published version of a flow: versions_one_published_per_flow_idx (or a scan of a tiny table)');
select matches(pg_temp.plan_of($$
  select execution_id from flows.executions where tenant_id = '00000000-0000-0000-0000-000000000001' and subject = 'lead-42'
$$), 'executions_subject_idx', 'executions of one subject read executions_subject_idx');
select matches(pg_temp.plan_of(format($$
  select execution_id from flows.executions where flow_id = %L order by created_at desc limit 20
$$, tests.id('flow_a'))), 'executions_flow_idx', 'the latest executions of a flow read executions_flow_idx');

select * from finish();
rollback;
