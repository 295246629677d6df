-- The admin RPC checks the caller's role in the flow's tenant: admins and managers write, only admins delete,
-- members are refused (FL001), other tenants see nothing (FL002), anon may not call at all (42501).
begin;
\ir ../000-setup/helpers.psql
select plan(24);
select tests.build_world();

-- Members.
select tests.authenticate_as(tests.id('member_a'));
select throws_ok($$select flows.create_flow('mine', 'Mine')$$,
  'FL001', 'create_flow requires the role admin or manager in this tenant; the caller is member',
  'a member cannot create flows');
select throws_ok(format($$select flows.update_flow(%L, 'Renamed')$$, tests.id('flow_a')), 'FL001', null,
  'a member cannot rename flows');
select throws_ok(format($$select flows.create_draft(%L)$$, tests.id('flow_a')), 'FL001', null, 'a member cannot draft');
select throws_ok(format($$select flows.publish_version(%L)$$, tests.id('flow_a_v3')), 'FL001', null, 'a member cannot publish');
select is(jsonb_typeof(flows.diff_versions(tests.id('flow_a_v2'), tests.id('flow_a_v4'))), 'object',
  'a member may diff versions they can read (published, own draft)');
select throws_ok(format($$select flows.diff_versions(%L, %L)$$, tests.id('flow_a_v2'), tests.id('flow_a_v3')), 'FL002', null,
  'but not a manager''s draft they cannot read');

-- Managers.
select tests.authenticate_as(tests.id('manager_a'));
select results_eq($$select tenant_id, key, created_by from flows.create_flow('welcome', 'Welcome', 'Greets new leads')$$,
  format($$values (flows.default_tenant(), 'welcome', %L::uuid)$$, tests.id('manager_a')),
  'a manager creates a flow in their tenant, as its creator');
select throws_ok($$select flows.create_flow('welcome', 'Again')$$, 'FL008', 'key: a flow with key "welcome" already exists',
  'keys are unique per tenant');
select throws_ok($$select flows.create_flow('Not A Slug', 'Bad')$$, 'FL007', null, 'a key must be a slug');
select throws_ok($$select flows.create_flow('blank', '  ')$$, 'FL007', 'name: must be 1 to 200 characters', 'a name must not be blank');
select is((flows.update_flow(tests.id('flow_a'), null, 'Routes leads')).description, 'Routes leads',
  'update_flow changes what is given');
select is((flows.set_flow_active(tests.id('flow_a'), false)).is_active, false, 'set_flow_active turns a flow off');
select is((flows.publish_version(tests.id('flow_a_v3'))).status, 'published', 'a manager publishes');
select throws_ok(format($$select flows.delete_flow(%L)$$, tests.id('inactive_a')),
  'FL001', 'delete_flow requires the role admin in this tenant; the caller is manager', 'a manager cannot delete flows');

-- Admins.
select tests.authenticate_as(tests.id('admin_a'));
select throws_ok(format($$select flows.delete_flow(%L)$$, tests.id('flow_a')),
  'FL006', 'flow "lead-intake" has pending, running or waiting executions; cancel them or wait for them to finish',
  'a flow with a running execution cannot be deleted');
select throws_ok(format($$delete from flows.flows where flow_id = %L$$, tests.id('flow_a')),
  'FL006', null, 'not even with a plain delete');
select lives_ok(format($$select flows.delete_flow(%L)$$, tests.id('inactive_a')), 'an admin deletes an idle flow');
select is((select count(*)::int from flows.versions where flow_id = tests.id('inactive_a')), 0, 'its versions are gone');

-- Another tenant.
select tests.authenticate_as(tests.id('admin_b'));
select throws_ok(format($$select flows.update_flow(%L, 'Mine now')$$, tests.id('flow_a')),
  'FL002', format('flow %s not found', tests.id('flow_a')), 'another tenant''s admin cannot see flow_a');
select throws_ok(format($$select flows.publish_version(%L)$$, tests.id('flow_a_v4')), 'FL002', null,
  'nor publish its versions');
select throws_ok(format($$select flows.delete_flow(%L)$$, tests.id('flow_a')), 'FL002', null, 'nor delete it');
select is((flows.create_flow('lead-intake-2', 'Second')).tenant_id, '00000000-0000-0000-0000-000000000002'::uuid,
  'their flows land in their own tenant');

-- Anon and service_role.
select tests.authenticate_as_anon();
select throws_ok($$select flows.create_flow('anon', 'Anon')$$, '42501', null, 'anon cannot call the admin RPC');
select tests.act_as_service_role();
select is((flows.archive_version(tests.id('flow_b_v1'))).status, 'archived', 'service_role acts on any tenant');

select * from finish();
rollback;
