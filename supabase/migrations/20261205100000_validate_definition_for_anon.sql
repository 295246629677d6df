-- flows.validate_definition is callable by anyone (anon included), so that a form can check a definition before an
-- admin saves it. It runs with the caller's rights and, since parallel and sub_flow steps, calls two helpers that were
-- executable only by authenticated and service_role, so an anon call failed with "permission denied for function
-- trigger_problems". Both are pure checks of the JSON they are given (immutable, no table access), like
-- flows.is_reserved_table, which anon may already execute for the same reason.

grant execute on function flows.trigger_problems(jsonb) to anon;
grant execute on function flows.branch_problems(jsonb, text) to anon;
