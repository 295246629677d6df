// The flow-engine Edge Function: reached by pg_net kicks from the database, by pg_cron ticks and over HTTP.
// Kept short on purpose: routes live in handler.ts, adapters in adapters.ts, the work in packages/.
import { createDeps } from "./adapters.ts";
import { createHandler } from "./handler.ts";

Deno.serve(createHandler(createDeps((name) => Deno.env.get(name))));
