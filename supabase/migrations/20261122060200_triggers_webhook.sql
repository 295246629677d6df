-- Webhook triggers: outside callers POST to the flow-hooks Edge Function, which checks an HMAC-SHA256 signature made
-- with the flow's own secret. The secret lives in Vault as flows_webhook_<flow id>; flows.rotate_webhook_secret()
-- creates or replaces it and returns it once. Deleting the flow deletes its secret.

create function flows.webhook_secret_name(flow_id uuid) returns text
language sql
immutable
set search_path = ''
as $$
  select 'flows_webhook_' || flow_id::text
$$;

comment on function flows.webhook_secret_name(uuid) is
  'The Vault secret name of a flow''s webhook signing secret: flows_webhook_<flow id>.';

create function flows.rotate_webhook_secret(flow_id uuid) returns text
language plpgsql
volatile
-- security definer: checks the caller's role itself, then writes Vault, which callers cannot reach.
security definer
set search_path = ''
as $$
declare
  target flows.flows := flows.locate_flow(flow_id);
  secret_name text := flows.webhook_secret_name(flow_id);
  -- 244 random bits from the server's strong random source, hex only so it pastes into any shell.
  new_secret text := pg_catalog.replace(pg_catalog.gen_random_uuid()::text || pg_catalog.gen_random_uuid()::text, '-', '');
  existing_id uuid;
begin
  perform flows.require_role(array['admin', 'manager'], 'rotate_webhook_secret');
  select s.id into existing_id from vault.decrypted_secrets as s where s.name = secret_name;
  if existing_id is null then
    perform vault.create_secret(new_secret, secret_name,
      pg_catalog.format('Webhook signing secret of flow "%s" (flows.rotate_webhook_secret)', target.key));
  else
    perform vault.update_secret(existing_id, new_secret);
  end if;
  return new_secret;
end
$$;

comment on function flows.rotate_webhook_secret(uuid) is
  'Creates or replaces the flow''s webhook signing secret (admin or manager) and returns it; it is not shown again. '
  'The previous secret stops working at once. Errors: FL001, FL002.';

create function flows.forget_webhook_secret() returns trigger
language plpgsql
volatile
-- security definer: Vault is the owner's; fired for whoever deleted the flow.
security definer
set search_path = ''
as $$
begin
  delete from vault.secrets as s where s.name = flows.webhook_secret_name(old.flow_id);
  return null;
end
$$;

comment on function flows.forget_webhook_secret() is
  'Trigger: deletes a deleted flow''s webhook signing secret from Vault.';

create trigger flows_forget_webhook_secret
  after delete on flows.flows
  for each row
  execute function flows.forget_webhook_secret();

revoke execute on function flows.webhook_secret_name(uuid) from public, anon;
revoke execute on function flows.rotate_webhook_secret(uuid) from public, anon;
revoke execute on function flows.forget_webhook_secret() from public, anon, authenticated;
grant execute on function flows.webhook_secret_name(uuid) to authenticated, service_role;
grant execute on function flows.rotate_webhook_secret(uuid) to authenticated, service_role;
