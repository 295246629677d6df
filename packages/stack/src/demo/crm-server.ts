/**
 * A local Bitrix24-like CRM and notification receiver for the demo and for tests: `POST /rest/<user>/<token>/crm.<entity>.update`
 * answers as Bitrix24's inbound webhooks do (errors as `{error, error_description}`, `503 QUERY_LIMIT_EXCEEDED` past
 * its published limit of 2 requests/s with a burst of 50), and `POST /notify` records notifications.
 */

/** What the server has seen, for the demo's output and for assertions. */
export interface CrmState {
  updates: { entity: string; id: unknown; fields: Record<string, unknown>; idempotencyKey: string | null; at: string }[];
  notifications: { body: unknown; idempotencyKey: string | null; at: string }[];
  rejected: number;
}

/** Options of the CRM server. */
export interface CrmServerOptions {
  port: number;
  /** Requests per second refilled into the bucket (Bitrix24: 2). */
  ratePerSecond?: number;
  /** Bucket size (Bitrix24: 50). */
  burst?: number;
  onRequest?: (line: string) => void;
}

/** Starts the server; `close()` stops it. */
export function startCrmServer(options: CrmServerOptions): { state: CrmState; close(): Promise<void> } {
  const state: CrmState = { updates: [], notifications: [], rejected: 0 };
  const rate = options.ratePerSecond ?? 2;
  const burst = options.burst ?? 50;
  let tokens = burst;
  let refilledAt = performance.now();

  function takeToken(): boolean {
    const now = performance.now();
    tokens = Math.min(burst, tokens + ((now - refilledAt) / 1000) * rate);
    refilledAt = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }

  const server = Deno.serve({ port: options.port, hostname: "127.0.0.1", onListen: () => {} }, async (request) => {
    const url = new URL(request.url);
    const idempotencyKey = request.headers.get("idempotency-key");
    const at = new Date().toISOString();
    if (request.method === "GET" && url.pathname === "/state") return Response.json(state);
    const body = await request.json().catch(() => null);
    if (request.method === "POST" && url.pathname === "/notify") {
      state.notifications.push({ body, idempotencyKey, at });
      options.onRequest?.(`notification received: ${JSON.stringify(body)}`);
      return Response.json({ ok: true });
    }
    const method = /^\/rest\/[^/]+\/[^/]+\/crm\.([a-z]+)\.update(\.json)?$/.exec(url.pathname);
    if (request.method === "POST" && method) {
      if (!takeToken()) {
        state.rejected++;
        return Response.json({ error: "QUERY_LIMIT_EXCEEDED", error_description: "Too many requests" }, { status: 503 });
      }
      if (!body || body.id === undefined || body.id === null || body.id === "") {
        return Response.json({ error: "ERROR_CORE", error_description: "ID is not defined or invalid." }, { status: 400 });
      }
      if (!body.fields || typeof body.fields !== "object") {
        return Response.json({ error: "ERROR_CORE", error_description: "FIELDS is not defined." }, { status: 400 });
      }
      state.updates.push({ entity: method[1], id: body.id, fields: body.fields, idempotencyKey, at });
      options.onRequest?.(`crm.${method[1]}.update id=${body.id} fields=${JSON.stringify(body.fields)}`);
      return Response.json({ result: true, time: { start: Date.now() / 1000 } });
    }
    return Response.json({ error: "ERROR_METHOD_NOT_FOUND", error_description: "Method not found!" }, { status: 404 });
  });
  return { state, close: () => server.shutdown() };
}
