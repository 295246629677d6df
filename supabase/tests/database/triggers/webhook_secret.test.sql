-- flows.rotate_webhook_secret: admins and managers create or replace a flow's webhook signing secret in Vault and
-- see it once; deleting the flow deletes the secret.
begin;
\ir ../000-setup/helpers.psql
select plan(10);
select tests.build_world();

create temporary table secrets (n integer, secret text);
grant all on secrets to authenticated;

select tests.authenticate_as(tests.id('manager_a'));
insert into secrets select 1, flows.rotate_webhook_secret(tests.id('flow_a'));
select tests.clear_authentication();
select matches((select secret from secrets where n = 1), '^[0-9a-f]{64}$', 'a manager gets a 64-digit hex secret');
select is((select decrypted_secret from vault.decrypted_secrets where name = flows.webhook_secret_name(tests.id('flow_a'))),
  (select secret from secrets where n = 1), 'stored in Vault as flows_webhook_<flow id>');
select is(flows.webhook_secret_name(tests.id('flow_a')), 'flows_webhook_' || tests.id('flow_a'), 'the name');

select tests.authenticate_as(tests.id('admin_a'));
insert into secrets select 2, flows.rotate_webhook_secret(tests.id('flow_a'));
select tests.clear_authentication();
select isnt((select secret from secrets where n = 2), (select secret from secrets where n = 1), 'rotating makes a new secret');
select results_eq(
  format($$select decrypted_secret from vault.decrypted_secrets where name = %L$$, flows.webhook_secret_name(tests.id('flow_a'))),
  $$select secret from secrets where n = 2$$, 'which replaces the old one');

select tests.authenticate_as(tests.id('member_a'));
select throws_ok(format('select flows.rotate_webhook_secret(%L)', tests.id('flow_a')), 'FL001', null, 'members cannot rotate');
select tests.authenticate_as(tests.id('admin_b'));
select throws_ok(format('select flows.rotate_webhook_secret(%L)', tests.id('flow_a')), 'FL002', null,
  'another tenant''s admin does not see the flow');
select tests.authenticate_as_anon();
select throws_ok(format('select flows.rotate_webhook_secret(%L)', tests.id('flow_a')), '42501', null, 'anon cannot call it');

select tests.clear_authentication();
select flows.rotate_webhook_secret(tests.id('inactive_a')) is not null as ok \gset
select isnt_empty(format($$select 1 from vault.decrypted_secrets where name = %L$$, flows.webhook_secret_name(tests.id('inactive_a'))),
  'the paused flow has a secret');
select flows.delete_flow(tests.id('inactive_a'));
select is_empty(format($$select 1 from vault.decrypted_secrets where name = %L$$, flows.webhook_secret_name(tests.id('inactive_a'))),
  'deleting the flow deletes its secret');

select * from finish();
rollback;
