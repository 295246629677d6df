-- Row-change capture and engine wake-up. Publishing a row_change flow makes its table watched: statement-level
-- AFTER triggers with transition tables write one flows.events row per changed row in the writer's transaction
-- (a committed change is never lost) and ask pg_net for one flow-engine invocation per statement at most, coalesced
-- while an invocation is draining or was asked for a moment ago. No pg_notify: it serialises commits.

-- validate_definition (callable by anyone) refuses reserved schemas through this helper.
grant execute on function flows.is_reserved_table(text) to anon, authenticated, service_role;

-- Engine coordination: one row. Writers read it; the flow-engine function writes its heartbeat into it.
create table flows.engine_state (
  engine_state_id boolean primary key default true,
  last_kick_at timestamptz not null default '-infinity',
  draining_until timestamptz not null default '-infinity',
  kick_interval_ms integer not null default 250,
  max_causation_depth integer not null default 5,
  updated_at timestamptz not null default now(),
  constraint engine_state_singleton check (engine_state_id),
  constraint engine_state_kick_interval_ms_range check (kick_interval_ms between 0 and 60000),
  constraint engine_state_max_causation_depth_range check (max_causation_depth between 0 and 100)
);
insert into flows.engine_state default values;
alter table flows.engine_state enable row level security;
comment on table flows.engine_state is
  'Engine coordination (one row): when a flow-engine invocation was last asked for, until when one is draining, and tunables (kick coalescing interval, causation depth limit). Internal: no policies; read and written by the engine and definer functions.';

-- Which tables carry capture triggers, and for which operations.
create table flows.watches (
  table_name text primary key,
  events text[] not null,
  key_column text,
  installed_at timestamptz not null default now(),
  constraint watches_events_known check (events <@ array['INSERT', 'UPDATE', 'DELETE']::text[])
);
alter table flows.watches enable row level security;
comment on table flows.watches is
  'Tables watched for row changes because an active flow''s published version has a row_change trigger on them. Maintained by flows.refresh_watches().';

alter table flows.events add column row_key text;
comment on column flows.events.row_key is 'The changed row''s primary key value as text (the execution''s subject).';

-- Writers that skip a kick hold this advisory lock (shared) until they commit; a draining invocation takes it
-- exclusively before it stops, so it never stops while a skipped writer's event is about to commit.
create function flows.drain_lock_key() returns bigint
language sql immutable set search_path = ''
as $$ select 7347001::bigint $$;
revoke execute on function flows.drain_lock_key() from public, anon, authenticated;
comment on function flows.drain_lock_key() is 'Advisory lock key shared by writers that skipped a kick and the draining flow-engine invocation.';

create function flows.request_drain(p_force boolean default false) returns boolean
language plpgsql volatile security definer set search_path = ''
-- definer: writers of watched tables (any role) must reach the engine state, Vault and pg_net, which they cannot.
as $$
declare
  v_state flows.engine_state;
  v_url text;
  v_key text;
begin
  if not p_force then
    -- Taken before reading the state, so a drainer that clears the state and then takes the lock exclusively
    -- either waits for this transaction or is seen by it as gone.
    perform pg_catalog.pg_advisory_xact_lock_shared(flows.drain_lock_key());
    -- Only READ COMMITTED statements read the state as of now; an older snapshot could miss a drainer that stopped.
    if pg_catalog.current_setting('transaction_isolation') = 'read committed' then
      select * into v_state from flows.engine_state where engine_state_id;
      if v_state.draining_until > pg_catalog.clock_timestamp()
         or v_state.last_kick_at > pg_catalog.clock_timestamp() - pg_catalog.make_interval(secs => v_state.kick_interval_ms / 1000.0) then
        return false;
      end if;
    end if;
  end if;
  -- Never wait for the row: a writer that is kicking holds it until it commits, and waiting would chain unrelated
  -- writers (and the engine's heartbeat) behind it. Whoever holds it is asking for an invocation already.
  update flows.engine_state set last_kick_at = pg_catalog.clock_timestamp()
   where engine_state_id = (
     select s.engine_state_id from flows.engine_state s
      where s.engine_state_id
        and (p_force or pg_catalog.current_setting('transaction_isolation') <> 'read committed'
             or s.last_kick_at <= pg_catalog.clock_timestamp() - pg_catalog.make_interval(secs => s.kick_interval_ms / 1000.0))
      for update skip locked);
  if not found and not p_force then
    return false;
  end if;

  begin
    select decrypted_secret into v_url from vault.decrypted_secrets where name = 'flows_engine_url';
    select decrypted_secret into v_key from vault.decrypted_secrets where name = 'flows_engine_key';
    if v_url is null or v_key is null then
      raise warning 'flows: Vault secrets flows_engine_url and flows_engine_key are not set; events wait for them (see docs/operations.md)';
      return false;
    end if;
    perform net.http_post(
      url := v_url,
      body := pg_catalog.jsonb_build_object('reason', case when p_force then 'tick' else 'row_change' end),
      headers := pg_catalog.jsonb_build_object('Authorization', 'Bearer ' || v_key, 'Content-Type', 'application/json'),
      timeout_milliseconds := 5000
    );
  exception when others then
    -- The event is recorded either way; a failed kick must not fail the writer's statement. The tick recovers it.
    raise warning 'flows: could not ask for a flow-engine invocation (%): the tick will pick the work up', sqlerrm;
    return false;
  end;
  return true;
end
$$;
revoke execute on function flows.request_drain(boolean) from public, anon, authenticated;
grant execute on function flows.request_drain(boolean) to service_role;
comment on function flows.request_drain(boolean) is
  'Asks pg_net for a flow-engine invocation unless one is draining or was asked for within kick_interval_ms (p_force skips the check). Returns whether a request was queued.';

create function flows.capture_row_changes() returns trigger
language plpgsql volatile security definer set search_path = ''
-- definer: the writer (an app user under RLS) cannot insert into flows.events itself.
as $$
declare
  v_causation jsonb := nullif(pg_catalog.current_setting('flows.causation', true), '')::jsonb;
  v_depth integer := coalesce((v_causation ->> 'depth')::integer, 0);
  v_caused_by uuid := (v_causation ->> 'execution_id')::uuid;
  v_key_column text := tg_argv[0];
begin
  if tg_op = 'INSERT' then
    insert into flows.events (source_schema, source_table, operation, new_row, row_key, causation_depth, caused_by_execution_id)
    select tg_table_schema, tg_table_name, 'INSERT', pg_catalog.to_jsonb(n), pg_catalog.to_jsonb(n) ->> v_key_column, v_depth, v_caused_by
      from flows_new_rows n;
  elsif tg_op = 'DELETE' then
    insert into flows.events (source_schema, source_table, operation, old_row, row_key, causation_depth, caused_by_execution_id)
    select tg_table_schema, tg_table_name, 'DELETE', pg_catalog.to_jsonb(o), pg_catalog.to_jsonb(o) ->> v_key_column, v_depth, v_caused_by
      from flows_old_rows o;
  else
    -- Old and new rows are paired by primary key (transition tables carry no row identity of their own).
    execute pg_catalog.format(
      'insert into flows.events (source_schema, source_table, operation, new_row, old_row, row_key, causation_depth, caused_by_execution_id)
       select $1, $2, ''UPDATE'', pg_catalog.to_jsonb(n), pg_catalog.to_jsonb(o), n.%1$I::text, $3, $4
         from flows_new_rows n left join flows_old_rows o on o.%1$I = n.%1$I',
      v_key_column)
    using tg_table_schema, tg_table_name, v_depth, v_caused_by;
  end if;
  perform flows.request_drain(false);
  return null;
end
$$;
revoke execute on function flows.capture_row_changes() from public, anon, authenticated;
comment on function flows.capture_row_changes() is
  'Statement-level capture trigger of watched tables: one flows.events row per changed row, then one coalesced engine kick.';

create or replace function flows.refresh_watches() returns void
language plpgsql volatile security definer set search_path = ''
-- definer: installing triggers on app tables needs their owner's rights; callers are permission-checked RPCs.
as $$
declare
  v_need record;
  v_watch record;
  v_op text;
  v_regclass regclass;
  v_key_column text;
  v_problem text;
begin
  for v_need in
    select v.trigger_table as table_name, array_agg(distinct e order by e) as events
      from flows.versions v
      join flows.flows f on f.flow_id = v.flow_id
      cross join lateral unnest(v.trigger_events) as e
     where v.status = 'published' and f.is_active and v.trigger_type = 'row_change'
     group by v.trigger_table
  loop
    -- A table that cannot be watched refuses the version being published now (publish_version and
    -- rollback_to_version name it in flows.publishing_version_id). A problem that appeared later under an older
    -- published version (a dropped table or primary key) must not block every other publish: that table is skipped
    -- with a warning, its flow capturing nothing until fixed.
    v_problem := null;
    v_regclass := null;
    v_key_column := null;
    if flows.is_reserved_table(v_need.table_name) then
      v_problem := pg_catalog.format('trigger.table: %s is in a reserved schema; flows cannot watch system tables', v_need.table_name);
    else
      v_regclass := pg_catalog.to_regclass(v_need.table_name);
      if v_regclass is null then
        v_problem := pg_catalog.format('trigger.table: table %s does not exist', v_need.table_name);
      else
        select a.attname into v_key_column
          from pg_catalog.pg_index i
          join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
         where i.indrelid = v_regclass and i.indisprimary and i.indnatts = 1;
        if v_key_column is null and 'UPDATE' = any (v_need.events) then
          v_problem := pg_catalog.format(
            'trigger.table: table %s needs a single-column primary key for UPDATE events (old and new rows are paired by it)',
            v_need.table_name);
        end if;
      end if;
    end if;
    if v_problem is not null then
      if exists (select 1 from flows.versions v
                  where v.version_id = nullif(pg_catalog.current_setting('flows.publishing_version_id', true), '')::uuid
                    and v.trigger_table = v_need.table_name) then
        raise exception using errcode = 'FL003', message = v_problem;
      end if;
      raise warning 'flows: % — the published versions watching it capture nothing until this is fixed', v_problem;
      continue;
    end if;
    foreach v_op in array array['INSERT', 'UPDATE', 'DELETE'] loop
      execute pg_catalog.format('drop trigger if exists %I on %s', 'flows_capture_' || pg_catalog.lower(v_op), v_regclass);
      if v_op = any (v_need.events) then
        execute pg_catalog.format(
          'create trigger %I after %s on %s referencing %s for each statement execute function flows.capture_row_changes(%L)',
          'flows_capture_' || pg_catalog.lower(v_op), v_op, v_regclass,
          case v_op
            when 'INSERT' then 'new table as flows_new_rows'
            when 'UPDATE' then 'old table as flows_old_rows new table as flows_new_rows'
            else 'old table as flows_old_rows'
          end,
          coalesce(v_key_column, ''));
      end if;
    end loop;
    insert into flows.watches (table_name, events, key_column) values (v_need.table_name, v_need.events, v_key_column)
    on conflict (table_name) do update set events = excluded.events, key_column = excluded.key_column, installed_at = pg_catalog.now();
  end loop;

  -- Tables no active published version needs any more: remove their triggers.
  for v_watch in
    select w.table_name from flows.watches w
     where not exists (
       select 1 from flows.versions v join flows.flows f on f.flow_id = v.flow_id
        where v.status = 'published' and f.is_active and v.trigger_type = 'row_change' and v.trigger_table = w.table_name)
  loop
    v_regclass := pg_catalog.to_regclass(v_watch.table_name);
    if v_regclass is not null then
      foreach v_op in array array['insert', 'update', 'delete'] loop
        execute pg_catalog.format('drop trigger if exists %I on %s', 'flows_capture_' || v_op, v_regclass);
      end loop;
    end if;
    delete from flows.watches where table_name = v_watch.table_name;
  end loop;
  perform pg_catalog.set_config('flows.publishing_version_id', '', true);
end
$$;
revoke execute on function flows.refresh_watches() from public, anon, authenticated;
comment on function flows.refresh_watches() is
  'Installs capture triggers on every table an active published row_change version watches (only for the operations needed) and removes them from tables no longer needed.';
