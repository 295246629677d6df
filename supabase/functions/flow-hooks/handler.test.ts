// deno test: the webhook handler with a fake flow lookup and a fixed clock (no network, no database).
import { createHookHandler, DEFAULT_TENANT, type HookDeps, parseRoute, signPayload, timingSafeEqual, type WebhookTarget } from "./handler.ts";

function assertEquals(actual: unknown, expected: unknown, what: string) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

const NOW_MS = 1_790_000_000_000;
const SECRET = "0123456789abcdef0123456789abcdef";

const leadIntake: WebhookTarget = {
  flowId: "11111111-1111-1111-1111-111111111111",
  tenantId: DEFAULT_TENANT,
  key: "lead-intake",
  isActive: true,
  versionId: "22222222-2222-2222-2222-222222222222",
  triggerType: "webhook",
  parameters: { type: "object", required: ["lead_id"], properties: { lead_id: { type: "integer" } } },
  secret: SECRET,
};

function world(targets: WebhookTarget[] = [leadIntake]) {
  const created: { target: WebhookTarget; input: unknown }[] = [];
  const lookups: [string, string][] = [];
  const deps: HookDeps = {
    env: () => undefined,
    now: () => NOW_MS,
    findFlow: (tenantId, flowKey) => {
      lookups.push([tenantId, flowKey]);
      return Promise.resolve(targets.find((t) => t.tenantId === tenantId && t.key === flowKey) ?? null);
    },
    createExecution: (target, input) => {
      created.push({ target, input });
      return Promise.resolve("33333333-3333-3333-3333-333333333333");
    },
  };
  return { handler: createHookHandler(deps), created, lookups };
}

async function signedPost(
  handler: (r: Request) => Promise<Response>,
  path: string,
  body: string,
  options: { secret?: string; timestamp?: number; signature?: string } = {},
): Promise<Response> {
  const timestamp = String(options.timestamp ?? NOW_MS / 1000);
  const signature = options.signature ?? `v1=${await signPayload(options.secret ?? SECRET, timestamp, new TextEncoder().encode(body))}`;
  return handler(new Request(`http://localhost${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Flows-Timestamp": timestamp, "X-Flows-Signature": signature },
    body,
  }));
}

Deno.test("a correctly signed body starts an execution and answers 202 with its id", async () => {
  const { handler, created } = world();
  const response = await signedPost(handler, "/flow-hooks/lead-intake", '{"lead_id": 42}');
  assertEquals(response.status, 202, "status");
  assertEquals(await response.json(), { execution_id: "33333333-3333-3333-3333-333333333333" }, "body");
  assertEquals(created.map((c) => [c.target.versionId, c.input]), [[leadIntake.versionId, { lead_id: 42 }]], "created");
});

Deno.test("the signature is HMAC-SHA256 over <timestamp>.<body> in hex (a known vector)", async () => {
  // printf '%s' '1790000000.{"a":1}' | openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef
  assertEquals(
    await signPayload(SECRET, "1790000000", new TextEncoder().encode('{"a":1}')),
    "f4346a65c05b64dd6b51506d8bb57787fd3805be72b2212c4b3b6e27d36316eb",
    "hex digest",
  );
});

Deno.test("a wrong, missing or malformed signature is a 401 and creates nothing", async () => {
  const { handler, created } = world();
  const wrongSecret = await signedPost(handler, "/flow-hooks/lead-intake", '{"lead_id": 1}', { secret: "another-secret" });
  assertEquals(wrongSecret.status, 401, "wrong secret");
  assertEquals((await wrongSecret.json()).error, { code: "unauthorized", message: "the signature does not match" }, "wrong secret body");
  const missing = await handler(new Request("http://localhost/flow-hooks/lead-intake", { method: "POST", body: "{}" }));
  assertEquals(missing.status, 401, "no headers");
  const malformed = await signedPost(handler, "/flow-hooks/lead-intake", "{}", { signature: "sha256=abc" });
  assertEquals(malformed.status, 401, "not v1=");
  // The body was changed after signing.
  const timestamp = String(NOW_MS / 1000);
  const signature = `v1=${await signPayload(SECRET, timestamp, new TextEncoder().encode('{"lead_id": 1}'))}`;
  const tampered = await handler(new Request("http://localhost/flow-hooks/lead-intake", {
    method: "POST",
    headers: { "X-Flows-Timestamp": timestamp, "X-Flows-Signature": signature },
    body: '{"lead_id": 2}',
  }));
  assertEquals(tampered.status, 401, "tampered body");
  assertEquals(created.length, 0, "nothing created");
});

Deno.test("a timestamp outside the 5-minute window is a 401, inside it is accepted", async () => {
  const { handler, created } = world();
  const stale = await signedPost(handler, "/flow-hooks/lead-intake", '{"lead_id": 1}', { timestamp: NOW_MS / 1000 - 301 });
  assertEquals(stale.status, 401, "301 s old");
  assertEquals((await stale.json()).error.message, "X-Flows-Timestamp is more than 300 seconds from the server's clock", "stale message");
  const future = await signedPost(handler, "/flow-hooks/lead-intake", '{"lead_id": 1}', { timestamp: NOW_MS / 1000 + 301 });
  assertEquals(future.status, 401, "301 s ahead");
  assertEquals(created.length, 0, "nothing created for stale requests");
  const edge = await signedPost(handler, "/flow-hooks/lead-intake", '{"lead_id": 1}', { timestamp: NOW_MS / 1000 - 300 });
  assertEquals(edge.status, 202, "300 s old");
});

Deno.test("one good value among several v1 signatures is enough", async () => {
  const { handler } = world();
  const body = '{"lead_id": 7}';
  const good = await signPayload(SECRET, String(NOW_MS / 1000), new TextEncoder().encode(body));
  const response = await signedPost(handler, "/flow-hooks/lead-intake", body, { signature: `v1=${"0".repeat(64)}, v1=${good}` });
  assertEquals(response.status, 202, "status");
});

Deno.test("invalid JSON and input that breaks the parameters are 400s naming the problem", async () => {
  const { handler, created } = world();
  const notJson = await signedPost(handler, "/flow-hooks/lead-intake", "{lead_id: 1");
  assertEquals(notJson.status, 400, "not JSON");
  assertEquals((await notJson.json()).error.code, "invalid_json", "not JSON code");
  const wrongType = await signedPost(handler, "/flow-hooks/lead-intake", '{"lead_id": "abc"}');
  assertEquals(wrongType.status, 400, "wrong type");
  assertEquals((await wrongType.json()).error.message, "input.lead_id: Expected integer, received string", "wrong type message");
  const missing = await signedPost(handler, "/flow-hooks/lead-intake", "{}");
  assertEquals((await missing.json()).error.message, "input.lead_id: Required", "missing property message");
  assertEquals(created.length, 0, "nothing created");
});

Deno.test("unknown flows, flows of other trigger types and inactive flows are 404s", async () => {
  const { handler, created } = world([
    leadIntake,
    { ...leadIntake, key: "nightly", triggerType: "schedule" },
    { ...leadIntake, key: "paused", isActive: false },
    { ...leadIntake, key: "draft-only", versionId: null, triggerType: null },
  ]);
  for (const [key, message] of [
    ["nope", 'flow "nope" not found'],
    ["nightly", 'flow "nightly" is not a webhook flow'],
    ["paused", 'flow "paused" is inactive'],
    ["draft-only", 'flow "draft-only" has no published version'],
  ]) {
    const response = await signedPost(handler, `/flow-hooks/${key}`, '{"lead_id": 1}');
    assertEquals(response.status, 404, `${key} status`);
    assertEquals((await response.json()).error, { code: "not_found", message }, `${key} body`);
  }
  assertEquals(created.length, 0, "nothing created");
});

Deno.test("a flow without a secret refuses every request", async () => {
  const { handler } = world([{ ...leadIntake, secret: null }]);
  const response = await signedPost(handler, "/flow-hooks/lead-intake", '{"lead_id": 1}');
  assertEquals(response.status, 401, "status");
});

Deno.test("routes: the default tenant by key, another tenant by id, nothing else", async () => {
  const other = "0000000a-0000-0000-0000-0000000000bb";
  assertEquals(parseRoute("/flow-hooks/lead-intake"), { tenantId: DEFAULT_TENANT, flowKey: "lead-intake" }, "key only");
  assertEquals(parseRoute(`/flow-hooks/${other.toUpperCase()}/lead-intake/`), { tenantId: other, flowKey: "lead-intake" }, "tenant and key");
  assertEquals(parseRoute("/flow-hooks"), null, "no key");
  assertEquals(parseRoute("/flow-hooks/Not_A_Key"), null, "not a slug");
  assertEquals(parseRoute("/flow-hooks/not-a-uuid/lead-intake"), null, "not a tenant id");

  const { handler, lookups } = world([{ ...leadIntake, tenantId: other }]);
  const response = await signedPost(handler, `/flow-hooks/${other}/lead-intake`, '{"lead_id": 1}');
  assertEquals(response.status, 202, "another tenant's flow");
  assertEquals(lookups, [[other, "lead-intake"]], "looked up in that tenant");
  const notRouted = await signedPost(handler, "/flow-hooks/a/b/c", "{}");
  assertEquals(notRouted.status, 404, "too many segments");
  const get = await handler(new Request("http://localhost/flow-hooks/lead-intake"));
  assertEquals(get.status, 405, "GET");
});

Deno.test("a body over 1 MiB is a 413", async () => {
  const { handler, lookups } = world();
  const response = await signedPost(handler, "/flow-hooks/lead-intake", JSON.stringify({ lead_id: 1, pad: "x".repeat(1024 * 1024) }));
  assertEquals(response.status, 413, "status");
  assertEquals(lookups.length, 0, "refused before any lookup");
});

Deno.test("without a database the function says so", async () => {
  const handler = createHookHandler({ env: () => undefined });
  const health = await handler(new Request("http://localhost/flow-hooks/health"));
  assertEquals(await health.json(), { ok: true, function: "flow-hooks", database: "missing" }, "health");
  assertEquals((await handler(new Request("http://localhost/flow-hooks/x", { method: "POST", body: "{}" }))).status, 503, "POST");
});

Deno.test("timingSafeEqual compares whole strings", () => {
  assertEquals(timingSafeEqual("abcd", "abcd"), true, "equal");
  assertEquals(timingSafeEqual("abcd", "abce"), false, "last character");
  assertEquals(timingSafeEqual("abcd", "abc"), false, "length");
  assertEquals(timingSafeEqual("", ""), true, "empty");
});

Deno.test("a body jsonb cannot hold (U+0000, half a surrogate pair, nesting past 64) is a 400 naming the place", async () => {
  const { handler, created } = world([{ ...leadIntake, parameters: null }]);
  const cases: [string, string][] = [
    ['{"lead_id": 1, "note": "a\\u0000b"}', "body.note: Contains U+0000"],
    ['{"lead_id": 1, "tags": ["ok", "\\ud800"]}', "body.tags[1]: Contains U+0000 or half of a surrogate pair"],
    [`{"lead_id": 1, "deep": ${"[".repeat(100)}${"]".repeat(100)}}`, "body.deep[0]"],
  ];
  for (const [body, message] of cases) {
    const response = await signedPost(handler, "/flow-hooks/lead-intake", body);
    assertEquals(response.status, 400, `status for ${body.slice(0, 40)}`);
    const text = (await response.json()).error.message as string;
    if (!text.startsWith(message)) throw new Error(`expected a message starting ${message}, got ${text}`);
  }
  assertEquals(created.length, 0, "nothing created");
});
