/** HTTP routes of the flow-engine function. Deno globals stay in index.ts so this module is testable as is. */

/** What the handler needs from its runtime. */
export interface HandlerDeps {
  /** Reads an environment variable (`Deno.env.get` on the platform). */
  env(name: string): string | undefined;
}

/** JSON error body with a stable code. */
function jsonError(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
}

/** Builds the request handler. */
export function createHandler(deps: HandlerDeps): (request: Request) => Promise<Response> {
  return async (request) => {
    const path = new URL(request.url).pathname.replace(/^\/flow-engine/, "") || "/";
    if (request.method === "GET" && path === "/health") {
      return Response.json({ ok: true, function: "flow-engine", database: deps.env("SUPABASE_DB_URL") ? "configured" : "missing" });
    }
    return jsonError(404, "not_found", `no route for ${request.method} ${path}`);
  };
}
