// The flow-hooks Edge Function: webhook triggers from outside callers, authenticated by each flow's signing secret
// (no Supabase JWT, so verify_jwt = false in config.toml). Routes live in handler.ts, SQL in adapters.ts.
import { createHookDeps } from "./adapters.ts";
import { createHookHandler } from "./handler.ts";

Deno.serve(createHookHandler(createHookDeps((name) => Deno.env.get(name))));
