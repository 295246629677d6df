-- The sub-flow functions granted to service_role work for service_role. Its calls come first in the transaction:
-- PL/pgSQL checks the right to execute a helper once per transaction, so an earlier call as postgres would hide a
-- missing grant.
begin;
\ir ../000-setup/helpers.psql
select plan(4);
select tests.build_world();

update flows.executions set lease_owner = 'w1', lease_expires_at = now() + interval '1 minute'
 where execution_id = tests.id('exec_manager_a');
select tests.id('exec_manager_a') as parent \gset

select tests.act_as_service_role();
select lives_ok(format($$create temporary table started as
  select * from flows.start_sub_flow(%L, 'w1', 'call', 1, 'lead-intake', '{"lead": 7}')$$, :'parent'),
  'service_role starts a sub-flow');
select is((select count(*)::int from started), 1, 'and gets its execution back');
select lives_ok(format($$select flows.cancel_sub_flow(%L, 'w1', (select execution_id from started))$$, :'parent'),
  'service_role cancels it');
select tests.clear_authentication();
select is((select status from flows.executions where execution_id = (select execution_id from started)), 'cancelled',
  'and it is cancelled');

select * from finish();
rollback;
