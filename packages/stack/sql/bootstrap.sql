-- Local-only bootstrap: creates what a hosted Supabase project already has, so that the project's migrations and
-- function code run here unchanged. It is never a migration and never deployed.
-- Stand-ins (net, vault) are created only where the real extension is absent, with the real SQL API.
-- Idempotent: safe to run against an existing local database.

-- Roles PostgREST and the platform use.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit password 'postgres';
  end if;
end
$$;
grant anon, authenticated, service_role to authenticator;
grant anon, authenticated, service_role to postgres;

create schema if not exists extensions;
grant usage on schema extensions to public;
create extension if not exists pgtap with schema extensions;
create extension if not exists plpgsql_check with schema extensions;
create extension if not exists pgcrypto with schema extensions;
create extension if not exists pg_cron;

grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;

-- auth: the parts of GoTrue's schema that SQL code relies on. Claims come from `request.jwt.claims`, as PostgREST
-- sets them for each request.
create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

create table if not exists auth.users (
  id uuid primary key default gen_random_uuid(),
  email text unique,
  raw_app_meta_data jsonb not null default '{}'::jsonb,
  raw_user_meta_data jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create or replace function auth.jwt() returns jsonb
language sql stable set search_path = ''
as $$
  select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb
$$;

create or replace function auth.uid() returns uuid
language sql stable set search_path = ''
as $$
  select nullif(auth.jwt() ->> 'sub', '')::uuid
$$;

create or replace function auth.role() returns text
language sql stable set search_path = ''
as $$
  select nullif(auth.jwt() ->> 'role', '')
$$;

create or replace function auth.email() returns text
language sql stable set search_path = ''
as $$
  select nullif(auth.jwt() ->> 'email', '')
$$;

grant execute on function auth.jwt(), auth.uid(), auth.role(), auth.email() to anon, authenticated, service_role;

-- net: pg_net's SQL API. The local stack's delivery worker reads the queue after commit, like pg_net's worker.
do $bootstrap_net$
begin
  if exists (select 1 from pg_extension where extname = 'pg_net') then
    return;
  end if;
  if exists (select 1 from pg_namespace where nspname = 'net') then
    return;
  end if;

  create schema net;
  grant usage on schema net to anon, authenticated, service_role;

  create domain net.http_method as text
    check (value ilike 'get' or value ilike 'post' or value ilike 'delete');

  create unlogged table net.http_request_queue (
    id bigserial,
    method net.http_method not null,
    url text not null,
    headers jsonb,
    body bytea,
    timeout_milliseconds integer not null
  );
  create index http_request_queue_id_idx on net.http_request_queue (id);

  create unlogged table net._http_response (
    id bigint,
    status_code integer,
    content_type text,
    headers jsonb,
    content text,
    timed_out boolean,
    error_msg text,
    created timestamptz not null default now()
  );
  create index _http_response_created_idx on net._http_response (created);

  create function net._with_params(url text, params jsonb) returns text
  language sql immutable set search_path = ''
  as $f$
    select case
      when params is null or params = '{}'::jsonb then url
      else url || case when strpos(url, '?') > 0 then '&' else '?' end || (
        select string_agg(key || '=' || value, '&') from jsonb_each_text(params)
      )
    end
  $f$;

  create function net.http_get(
    url text,
    params jsonb default '{}'::jsonb,
    headers jsonb default '{}'::jsonb,
    timeout_milliseconds integer default 5000
  ) returns bigint
  language sql volatile security definer set search_path = ''
  as $f$
    insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
    values ('GET', net._with_params(url, params), headers, null, timeout_milliseconds)
    returning id
  $f$;

  create function net.http_post(
    url text,
    body jsonb default '{}'::jsonb,
    params jsonb default '{}'::jsonb,
    headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
    timeout_milliseconds integer default 5000
  ) returns bigint
  language sql volatile security definer set search_path = ''
  as $f$
    insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
    values ('POST', net._with_params(url, params), headers, convert_to(body::text, 'UTF8'), timeout_milliseconds)
    returning id
  $f$;

  create function net.http_delete(
    url text,
    params jsonb default '{}'::jsonb,
    headers jsonb default '{}'::jsonb,
    timeout_milliseconds integer default 5000,
    body jsonb default null
  ) returns bigint
  language sql volatile security definer set search_path = ''
  as $f$
    insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
    values ('DELETE', net._with_params(url, params), headers, convert_to(body::text, 'UTF8'), timeout_milliseconds)
    returning id
  $f$;

  revoke execute on function net.http_get(text, jsonb, jsonb, integer) from public;
  revoke execute on function net.http_post(text, jsonb, jsonb, jsonb, integer) from public;
  revoke execute on function net.http_delete(text, jsonb, jsonb, integer, jsonb) from public;
  grant execute on function net.http_get(text, jsonb, jsonb, integer) to postgres, service_role;
  grant execute on function net.http_post(text, jsonb, jsonb, jsonb, integer) to postgres, service_role;
  grant execute on function net.http_delete(text, jsonb, jsonb, integer, jsonb) to postgres, service_role;
end
$bootstrap_net$;

-- vault: supabase_vault's SQL API, stored in plaintext locally (hosted Vault encrypts with a managed key).
do $bootstrap_vault$
begin
  if exists (select 1 from pg_extension where extname = 'supabase_vault') then
    return;
  end if;
  if exists (select 1 from pg_namespace where nspname = 'vault') then
    return;
  end if;

  create schema vault;

  create table vault.secrets (
    id uuid primary key default gen_random_uuid(),
    name text unique,
    description text not null default '',
    secret text not null,
    key_id uuid,
    nonce bytea,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
  );

  create view vault.decrypted_secrets as
    select id, name, description, secret, secret as decrypted_secret, key_id, nonce, created_at, updated_at
    from vault.secrets;

  create function vault.create_secret(
    new_secret text,
    new_name text default null,
    new_description text default '',
    new_key_id uuid default null
  ) returns uuid
  language sql volatile security definer set search_path = ''
  as $f$
    insert into vault.secrets (secret, name, description, key_id)
    values (new_secret, new_name, coalesce(new_description, ''), new_key_id)
    returning id
  $f$;

  create function vault.update_secret(
    secret_id uuid,
    new_secret text default null,
    new_name text default null,
    new_description text default null,
    new_key_id uuid default null
  ) returns void
  language sql volatile security definer set search_path = ''
  as $f$
    update vault.secrets set
      secret = coalesce(new_secret, secret),
      name = coalesce(new_name, name),
      description = coalesce(new_description, description),
      key_id = coalesce(new_key_id, key_id),
      updated_at = now()
    where id = secret_id
  $f$;

  revoke all on schema vault from public;
  grant usage on schema vault to postgres, service_role;
  grant select on vault.decrypted_secrets to postgres, service_role;
end
$bootstrap_vault$;

-- Hosted Supabase puts `extensions` on the search path of its roles (pgTAP's and plpgsql_check's functions live there).
alter role postgres set search_path = "$user", public, extensions;
alter role authenticator set search_path = "$user", public, extensions;
alter role anon set search_path = "$user", public, extensions;
alter role authenticated set search_path = "$user", public, extensions;
alter role service_role set search_path = "$user", public, extensions;
