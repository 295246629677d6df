-- Published and archived versions never change, whoever asks: postgres and service_role are refused like
-- everyone else (FL004), and status only moves draft -> published -> archived (FL005).
begin;
\ir ../000-setup/helpers.psql
select plan(22);

select flow_id as flow from flows.create_flow('immutable', 'Immutable') \gset
select flow_id as other_flow from flows.create_flow('other', 'Other') \gset
select version_id as v1 from flows.create_draft(:'flow', tests.definition(array['a'])) \gset
select version_id as v1_published from flows.publish_version(:'v1', 'first release') \gset
select version_id as v2 from flows.create_draft(:'flow', tests.definition(array['a', 'b'])) \gset

-- As postgres (the database owner).
select throws_ok(format($$update flows.versions set definition = '{"trigger": {"type": "manual"}, "steps": []}' where version_id = %L$$, :'v1'),
  'FL004', 'version 1 is published and cannot change; create a draft instead',
  'postgres cannot change a published definition');
select throws_ok(format($$update flows.versions set change_notes = 'rewritten' where version_id = %L$$, :'v1'),
  'FL004', 'version 1 is published and cannot change; create a draft instead',
  'postgres cannot change a published version''s notes');
select throws_ok(format($$update flows.versions set version_number = 7 where version_id = %L$$, :'v1'),
  'FL004', 'version 1: flow_id, tenant_id and version_number never change',
  'postgres cannot renumber a version');
select throws_ok(format($$update flows.versions set version_number = 9 where version_id = %L$$, :'v2'),
  'FL004', 'version 2: flow_id, tenant_id and version_number never change',
  'not even a draft');
select throws_ok(format($$update flows.versions set flow_id = %L where version_id = %L$$, :'other_flow', :'v1'),
  'FL004', 'version 1: flow_id, tenant_id and version_number never change',
  'postgres cannot move a version to another flow');
select throws_ok(format($$update flows.versions set status = 'draft' where version_id = %L$$, :'v1'),
  'FL005', 'version 1: illegal status transition published -> draft',
  'postgres cannot turn a published version back into a draft');
select throws_ok(format($$update flows.versions set status = 'archived' where version_id = %L$$, :'v2'),
  'FL005', 'version 2: illegal status transition draft -> archived; delete the draft instead',
  'a draft cannot be archived');
select throws_ok(format($$delete from flows.versions where version_id = %L$$, :'v1'),
  'FL004', 'version 1 is published and cannot be deleted; archive it, or delete the flow',
  'postgres cannot delete a published version');

-- As service_role (the engine).
select tests.act_as_service_role();
select throws_ok(format($$update flows.versions set definition = definition || '{"name": "x"}' where version_id = %L$$, :'v1'),
  'FL004', 'version 1 is published and cannot change; create a draft instead',
  'service_role cannot change a published definition');
select throws_ok(format($$update flows.versions set status = 'draft' where version_id = %L$$, :'v1'),
  'FL005', 'version 1: illegal status transition published -> draft',
  'service_role cannot unpublish');
select throws_ok(format($$delete from flows.versions where version_id = %L$$, :'v1'),
  'FL004', 'version 1 is published and cannot be deleted; archive it, or delete the flow',
  'service_role cannot delete a published version');
select lives_ok(format($$update flows.versions set definition = %L where version_id = %L$$,
    tests.definition(array['a', 'c']), :'v2'),
  'a draft''s definition can change');
select tests.clear_authentication();

-- Archived versions are frozen too.
select flows.publish_version(:'v2') is not null as published \gset
select is((select status from flows.versions where version_id = :'v1'), 'archived', 'publishing v2 archived v1');
select throws_ok(format($$update flows.versions set definition = definition || '{"name": "x"}' where version_id = %L$$, :'v1'),
  'FL004', 'version 1 is archived and cannot change; create a draft instead',
  'an archived definition cannot change');
select throws_ok(format($$update flows.versions set status = 'published' where version_id = %L$$, :'v1'),
  'FL005', 'version 1: illegal status transition archived -> published',
  'an archived version cannot be published again');
select throws_ok(format($$update flows.versions set archived_at = now() - interval '1 day' where version_id = %L$$, :'v1'),
  'FL004', 'version 1 is archived and cannot change; create a draft instead',
  'an archived version''s timestamps cannot change');
select throws_ok(format($$delete from flows.versions where version_id = %L$$, :'v1'),
  'FL004', 'version 1 is archived and cannot be deleted; archive it, or delete the flow',
  'an archived version cannot be deleted');
select throws_ok(format($$select flows.update_draft(%L, %L)$$, :'v2', tests.definition(array['z'])),
  'FL004', 'version 2 is published and cannot change; create a draft instead',
  'update_draft refuses a published version');

-- Inserting: never archived, and published only when valid.
select throws_ok(format($$insert into flows.versions (flow_id, tenant_id, status, definition) values (%L, flows.default_tenant(), 'archived', %L)$$,
    :'flow', tests.definition()),
  'FL005', 'a version starts as draft or published, never archived',
  'a version cannot be inserted as archived');
select throws_ok(format($$insert into flows.versions (flow_id, tenant_id, status, definition) values (%L, flows.default_tenant(), 'published', %L)$$,
    :'other_flow', '{"trigger": {"type": "manual"}, "steps": []}'),
  'FL003', 'steps: Expected at least one step',
  'a version inserted as published is checked like a published one');

-- Deleting the flow takes its published and archived versions with it.
select lives_ok(format($$select flows.delete_flow(%L)$$, :'flow'), 'delete_flow deletes a flow with published history');
select is((select count(*)::int from flows.versions where flow_id = :'flow'), 0, 'its versions went with it');

select * from finish();
rollback;
