-- The tick puts back capture triggers that went missing. A row filter makes a capture trigger depend on the columns
-- its rules name, so `alter table … drop column … cascade` on such a column drops the trigger with it, and the flows
-- watching the table would capture nothing until the next publish. The tick notices within a minute and reinstalls
-- the triggers (the rule is translated again without the column).

create or replace function flows.tick() returns boolean
language plpgsql volatile security definer set search_path = ''
-- definer: run by pg_cron; reads engine tables, reinstalls triggers and queues a pg_net request.
as $$
begin
  if exists (
       select 1 from flows.watches w cross join unnest(w.events) as e
        where pg_catalog.to_regclass(w.table_name) is not null
          and not exists (select 1 from pg_catalog.pg_trigger t
                           where t.tgrelid = pg_catalog.to_regclass(w.table_name)
                             and t.tgname = 'flows_capture_' || pg_catalog.lower(e)))
  then
    raise warning 'flows: a capture trigger was missing (dropped with a column it depended on?); reinstalling them';
    perform flows.refresh_watches();
  end if;
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
comment on function flows.tick() is
  'The pg_cron tick: reinstalls capture triggers that went missing, and wakes the flow-engine function when waits are due, kicks were lost or leases expired. Returns whether it asked for an invocation.';
