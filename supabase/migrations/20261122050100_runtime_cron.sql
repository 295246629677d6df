-- pg_cron keeps work moving when no row change wakes the engine: a tick wakes the flow-engine function only when
-- something is due (a wait whose time came, an event whose kick was lost, an execution whose invocation died), and a
-- retention job prunes processed events and old pg_net responses.

create function flows.tick() returns boolean
language plpgsql volatile security definer set search_path = ''
-- definer: run by pg_cron; reads engine tables and queues a pg_net request.
as $$
begin
  -- Paused flows' work waits until they resume: waking the engine for it would claim nothing, every tick.
  if exists (
       select 1 from flows.executions e
        where ((e.status = 'waiting' and e.resume_at <= pg_catalog.now())
               or (e.status = 'running' and e.lease_expires_at < pg_catalog.now())
               or (e.status = 'pending' and e.created_at < pg_catalog.now() - interval '5 seconds'))
          and not exists (select 1 from flows.flows f where f.flow_id = e.flow_id and f.is_paused))
     or exists (
       select 1 from flows.events
        where processed_at is null and created_at < pg_catalog.now() - interval '5 seconds'
          -- The engine takes over another invocation's claim after 60 seconds (packages/runtime/src/postgres/store.ts).
          and (claimed_at is null or claimed_at < pg_catalog.now() - interval '60 seconds'))
  then
    return flows.request_drain(true);
  end if;
  return false;
end
$$;
revoke execute on function flows.tick() from public, anon, authenticated;
grant execute on function flows.tick() to service_role;
comment on function flows.tick() is
  'The pg_cron tick: wakes the flow-engine function when waits are due, kicks were lost or leases expired. Returns whether it asked for an invocation.';

create function flows.prune_history(p_keep_events interval default interval '7 days', p_keep_responses interval default interval '1 day')
returns void
language plpgsql volatile security definer set search_path = ''
-- definer: run by pg_cron; deletes from internal tables and pg_net's response table.
as $$
begin
  delete from flows.events where processed_at < pg_catalog.now() - p_keep_events;
  delete from net._http_response where created < pg_catalog.now() - p_keep_responses;
end
$$;
revoke execute on function flows.prune_history(interval, interval) from public, anon, authenticated;
grant execute on function flows.prune_history(interval, interval) to service_role;
comment on function flows.prune_history(interval, interval) is
  'Retention: deletes processed events older than p_keep_events and pg_net responses older than p_keep_responses. Executions are history and are kept.';

create function flows.setup_cron() returns void
language plpgsql volatile security definer set search_path = ''
-- definer: scheduling pg_cron jobs needs the cron schema's owner rights.
as $$
declare
  v_job text;
  v_cron_version text := (select extversion from pg_catalog.pg_extension where extname = 'pg_cron');
  v_tick_schedule text;
begin
  -- pg_cron 1.5 and later (hosted Supabase) take second intervals; 1.4 ticks every minute.
  v_tick_schedule := case when pg_catalog.regexp_match(v_cron_version, '^(\d+)\.(\d+)')::int[] >= array[1, 5] then '5 seconds' else '* * * * *' end;
  foreach v_job in array array['flows_tick', 'flows_retention'] loop
    if exists (select 1 from cron.job where jobname = v_job) then
      perform cron.unschedule(v_job);
    end if;
  end loop;
  perform cron.schedule('flows_tick', v_tick_schedule, 'select flows.tick()');
  perform cron.schedule('flows_retention', '17 * * * *', 'select flows.prune_history()');
end
$$;
revoke execute on function flows.setup_cron() from public, anon, authenticated;
comment on function flows.setup_cron() is
  'Installs the named pg_cron jobs flows_tick and flows_retention; idempotent (unschedules, then schedules).';

select flows.setup_cron();
