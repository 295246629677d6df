-- The flows data model: tenant membership, flows and their numbered versions, the row-change event outbox,
-- executions and their step attempts. Tables, constraints, indexes and comments only; behaviour (invariant
-- triggers, the admin RPC, row level security and grants) lives in the migrations that follow.

create schema if not exists flows;
comment on schema flows is 'Automation flows: versioned definitions, the event outbox, executions and their history.';

-- Members ------------------------------------------------------------------------------------------------------------

create table flows.members (
  tenant_id uuid not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  role text not null default 'member',
  created_at timestamptz not null default now(),
  constraint members_pkey primary key (tenant_id, user_id),
  constraint members_role_check check (role in ('admin', 'manager', 'member'))
);

comment on table flows.members is
  'Who belongs to which tenant and with which role (admin, manager, member). A tenant is just a uuid; '
  'single-tenant deployments use 00000000-0000-0000-0000-000000000001.';

create index members_user_id_idx on flows.members (user_id);

-- Flows --------------------------------------------------------------------------------------------------------------

create table flows.flows (
  flow_id uuid not null default gen_random_uuid(),
  tenant_id uuid not null,
  key text not null,
  name text not null,
  description text,
  is_active boolean not null default true,
  created_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint flows_pkey primary key (flow_id),
  constraint flows_tenant_key_unique unique (tenant_id, key),
  -- Lets versions and executions reference (flow_id, tenant_id) so a child row can never name another tenant.
  constraint flows_flow_tenant_unique unique (flow_id, tenant_id),
  constraint flows_key_format_check check (key ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  constraint flows_name_check check (length(btrim(name)) between 1 and 200)
);

comment on table flows.flows is
  'A flow: a tenant-scoped automation identified by a slug key. What it does lives in its versions.';

create index flows_active_idx on flows.flows (tenant_id) where is_active;
create index flows_created_by_idx on flows.flows (created_by);
create index flows_created_at_idx on flows.flows (created_at desc);

-- Versions -----------------------------------------------------------------------------------------------------------

create table flows.versions (
  version_id uuid not null default gen_random_uuid(),
  flow_id uuid not null,
  tenant_id uuid not null,
  version_number integer not null,
  status text not null default 'draft',
  definition jsonb not null,
  trigger_type text,
  trigger_table text,
  trigger_events text[],
  change_notes text,
  rolled_back_from_version_id uuid,
  created_by uuid,
  created_at timestamptz not null default now(),
  published_by uuid,
  published_at timestamptz,
  archived_at timestamptz,
  constraint versions_pkey primary key (version_id),
  constraint versions_flow_fkey foreign key (flow_id, tenant_id)
    references flows.flows (flow_id, tenant_id) on delete cascade,
  constraint versions_flow_version_number_unique unique (flow_id, version_number),
  -- Lets executions reference (version_id, flow_id): an execution's version always belongs to its flow.
  constraint versions_version_flow_unique unique (version_id, flow_id),
  constraint versions_rolled_back_from_fkey foreign key (rolled_back_from_version_id, flow_id)
    references flows.versions (version_id, flow_id),
  constraint versions_status_check check (status in ('draft', 'published', 'archived')),
  constraint versions_version_number_check check (version_number >= 1),
  constraint versions_definition_object_check check (jsonb_typeof(definition) = 'object'),
  constraint versions_definition_size_check check (octet_length(definition::text) <= 524288),
  constraint versions_trigger_type_check check (trigger_type in ('row_change', 'schedule', 'manual', 'webhook')),
  constraint versions_published_at_check check (status = 'draft' or published_at is not null),
  constraint versions_archived_at_check check ((status = 'archived') = (archived_at is not null))
);

comment on table flows.versions is
  'Numbered versions of a flow (1, 2, 3 … without gaps). Drafts are editable; published and archived versions '
  'never change. At most one version per flow is published. trigger_type, trigger_table and trigger_events are '
  'derived from the definition.';

-- At most one published version per flow; also the lookup of the version that runs.
create unique index versions_one_published_per_flow_idx on flows.versions (flow_id) where status = 'published';
-- Which published versions watch a table (installing capture triggers, routing events).
create index versions_published_trigger_table_idx on flows.versions (trigger_table) where status = 'published';
create index versions_status_idx on flows.versions (tenant_id, status);
create index versions_flow_published_at_idx on flows.versions (flow_id, published_at desc) where published_at is not null;
create index versions_rolled_back_from_idx on flows.versions (rolled_back_from_version_id)
  where rolled_back_from_version_id is not null;

-- Events -------------------------------------------------------------------------------------------------------------

create table flows.events (
  event_id bigint generated always as identity,
  source_schema text not null,
  source_table text not null,
  operation text not null,
  new_row jsonb,
  old_row jsonb,
  causation_depth integer not null default 0,
  caused_by_execution_id uuid,
  created_at timestamptz not null default now(),
  claimed_at timestamptz,
  claimed_by text,
  processed_at timestamptz,
  error_message text,
  constraint events_pkey primary key (event_id),
  constraint events_operation_check check (operation in ('INSERT', 'UPDATE', 'DELETE')),
  constraint events_causation_depth_check check (causation_depth >= 0)
);

comment on table flows.events is
  'Outbox of row changes written by capture triggers on watched tables; the engine claims and processes them in '
  'event_id order. Internal: only service_role reads or writes it.';

-- Claiming: the oldest unprocessed events first.
create index events_unprocessed_idx on flows.events (event_id) where processed_at is null;

-- Executions ---------------------------------------------------------------------------------------------------------

create table flows.executions (
  execution_id uuid not null default gen_random_uuid(),
  tenant_id uuid not null,
  flow_id uuid not null,
  version_id uuid not null,
  trigger_type text not null,
  event_id bigint references flows.events (event_id) on delete set null,
  subject text,
  status text not null default 'pending',
  input jsonb not null default '{}'::jsonb,
  context jsonb not null default '{}'::jsonb,
  result jsonb,
  error_code text,
  error_message text,
  attempt_count integer not null default 0,
  step_count integer not null default 0,
  current_step_id text,
  resume_at timestamptz,
  lease_owner text,
  lease_expires_at timestamptz,
  cancel_requested_at timestamptz,
  cancel_requested_by uuid,
  started_at timestamptz,
  finished_at timestamptz,
  executed_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint executions_pkey primary key (execution_id),
  constraint executions_flow_fkey foreign key (flow_id, tenant_id)
    references flows.flows (flow_id, tenant_id) on delete cascade,
  constraint executions_version_fkey foreign key (version_id, flow_id)
    references flows.versions (version_id, flow_id),
  -- One execution per event and version: re-delivering an event never runs a version twice.
  constraint executions_event_version_unique unique (event_id, version_id),
  -- Lets execution_steps reference (execution_id, tenant_id).
  constraint executions_execution_tenant_unique unique (execution_id, tenant_id),
  constraint executions_trigger_type_check check (trigger_type in ('row_change', 'schedule', 'manual', 'webhook', 'rerun')),
  constraint executions_status_check
    check (status in ('pending', 'running', 'waiting', 'completed', 'failed', 'cancelled')),
  constraint executions_attempt_count_check check (attempt_count >= 0),
  constraint executions_step_count_check check (step_count >= 0)
);

comment on table flows.executions is
  'One run of a pinned flow version: how it was triggered, its subject, status (pending, running, waiting, '
  'completed, failed, cancelled; only legal transitions), lease and resume columns for the engine, and its result. '
  'History: written by the engine (service_role) only, never deleted except with its flow.';

-- Runnable work: pending now, or waiting until resume_at.
create index executions_runnable_idx on flows.executions (status, resume_at) where status in ('pending', 'waiting');
-- Running executions whose lease expired (the worker died).
create index executions_expired_leases_idx on flows.executions (lease_expires_at) where status = 'running';
-- Listing and filtering history.
create index executions_flow_idx on flows.executions (flow_id, created_at desc);
create index executions_version_idx on flows.executions (version_id);
create index executions_subject_idx on flows.executions (tenant_id, subject);
create index executions_status_idx on flows.executions (tenant_id, status);
create index executions_executed_by_idx on flows.executions (executed_by);
create index executions_started_at_idx on flows.executions (tenant_id, started_at desc);

-- Execution steps ----------------------------------------------------------------------------------------------------

create table flows.execution_steps (
  step_attempt_id bigint generated always as identity,
  execution_id uuid not null,
  tenant_id uuid not null,
  step_id text not null,
  step_type text not null,
  status text not null default 'running',
  attempt integer not null default 1,
  input jsonb,
  output jsonb,
  error_code text,
  error_message text,
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  duration_ms integer,
  constraint execution_steps_pkey primary key (step_attempt_id),
  constraint execution_steps_execution_fkey foreign key (execution_id, tenant_id)
    references flows.executions (execution_id, tenant_id) on delete cascade,
  constraint execution_steps_attempt_unique unique (execution_id, step_id, attempt),
  constraint execution_steps_status_check check (status in ('running', 'completed', 'failed', 'skipped')),
  constraint execution_steps_attempt_check check (attempt >= 1),
  constraint execution_steps_duration_ms_check check (duration_ms >= 0)
);

comment on table flows.execution_steps is
  'One row per attempt of a step of an execution: rendered input (secrets redacted), output, error and timing. '
  'Written by the engine (service_role) only.';
