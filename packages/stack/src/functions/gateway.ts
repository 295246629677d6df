/**
 * The local Edge Functions runtime: serves every function under `supabase/functions/<name>/index.ts` at
 * `/functions/v1/<name>`, verifies the JWT in front of each function whose `verify_jwt` is not false in
 * `supabase/config.toml` (as the platform does), and offers `EdgeRuntime.waitUntil`. Functions see the request path
 * without the `/functions/v1` prefix, as on hosted Supabase. Run by the stack as its own Deno process.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { verifyJwt } from "../jwt.ts";

type Handler = (request: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>;

const functionsDir = Deno.env.get("FLOWS_FUNCTIONS_DIR")!;
const configToml = Deno.env.get("FLOWS_CONFIG_TOML")!;
const port = Number(Deno.env.get("FLOWS_GATEWAY_PORT"));
const jwtSecret = Deno.env.get("FLOWS_JWT_SECRET")!;

/** Reads `verify_jwt` per function from config.toml (only the keys this gateway needs). */
function readVerifyJwt(path: string): Map<string, boolean> {
  const result = new Map<string, boolean>();
  let section = "";
  for (const raw of readFileSync(path, "utf8").split("\n")) {
    const line = raw.replace(/#.*$/, "").trim();
    const header = /^\[functions\.("?)([^"\]]+)\1\]$/.exec(line);
    if (line.startsWith("[")) section = header ? header[2] : "";
    const setting = /^verify_jwt\s*=\s*(true|false)$/.exec(line);
    if (section && setting) result.set(section, setting[1] === "true");
  }
  return result;
}

// The platform's background-task API: work handed to it outlives the response.
const pending = new Set<Promise<unknown>>();
(globalThis as unknown as { EdgeRuntime: unknown }).EdgeRuntime = {
  waitUntil(promise: Promise<unknown>) {
    const tracked = Promise.resolve(promise)
      .catch((error) => console.error(`background task failed: ${error?.stack ?? error}`))
      .finally(() => pending.delete(tracked));
    pending.add(tracked);
  },
};

// Each function calls Deno.serve(handler) at import time; capture the handler instead of opening a port.
const handlers = new Map<string, Handler>();
const realServe = Deno.serve.bind(Deno);
let loading = "";
(Deno as unknown as { serve: unknown }).serve = (...args: unknown[]) => {
  const handler = (args.find((a) => typeof a === "function") ??
    (args[0] as { handler?: Handler })?.handler) as Handler | undefined;
  if (!handler) throw new Error(`function ${loading}: Deno.serve was called without a handler`);
  handlers.set(loading, handler);
  return { finished: new Promise(() => {}), shutdown: async () => {}, ref() {}, unref() {}, addr: { port, hostname: "127.0.0.1" } };
};

for (const name of readdirSync(functionsDir).sort()) {
  const entry = join(functionsDir, name, "index.ts");
  if (name.startsWith("_") || name.startsWith(".") || !existsSync(entry)) continue;
  loading = name;
  await import(pathToFileURL(entry).href);
  if (!handlers.has(name)) console.error(`function ${name} did not call Deno.serve; it will answer 503`);
}
const verify = readVerifyJwt(configToml);
console.log(`serving ${[...handlers.keys()].map((n) => `${n} (verify_jwt=${verify.get(n) ?? true})`).join(", ")}`);

function jsonError(status: number, code: string, message: string): Response {
  return Response.json({ code, message }, { status });
}

realServe({ port, hostname: "127.0.0.1", onListen: () => console.log(`listening on 127.0.0.1:${port}`) }, async (request, info) => {
  const url = new URL(request.url);
  if (url.pathname === "/health") {
    // Memory in bytes; the platform's limit counts the V8 heap in use plus external (ArrayBuffer) memory, not RSS.
    return Response.json({ ok: true, functions: [...handlers.keys()], memory: Deno.memoryUsage() });
  }
  const match = /^\/functions\/v1\/([^/]+)(\/.*)?$/.exec(url.pathname);
  if (!match) return jsonError(404, "not_found", `no route for ${url.pathname}`);
  const [, name, rest = ""] = match;
  const handler = handlers.get(name);
  if (!handler) return jsonError(404, "function_not_found", `function ${name} does not exist`);
  if ((verify.get(name) ?? true) && request.method !== "OPTIONS") {
    const header = request.headers.get("authorization") ?? "";
    const token = /^Bearer\s+(.+)$/i.exec(header)?.[1];
    if (!token) return jsonError(401, "missing_authorization", "Missing authorization header");
    const verdict = await verifyJwt(token, jwtSecret);
    if (!verdict.ok) return jsonError(401, "invalid_jwt", `Invalid JWT (${verdict.reason})`);
  }
  // A fresh request without the client's abort signal: background work (EdgeRuntime.waitUntil) outlives the response.
  const inner = new Request(`http://127.0.0.1:${port}/${name}${rest}${url.search}`, {
    method: request.method,
    headers: request.headers,
    body: request.body,
    // @ts-ignore: duplex is required by fetch for streamed bodies but missing from Deno's RequestInit type
    duplex: "half",
  });
  try {
    return await handler(inner, info);
  } catch (error) {
    console.error(`function ${name} threw: ${(error as Error)?.stack ?? error}`);
    return jsonError(500, "function_error", "the function threw an uncaught error");
  }
});
