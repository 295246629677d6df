// The flow-engine Edge Function: reached by pg_net kicks from the database, by pg_cron ticks and over HTTP.
// Kept short on purpose: routing and error mapping live in handler.ts, the work in packages/engine.
import { createHandler } from "./handler.ts";

Deno.serve(createHandler({ env: (name) => Deno.env.get(name) }));
