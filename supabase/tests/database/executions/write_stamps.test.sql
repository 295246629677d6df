-- updated_at and finished_at of executions: stamped by triggers unless the writing statement already set them (the
-- engine does, and its updates call no trigger function), and never left behind by a statement that did not.
begin;
\ir ../000-setup/helpers.psql
select plan(7);
select tests.build_world();

create function pg_temp.new_execution(p_status text) returns uuid
language sql
volatile
set search_path = ''
as $$
  insert into flows.executions (tenant_id, flow_id, version_id, trigger_type, status, updated_at)
  select v.tenant_id, v.flow_id, v.version_id, 'manual', p_status, now() - interval '1 day' from flows.versions as v
   where v.version_id = tests.id('flow_a_v2')
  returning execution_id;
$$;

select pg_temp.new_execution('running') as x \gset
update flows.executions set result = '{"n": 1}' where execution_id = :'x';
select is((select updated_at from flows.executions where execution_id = :'x'), now(),
  'an update that does not set updated_at stamps it');

update flows.executions set updated_at = now() + interval '1 minute' where execution_id = :'x';
select is((select updated_at from flows.executions where execution_id = :'x'), now() + interval '1 minute',
  'an update that moves updated_at forward keeps its value');

update flows.executions set updated_at = now() - interval '1 hour' where execution_id = :'x';
select is((select updated_at from flows.executions where execution_id = :'x'), now(),
  'an update that moves updated_at back is stamped with now() instead');

select pg_temp.new_execution('running') as y \gset
update flows.executions set status = 'completed', finished_at = '2026-01-01T00:00:00Z' where execution_id = :'y';
select is((select finished_at from flows.executions where execution_id = :'y'), '2026-01-01T00:00:00Z'::timestamptz,
  'running -> completed with finished_at given keeps it');

select pg_temp.new_execution('running') as z \gset
update flows.executions set status = 'failed' where execution_id = :'z';
select is((select finished_at from flows.executions where execution_id = :'z'), now(),
  'running -> failed without finished_at is stamped');

select throws_ok(format($$update flows.executions set status = 'running', finished_at = now() where execution_id = %L$$, :'y'),
  'FL005', null, 'a completed execution still cannot run again, whatever else the statement sets');

select is((select pg_get_expr(i.indpred, i.indrelid) from pg_index i where i.indexrelid = 'flows.executions_executed_by_idx'::regclass),
  '(executed_by IS NOT NULL)', 'executions nobody started by hand take no entry in executions_executed_by_idx');

select * from finish();
rollback;
