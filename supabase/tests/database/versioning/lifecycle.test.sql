-- Drafting, publishing, rolling back and archiving: one published version per flow, numbers 1, 2, 3 … without
-- gaps whatever the sequence, and a rollback is a new version, so history stays linear.
begin;
\ir ../000-setup/helpers.psql
select plan(31);

-- The watched table must exist: publishing a row_change version installs capture triggers on it.
create table public.leads (id bigint generated always as identity primary key, status text);

select flow_id as flow from flows.create_flow('lifecycle', 'Lifecycle', 'Drafts and releases') \gset
select is((select tenant_id from flows.flows where flow_id = :'flow'), flows.default_tenant(),
  'a flow created without a tenant claim lands in the default tenant');

-- Drafts.
select version_id as v1 from flows.create_draft(:'flow') \gset
select results_eq(format($$select version_number, status, definition, trigger_type from flows.versions where version_id = %L$$, :'v1'),
  $$values (1, 'draft', '{"trigger": {"type": "manual"}, "steps": []}'::jsonb, 'manual')$$,
  'create_draft without a definition makes an empty manual draft, version 1');
select throws_ok(format($$select flows.publish_version(%L)$$, :'v1'), 'FL003', 'steps: Expected at least one step',
  'the empty draft cannot be published');
select lives_ok(format($$select flows.update_draft(%L, %L, 'first steps')$$, :'v1',
    tests.row_change_definition('leads', array['UPDATE', 'INSERT'], array['notify'])),
  'update_draft replaces the definition');
select results_eq(format($$select trigger_type, trigger_table, trigger_events, change_notes from flows.versions where version_id = %L$$, :'v1'),
  $$values ('row_change', 'public.leads', array['INSERT', 'UPDATE'], 'first steps')$$,
  'trigger columns are derived from the definition (table schema-qualified, events sorted)');

-- Publishing.
select version_id as published_v1 from flows.publish_version(:'v1', 'go live') \gset
select results_eq(format($$select status, change_notes, published_at is not null, archived_at is null from flows.versions where version_id = %L$$, :'v1'),
  $$values ('published', 'go live', true, true)$$,
  'publish_version publishes with notes and a timestamp');
select throws_ok(format($$select flows.publish_version(%L)$$, :'v1'), 'FL005', 'version 1 is already published',
  'publishing twice is refused');

select version_id as v2 from flows.create_draft(:'flow', tests.definition(array['a'])) \gset
select version_id as v3 from flows.create_draft(:'flow', from_version_id => :'v1') \gset
select results_eq(format($$select version_number, definition, change_notes from flows.versions where version_id = %L$$, :'v3'),
  format($$select 3, definition, 'Copied from version 1' from flows.versions where version_id = %L$$, :'v1'),
  'create_draft from_version_id copies the definition');
select throws_ok(format($$select flows.create_draft(%L, %L, %L)$$, :'flow', tests.definition(), :'v1'),
  'FL007', 'give either definition or from_version_id, not both', 'definition and from_version_id together are refused');

select flows.publish_version(:'v2') is not null as ok \gset
select results_eq(format($$select version_number, status from flows.versions where flow_id = %L order by version_number$$, :'flow'),
  $$values (1, 'archived'), (2, 'published'), (3, 'draft')$$,
  'publishing v2 archived v1');
select throws_ok(format($$update flows.versions set status = 'published' where version_id = %L$$, :'v3'),
  '23505', null, 'a second published version is refused by the unique index, even for postgres');
select is((select count(*)::int from flows.versions where flow_id = :'flow' and status = 'published'), 1,
  'exactly one version is published');

-- Gapless numbering.
select throws_ok(format($$delete from flows.versions where version_id = %L$$, :'v2'),
  'FL004', 'version 2 is published and cannot be deleted; archive it, or delete the flow',
  'the published version cannot be deleted');
select version_id as v4 from flows.create_draft(:'flow') \gset
select throws_ok(format($$delete from flows.versions where version_id = %L$$, :'v3'),
  'FL004', 'draft version 3 is not the latest version; only the latest draft can be deleted so that version numbers stay gapless',
  'a draft that is not the latest cannot be deleted');
select lives_ok(format($$delete from flows.versions where version_id = %L$$, :'v4'), 'the latest draft can be deleted');
select is((flows.create_draft(:'flow')).version_number, 4, 'the next draft takes the freed number 4');
select throws_ok(format($$insert into flows.versions (flow_id, tenant_id, version_number, definition) values (%L, flows.default_tenant(), 9, '{}')$$, :'flow'),
  'FL007', 'version_number: the next version of this flow is 5, not 9', 'a chosen version_number that skips is refused');
select throws_ok(format($$insert into flows.versions (flow_id, tenant_id, status, definition) values (%L, flows.default_tenant(), 'published', '{}')$$, :'flow'),
  'FL003', 'trigger: Required (and 1 more; see the error detail)', 'a failed insert …');
select is((flows.create_draft(:'flow')).version_number, 5, '… consumes no number');
savepoint abandoned_work;
-- (no assertion inside: pgTAP keeps its counters in the transaction)
select (flows.create_draft(:'flow')).version_number as abandoned_number \gset
rollback to savepoint abandoned_work;
select is(:abandoned_number, 6, 'a draft made by work that is then rolled back took 6');
select is((flows.create_draft(:'flow')).version_number, 6, 'after the rollback the next draft takes 6 again');
select results_eq(format($$select array_agg(version_number order by version_number) from flows.versions where flow_id = %L$$, :'flow'),
  $$values (array[1, 2, 3, 4, 5, 6])$$, 'the flow has versions 1 to 6');

-- Rollback.
select version_id as v7, version_number as v7_number, rolled_back_from_version_id as v7_source, change_notes as v7_notes,
       status as v7_status
  from flows.rollback_to_version(:'flow', :'v1') \gset
select is(:v7_number, 7, 'rollback_to_version publishes a new version 7');
select is(:'v7_source'::uuid, :'v1'::uuid, 'which names the version it came from');
select is(:'v7_notes'::text, 'Rollback to version 1', 'with a default change note');
select is((select definition from flows.versions where version_id = :'v7'),
          (select definition from flows.versions where version_id = :'v1'), 'and carries its definition');
select results_eq(format($$select version_number, status from flows.versions where flow_id = %L and status <> 'draft' order by version_number$$, :'flow'),
  $$values (1, 'archived'), (2, 'archived'), (7, 'published')$$,
  'the previously published version 2 is archived; version 1 stays archived');
select throws_ok(format($$select flows.rollback_to_version(%L, %L)$$, :'flow', :'v3'),
  'FL007', 'version 3 is a draft that was never published; publish it instead', 'a draft is no rollback target');
select throws_ok(format($$select flows.rollback_to_version(%L, %L)$$, :'flow', :'v7'),
  'FL007', 'version 7 is already the published version', 'nor is the published version');

-- Archiving.
select is((flows.archive_version(:'v7')).status, 'archived', 'archive_version archives the published version');
select throws_ok(format($$select flows.archive_version(%L)$$, :'v3'),
  'FL005', 'version 3 is draft; only the published version can be archived', 'a draft cannot be archived');

select * from finish();
rollback;
