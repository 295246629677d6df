-- Group commit for the engine's writes: the attempt starts, attempt ends and execution outcomes of every execution in
-- flight go to Postgres in one call and one transaction, instead of one statement and one commit each. Round trips
-- and per-statement overhead, not the rows themselves, bounded the engine's throughput.

-- enable_seqscan = off: every statement here, and the foreign-key checks its attempt rows fire, looks rows up by
-- key, and an index lookup is always the right plan for them. Planned while flows.executions' statistics say it is
-- empty (a fresh project, or a vacuum of an empty table, before a burst), the key check of each attempt row scanned
-- the whole table instead, and its plan stayed cached on the connection: 0.4 ms per attempt at 10,000 executions.
create function flows.record_engine_writes(p_writes jsonb)
returns table (write_kind text, execution_id uuid, step_id text, attempt integer, step_attempt_id bigint)
language plpgsql volatile set search_path = '' set enable_seqscan = off
as $$
#variable_conflict use_column
begin
  -- Attempts: starts (status running, before any side effect of the step) and attempts recorded whole once done
  -- (steps without side effects). Every write is fenced by the lease: an invocation that lost an execution to
  -- another records nothing for it.
  return query
    insert into flows.execution_steps as s (execution_id, tenant_id, step_id, step_type, status, attempt, input, output,
                                            branch, error, error_code, error_message, logs, resume_at, continued,
                                            started_at, finished_at, duration_ms)
    select a.execution_id, a.tenant_id, a.step_id, a.step_type, a.status, a.attempt, a.input, a.output,
           a.branch, a.error, a.error_code, a.error_message, a.logs, a.resume_at, coalesce(a.continued, false),
           a.started_at, a.finished_at, a.duration_ms
      from jsonb_to_recordset(coalesce(p_writes -> 'attempts', '[]'::jsonb)) as a(
             owner text, execution_id uuid, tenant_id uuid, step_id text, step_type text, status text, attempt integer,
             input jsonb, output jsonb, branch jsonb, error jsonb, error_code text, error_message text, logs jsonb,
             resume_at timestamptz, continued boolean, started_at timestamptz, finished_at timestamptz, duration_ms integer)
     where exists (select 1 from flows.executions x
                    where x.execution_id = a.execution_id and x.lease_owner = a.owner and x.status = 'running')
    returning 'attempt'::text, s.execution_id, s.step_id, s.attempt, s.step_attempt_id;

  -- Ends of attempts whose start is already recorded.
  return query
    update flows.execution_steps s
       set status = f.status, finished_at = f.finished_at, duration_ms = f.duration_ms, output = f.output,
           branch = f.branch, error = f.error, error_code = f.error_code, error_message = f.error_message,
           logs = f.logs, resume_at = f.resume_at, continued = coalesce(f.continued, false)
      from jsonb_to_recordset(coalesce(p_writes -> 'finishes', '[]'::jsonb)) as f(
             owner text, execution_id uuid, step_attempt_id bigint, status text, output jsonb, branch jsonb, error jsonb,
             error_code text, error_message text, logs jsonb, resume_at timestamptz, continued boolean,
             finished_at timestamptz, duration_ms integer)
     where s.step_attempt_id = f.step_attempt_id and s.execution_id = f.execution_id
       and exists (select 1 from flows.executions x
                    where x.execution_id = f.execution_id and x.lease_owner = f.owner and x.status = 'running')
    returning 'finish'::text, s.execution_id, s.step_id, s.attempt, s.step_attempt_id;

  -- Outcomes, last: the attempts above are fenced by the running status these updates end. The engine sends them in
  -- execution_id order and renews leases locking in that order, so two writers never wait on each other in a cycle.
  return query
    update flows.executions x
       set status = o.status, result = o.result, error_code = o.error_code, error_message = o.error_message,
           resume_at = o.resume_at, current_step_id = o.current_step_id, lease_owner = null, lease_expires_at = null,
           finished_at = case when o.status in ('completed', 'failed', 'cancelled') then pg_catalog.now() end,
           updated_at = pg_catalog.now()
      from jsonb_to_recordset(coalesce(p_writes -> 'outcomes', '[]'::jsonb)) as o(
             owner text, execution_id uuid, status text, result jsonb, error_code text, error_message text,
             resume_at timestamptz, current_step_id text)
     where x.execution_id = o.execution_id and x.lease_owner = o.owner and x.status = 'running'
    returning 'outcome'::text, x.execution_id, null::text, null::integer, null::bigint;
end
$$;
revoke execute on function flows.record_engine_writes(jsonb) from public, anon, authenticated;
grant execute on function flows.record_engine_writes(jsonb) to service_role;
comment on function flows.record_engine_writes(jsonb) is
  'The engine''s group commit: {"attempts": [...], "finishes": [...], "outcomes": [...]} written in one transaction, each fenced by its execution''s lease (lease_owner = owner and status = running). Returns one row per write that applied: attempts and finishes with their step_attempt_id, outcomes with their execution_id.';
