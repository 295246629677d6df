/**
 * Values Postgres's jsonb cannot hold (U+0000, half a surrogate pair): a response carrying one is recorded once,
 * with those characters replaced, and never calls its target again; a run's input carrying one, or nested deeper
 * than a definition may be, is refused with a 400 naming the place; a token whose `sub` is not a uuid is refused.
 */
import { createHmac } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { connect, stack } from "../helpers.ts";
import { createLeadsTable, publishFlow, startTarget, terminalExecutions } from "../flows-helpers.ts";

const sql = connect();
afterAll(() => sql.end());
const suffix = Date.now().toString(36);

function token(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const input = `${part({ alg: "HS256", typ: "JWT" })}.${part({ exp: Math.floor(Date.now() / 1000) + 600, ...claims })}`;
  return `${input}.${createHmac("sha256", stack.jwtSecret).update(input).digest("base64url")}`;
}

async function run(bearer: string, body: string) {
  const response = await fetch(`${stack.apiUrl}/functions/v1/flow-engine/run`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${bearer}` },
    body,
  });
  return { status: response.status, json: (await response.json()) as { error?: { code: string; message: string } } };
}

describe("a response jsonb cannot hold", () => {
  it("is recorded once with U+FFFD in place of U+0000 and lone surrogates; the target is called once", async () => {
    const target = await startTarget(() => ({ body: { note: "a\u0000b", half: "x\ud800y", "key\u0000": 1 } }));
    try {
      const table = await createLeadsTable(sql, `leads_nul_${suffix}`);
      const { flowId } = await publishFlow(sql, `nul-response-${suffix}`, {
        trigger: { type: "row_change", table, events: ["INSERT"] },
        steps: [{ id: "call", type: "http", config: { method: "POST", url: `${target.url}/nul`, body: { n: 1 } } }],
      });
      await sql.unsafe(`insert into ${table} (name) values ('nul')`);
      const [execution] = await terminalExecutions(sql, flowId, 1, 30_000);
      expect(execution!.status).toBe("completed");
      const [step] = await sql`
        select output -> 'body' as body from flows.execution_steps where execution_id = ${execution!.execution_id} and step_id = 'call'`;
      expect(step!.body).toEqual({ note: "a\ufffdb", half: "x\ufffdy", "key\ufffd": 1 });
      expect(target.requests.length).toBe(1);
    } finally {
      await target.close();
    }
  });
});

describe("POST /run refuses what it cannot store, naming it", () => {
  const service = () => token({ role: "service_role" });

  it("an input holding U+0000: 400 naming input.note", async () => {
    const response = await run(service(), JSON.stringify({ flow_key: "any", input: { note: "a\u0000b" } }));
    expect(response.status).toBe(400);
    expect(response.json.error?.message).toBe("input.note: Contains U+0000 or half of a surrogate pair, which jsonb cannot hold");
  });

  it("an input nested deeper than 64 levels: 400 naming the place", async () => {
    const response = await run(service(), `{"flow_key": "any", "input": {"deep": ${"[".repeat(200)}${"]".repeat(200)}}}`);
    expect(response.status).toBe(400);
    expect(response.json.error?.message).toMatch(/^input\.deep(\[0\])+: Nested deeper than 64 levels$/);
  });

  it("a signed token whose sub is not a uuid: 401 naming the claim", async () => {
    const response = await run(token({ role: "authenticated", sub: "user_2abc" }), JSON.stringify({ flow_key: "any" }));
    expect(response.status).toBe(401);
    expect(response.json.error?.message).toBe("the token's sub claim must be a user id (a uuid)");
  });
});
