-- Extensions flows relies on: pg_cron (ticks and schedules), pg_net (wakes the flow-engine function) and Vault
-- (keeps the function's URL and key). Hosted Supabase ships all three; a local stack without pg_net or Vault provides
-- stand-ins with the same SQL API before migrations run, so these statements are skipped there.
create extension if not exists pg_cron;

do $$
begin
  if not exists (select 1 from pg_namespace where nspname = 'net')
     and exists (select 1 from pg_available_extensions where name = 'pg_net') then
    create extension pg_net with schema extensions;
  end if;
  if not exists (select 1 from pg_namespace where nspname = 'vault')
     and exists (select 1 from pg_available_extensions where name = 'supabase_vault') then
    create extension supabase_vault with schema vault;
  end if;
end
$$;
