-- The platform surface the migrations rely on exists with the hosted API: auth helpers read PostgREST's claims,
-- pg_net queues requests, Vault stores secrets, and the engine's secrets are set.
begin;
select plan(8);

select has_function('auth', 'uid', 'auth.uid() exists');
select has_function('net', 'http_post', array['text', 'jsonb', 'jsonb', 'jsonb', 'integer'], 'net.http_post has pg_net''s signature');

select set_config('request.jwt.claims', '{"sub": "7b1bd6f4-3d4e-4b55-9a57-2ea1c56ab0a1", "role": "authenticated"}', true);
select is(auth.uid(), '7b1bd6f4-3d4e-4b55-9a57-2ea1c56ab0a1'::uuid, 'auth.uid() reads the sub claim');
select is(auth.role(), 'authenticated', 'auth.role() reads the role claim');

select isnt(net.http_post('http://127.0.0.1:9/never-sent', '{"a": 1}'::jsonb), null, 'net.http_post returns a request id');
select is(
  (select convert_from(body, 'UTF8')::jsonb from net.http_request_queue order by id desc limit 1),
  '{"a": 1}'::jsonb,
  'the queued body is the JSON given'
);

select is((select count(*)::int from vault.decrypted_secrets where name in ('flows_engine_url', 'flows_engine_key')), 2,
  'the engine URL and key are in Vault');
select matches((select decrypted_secret from vault.decrypted_secrets where name = 'flows_engine_url'),
  '/functions/v1/flow-engine$', 'the engine URL points at the flow-engine function');

select * from finish();
rollback;
