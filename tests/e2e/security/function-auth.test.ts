/**
 * Who may call the flow-engine function, through the local gateway that verifies JWTs as the platform does:
 * the drain route (POST /) is for the service role only; POST /run lets a signed-in member start a flow of their
 * own tenant and nobody else's. Each refusal checks the status, a JSON error without internals, and that no
 * execution was created.
 */
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, eventually, stack } from "../helpers.ts";

const sql = connect();
const functionUrl = `${stack.apiUrl}/functions/v1/flow-engine`;
const TENANT_A = "00000000-0000-0000-0000-000000000001";
const TENANT_B = "00000000-0000-0000-0000-00000000b0b0";
const now = () => Math.floor(Date.now() / 1000);

const base64url = (value: string | Buffer) => Buffer.from(value).toString("base64url");

/** A JWT with any header and claims, signed HS256 with `secret` (or unsigned when the header says so). */
function token(claims: Record<string, unknown>, options: { secret?: string; header?: Record<string, unknown> } = {}): string {
  const header = options.header ?? { alg: "HS256", typ: "JWT" };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  if (header.alg === "none") return `${signingInput}.`;
  const signature = createHmac("sha256", options.secret ?? stack.jwtSecret).update(signingInput).digest("base64url");
  return `${signingInput}.${signature}`;
}

const userToken = (sub: string, extra: Record<string, unknown> = {}) =>
  token({ sub, role: "authenticated", aud: "authenticated", exp: now() + 600, ...extra });

async function call(path: string, bearer: string | null, body: unknown = {}) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (bearer !== null) headers.authorization = `Bearer ${bearer}`;
  const response = await fetch(`${functionUrl}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, text, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const executionCount = async (flowId: string) =>
  Number((await sql`select count(*)::int as n from flows.executions where flow_id = ${flowId}`)[0]!.n);

let memberA: string;
let memberB: string;
let outsider: string;
let flowA: string;
let flowB: string;
const key = `secret-report-${Date.now().toString(36)}`;

beforeAll(async () => {
  const users = await sql`
    insert into auth.users (email) values (${`a-${key}@example.com`}), (${`b-${key}@example.com`}), (${`o-${key}@example.com`})
    returning id`;
  [memberA, memberB, outsider] = users.map((user) => user.id as string) as [string, string, string];
  await sql`insert into flows.members (tenant_id, user_id, role) values (${TENANT_A}, ${memberA}, 'member'), (${TENANT_B}, ${memberB}, 'member')`;
  // The same key in both tenants: a run must find its caller's flow, never the other tenant's.
  const definition = { trigger: { type: "manual" }, steps: [{ id: "say", type: "log", config: { message: "ran" } }] };
  const flows = await sql`
    insert into flows.flows (tenant_id, key, name) values (${TENANT_A}, ${key}, 'A report'), (${TENANT_B}, ${key}, 'B report')
    returning flow_id, tenant_id`;
  flowA = flows.find((flow) => flow.tenant_id === TENANT_A)!.flow_id;
  flowB = flows.find((flow) => flow.tenant_id === TENANT_B)!.flow_id;
  await sql`
    insert into flows.versions (flow_id, tenant_id, status, definition)
    values (${flowA}, ${TENANT_A}, 'published', ${sql.json(definition)}), (${flowB}, ${TENANT_B}, 'published', ${sql.json(definition)})`;
  // A tenant-B-only flow key, so "not found" cannot be explained by the key existing elsewhere.
  const [{ flow_id: onlyB }] = await sql`
    insert into flows.flows (tenant_id, key, name) values (${TENANT_B}, ${`${key}-b-only`}, 'B only') returning flow_id`;
  await sql`insert into flows.versions (flow_id, tenant_id, status, definition) values (${onlyB}, ${TENANT_B}, 'published', ${sql.json(definition)})`;
});
afterAll(() => sql.end());

describe("the drain route (POST /) is for the service role only", () => {
  const refusals: Array<[string, () => string | null, number]> = [
    ["no token", () => null, 401],
    ["a malformed token", () => "not-a-jwt", 401],
    ["the anon key", () => stack.anonKey, 403],
    ["a member's token", () => userToken("00000000-0000-0000-0000-00000000a11a"), 403],
    ["a service_role token signed with a wrong secret", () => token({ role: "service_role", exp: now() + 600 }, { secret: "not-the-secret-but-just-as-long-as-the-real-one" }), 401],
    ["an expired service_role token", () => token({ role: "service_role", exp: now() - 60 }), 401],
    ["a service_role token with alg none", () => token({ role: "service_role", exp: now() + 600 }, { header: { alg: "none", typ: "JWT" } }), 401],
    ["a service_role token with alg HS512 and no valid signature", () => token({ role: "service_role", exp: now() + 600 }, { header: { alg: "HS512", typ: "JWT" } }), 401],
    ["a member's claims re-signed as service_role by the client (wrong secret)", () => token({ sub: "x", role: "service_role" }, { secret: "guess" }), 401],
  ];

  it.each(refusals)("refuses %s", async (_label, bearer, status) => {
    const before = Number((await sql`select count(*)::int as n from flows.executions`)[0]!.n);
    const response = await call("", bearer());
    expect(response.status).toBe(status);
    // A JSON error with a code, never a stack trace.
    expect(response.text).not.toMatch(/\n\s+at |\.ts:\d+/);
    expect(Object.keys(response.json).length).toBeGreaterThan(0);
    const after = Number((await sql`select count(*)::int as n from flows.executions`)[0]!.n);
    expect(after).toBe(before);
  });

  it("accepts the service role key (control)", async () => {
    const response = await call("", stack.serviceRoleKey);
    expect(response.status).toBe(202);
    expect(response.json).toEqual({ accepted: true });
  });
});

describe("POST /run: a member starts only their own tenant's flows", () => {
  it("a member of tenant A cannot start a flow that exists only in tenant B: 404, no execution", async () => {
    const response = await call("/run", userToken(memberA), { flow_key: `${key}-b-only` });
    expect(response.status).toBe(404);
    expect((response.json.error as { code: string }).code).toBe("FL002");
  });

  it("a member of tenant A claiming tenant B in app_metadata is refused: 403, no execution in B", async () => {
    const response = await call("/run", userToken(memberA, { app_metadata: { tenant_id: TENANT_B } }), { flow_key: key });
    expect(response.status).toBe(403);
    expect((response.json.error as { code: string }).code).toBe("FL001");
    expect(await executionCount(flowB)).toBe(0);
  });

  it("a user who belongs to no tenant is refused: 403, no execution anywhere", async () => {
    const response = await call("/run", userToken(outsider), { flow_key: key });
    expect(response.status).toBe(403);
    expect(await executionCount(flowA)).toBe(0);
    expect(await executionCount(flowB)).toBe(0);
  });

  it("the anon key cannot start runs: 401", async () => {
    const response = await call("/run", stack.anonKey, { flow_key: key });
    expect(response.status).toBe(401);
    expect(await executionCount(flowB)).toBe(0);
  });

  it("an expired member token is refused by the gateway: 401", async () => {
    const response = await call("/run", userToken(memberB, { exp: now() - 1 }), { flow_key: key });
    expect(response.status).toBe(401);
    expect(await executionCount(flowB)).toBe(0);
  });

  it("a member of tenant A starting the shared key runs tenant A's flow only", async () => {
    const response = await call("/run", userToken(memberA), { flow_key: key });
    expect(response.status).toBe(202);
    const executionId = response.json.execution_id as string;
    const [row] = await sql`select tenant_id, flow_id, executed_by from flows.executions where execution_id = ${executionId}`;
    expect(row).toEqual({ tenant_id: TENANT_A, flow_id: flowA, executed_by: memberA });
    expect(await executionCount(flowB)).toBe(0);
  });

  it("the service role naming tenant B in app_metadata runs tenant B's flow", async () => {
    const response = await call("/run", token({ role: "service_role", exp: now() + 600, app_metadata: { tenant_id: TENANT_B } }), {
      flow_key: `${key}-b-only`,
    });
    expect(response.status).toBe(202);
    const [row] = await sql`select tenant_id, executed_by from flows.executions where execution_id = ${response.json.execution_id as string}`;
    expect(row).toEqual({ tenant_id: TENANT_B, executed_by: null });
  });

  it("the service role with a tenant_id that is not a uuid is refused: 400 naming the claim, no execution", async () => {
    const before = await executionCount(flowA);
    const response = await call("/run", token({ role: "service_role", exp: now() + 600, app_metadata: { tenant_id: "tenant-a" } }), { flow_key: key });
    expect(response.status).toBe(400);
    expect(response.json.error).toEqual({ code: "FL007", message: 'app_metadata.tenant_id: "tenant-a" is not a uuid' });
    expect(await executionCount(flowA)).toBe(before);
  });

  it("a member of tenant B can start it in tenant B (control)", async () => {
    const response = await call("/run", userToken(memberB), { flow_key: key });
    expect(response.status).toBe(202);
    const executionId = response.json.execution_id as string;
    const status = await eventually(async () => {
      const [row] = await sql`select status, tenant_id from flows.executions where execution_id = ${executionId}`;
      return row && ["completed", "failed"].includes(row.status as string) ? row : undefined;
    }, 20_000, "the tenant B run to finish");
    expect(status).toEqual({ status: "completed", tenant_id: TENANT_B });
  });
});
