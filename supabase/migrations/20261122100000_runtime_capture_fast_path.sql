-- Capture's fast path: what a writer of a watched table pays per statement. Before, every capturing statement called
-- a second definer function that read flows.engine_state to decide whether to kick, converted each row to jsonb twice,
-- and compiled two CHECK constraints of flows.events; a statement that changed no row still asked for a kick. Now:
--   * writers decide whether to kick from a sequence (flows.engine_quiet_until) read without a query, and call
--     request_drain only when a kick is due;
--   * each row is converted once; a statement that captured nothing does not kick;
--   * flows.events keeps its NOT NULL constraints but not the CHECKs, whose only writer is the capture function.

create sequence flows.engine_quiet_until as bigint minvalue 0 no cycle;
revoke all on sequence flows.engine_quiet_until from public, anon, authenticated;
comment on sequence flows.engine_quiet_until is
  'Epoch milliseconds until which writers of watched tables need not ask for a flow-engine invocation: set by whoever kicks (now + engine_state.kick_interval_ms) and by the draining invocation''s heartbeat (the end of its mark), reset to 0 when it stops. A sequence because reading it costs no query and setting it neither waits for locks nor rolls back with the transaction.';

-- The checks hold by construction: capture_row_changes writes only the three operations, and clamps the depth.
alter table flows.events drop constraint events_operation_check, drop constraint events_causation_depth_check;
comment on column flows.events.operation is 'INSERT, UPDATE or DELETE (written by flows.capture_row_changes only).';

create or replace function flows.request_drain(p_force boolean default false) returns boolean
language plpgsql volatile security definer set search_path = ''
-- definer: writers of watched tables (any role) must reach the engine state, Vault and pg_net, which they cannot.
as $$
declare
  v_now timestamptz := pg_catalog.clock_timestamp();
  v_interval_ms integer;
  v_url text;
  v_key text;
begin
  if not p_force then
    -- Taken before reading the mark, so a drainer that clears the mark and then takes the lock exclusively either
    -- waits for this transaction or is seen by it as gone. The mark is not transactional: any snapshot reads it as of now.
    perform pg_catalog.pg_advisory_xact_lock_shared(flows.drain_lock_key());
    if coalesce(pg_catalog.pg_sequence_last_value('flows.engine_quiet_until'::regclass), 0)
       > (pg_catalog.date_part('epoch', v_now) * 1000)::bigint then
      return false;
    end if;
  end if;
  select s.kick_interval_ms into v_interval_ms from flows.engine_state s where s.engine_state_id;
  -- Marked before the request is queued, so writers arriving now skip. If this transaction rolls back, the mark stays
  -- for one interval: writers in it skip, and the next writer after it (or the tick) kicks.
  perform pg_catalog.setval('flows.engine_quiet_until',
    greatest(coalesce(pg_catalog.pg_sequence_last_value('flows.engine_quiet_until'::regclass), 0),
             (pg_catalog.date_part('epoch', v_now) * 1000)::bigint + coalesce(v_interval_ms, 250)));
  begin
    -- For operators only (when was the engine last asked for); never waits for a writer holding the row, and a
    -- serialization failure under REPEATABLE READ must not cost the kick.
    update flows.engine_state set last_kick_at = v_now
     where engine_state_id = (select s.engine_state_id from flows.engine_state s where s.engine_state_id for update skip locked);
  exception when others then
    null;
  end;

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
comment on function flows.request_drain(boolean) is
  'Asks pg_net for a flow-engine invocation unless flows.engine_quiet_until says one is draining or was asked for within kick_interval_ms (p_force skips the check). Returns whether a request was queued.';

create or replace function flows.capture_row_changes() returns trigger
language plpgsql volatile security definer set search_path = ''
-- definer: the writer (an app user under RLS) cannot insert into flows.events itself.
as $$
declare
  v_causation jsonb := nullif(pg_catalog.current_setting('flows.causation', true), '')::jsonb;
  -- The setting is any session's to write: a negative depth would only lower the loop guard's count, so clamp it.
  v_depth integer := greatest(coalesce((v_causation ->> 'depth')::integer, 0), 0);
  v_caused_by uuid := (v_causation ->> 'execution_id')::uuid;
  v_key_column text := tg_argv[0];
  v_captured bigint;
begin
  -- "offset 0" keeps each subquery whole, so every row is converted to jsonb once (the key is read from the jsonb).
  if tg_op = 'INSERT' then
    insert into flows.events (source_schema, source_table, operation, new_row, row_key, causation_depth, caused_by_execution_id)
    select tg_table_schema, tg_table_name, 'INSERT', c.new_row, c.new_row ->> v_key_column, v_depth, v_caused_by
      from (select pg_catalog.to_jsonb(n) as new_row from flows_new_rows n offset 0) c;
  elsif tg_op = 'DELETE' then
    insert into flows.events (source_schema, source_table, operation, old_row, row_key, causation_depth, caused_by_execution_id)
    select tg_table_schema, tg_table_name, 'DELETE', c.old_row, c.old_row ->> v_key_column, v_depth, v_caused_by
      from (select pg_catalog.to_jsonb(o) as old_row from flows_old_rows o offset 0) c;
  else
    -- Old and new rows are paired by primary key (transition tables carry no row identity of their own). Planned
    -- per statement: a plan cached for one row would pair 10,000 rows by nested loop.
    execute pg_catalog.format(
      'insert into flows.events (source_schema, source_table, operation, new_row, old_row, row_key, causation_depth, caused_by_execution_id)
       select $1, $2, ''UPDATE'', pg_catalog.to_jsonb(n), pg_catalog.to_jsonb(o), n.%1$I::text, $3, $4
         from flows_new_rows n left join flows_old_rows o on o.%1$I = n.%1$I',
      v_key_column)
    using tg_table_schema, tg_table_name, v_depth, v_caused_by;
  end if;
  get diagnostics v_captured = row_count;
  if v_captured = 0 then
    return null;
  end if;
  -- request_drain's own check, inline: most statements find the mark set and skip a second definer call.
  perform pg_catalog.pg_advisory_xact_lock_shared(flows.drain_lock_key());
  if coalesce(pg_catalog.pg_sequence_last_value('flows.engine_quiet_until'::regclass), 0)
     <= (pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()) * 1000)::bigint then
    perform flows.request_drain(false);
  end if;
  return null;
end
$$;
comment on function flows.capture_row_changes() is
  'Statement-level capture trigger of watched tables: one flows.events row per changed row, then one coalesced engine kick when some row was captured.';

-- The draining invocation's side of the mark: its heartbeat and its stop, one statement each.
create function flows.mark_draining(p_lease_ms integer) returns void
language sql volatile set search_path = ''
as $$
  select pg_catalog.setval('flows.engine_quiet_until',
    greatest(coalesce(pg_catalog.pg_sequence_last_value('flows.engine_quiet_until'::regclass), 0),
             (pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()) * 1000)::bigint + p_lease_ms));
  -- Skipped when a writer holds the row (it is kicking): never queue behind an application's transaction.
  update flows.engine_state
     set draining_until = pg_catalog.clock_timestamp() + pg_catalog.make_interval(secs => p_lease_ms / 1000.0), updated_at = pg_catalog.now()
   where engine_state_id = (select s.engine_state_id from flows.engine_state s where s.engine_state_id for update skip locked);
$$;
revoke execute on function flows.mark_draining(integer) from public, anon, authenticated;
comment on function flows.mark_draining(integer) is
  'The draining flow-engine invocation''s heartbeat: writers skip their kick for p_lease_ms (flows.engine_quiet_until, engine_state.draining_until).';

create function flows.clear_draining() returns void
language sql volatile set search_path = ''
as $$
  select pg_catalog.setval('flows.engine_quiet_until', 0);
  update flows.engine_state set draining_until = '-infinity', last_kick_at = '-infinity', updated_at = pg_catalog.now()
   where engine_state_id = (select s.engine_state_id from flows.engine_state s where s.engine_state_id for update skip locked);
$$;
revoke execute on function flows.clear_draining() from public, anon, authenticated;
comment on function flows.clear_draining() is
  'A flow-engine invocation stops draining: the next writer kicks again.';
