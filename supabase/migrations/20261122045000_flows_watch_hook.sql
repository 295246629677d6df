-- The hook the admin RPC calls whenever the set of running flows may have changed (publish, rollback, archive,
-- activate, delete). A no-op here; the runtime migration replaces it (create or replace, same signature) with the
-- function that installs and removes the capture triggers on watched tables.

create function flows.refresh_watches() returns void
language plpgsql
volatile
set search_path = ''
as $$
begin
  -- Intentionally empty until the runtime migration replaces it.
  null;
end
$$;

comment on function flows.refresh_watches() is
  'Reconciles capture triggers with the published row_change versions of active flows. No-op until the runtime '
  'migration replaces it.';

revoke execute on function flows.refresh_watches() from public, anon, authenticated;
grant execute on function flows.refresh_watches() to service_role;
