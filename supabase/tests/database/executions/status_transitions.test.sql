-- Execution status moves only along legal transitions, for every role (FL005 otherwise):
-- pending -> running | cancelled | failed; running -> completed | failed | waiting | pending | cancelled;
-- waiting -> running | pending | cancelled; completed, failed and cancelled never change.
begin;
\ir ../000-setup/helpers.psql
select plan(9);
select tests.build_world();

-- Tries every from -> to pair on a fresh execution; 'ok' or the SQLSTATE raised.
create function pg_temp.try_transition(from_status text, to_status text) returns text
language plpgsql
volatile
set search_path = ''
as $$
declare
  execution uuid;
begin
  insert into flows.executions (tenant_id, flow_id, version_id, trigger_type, status)
  select v.tenant_id, v.flow_id, v.version_id, 'manual', from_status from flows.versions as v
   where v.version_id = tests.id('flow_a_v2')
  returning execution_id into execution;
  update flows.executions set status = to_status where execution_id = execution;
  return 'ok';
exception when others then
  return sqlstate;
end
$$;
grant execute on function pg_temp.try_transition(text, text) to service_role;

create temporary table expected_transitions (from_status text, to_status text, outcome text);
insert into expected_transitions
select f.s, t.s,
       case when (f.s, t.s) in (('pending', 'running'), ('pending', 'cancelled'), ('pending', 'failed'),
                                ('running', 'completed'), ('running', 'failed'), ('running', 'waiting'),
                                ('running', 'pending'), ('running', 'cancelled'),
                                ('waiting', 'running'), ('waiting', 'pending'), ('waiting', 'cancelled'))
            then 'ok' else 'FL005' end
  from unnest(array['pending', 'running', 'waiting', 'completed', 'failed', 'cancelled']) as f (s)
 cross join unnest(array['pending', 'running', 'waiting', 'completed', 'failed', 'cancelled']) as t (s)
 where f.s <> t.s;
grant select on expected_transitions to service_role;

select results_eq(
  $$select from_status, to_status, pg_temp.try_transition(from_status, to_status) from expected_transitions order by 1, 2$$,
  $$select from_status, to_status, outcome from expected_transitions order by 1, 2$$,
  'postgres: all 30 transitions between different states are legal or FL005 exactly as listed');

select tests.act_as_service_role();
select results_eq(
  $$select from_status, to_status, pg_temp.try_transition(from_status, to_status) from expected_transitions order by 1, 2$$,
  $$select from_status, to_status, outcome from expected_transitions order by 1, 2$$,
  'service_role: the same 30 outcomes');

select throws_ok(format($$update flows.executions set status = 'running' where execution_id = %L$$, tests.id('exec_member_a')),
  'FL005', format('execution %s: illegal status transition completed -> running', tests.id('exec_member_a')),
  'a completed execution never runs again, with a message naming both states');
select lives_ok(format($$update flows.executions set result = '{"ok": true}' where execution_id = %L$$, tests.id('exec_member_a')),
  'a finished execution''s other columns may still be written (event cleanup sets event_id to null)');

-- Timestamps follow the status.
select lives_ok(format($$update flows.executions set status = 'waiting', resume_at = now() + interval '1 hour' where execution_id = %L$$,
  tests.id('exec_manager_a')), 'running -> waiting');
select lives_ok(format($$update flows.executions set status = 'running' where execution_id = %L$$, tests.id('exec_manager_a')),
  'waiting -> running');
select lives_ok(format($$update flows.executions set status = 'completed' where execution_id = %L$$, tests.id('exec_manager_a')),
  'running -> completed');
select isnt((select finished_at from flows.executions where execution_id = tests.id('exec_manager_a')), null,
  'finishing stamps finished_at');
select throws_ok(format($$update flows.executions set status = 'cancelled' where execution_id = %L$$, tests.id('exec_manager_a')),
  'FL005', null, 'and a completed execution cannot be cancelled');

select * from finish();
rollback;
