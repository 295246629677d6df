-- Schedule triggers: an active flow whose published version has a `schedule` trigger owns one pg_cron job,
-- flows_schedule_<flow id without dashes>, running `select flows.fire_schedule('<flow id>')`. The job follows the
-- flow through AFTER triggers on flows.versions (status changes) and flows.flows (is_active, delete), so publishing,
-- rolling back, archiving, deactivating and deleting keep it in step without touching the admin RPC.
-- pg_cron reads cron expressions in UTC (one zone for the whole server, and no per-job zone in any version), so a
-- schedule in another time zone runs its job every minute and flows.fire_schedule fires only in the minutes that
-- match the expression in the flow's zone (flows.cron_matches), which keeps daylight saving time right.
-- Each firing creates one pending execution and kicks the flow-engine; a firing while an earlier scheduled execution
-- of the same flow is still waiting to start creates nothing, so a function that was down runs a missed schedule once
-- when it returns, not once per missed minute.

create function flows.schedule_job_name(flow_id uuid) returns text
language sql
immutable
set search_path = ''
as $$
  select 'flows_schedule_' || pg_catalog.replace(flow_id::text, '-', '')
$$;

comment on function flows.schedule_job_name(uuid) is
  'The pg_cron job name of a flow''s schedule: flows_schedule_<flow id without dashes>.';

create function flows.is_utc_zone(zone text) returns boolean
language sql
immutable
set search_path = ''
as $$
  select zone is null or zone in ('UTC', 'Etc/UTC', 'UCT', 'Etc/UCT', 'Universal', 'Etc/Universal', 'Zulu', 'Etc/Zulu',
                                  'GMT', 'Etc/GMT', 'GMT0', 'Etc/GMT0', 'GMT+0', 'Etc/GMT+0', 'GMT-0', 'Etc/GMT-0',
                                  'Greenwich', 'Etc/Greenwich')
$$;

comment on function flows.is_utc_zone(text) is
  'True for a missing time zone and the IANA names of UTC itself: those schedules are handed to pg_cron as they are.';

create function flows.cron_field_values(field text, min_value integer, max_value integer, names text[] default null)
returns integer[]
language plpgsql
immutable
set search_path = ''
as $$
declare
  item text;
  parts text[];
  bounds integer[];
  step integer;
  bound_text text;
  token text;
  result integer[] := '{}';
begin
  -- Vixie cron's field grammar, as pg_cron reads it: items separated by commas, each `*`, `N` or `N-M`, optionally
  -- followed by `/step` (`N/step` runs from N to the maximum); names (jan, mon) where the field has them.
  foreach item in array pg_catalog.string_to_array(pg_catalog.lower(field), ',') loop
    parts := pg_catalog.regexp_match(item, '^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/([0-9]{1,3}))?$');
    if parts is null then
      raise exception using errcode = '22023', message = pg_catalog.format('"%s" is not a cron field (expected *, N, N-M, a list or /step)', item);
    end if;
    step := coalesce(parts[2]::integer, 1);
    if step < 1 then
      raise exception using errcode = '22023', message = pg_catalog.format('"%s": the step must be at least 1', item);
    end if;
    if parts[1] = '*' then
      bounds := array[min_value, max_value];
    else
      bounds := '{}';
      foreach bound_text in array pg_catalog.string_to_array(parts[1], '-') loop
        token := bound_text;
        bounds := bounds || case
          when token ~ '^[0-9]{1,2}$' then token::integer
          when names is not null and pg_catalog.array_position(names, token) is not null
            then pg_catalog.array_position(names, token) - 1 + min_value
        end;
        if bounds[pg_catalog.array_length(bounds, 1)] is null
           or bounds[pg_catalog.array_length(bounds, 1)] not between min_value and max_value then
          raise exception using errcode = '22023',
            message = pg_catalog.format('"%s" is not between %s and %s', token, min_value, max_value);
        end if;
      end loop;
      if pg_catalog.array_length(bounds, 1) = 1 then
        bounds := array[bounds[1], case when parts[2] is null then bounds[1] else max_value end];
      end if;
      if bounds[1] > bounds[2] then
        raise exception using errcode = '22023', message = pg_catalog.format('"%s": the range runs backwards', item);
      end if;
    end if;
    result := result || array(select pg_catalog.generate_series(bounds[1], bounds[2], step));
  end loop;
  return result;
end
$$;

comment on function flows.cron_field_values(text, integer, integer, text[]) is
  'The values one cron field stands for (vixie cron syntax: *, N, N-M, lists, /step, names). Raises 22023 when the '
  'field is malformed or out of range.';

create function flows.cron_matches(cron text, local_time timestamp) returns boolean
language plpgsql
immutable
set search_path = ''
as $$
declare
  fields text[] := pg_catalog.regexp_split_to_array(pg_catalog.btrim(cron), '\s+');
  minutes integer[];
  hours integer[];
  days_of_month integer[];
  months integer[];
  days_of_week integer[];
begin
  if pg_catalog.array_length(fields, 1) is distinct from 5 then
    raise exception using errcode = '22023', message = 'expected 5 fields (minute hour day month weekday)';
  end if;
  -- Every field is parsed before any is compared, so a malformed expression is refused whatever the time.
  minutes := flows.cron_field_values(fields[1], 0, 59);
  hours := flows.cron_field_values(fields[2], 0, 23);
  days_of_month := flows.cron_field_values(fields[3], 1, 31);
  months := flows.cron_field_values(fields[4], 1, 12,
    array['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']);
  -- 0 and 7 are both Sunday.
  days_of_week := array(select v % 7 from unnest(flows.cron_field_values(fields[5], 0, 7,
    array['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'])) as v);

  if not (pg_catalog.date_part('minute', local_time)::integer = any (minutes)
          and pg_catalog.date_part('hour', local_time)::integer = any (hours)
          and pg_catalog.date_part('month', local_time)::integer = any (months)) then
    return false;
  end if;
  -- As in cron: when both day fields are restricted, either one matching is enough.
  if fields[3] not like '*%' and fields[5] not like '*%' then
    return pg_catalog.date_part('day', local_time)::integer = any (days_of_month)
        or pg_catalog.date_part('dow', local_time)::integer = any (days_of_week);
  end if;
  return pg_catalog.date_part('day', local_time)::integer = any (days_of_month)
     and pg_catalog.date_part('dow', local_time)::integer = any (days_of_week);
end
$$;

comment on function flows.cron_matches(text, timestamp) is
  'True when a 5-field cron expression fires at local_time (a wall-clock minute in the schedule''s time zone). '
  'Raises 22023 for a malformed expression.';

create function flows.refresh_schedule(flow_id uuid) returns void
language plpgsql
volatile
-- security definer: pg_cron jobs are scheduled and removed with the schema owner's rights; fired by triggers.
security definer
set search_path = ''
as $$
declare
  job_name text := flows.schedule_job_name(flow_id);
  trigger_value jsonb;
  wanted_schedule text;
  zone text;
  wanted_command text := pg_catalog.format('select flows.fire_schedule(%L)', flow_id);
  installed cron.job;
begin
  select v.definition -> 'trigger' into trigger_value
    from flows.flows as f
    join flows.versions as v on v.flow_id = f.flow_id and v.status = 'published'
   where f.flow_id = refresh_schedule.flow_id
     and f.is_active
     and v.trigger_type = 'schedule';
  select j.* into installed from cron.job as j where j.jobname = job_name;

  if trigger_value is null then
    if installed.jobid is not null then
      perform cron.unschedule(job_name);
    end if;
    return;
  end if;

  wanted_schedule := pg_catalog.btrim(pg_catalog.regexp_replace(trigger_value ->> 'cron', '\s+', ' ', 'g'));
  zone := coalesce(nullif(trigger_value ->> 'timezone', ''), 'UTC');
  if not flows.is_utc_zone(zone) then
    -- pg_cron has no per-job time zone: the job runs every minute and fire_schedule matches the expression against
    -- the wall clock of the flow's zone. pg_cron cannot check the expression then, so it is checked here.
    begin
      perform pg_catalog.timezone(zone, pg_catalog.now());
    exception when invalid_parameter_value then
      raise exception using
        errcode = 'FL003', message = pg_catalog.format('trigger.timezone: "%s" is not a time zone this database knows', zone);
    end;
    begin
      perform flows.cron_matches(wanted_schedule, '2000-01-01 00:00'::timestamp);
    exception when invalid_parameter_value then
      raise exception using
        errcode = 'FL003', message = pg_catalog.format('trigger.cron: "%s" is not a valid cron expression: %s', wanted_schedule, sqlerrm);
    end;
    wanted_schedule := '* * * * *';
  end if;
  if installed.jobid is not null and installed.schedule = wanted_schedule and installed.command = wanted_command then
    return;
  end if;

  -- Idempotent, as every flows job: unschedule, then schedule.
  if installed.jobid is not null then
    perform cron.unschedule(job_name);
  end if;
  begin
    perform cron.schedule(job_name, wanted_schedule, wanted_command);
  exception when others then
    raise exception using
      errcode = 'FL003', message = pg_catalog.format('trigger.cron: "%s" was refused by pg_cron: %s', wanted_schedule, sqlerrm);
  end;
end
$$;

comment on function flows.refresh_schedule(uuid) is
  'Makes the flow''s pg_cron job match its state: installed (or replaced) while the flow is active and its published '
  'version has a schedule trigger, removed otherwise. A schedule in UTC is handed to pg_cron as is; one in another '
  'zone runs every minute and fire_schedule picks the matching minutes. Errors: FL003 for an unknown time zone or a '
  'cron expression that is refused.';

create function flows.refresh_schedules() returns void
language plpgsql
volatile
-- security definer: pg_cron jobs are scheduled and removed with the schema owner's rights.
security definer
set search_path = ''
as $$
declare
  candidate record;
begin
  -- Every flow that has or needs a job; a flow whose schedule cannot be installed is reported, not fatal, so one
  -- bad row never blocks the others.
  for candidate in
    select f.flow_id
      from flows.flows as f
      join flows.versions as v on v.flow_id = f.flow_id and v.status = 'published'
     where f.is_active and v.trigger_type = 'schedule'
    union
    select f.flow_id
      from flows.flows as f
      join cron.job as j on j.jobname = flows.schedule_job_name(f.flow_id)
  loop
    begin
      perform flows.refresh_schedule(candidate.flow_id);
    exception when sqlstate 'FL003' then
      raise warning 'flows: the schedule of flow % is not installed: %', candidate.flow_id, sqlerrm;
    end;
  end loop;
  -- Jobs of flows that no longer exist.
  for candidate in
    select j.jobname
      from cron.job as j
     where j.jobname like 'flows\_schedule\_%'
       and not exists (select 1 from flows.flows as f where flows.schedule_job_name(f.flow_id) = j.jobname)
  loop
    perform cron.unschedule(candidate.jobname);
  end loop;
end
$$;

comment on function flows.refresh_schedules() is
  'Reconciles every flow''s schedule job (see refresh_schedule) and removes jobs of deleted flows; flows whose '
  'schedule cannot be installed are reported as warnings. For operators, e.g. after restoring a dump without cron.job.';

create function flows.sync_schedule_from_version() returns trigger
language plpgsql
volatile
-- security definer: pg_cron jobs are managed with the schema owner's rights, whoever changed the version.
security definer
set search_path = ''
as $$
begin
  perform flows.refresh_schedule(new.flow_id);
  return null;
end
$$;

comment on function flows.sync_schedule_from_version() is
  'Trigger: after a version is published, archived or inserted as published, refreshes its flow''s schedule job.';

create function flows.sync_schedule_from_flow() returns trigger
language plpgsql
volatile
-- security definer: pg_cron jobs are managed with the schema owner's rights, whoever changed the flow.
security definer
set search_path = ''
as $$
begin
  perform flows.refresh_schedule(case when tg_op = 'DELETE' then old.flow_id else new.flow_id end);
  return null;
end
$$;

comment on function flows.sync_schedule_from_flow() is
  'Trigger: after a flow is turned on or off or deleted, installs or removes its schedule job.';

create trigger versions_sync_schedule_insert
  after insert on flows.versions
  for each row when (new.status = 'published')
  execute function flows.sync_schedule_from_version();

create trigger versions_sync_schedule_update
  after update of status on flows.versions
  for each row when (old.status is distinct from new.status)
  execute function flows.sync_schedule_from_version();

create trigger flows_sync_schedule_update
  after update of is_active on flows.flows
  for each row when (old.is_active is distinct from new.is_active)
  execute function flows.sync_schedule_from_flow();

create trigger flows_sync_schedule_delete
  after delete on flows.flows
  for each row
  execute function flows.sync_schedule_from_flow();

create function flows.fire_schedule(flow_id uuid) returns uuid
language plpgsql
volatile
-- security definer: the cron target; writes executions and kicks the engine, which only the owner may do.
security definer
set search_path = ''
as $$
declare
  target flows.flows;
  published flows.versions;
  zone text;
  created uuid;
begin
  -- Locked so two firings of one flow (a slow minute, a manual call) decide one after the other.
  select f.* into target from flows.flows as f where f.flow_id = fire_schedule.flow_id for no key update;
  select v.* into published from flows.versions as v where v.flow_id = target.flow_id and v.status = 'published';
  if target.flow_id is null or not target.is_active or published.trigger_type is distinct from 'schedule' then
    -- A job that outlived its schedule (its removal is in a transaction that has not committed yet): nothing to run.
    return null;
  end if;

  zone := coalesce(nullif(published.definition -> 'trigger' ->> 'timezone', ''), 'UTC');
  if not flows.is_utc_zone(zone)
     and not flows.cron_matches(published.definition -> 'trigger' ->> 'cron',
                                pg_catalog.date_trunc('minute', pg_catalog.timezone(zone, pg_catalog.now()))) then
    -- The every-minute job of a schedule in another zone: not one of its minutes there.
    return null;
  end if;

  -- Coalesce: an earlier firing that has not started yet (the function is down or busy) stands for this one too.
  if exists (
    select 1 from flows.executions as e
     where e.flow_id = target.flow_id and e.trigger_type = 'schedule' and e.status = 'pending' and e.started_at is null
  ) then
    return null;
  end if;

  insert into flows.executions (tenant_id, flow_id, version_id, trigger_type, status, input)
  values (target.tenant_id, target.flow_id, published.version_id, 'schedule', 'pending',
          pg_catalog.jsonb_build_object('scheduled_at',
            pg_catalog.to_char(pg_catalog.date_trunc('minute', pg_catalog.now()) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')))
  returning execution_id into created;

  perform flows.request_drain(true);
  return created;
end
$$;

comment on function flows.fire_schedule(uuid) is
  'The pg_cron target of a flow''s schedule job: creates one pending execution (trigger_type schedule, input '
  '{"scheduled_at": the minute, UTC}) and kicks the flow-engine. Returns null and creates nothing when an earlier '
  'scheduled execution of the flow has not started yet (missed firings coalesce), when the flow''s zone is not UTC '
  'and this minute does not match its cron there, or when '
  'the flow no longer has an active schedule.';

revoke execute on function flows.schedule_job_name(uuid) from public, anon;
revoke execute on function flows.is_utc_zone(text) from public, anon;
revoke execute on function flows.cron_field_values(text, integer, integer, text[]) from public, anon;
revoke execute on function flows.cron_matches(text, timestamp) from public, anon;
revoke execute on function flows.refresh_schedule(uuid) from public, anon, authenticated;
revoke execute on function flows.refresh_schedules() from public, anon, authenticated;
revoke execute on function flows.sync_schedule_from_version() from public, anon, authenticated;
revoke execute on function flows.sync_schedule_from_flow() from public, anon, authenticated;
revoke execute on function flows.fire_schedule(uuid) from public, anon, authenticated;
grant execute on function flows.schedule_job_name(uuid) to authenticated, service_role;
grant execute on function flows.is_utc_zone(text) to authenticated, service_role;
grant execute on function flows.cron_field_values(text, integer, integer, text[]) to authenticated, service_role;
grant execute on function flows.cron_matches(text, timestamp) to authenticated, service_role;
grant execute on function flows.refresh_schedule(uuid) to service_role;
grant execute on function flows.refresh_schedules() to service_role;
grant execute on function flows.fire_schedule(uuid) to service_role;

-- Flows published before this migration get their jobs now.
select flows.refresh_schedules();
