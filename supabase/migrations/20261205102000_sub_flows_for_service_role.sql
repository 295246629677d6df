-- start_sub_flow and cancel_sub_flow are granted to service_role, but as written they only worked for the table
-- owner (the engine connects as such): start_sub_flow reads flows.engine_state, which no API role may read, and
-- cancel_sub_flow (and the cancel_sub_flows trigger behind a service_role cancel request) calls stop_sub_flows,
-- which service_role could not execute. Both now work for the role they are granted to.

-- Reads the depth limit from engine_state; fenced by the parent's lease; execute stays service_role only.
alter function flows.start_sub_flow(uuid, text, text, integer, text, jsonb) security definer;

grant execute on function flows.stop_sub_flows(uuid[], timestamptz, uuid, text) to service_role;
