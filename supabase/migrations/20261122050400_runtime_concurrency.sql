-- Per-flow concurrency limits: at most max_concurrency executions of a flow run at once; the rest wait as pending,
-- oldest first. Claiming moves into one SQL function so that the limit holds across concurrent invocations: the flow
-- row is locked while its running executions are counted and new ones claimed.

alter table flows.flows add column max_concurrency integer;
alter table flows.flows add constraint flows_max_concurrency_check check (max_concurrency between 1 and 10000);
comment on column flows.flows.max_concurrency is 'At most this many executions of the flow run at once (null: no limit).';

-- Counting a flow's running executions while claiming; reading pending work oldest first.
create index executions_flow_running_idx on flows.executions (flow_id) where status = 'running';
-- event_id breaks ties: executions created in one batch share created_at, and row order must survive.
create index executions_pending_created_idx on flows.executions (created_at, event_id) where status = 'pending';

-- The outbox and the executions table churn: every event and execution is updated soon after it is inserted.
-- Vacuum them early, so dead entries do not pile up in the partial indexes the engine scans.
alter table flows.events set (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01,
                              autovacuum_vacuum_cost_delay = 0);
alter table flows.executions set (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_insert_scale_factor = 0.02,
                                  autovacuum_vacuum_cost_delay = 0);

create function flows.claim_executions(p_owner text, p_limit integer, p_lease_ms integer)
returns setof flows.executions
language plpgsql volatile set search_path = ''
as $$
declare
  v_flow record;
  v_running integer;
  v_take integer;
  v_claimed integer := 0;
  v_count integer;
begin
  -- Flows without a limit (the common case): one statement, skipping rows another invocation holds. Each kind of
  -- runnable work is read in its own index order and cut at p_limit, so a claim costs the same whatever the
  -- backlog (sorting every runnable row made each claim slower as work piled up).
  return query
    with runnable as (
      select w.execution_id from (
        select e.execution_id from flows.executions e
         where e.status = 'waiting' and e.resume_at <= pg_catalog.now()
           and not exists (select 1 from flows.flows p where p.flow_id = e.flow_id and (p.is_paused or p.max_concurrency is not null))
         order by e.resume_at limit p_limit) w
      union all
      select l.execution_id from (
        select e.execution_id from flows.executions e
         where e.status = 'running' and e.lease_expires_at < pg_catalog.now()
           and not exists (select 1 from flows.flows p where p.flow_id = e.flow_id and (p.is_paused or p.max_concurrency is not null))
         order by e.lease_expires_at limit p_limit) l
      union all
      select n.execution_id from (
        select e.execution_id from flows.executions e
         where e.status = 'pending'
           and not exists (select 1 from flows.flows p where p.flow_id = e.flow_id and (p.is_paused or p.max_concurrency is not null))
         order by e.created_at, e.event_id limit p_limit) n
    ),
    candidates as (
      select e.execution_id from flows.executions e
       where e.execution_id in (select r.execution_id from runnable r)
         -- Checked again under the row lock: another invocation may have claimed it meanwhile.
         and (e.status = 'pending'
              or (e.status = 'waiting' and e.resume_at <= pg_catalog.now())
              or (e.status = 'running' and e.lease_expires_at < pg_catalog.now()))
       order by coalesce(e.resume_at, e.created_at), e.event_id
       limit p_limit
       for update of e skip locked)
    update flows.executions x
       set status = 'running', lease_owner = p_owner,
           lease_expires_at = pg_catalog.now() + pg_catalog.make_interval(secs => p_lease_ms / 1000.0),
           started_at = coalesce(x.started_at, pg_catalog.now()), attempt_count = x.attempt_count + 1,
           resume_at = null, updated_at = pg_catalog.now()
      from candidates c
     where x.execution_id = c.execution_id
    returning x.*;
  get diagnostics v_claimed = row_count;

  -- Flows with a limit: one at a time under a lock on the flow row, so two invocations cannot both fill its last slot.
  for v_flow in
    select f.flow_id, f.max_concurrency from flows.flows f
     where f.max_concurrency is not null and not f.is_paused
       and exists (
         select 1 from flows.executions e
          where e.flow_id = f.flow_id
            and (e.status = 'pending'
                 or (e.status = 'waiting' and e.resume_at <= pg_catalog.now())
                 or (e.status = 'running' and e.lease_expires_at < pg_catalog.now())))
     order by f.flow_id
     for no key update of f skip locked
  loop
    exit when v_claimed >= p_limit;
    select count(*) into v_running from flows.executions r
     where r.flow_id = v_flow.flow_id and r.status = 'running' and r.lease_expires_at >= pg_catalog.now();
    v_take := least(v_flow.max_concurrency - v_running, p_limit - v_claimed);
    continue when v_take <= 0;
    return query
      with candidates as (
        select e.execution_id from flows.executions e
         where e.flow_id = v_flow.flow_id
           and (e.status = 'pending'
                or (e.status = 'waiting' and e.resume_at <= pg_catalog.now())
                or (e.status = 'running' and e.lease_expires_at < pg_catalog.now()))
         order by coalesce(e.resume_at, e.created_at), e.event_id
         limit v_take
         for update of e skip locked)
      update flows.executions x
         set status = 'running', lease_owner = p_owner,
             lease_expires_at = pg_catalog.now() + pg_catalog.make_interval(secs => p_lease_ms / 1000.0),
             started_at = coalesce(x.started_at, pg_catalog.now()), attempt_count = x.attempt_count + 1,
             resume_at = null, updated_at = pg_catalog.now()
        from candidates c
       where x.execution_id = c.execution_id
      returning x.*;
    get diagnostics v_count = row_count;
    v_claimed := v_claimed + v_count;
  end loop;
end
$$;
revoke execute on function flows.claim_executions(text, integer, integer) from public, anon, authenticated;
grant execute on function flows.claim_executions(text, integer, integer) to service_role;
comment on function flows.claim_executions(text, integer, integer) is
  'The engine''s claim: up to p_limit runnable executions (pending, due waits, expired leases) leased to p_owner, skipping paused flows and respecting each flow''s max_concurrency. Returns the claimed rows as updated (a query joining flows.executions in the same statement would see them as they were).';

create function flows.set_flow_concurrency(flow_id uuid, max_concurrency integer) returns flows.flows
language plpgsql volatile security definer set search_path = ''
-- definer: checks the caller's role itself before writing.
as $$
declare
  target flows.flows := flows.locate_flow(flow_id);
  updated flows.flows;
begin
  perform flows.require_role(array['admin', 'manager'], 'set_flow_concurrency');
  if max_concurrency is not null and (max_concurrency < 1 or max_concurrency > 10000) then
    raise exception using errcode = 'FL007', message = 'max_concurrency: must be between 1 and 10000, or null for no limit';
  end if;
  update flows.flows as f set max_concurrency = set_flow_concurrency.max_concurrency where f.flow_id = target.flow_id
  returning f.* into updated;
  return updated;
end
$$;
revoke execute on function flows.set_flow_concurrency(uuid, integer) from public, anon;
grant execute on function flows.set_flow_concurrency(uuid, integer) to authenticated, service_role;
comment on function flows.set_flow_concurrency(uuid, integer) is
  'Sets how many executions of a flow may run at once (admin or manager); null removes the limit. Errors: FL001, FL002, FL007.';
