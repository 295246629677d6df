import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tabularRunner } from "../src/index.ts";
import { rejectionOf, stepContext } from "./helpers/context.ts";
import { sendJson, startServer, type TestServer } from "./helpers/server.ts";

// A Bitrix24-like inbound webhook: /rest/<user>/<token>/crm.<entity>.update.
// The lead id picks the scenario, the way real Bitrix answers depend on the record.
let bitrix: TestServer;

beforeAll(async () => {
  bitrix = await startServer((request, response) => {
    const match = /^\/rest\/1\/(\w+)\/crm\.(\w+)\.update$/.exec(request.path);
    if (match === null || request.method !== "POST") return sendJson(response, 404, { error: "ERROR_METHOD_NOT_FOUND", error_description: "Method not found!" });
    if (match[1] !== "tok3n") return sendJson(response, 401, { error: "INVALID_CREDENTIALS", error_description: "Invalid request credentials" });
    const { id } = JSON.parse(request.body) as { id: number };
    switch (id) {
      case 404:
        return sendJson(response, 200, { error: "ERROR_CORE", error_description: "Not found" });
      case 400:
        return sendJson(response, 400, { error: "INVALID_ARG_VALUE", error_description: "Field STATUS_ID has invalid value" });
      case 503:
        return sendJson(response, 503, { error: "QUERY_LIMIT_EXCEEDED", error_description: "Too many requests" });
      case 429:
        return sendJson(response, 200, { error: "QUERY_LIMIT_EXCEEDED", error_description: "Too many requests" }, { "retry-after": "3" });
      case 500:
        return sendJson(response, 500, { error: "INTERNAL_SERVER_ERROR", error_description: "Internal error" });
      case 502:
        response.writeHead(502);
        return void response.end("bad gateway");
      case 1000:
        return sendJson(response, 200, { result: false });
      default:
        return sendJson(response, 200, { result: true, time: { duration: 0.01 } });
    }
  });
});

afterAll(() => bitrix.close());

const webhook = () => `${bitrix.url}/rest/1/tok3n/`;
const run = (config: Record<string, unknown>, context = stepContext()) => {
  const checked = tabularRunner.validateConfig({ webhook_url: webhook(), field: "STATUS_ID", value: "QUALIFIED", ...config });
  if (!checked.valid) throw new Error(JSON.stringify(checked.errors));
  return tabularRunner.execute(checked.config, context);
};

describe("tabular runner (Bitrix24 webhook)", () => {
  it("POSTs crm.lead.update with id and fields, merging additional_fields (array form)", async () => {
    const before = bitrix.requests.length;
    const result = await run({ id: 7, additional_fields: [{ field: "UF_SOURCE", value: "flows" }, { field: "OPPORTUNITY", value: 1500 }] });
    const seen = bitrix.requests[before]!;
    expect(seen.path).toBe("/rest/1/tok3n/crm.lead.update");
    expect(JSON.parse(seen.body)).toEqual({ id: 7, fields: { STATUS_ID: "QUALIFIED", UF_SOURCE: "flows", OPPORTUNITY: 1500 } });
    expect(seen.headers["idempotency-key"]).toBe("key-1");
    expect(result).toEqual({
      status: "completed",
      output: { entity: "lead", id: 7, fields: { STATUS_ID: "QUALIFIED", UF_SOURCE: "flows", OPPORTUNITY: 1500 }, result: true },
    });
  });

  it("accepts additional_fields as an object and other entities", async () => {
    const before = bitrix.requests.length;
    await run({ id: 8, entity: "deal", additional_fields: { STAGE_ID: "WON" } });
    const seen = bitrix.requests[before]!;
    expect(seen.path).toBe("/rest/1/tok3n/crm.deal.update");
    expect(JSON.parse(seen.body).fields).toEqual({ STATUS_ID: "QUALIFIED", STAGE_ID: "WON" });
  });

  it("defaults the id to the triggering row's id", async () => {
    const before = bitrix.requests.length;
    await run({}, stepContext({ event: { op: "UPDATE", row: { id: 99 } } }));
    expect(JSON.parse(bitrix.requests[before]!.body).id).toBe(99);
    expect(await rejectionOf(run({}, stepContext({ event: {} })))).toMatchObject({ code: "CONFIG_INVALID" });
  });

  it("treats {error, error_description} with HTTP 200 as a non-retryable failure with that text", async () => {
    expect(await rejectionOf(run({ id: 404 }))).toMatchObject({
      code: "REMOTE_ERROR",
      retryable: false,
      message: "Bitrix24 error ERROR_CORE: Not found",
      details: { status: 200, error: "ERROR_CORE", error_description: "Not found" },
    });
  });

  it("treats {error, error_description} with HTTP 400 and 401 the same way", async () => {
    expect(await rejectionOf(run({ id: 400 }))).toMatchObject({
      code: "REMOTE_ERROR",
      retryable: false,
      message: "Bitrix24 error INVALID_ARG_VALUE: Field STATUS_ID has invalid value",
    });
    const wrongToken = tabularRunner.execute({ webhook_url: `${bitrix.url}/rest/1/wrong`, field: "X", value: 1, id: 1 }, stepContext());
    expect(await rejectionOf(wrongToken)).toMatchObject({ code: "REMOTE_ERROR", retryable: false, message: expect.stringContaining("INVALID_CREDENTIALS") });
  });

  it("retries Bitrix rate limiting: 503 and QUERY_LIMIT_EXCEEDED are RATE_LIMITED", async () => {
    expect(await rejectionOf(run({ id: 503 }))).toMatchObject({ code: "RATE_LIMITED", retryable: true, retryAfterMs: 1000 });
    expect(await rejectionOf(run({ id: 429 }))).toMatchObject({ code: "RATE_LIMITED", retryable: true, retryAfterMs: 3000 });
  });

  it("retries other 5xx as HTTP_SERVER_ERROR", async () => {
    expect(await rejectionOf(run({ id: 500 }))).toMatchObject({ code: "HTTP_SERVER_ERROR", retryable: true });
    expect(await rejectionOf(run({ id: 502 }))).toMatchObject({ code: "HTTP_SERVER_ERROR", retryable: true });
  });

  it("fails when Bitrix does not confirm the update", async () => {
    expect(await rejectionOf(run({ id: 1000 }))).toMatchObject({ code: "REMOTE_ERROR", retryable: false, message: "Bitrix24 did not confirm the update" });
  });

  it("goes through the SSRF guard like the http runner", async () => {
    const strict = stepContext({ http: { allowedHosts: [] } });
    expect(await rejectionOf(run({ id: 1 }, strict))).toMatchObject({ code: "DESTINATION_BLOCKED" });
  });
});
