// deno test: the handler's routes, with a fake environment (no network, no database).
import { createHandler } from "./handler.ts";

function assertEquals(actual: unknown, expected: unknown, what: string) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

Deno.test("GET /health answers with the function's name", async () => {
  const handler = createHandler({ env: (name) => (name === "SUPABASE_DB_URL" ? "postgres://x" : undefined) });
  const response = await handler(new Request("http://localhost/flow-engine/health"));
  assertEquals(response.status, 200, "status");
  assertEquals(await response.json(), { ok: true, function: "flow-engine", database: "configured" }, "body");
});

Deno.test("an unknown route is a 404 with a JSON error", async () => {
  const handler = createHandler({ env: () => undefined });
  const response = await handler(new Request("http://localhost/flow-engine/nope"));
  assertEquals(response.status, 404, "status");
  assertEquals((await response.json()).error.code, "not_found", "code");
});

function token(claims: Record<string, unknown>): string {
  const encode = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, "");
  return `${encode({ alg: "HS256", typ: "JWT" })}.${encode(claims)}.signature-checked-by-the-platform`;
}

const emptyReport = { eventsProcessed: 0, executionsCreated: 0, executionsRun: 0, outcomes: { completed: 0, failed: 0, waiting: 0, cancelled: 0 }, moreWork: false };

Deno.test("POST / drains only for the service role", async () => {
  let drains = 0;
  const handler = createHandler({ env: () => undefined, drain: () => (drains++, Promise.resolve(emptyReport)) });
  const post = (claims: Record<string, unknown> | null) =>
    handler(new Request("http://localhost/flow-engine", { method: "POST", headers: claims ? { Authorization: `Bearer ${token(claims)}` } : {} }));
  assertEquals((await post(null)).status, 401, "no token");
  const member = await post({ role: "authenticated", sub: "u1" });
  assertEquals(member.status, 403, "member token");
  assertEquals((await member.json()).error.code, "forbidden", "member error code");
  assertEquals(drains, 0, "no drain for refused callers");
  assertEquals((await post({ role: "service_role" })).status, 200, "service role");
  assertEquals(drains, 1, "one drain for the service role");
});

Deno.test("POST / answers 202 at once and keeps draining through waitUntil", async () => {
  const background: Promise<unknown>[] = [];
  let finish!: () => void;
  const handler = createHandler({
    env: () => undefined,
    drain: () => new Promise((resolve) => (finish = () => resolve(emptyReport))),
    waitUntil: (p) => background.push(p),
  });
  const response = await handler(new Request("http://localhost/flow-engine", { method: "POST", headers: { Authorization: `Bearer ${token({ role: "service_role" })}` } }));
  assertEquals(response.status, 202, "accepted before the drain ends");
  assertEquals(background.length, 1, "the drain was handed to waitUntil");
  finish();
  await background[0];
});

Deno.test("POST /run names the bad field and maps run errors to statuses", async () => {
  const handler = createHandler({
    env: () => undefined,
    startRun: ({ flowKey }) => Promise.reject(Object.assign(new Error(`flow "${flowKey}" not found`), { code: "FL002" })),
  });
  const run = (body: unknown) =>
    handler(new Request("http://localhost/flow-engine/run", {
      method: "POST",
      headers: { Authorization: `Bearer ${token({ role: "authenticated", sub: "00000000-0000-0000-0000-0000000000a1" })}` },
      body: JSON.stringify(body),
    }));
  const bad = await run({ flow_key: "Not A Key" });
  assertEquals(bad.status, 400, "bad key status");
  assertEquals((await bad.json()).error.message, "flow_key: must be a flow key (lowercase slug)", "bad key message");
  const missing = await run({ flow_key: "nope" });
  assertEquals(missing.status, 404, "unknown flow status");
  assertEquals((await missing.json()).error, { code: "FL002", message: 'flow "nope" not found' }, "unknown flow body");
});
