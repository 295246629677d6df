import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpRunner, sha256Hex } from "../src/index.ts";
import { FakeClock } from "../src/testing/index.ts";
import { rejectionOf, stepContext } from "./helpers/context.ts";
import { sendJson, startServer, type TestServer } from "./helpers/server.ts";

let server: TestServer;
let other: TestServer;

beforeAll(async () => {
  server = await startServer(async (request, response) => {
    const path = request.path.split("?")[0];
    switch (path) {
      case "/json":
        return sendJson(response, 200, { ok: true, echo: request.path });
      case "/text":
        response.writeHead(200, { "content-type": "text/plain" });
        return void response.end("plain words");
      case "/status/500":
        return sendJson(response, 500, { error: "boom" });
      case "/status/503":
        return sendJson(response, 503, { error: "busy" }, { "retry-after": "7" });
      case "/status/429":
        return sendJson(response, 429, { error: "slow down" }, { "retry-after": "Wed, 01 Jan 2025 00:00:30 GMT" });
      case "/status/404":
        return sendJson(response, 404, { error: "no such thing" });
      case "/status/408":
        response.writeHead(408);
        return void response.end();
      case "/big-declared":
        response.writeHead(200, { "content-type": "text/plain", "content-length": String(2048) });
        return void response.end("x".repeat(2048));
      case "/big-streamed":
        response.writeHead(200, { "content-type": "text/plain" });
        for (let i = 0; i < 8; i++) response.write("y".repeat(512));
        return void response.end();
      case "/redirect":
        response.writeHead(302, { location: "/json" });
        return void response.end();
      case "/see-other":
        response.writeHead(303, { location: "/json" });
        return void response.end();
      case "/loop":
        response.writeHead(302, { location: "/loop" });
        return void response.end();
      case "/to-metadata":
        response.writeHead(302, { location: "http://169.254.169.254/latest/meta-data/" });
        return void response.end();
      case "/to-other":
        response.writeHead(307, { location: `${other.origin}/json` });
        return void response.end();
      case "/hang":
        return; // never answers
      default:
        return sendJson(response, 404, {});
    }
  });
  other = await startServer((_request, response) => sendJson(response, 200, { other: true }));
});

afterAll(async () => {
  await server.close();
  await other.close();
});

const run = (config: Record<string, unknown>, context = stepContext()) => {
  const checked = httpRunner.validateConfig(config);
  if (!checked.valid) throw new Error(JSON.stringify(checked.errors));
  return httpRunner.execute(checked.config, context);
};

describe("http runner", () => {
  it("GETs and parses JSON, appending query parameters", async () => {
    const result = await run({ url: `${server.url}/json`, query: { a: 1, b: "x y" } });
    expect(result).toMatchObject({ status: "completed", output: { status: 200, body: { ok: true, echo: "/json?a=1&b=x+y" } } });
    expect((result as { output: { headers: Record<string, string> } }).output.headers["content-type"]).toBe("application/json");
  });

  it("returns non-JSON bodies as text", async () => {
    const result = await run({ url: `${server.url}/text` });
    expect(result).toMatchObject({ output: { status: 200, body: "plain words" } });
  });

  it("sends JSON bodies with content-type, custom headers and an attempt-independent Idempotency-Key", async () => {
    const key = await sha256Hex("exec-9:notify");
    const before = server.requests.length;
    await run({ method: "POST", url: `${server.url}/json`, headers: { "X-Team": "sales" }, body: { text: "hi" } }, stepContext({ idempotencyKey: key, attempt: 1 }));
    await run({ method: "POST", url: `${server.url}/json`, body: { text: "hi" } }, stepContext({ idempotencyKey: key, attempt: 2 }));
    const [first, second] = server.requests.slice(before);
    expect(first!.body).toBe('{"text":"hi"}');
    expect(first!.headers["content-type"]).toBe("application/json");
    expect(first!.headers["x-team"]).toBe("sales");
    expect(first!.headers["idempotency-key"]).toMatch(/^[0-9a-f]{64}$/);
    expect(second!.headers["idempotency-key"]).toBe(first!.headers["idempotency-key"]);
  });

  it("sends string bodies as text/plain unless a content-type is given", async () => {
    const before = server.requests.length;
    await run({ method: "PUT", url: `${server.url}/json`, body: "raw" });
    await run({ method: "PUT", url: `${server.url}/json`, body: "<a/>", headers: { "Content-Type": "application/xml" } });
    const [plain, xml] = server.requests.slice(before);
    expect(plain!.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(xml!.headers["content-type"]).toBe("application/xml");
    expect(xml!.body).toBe("<a/>");
  });

  it("classifies 5xx as retryable HTTP_SERVER_ERROR and honours Retry-After seconds", async () => {
    expect(await rejectionOf(run({ url: `${server.url}/status/500` }))).toMatchObject({ code: "HTTP_SERVER_ERROR", retryable: true, details: { status: 500 } });
    expect(await rejectionOf(run({ url: `${server.url}/status/503` }))).toMatchObject({ code: "HTTP_SERVER_ERROR", retryable: true, retryAfterMs: 7000 });
  });

  it("classifies 429 as retryable RATE_LIMITED with Retry-After as an HTTP date, measured on the clock", async () => {
    const clock = new FakeClock({ start: new Date("2025-01-01T00:00:00Z") });
    expect(await rejectionOf(run({ url: `${server.url}/status/429` }, stepContext({ clock })))).toMatchObject({
      code: "RATE_LIMITED",
      retryable: true,
      retryAfterMs: 30_000,
    });
  });

  it("classifies other 4xx as non-retryable, keeping status and body", async () => {
    const error = await rejectionOf(run({ url: `${server.url}/status/404` }));
    expect(error).toMatchObject({ code: "HTTP_CLIENT_ERROR", retryable: false, details: { status: 404, body: '{"error":"no such thing"}' } });
    expect(await rejectionOf(run({ url: `${server.url}/status/408` }))).toMatchObject({ code: "TIMEOUT", retryable: true });
  });

  it("caps the response size, declared or streamed", async () => {
    expect(await rejectionOf(run({ url: `${server.url}/big-declared`, max_response_bytes: 1024 }))).toMatchObject({ code: "RESPONSE_TOO_LARGE", retryable: false });
    expect(await rejectionOf(run({ url: `${server.url}/big-streamed`, max_response_bytes: 1024 }))).toMatchObject({ code: "RESPONSE_TOO_LARGE" });
    expect(await run({ url: `${server.url}/big-streamed`, max_response_bytes: 4096 })).toMatchObject({ output: { body: "y".repeat(4096) } });
  });

  it("reads a body whole only when Content-Length frames it; otherwise the cap applies while reading", async () => {
    // Synthetic responses: their bodies are larger than the Content-Length they declare, as a body whose length
    // comes from a transfer coding or a decoded content coding is.
    const answering = (headers: Record<string, string>, body: string) =>
      stepContext({ http: { fetch: async () => new Response(body, { headers: { "content-type": "text/plain", ...headers } }) } });
    const big = "z".repeat(5000);
    const unframed: Record<string, string>[] = [{ "content-length": "10", "transfer-encoding": "chunked" }, { "content-length": "10", "content-encoding": "gzip" }];
    for (const headers of unframed) {
      expect(await rejectionOf(run({ url: `${server.url}/json`, max_response_bytes: 1024 }, answering(headers, big)))).toMatchObject({
        code: "RESPONSE_TOO_LARGE",
        retryable: false,
      });
    }
    expect(await run({ url: `${server.url}/json` }, answering({ "content-length": "5", "content-encoding": "identity" }, "hello"))).toMatchObject({
      output: { body: "hello" },
    });
    expect(await run({ url: `${server.url}/json`, max_response_bytes: 5 }, answering({ "content-length": "5" }, "hello"))).toMatchObject({
      output: { status: 200, body: "hello" },
    });
  });

  it("follows redirects, turning 303 after POST into GET", async () => {
    expect(await run({ url: `${server.url}/redirect` })).toMatchObject({ output: { body: { ok: true } } });
    const before = server.requests.length;
    await run({ method: "POST", url: `${server.url}/see-other`, body: { a: 1 } });
    const [post, get] = server.requests.slice(before);
    expect([post!.method, get!.method]).toEqual(["POST", "GET"]);
    expect(get!.body).toBe("");
  });

  it("stops after 5 redirects", async () => {
    const before = server.requests.length;
    expect(await rejectionOf(run({ url: `${server.url}/loop` }))).toMatchObject({ code: "TOO_MANY_REDIRECTS", retryable: false });
    expect(server.requests.length - before).toBe(6);
  });

  it("re-checks every redirect hop against the SSRF guard", async () => {
    expect(await rejectionOf(run({ url: `${server.url}/to-metadata` }))).toMatchObject({
      code: "DESTINATION_BLOCKED",
      message: expect.stringContaining("169.254.169.254"),
    });
  });

  it("drops credentials when a redirect changes origin", async () => {
    const before = other.requests.length;
    await run({ url: `${server.url}/to-other`, headers: { Authorization: "Bearer x", "X-Keep": "1" } });
    const seen = other.requests.slice(before)[0]!;
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers["x-keep"]).toBe("1");
  });

  it("refuses loopback unless allowed, without sending anything", async () => {
    const before = server.requests.length;
    const strict = stepContext({ http: { allowedHosts: [] } });
    expect(await rejectionOf(run({ url: `${server.url}/json` }, strict))).toMatchObject({ code: "DESTINATION_BLOCKED", retryable: false });
    expect(server.requests.length).toBe(before);
  });

  it("checks resolved addresses when a resolver is provided", async () => {
    const fetched: string[] = [];
    const context = (address: string) =>
      stepContext({
        http: {
          allowedHosts: [],
          resolveHost: async () => [address],
          fetch: async (url) => {
            fetched.push(url);
            return new Response("{}", { headers: { "content-type": "application/json" } });
          },
        },
      });
    expect(await rejectionOf(run({ url: "https://internal.example.com/x" }, context("10.1.2.3")))).toMatchObject({
      code: "DESTINATION_BLOCKED",
      message: expect.stringContaining("resolves to 10.1.2.3"),
    });
    expect(await run({ url: "https://api.example.com/x" }, context("93.184.215.14"))).toMatchObject({ status: "completed" });
    expect(fetched).toEqual(["https://api.example.com/x"]);
  });

  it("maps connection failures to retryable NETWORK_ERROR", async () => {
    const closed = await startServer(() => undefined);
    await closed.close();
    expect(await rejectionOf(run({ url: `${closed.url}/json` }))).toMatchObject({ code: "NETWORK_ERROR", retryable: true });
  });

  it("aborts an in-flight request with the signal's reason", async () => {
    const controller = new AbortController();
    const pending = run({ url: `${server.url}/hang` }, stepContext({ signal: controller.signal }));
    setTimeout(() => controller.abort({ code: "TIMEOUT", retryable: true, message: "Step timed out" }), 50);
    expect(await rejectionOf(pending)).toMatchObject({ code: "TIMEOUT", retryable: true });
  });

  it("rejects a body on GET and an invalid URL at validation", () => {
    expect(httpRunner.validateConfig({ url: "https://x.test", body: { a: 1 } })).toEqual({
      valid: false,
      errors: [{ path: "body", message: "A GET request cannot have a body" }],
    });
    expect(httpRunner.validateConfig({ url: "ftp://x.test" })).toEqual({ valid: false, errors: [{ path: "url", message: "Invalid URL" }] });
    expect(httpRunner.validateConfig({ url: "https://x.test", headers: { "X-Name": "a\r\nInjected: 1" } })).toEqual({
      valid: false,
      errors: [{ path: "headers.X-Name", message: "Header values cannot contain line breaks" }],
    });
    expect(httpRunner.validateConfig({ url: "https://x.test", headers: { "X-Name": "Łukasz" } })).toEqual({
      valid: false,
      errors: [{ path: "headers.X-Name", message: "Header values must be Latin-1 text; percent-encode or base64-encode other characters" }],
    });
    expect(httpRunner.validateConfig({ url: "https://x.test", headers: { "X-Name": "Zoë" } }).valid).toBe(true);
  });
});
