/**
 * HTTP routes of the flow-engine function: parse, authorise, call the runtime, map errors to statuses.
 * Runtime globals (Deno.env, EdgeRuntime, the database client) arrive through `HandlerDeps`, so this module is
 * tested with `deno test` as is.
 */
import { z } from "zod";
import { inputStorageProblem } from "../../../packages/engine/src/index.ts";
import type { DrainReport } from "../../../packages/runtime/src/index.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What the handler needs from its runtime. */
export interface HandlerDeps {
  /** Reads an environment variable (`Deno.env.get` on the platform). */
  env(name: string): string | undefined;
  /** Drains work until none is left or the budget is spent. */
  drain?(): Promise<DrainReport>;
  /** Asks for another invocation through the database (after a drain failed part-way). */
  requestDrain?(): Promise<void>;
  /** Starts a manual run; throws errors with a `code` (see `startManualRun` in engine-adapters.ts). */
  startRun?(request: { flowKey: string; input: unknown; userId: string | null; claims: Record<string, unknown> }): Promise<{ executionId: string }>;
  /** Keeps background work alive after the response (`EdgeRuntime.waitUntil` on the platform). */
  waitUntil?(promise: Promise<unknown>): void;
}

/** JSON error body with a stable code. */
function jsonError(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
}

/** Reads the claims of the bearer token. The platform verified its signature before the request got here. */
export function bearerClaims(request: Request): Record<string, unknown> | null {
  const token = /^Bearer\s+(.+)$/i.exec(request.headers.get("authorization") ?? "")?.[1];
  const payload = token?.split(".")[1];
  if (!payload) return null;
  try {
    const text = atob(payload.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((payload.length + 3) % 4));
    const claims = JSON.parse(text);
    return typeof claims === "object" && claims !== null ? claims : null;
  } catch {
    return null;
  }
}

const RunRequest = z.strictObject({
  flow_key: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "must be a flow key (lowercase slug)"),
  input: z.unknown().optional(),
});

// Error codes of startRun mapped to HTTP statuses; anything else is a 500 with no internals.
const runErrorStatus: Record<string, number> = {
  FL001: 403,
  FL002: 404,
  FL007: 400,
  PARAMETERS_INVALID: 400,
};

/** Builds the request handler. */
export function createHandler(deps: HandlerDeps): (request: Request) => Promise<Response> {
  // One drain per isolate at a time; a kick that arrives meanwhile makes it look again before stopping.
  let draining: Promise<unknown> | null = null;
  let kickedWhileDraining = false;

  function startDrain(): Promise<unknown> {
    if (draining) {
      kickedWhileDraining = true;
      return draining;
    }
    draining = (async () => {
      try {
        do {
          kickedWhileDraining = false;
          await deps.drain!();
        } while (kickedWhileDraining);
      } catch (error) {
        console.error(JSON.stringify({ level: "error", message: "drain failed", error: String((error as Error)?.message ?? error) }));
        // Work may be left (and kicks were absorbed meanwhile): ask for a fresh invocation instead of waiting for the tick.
        await deps.requestDrain?.().catch((failure) =>
          console.error(JSON.stringify({ level: "error", message: "could not request another drain; the tick will", error: String((failure as Error)?.message ?? failure) }))
        );
      } finally {
        draining = null;
      }
    })();
    return draining;
  }

  return async (request) => {
    const path = new URL(request.url).pathname.replace(/^\/flow-engine/, "") || "/";
    if (request.method === "GET" && path === "/health") {
      return Response.json({ ok: true, function: "flow-engine", database: deps.env("SUPABASE_DB_URL") ? "configured" : "missing" });
    }
    const route = `${request.method} ${path}`;
    if (route !== "POST /" && route !== "POST /run") return jsonError(404, "not_found", `no route for ${route}`);
    const claims = bearerClaims(request);
    if (!claims) return jsonError(401, "unauthorized", "a bearer token is required");

    if (request.method === "POST" && path === "/") {
      if (claims.role !== "service_role") {
        return jsonError(403, "forbidden", "draining is reserved to the service role");
      }
      if (!deps.drain) return jsonError(503, "not_configured", "SUPABASE_DB_URL is not set");
      const work = startDrain();
      if (deps.waitUntil) {
        deps.waitUntil(work);
        return Response.json({ accepted: true }, { status: 202 });
      }
      await work;
      return Response.json({ accepted: true, finished: true }, { status: 200 });
    }

    if (request.method === "POST" && path === "/run") {
      if (!deps.startRun) return jsonError(503, "not_configured", "SUPABASE_DB_URL is not set");
      const body = await request.json().catch(() => undefined);
      const parsed = RunRequest.safeParse(body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        return jsonError(400, "invalid_request", `${issue.path.join(".") || "body"}: ${issue.message}`);
      }
      const userId = typeof claims.sub === "string" ? claims.sub : null;
      if (claims.role !== "service_role" && !userId) {
        return jsonError(401, "unauthorized", "a signed-in user's token (or the service role) is required to start a run");
      }
      // auth.uid() reads the claim as a uuid; anything else would fail inside Postgres.
      if (claims.sub !== undefined && (userId === null || !UUID.test(userId))) {
        return jsonError(401, "unauthorized", "the token's sub claim must be a user id (a uuid)");
      }
      const inputProblem = inputStorageProblem(parsed.data.input);
      if (inputProblem) return jsonError(400, "invalid_request", `${inputProblem.path}: ${inputProblem.message}`);
      try {
        const { executionId } = await deps.startRun({ flowKey: parsed.data.flow_key, input: parsed.data.input ?? {}, userId, claims });
        const work = deps.drain ? startDrain() : Promise.resolve();
        deps.waitUntil?.(work);
        return Response.json({ execution_id: executionId }, { status: 202 });
      } catch (error) {
        const code = String((error as { code?: unknown }).code ?? "");
        const status = runErrorStatus[code];
        if (status) return jsonError(status, code, (error as Error).message);
        console.error(JSON.stringify({ level: "error", message: "run failed", error: String((error as Error)?.message ?? error) }));
        return jsonError(500, "internal", "the run could not be started");
      }
    }
    return jsonError(404, "not_found", `no route for ${request.method} ${path}`);
  };
}
