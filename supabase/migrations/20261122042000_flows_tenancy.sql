-- Who is calling: the caller's tenant and role (used by row level security and the admin RPC), and whether the
-- caller is trusted with every tenant (service_role and roles that bypass row level security, such as postgres).

create function flows.default_tenant() returns uuid
language sql
immutable
set search_path = ''
as $$
  select '00000000-0000-0000-0000-000000000001'::uuid
$$;

comment on function flows.default_tenant() is
  'The tenant of single-tenant deployments, used when nothing else names one.';

create function flows.current_tenant() returns uuid
language plpgsql
stable
-- security definer: reads flows.members, whose own row level security policies call this function.
security definer
set search_path = ''
as $$
declare
  claimed text := auth.jwt() -> 'app_metadata' ->> 'tenant_id';
  caller uuid := auth.uid();
  membership_count integer;
  only_tenant uuid;
begin
  if claimed is not null and claimed <> '' then
    if claimed !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
      raise exception using
        errcode = 'FL007',
        message = format('app_metadata.tenant_id: "%s" is not a uuid', claimed);
    end if;
    return claimed::uuid;
  end if;

  if caller is null then
    -- anon has no tenant; service_role and direct database sessions act for the default tenant.
    return case when auth.role() = 'anon' then null else flows.default_tenant() end;
  end if;

  select count(*)::integer, min(m.tenant_id::text)::uuid
    into membership_count, only_tenant
    from flows.members as m
   where m.user_id = caller;

  if membership_count = 0 then
    return flows.default_tenant();
  elsif membership_count = 1 then
    return only_tenant;
  end if;

  raise exception using
    errcode = 'FL007',
    message = 'the caller belongs to several tenants; set app_metadata.tenant_id in the JWT to choose one';
end
$$;

comment on function flows.current_tenant() is
  'The caller''s tenant: the JWT claim app_metadata.tenant_id, else the caller''s only membership, else the '
  'default tenant; null for anon. Raises FL007 when the caller belongs to several tenants and names none.';

create function flows.current_member_role() returns text
language sql
stable
-- security definer: reads flows.members, whose own row level security policies call this function.
security definer
set search_path = ''
as $$
  select m.role
    from flows.members as m
   where m.tenant_id = flows.current_tenant()
     and m.user_id = auth.uid()
$$;

comment on function flows.current_member_role() is
  'The caller''s role (admin, manager, member) in flows.current_tenant(), or null when not a member.';

create function flows.is_trusted_caller() returns boolean
language sql
stable
set search_path = ''
as $$
  -- The role GUC keeps the role the session switched to (as PostgREST does) even inside security definer
  -- functions, where current_user is the owner; without one, the login role is the caller.
  select coalesce(
           (select r.rolsuper or r.rolbypassrls
              from pg_catalog.pg_roles as r
             where r.rolname = coalesce(nullif(pg_catalog.current_setting('role', true), 'none'), session_user)),
           false)
$$;

comment on function flows.is_trusted_caller() is
  'True for service_role and for roles that bypass row level security (postgres): they act on any tenant.';
