-- Row level security and grants. Tables are internal; people read what their tenant and role allow and write
-- through the admin RPC (admins and managers may also write flows and versions directly, under the same rules).
--   flows, versions: members read active flows, published versions and their own drafts; admins and managers read
--     everything of their tenant and write; admins delete.
--   executions, execution_steps: members read their own (executed_by), admins and managers all of their tenant;
--     only service_role inserts and updates; nobody deletes (history goes only with its flow).
--   events: service_role only.
--   members: members read their tenant's members; admins manage them.
-- service_role bypasses row level security; anon reaches nothing but validate_definition.
-- Policies wrap the caller lookups in (select …) so they run once per statement, not once per row.

-- Table privileges -----------------------------------------------------------------------------------------------

grant usage on schema flows to anon, authenticated, service_role;

revoke all on all tables in schema flows from public, anon, authenticated, service_role;
revoke all on all sequences in schema flows from public, anon, authenticated, service_role;

grant select, insert, update, delete on flows.members to authenticated;
grant select, insert, update, delete on flows.flows to authenticated;
grant select, insert, update, delete on flows.versions to authenticated;
grant select on flows.executions to authenticated;
grant select on flows.execution_steps to authenticated;

grant select, insert, update, delete on flows.members, flows.flows, flows.versions, flows.events to service_role;
grant select, insert, update on flows.executions, flows.execution_steps to service_role;
grant usage, select on all sequences in schema flows to service_role;

-- Function privileges --------------------------------------------------------------------------------------------
-- Postgres grants execute to public by default; every function here is granted explicitly instead.

revoke execute on all functions in schema flows from public, anon, authenticated, service_role;

-- Pure: anyone may check a definition.
grant execute on function flows.validate_definition(jsonb) to anon, authenticated, service_role;
grant execute on function flows.describe_problems(jsonb) to authenticated, service_role;
grant execute on function flows.json_changes(jsonb, jsonb, text) to authenticated, service_role;
grant execute on function flows.default_tenant() to authenticated, service_role;
-- Used by the policies below and by the engine.
grant execute on function flows.current_tenant() to authenticated, service_role;
grant execute on function flows.current_member_role() to authenticated, service_role;
grant execute on function flows.is_trusted_caller() to authenticated, service_role;
grant execute on function flows.refresh_watches() to service_role;
-- The admin interface.
grant execute on function flows.create_flow(text, text, text) to authenticated, service_role;
grant execute on function flows.update_flow(uuid, text, text) to authenticated, service_role;
grant execute on function flows.set_flow_active(uuid, boolean) to authenticated, service_role;
grant execute on function flows.delete_flow(uuid) to authenticated, service_role;
grant execute on function flows.create_draft(uuid, jsonb, uuid) to authenticated, service_role;
grant execute on function flows.update_draft(uuid, jsonb, text) to authenticated, service_role;
grant execute on function flows.publish_version(uuid, text) to authenticated, service_role;
grant execute on function flows.rollback_to_version(uuid, uuid, text) to authenticated, service_role;
grant execute on function flows.archive_version(uuid) to authenticated, service_role;
grant execute on function flows.diff_versions(uuid, uuid) to authenticated, service_role;
grant execute on function flows.request_cancel(uuid) to authenticated, service_role;
-- Called by the triggers and RPC as the caller; the trigger functions themselves need no grant.
grant execute on function flows.assert_valid_definition(jsonb) to authenticated, service_role;

-- members ----------------------------------------------------------------------------------------------------------

alter table flows.members enable row level security;

create policy members_select_authenticated on flows.members
  for select to authenticated
  using (tenant_id = (select flows.current_tenant()) and (select flows.current_member_role()) is not null);

create policy members_insert_authenticated on flows.members
  for insert to authenticated
  with check (tenant_id = (select flows.current_tenant()) and (select flows.current_member_role()) = 'admin');

create policy members_update_authenticated on flows.members
  for update to authenticated
  using (tenant_id = (select flows.current_tenant()) and (select flows.current_member_role()) = 'admin')
  with check (tenant_id = (select flows.current_tenant()) and (select flows.current_member_role()) = 'admin');

create policy members_delete_authenticated on flows.members
  for delete to authenticated
  using (tenant_id = (select flows.current_tenant()) and (select flows.current_member_role()) = 'admin');

-- flows ------------------------------------------------------------------------------------------------------------

alter table flows.flows enable row level security;

create policy flows_select_authenticated on flows.flows
  for select to authenticated
  using (
    tenant_id = (select flows.current_tenant())
    and (
      (select flows.current_member_role()) in ('admin', 'manager')
      or ((select flows.current_member_role()) = 'member' and (is_active or created_by = (select auth.uid())))
    )
  );

create policy flows_insert_authenticated on flows.flows
  for insert to authenticated
  with check (
    tenant_id = (select flows.current_tenant()) and (select flows.current_member_role()) in ('admin', 'manager')
  );

create policy flows_update_authenticated on flows.flows
  for update to authenticated
  using (tenant_id = (select flows.current_tenant()) and (select flows.current_member_role()) in ('admin', 'manager'))
  with check (
    tenant_id = (select flows.current_tenant()) and (select flows.current_member_role()) in ('admin', 'manager')
  );

create policy flows_delete_authenticated on flows.flows
  for delete to authenticated
  using (tenant_id = (select flows.current_tenant()) and (select flows.current_member_role()) = 'admin');

-- versions ---------------------------------------------------------------------------------------------------------

alter table flows.versions enable row level security;

create policy versions_select_authenticated on flows.versions
  for select to authenticated
  using (
    tenant_id = (select flows.current_tenant())
    and (
      (select flows.current_member_role()) in ('admin', 'manager')
      or ((select flows.current_member_role()) = 'member'
          and (status = 'published' or (status = 'draft' and created_by = (select auth.uid()))))
    )
  );

create policy versions_insert_authenticated on flows.versions
  for insert to authenticated
  with check (
    tenant_id = (select flows.current_tenant()) and (select flows.current_member_role()) in ('admin', 'manager')
  );

create policy versions_update_authenticated on flows.versions
  for update to authenticated
  using (tenant_id = (select flows.current_tenant()) and (select flows.current_member_role()) in ('admin', 'manager'))
  with check (
    tenant_id = (select flows.current_tenant()) and (select flows.current_member_role()) in ('admin', 'manager')
  );

create policy versions_delete_authenticated on flows.versions
  for delete to authenticated
  using (tenant_id = (select flows.current_tenant()) and (select flows.current_member_role()) = 'admin');

-- events: no policy, so no rows for anyone but service_role (which bypasses row level security) -----------------

alter table flows.events enable row level security;

-- executions -------------------------------------------------------------------------------------------------------

alter table flows.executions enable row level security;

create policy executions_select_authenticated on flows.executions
  for select to authenticated
  using (
    tenant_id = (select flows.current_tenant())
    and (
      (select flows.current_member_role()) in ('admin', 'manager')
      or ((select flows.current_member_role()) = 'member' and executed_by = (select auth.uid()))
    )
  );

-- execution_steps --------------------------------------------------------------------------------------------------

alter table flows.execution_steps enable row level security;

create policy execution_steps_select_authenticated on flows.execution_steps
  for select to authenticated
  using (
    tenant_id = (select flows.current_tenant())
    and (
      (select flows.current_member_role()) in ('admin', 'manager')
      or (
        (select flows.current_member_role()) = 'member'
        and exists (
          select 1 from flows.executions as e
           where e.execution_id = execution_steps.execution_id
             and e.executed_by = (select auth.uid())
        )
      )
    )
  );
