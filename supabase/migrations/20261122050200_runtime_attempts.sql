-- What the executor records about a step attempt beyond its input and output: a suspended status for waits
-- (the attempt completes when the execution resumes), the branch a condition step took, the full error with its
-- retryable flag, step logs, when a retry or wait is due, and whether continue_on_error let the execution go on.
alter table flows.execution_steps drop constraint execution_steps_status_check;
alter table flows.execution_steps add constraint execution_steps_status_check
  check (status in ('running', 'completed', 'failed', 'suspended', 'skipped'));
alter table flows.execution_steps
  add column branch jsonb,
  add column error jsonb,
  add column logs jsonb,
  add column resume_at timestamptz,
  add column continued boolean not null default false;

comment on column flows.execution_steps.branch is 'Condition steps: {"next": step id or null} — where the execution continued.';
comment on column flows.execution_steps.error is 'The error as the engine serialised it: code, message, retryable, retryAfterMs, details (secrets redacted).';
comment on column flows.execution_steps.logs is 'Log lines the step produced (secrets redacted).';
comment on column flows.execution_steps.resume_at is 'Suspended attempts: when the wait ends. Failed attempts: when the retry is due.';
comment on column flows.execution_steps.continued is 'The step failed for good but continue_on_error let the execution go on.';
