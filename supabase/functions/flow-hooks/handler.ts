/**
 * HTTP routes of the flow-hooks function: `POST /flow-hooks/<flow key>` (default tenant) and
 * `POST /flow-hooks/<tenant id>/<flow key>`. A request is authenticated by an HMAC-SHA256 signature made with the
 * flow's signing secret over `<timestamp>.<raw body>`, sent as `X-Flows-Timestamp` (unix seconds) and
 * `X-Flows-Signature: v1=<hex>`; its JSON body, checked against the version's `parameters`, becomes the input of a
 * pending execution. The database and the clock arrive through `HookDeps`, so this module is tested with `deno test`.
 */
import { inputStorageProblem, type ParameterSchema, ParameterSchemaSchema, validateParameters } from "../../../packages/engine/src/index.ts";

/** The tenant of single-tenant deployments (`flows.default_tenant()`), addressed by `/flow-hooks/<flow key>`. */
export const DEFAULT_TENANT = "00000000-0000-0000-0000-000000000001";
/** How far `X-Flows-Timestamp` may be from the server's clock, either way. */
export const REPLAY_WINDOW_SECONDS = 300;
/** Largest body accepted. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** What the handler needs to know about the addressed flow. */
export interface WebhookTarget {
  flowId: string;
  tenantId: string;
  key: string;
  isActive: boolean;
  /** The published version, or null when none is. */
  versionId: string | null;
  /** The published version's trigger type. */
  triggerType: string | null;
  /** The published version's `parameters` schema, if any. */
  parameters: unknown;
  /** The flow's signing secret from Vault, or null when none was ever set. */
  secret: string | null;
}

/** What the handler needs from its runtime. */
export interface HookDeps {
  /** Reads an environment variable (`Deno.env.get` on the platform). */
  env(name: string): string | undefined;
  /** Milliseconds since the epoch (tests pass a fixed clock). */
  now?(): number;
  /** Looks a flow up by tenant and key; null when there is none. */
  findFlow?(tenantId: string, flowKey: string): Promise<WebhookTarget | null>;
  /** Creates a pending webhook execution of `target.versionId` and kicks the engine; null if the version is no longer published. */
  createExecution?(target: WebhookTarget, input: unknown): Promise<string | null>;
}

const FLOW_KEY = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** JSON error body with a stable code. */
function jsonError(status: number, code: string, message: string, details?: unknown): Response {
  return Response.json({ error: details === undefined ? { code, message } : { code, message, details } }, { status });
}

/** Lowercase hex of bytes. */
function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** HMAC-SHA256 of `<timestamp>.<body>` with the secret, as lowercase hex: the value after `v1=`. */
export async function signPayload(secret: string, timestamp: string, body: Uint8Array): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const prefix = new TextEncoder().encode(`${timestamp}.`);
  const message = new Uint8Array(prefix.length + body.length);
  message.set(prefix);
  message.set(body, prefix.length);
  return toHex(new Uint8Array(await crypto.subtle.sign("HMAC", key, message)));
}

/** Compares two strings in time that depends only on their length, not on where they differ. */
export function timingSafeEqual(a: string, b: string): boolean {
  const left = new TextEncoder().encode(a);
  const right = new TextEncoder().encode(b);
  // The expected length (64 hex digits) is public, so a length mismatch may return early.
  if (left.length !== right.length) return false;
  let difference = 0;
  for (let i = 0; i < left.length; i++) difference |= left[i] ^ right[i];
  return difference === 0;
}

/** Why a signature was refused, or null when it is good. */
export async function signatureProblem(
  secret: string,
  timestampHeader: string | null,
  signatureHeader: string | null,
  body: Uint8Array,
  nowMs: number,
): Promise<string | null> {
  if (!timestampHeader || !signatureHeader) return "X-Flows-Timestamp and X-Flows-Signature headers are required";
  if (!/^\d{1,12}$/.test(timestampHeader)) return "X-Flows-Timestamp must be unix seconds";
  if (Math.abs(nowMs / 1000 - Number(timestampHeader)) > REPLAY_WINDOW_SECONDS) {
    return `X-Flows-Timestamp is more than ${REPLAY_WINDOW_SECONDS} seconds from the server's clock`;
  }
  // Several `v1=` values may be sent (comma-separated); one good one is enough.
  const offered = signatureHeader.split(",").map((part) => part.trim()).filter((part) => part.startsWith("v1=")).map((part) => part.slice(3).toLowerCase());
  if (offered.length === 0) return "X-Flows-Signature must be v1=<hex HMAC-SHA256>";
  const expected = await signPayload(secret, timestampHeader, body);
  let matched = false;
  for (const candidate of offered) matched = timingSafeEqual(candidate, expected) || matched;
  return matched ? null : "the signature does not match";
}

/** Reads the body up to `MAX_BODY_BYTES`; null when it is larger. */
async function readBody(request: Request): Promise<Uint8Array | null> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) return null;
  const body = new Uint8Array(await request.arrayBuffer());
  return body.length > MAX_BODY_BYTES ? null : body;
}

/** The addressed tenant and flow key, or null for a path that names no flow. */
export function parseRoute(pathname: string): { tenantId: string; flowKey: string } | null {
  const segments = pathname.replace(/^\/flow-hooks/, "").split("/").filter((s) => s !== "");
  const [first, second] = segments;
  if (segments.length === 1 && FLOW_KEY.test(first)) return { tenantId: DEFAULT_TENANT, flowKey: first };
  if (segments.length === 2 && UUID.test(first) && FLOW_KEY.test(second)) return { tenantId: first.toLowerCase(), flowKey: second };
  return null;
}

/** Builds the request handler. */
export function createHookHandler(deps: HookDeps): (request: Request) => Promise<Response> {
  const now = deps.now ?? Date.now;
  return async (request) => {
    const pathname = new URL(request.url).pathname;
    if (request.method === "GET" && pathname === "/flow-hooks/health") {
      return Response.json({ ok: true, function: "flow-hooks", database: deps.env("SUPABASE_DB_URL") ? "configured" : "missing" });
    }
    const route = parseRoute(pathname);
    if (!route) return jsonError(404, "not_found", `no route for ${pathname}; POST /flow-hooks/<flow key> or /flow-hooks/<tenant id>/<flow key>`);
    if (request.method !== "POST") return jsonError(405, "method_not_allowed", "webhooks are POST requests");
    if (!deps.findFlow || !deps.createExecution) return jsonError(503, "not_configured", "SUPABASE_DB_URL is not set");

    const body = await readBody(request);
    if (!body) return jsonError(413, "payload_too_large", `the body is larger than ${MAX_BODY_BYTES} bytes`);

    try {
      const target = await deps.findFlow(route.tenantId, route.flowKey);
      const name = `flow "${route.flowKey}"`;
      if (!target) return jsonError(404, "not_found", `${name} not found`);
      if (!target.versionId) return jsonError(404, "not_found", `${name} has no published version`);
      if (target.triggerType !== "webhook") return jsonError(404, "not_found", `${name} is not a webhook flow`);
      if (!target.isActive) return jsonError(404, "not_found", `${name} is inactive`);
      if (!target.secret) {
        return jsonError(401, "unauthorized", `${name} has no webhook secret yet; an admin creates one with flows.rotate_webhook_secret`);
      }

      const problem = await signatureProblem(
        target.secret,
        request.headers.get("x-flows-timestamp"),
        request.headers.get("x-flows-signature"),
        body,
        now(),
      );
      if (problem) return jsonError(401, "unauthorized", problem);

      let input: unknown;
      try {
        const text = new TextDecoder("utf-8", { fatal: true }).decode(body);
        input = text.trim() === "" ? {} : JSON.parse(text);
      } catch (error) {
        return jsonError(400, "invalid_json", `body: not valid JSON (${(error as Error).message})`);
      }

      const storageProblem = inputStorageProblem(input, "body");
      if (storageProblem) return jsonError(400, "invalid_json", `${storageProblem.path}: ${storageProblem.message}`);

      if (target.parameters !== undefined && target.parameters !== null) {
        const schema = ParameterSchemaSchema.safeParse(target.parameters);
        if (!schema.success) {
          return jsonError(500, "invalid_definition", `${name}: its parameters schema is invalid; publish a corrected version`);
        }
        const issues = validateParameters(schema.data as ParameterSchema, input);
        if (issues.length > 0) {
          return jsonError(400, "invalid_parameters", `${issues[0].path}: ${issues[0].message}`, issues);
        }
      }

      const executionId = await deps.createExecution(target, input);
      if (!executionId) return jsonError(404, "not_found", `${name} is no longer a published, active webhook flow`);
      return Response.json({ execution_id: executionId }, { status: 202 });
    } catch (error) {
      console.error(JSON.stringify({ level: "error", message: "webhook failed", error: String((error as Error)?.message ?? error) }));
      return jsonError(500, "internal", "the webhook could not be accepted");
    }
  };
}
