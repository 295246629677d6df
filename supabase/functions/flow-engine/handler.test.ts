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
