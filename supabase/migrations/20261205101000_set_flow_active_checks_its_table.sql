-- Turning a flow on refuses when its own watched table cannot be watched, as publishing does. refresh_watches()
-- raises FL003 only for the table of the version named in the transaction setting flows.publishing_version_id (other
-- tables' problems are warnings, so one broken flow never blocks the rest); publish_version and rollback_to_version
-- set it, set_flow_active did not, so turning on a flow whose table had been dropped, or had lost its primary key,
-- succeeded with a warning and the flow captured nothing. Now the flow's published version is named when it is
-- turned on. Turning a flow off never needs its table, so it never fails on one.

create or replace function flows.set_flow_active(flow_id uuid, is_active boolean) returns flows.flows
language plpgsql
volatile
-- security definer: checks the caller's role itself before writing.
security definer
set search_path = ''
as $$
declare
  target flows.flows := flows.locate_flow(flow_id);
  updated flows.flows;
begin
  perform flows.require_role(array['admin', 'manager'], 'set_flow_active');
  if is_active is null then
    raise exception using errcode = 'FL007', message = 'is_active: must be true or false';
  end if;
  update flows.flows as f
     set is_active = set_flow_active.is_active
   where f.flow_id = target.flow_id
  returning f.* into updated;
  if updated.is_active then
    perform pg_catalog.set_config('flows.publishing_version_id', coalesce(
      (select v.version_id::text from flows.versions as v where v.flow_id = updated.flow_id and v.status = 'published'),
      ''), true);
  end if;
  perform flows.refresh_watches();
  return updated;
end
$$;

comment on function flows.set_flow_active(uuid, boolean) is
  'Turns a flow on or off (admin or manager); an inactive flow starts no executions. Errors: FL001, FL002, FL007; '
  'FL003 when turning on a flow whose watched table cannot be watched or whose schedule cannot be set up.';
