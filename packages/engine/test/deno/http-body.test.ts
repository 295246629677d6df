// The http runner's response cap under Deno's own fetch, against a server that writes raw HTTP/1.1: a body whose
// Content-Length is not its length (a transfer coding frames it, or a content coding is decoded on the way) must
// still be cut off at the cap, while a body framed by its Content-Length is read whole.
// Run: npx deno test -A packages/engine/test/deno/
import { gzipSync } from "node:zlib";
import { httpRunner } from "../../src/index.ts";
import { FakeClock, InMemoryStore } from "../../src/testing/index.ts";

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

const encoder = new TextEncoder();
const chunked = (body: string) => `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
const gzipped = gzipSync("g".repeat(200_000));

/** Answers each path with fixed bytes, then closes the connection. */
function rawServer(): { url: string; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const answers: Record<string, Uint8Array[]> = {
    "/chunked-with-length": [encoder.encode(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 10\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n${chunked("c".repeat(50_000))}`)],
    "/gzip": [encoder.encode(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-encoding: gzip\r\ncontent-length: ${gzipped.length}\r\nconnection: close\r\n\r\n`), gzipped],
    "/framed": [encoder.encode(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\nconnection: close\r\n\r\n{"ok":true}`)],
  };
  (async () => {
    for await (const conn of listener) {
      (async () => {
        const buffer = new Uint8Array(4096);
        const read = await conn.read(buffer);
        const path = new TextDecoder().decode(buffer.subarray(0, read ?? 0)).split(" ")[1] ?? "/";
        try {
          for (const part of answers[path] ?? []) await conn.write(part);
        } catch { /* the client hung up after the cap */ }
        try {
          conn.close();
        } catch { /* already closed */ }
      })();
    }
  })().catch(() => {});
  return { url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`, close: () => listener.close() };
}

function run(url: string, maxResponseBytes: number) {
  return httpRunner.execute({ url, max_response_bytes: maxResponseBytes }, {
    executionId: "exec-1",
    stepId: "step-1",
    attempt: 1,
    signal: new AbortController().signal,
    idempotencyKey: "key-1",
    event: {},
    causation: { executionId: "exec-1", stepId: "step-1" },
    clock: new FakeClock(),
    store: new InMemoryStore(),
    http: { fetch: (input, init) => fetch(input, init), allowPrivateNetworks: true },
  });
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
  return "no error";
}

Deno.test("a body longer than its Content-Length is cut off at the cap", async () => {
  const server = rawServer();
  try {
    const chunkedCode = await codeOf(run(`${server.url}/chunked-with-length`, 1024));
    check(chunkedCode === "RESPONSE_TOO_LARGE", `chunked body with a Content-Length: ${chunkedCode}`);
    const gzipCode = await codeOf(run(`${server.url}/gzip`, 1024));
    check(gzipCode === "RESPONSE_TOO_LARGE", `gzip body whose Content-Length counts compressed bytes: ${gzipCode}`);
    const framed = await run(`${server.url}/framed`, 11);
    const output = (framed as { output: { status: number; body: unknown } }).output;
    check(output.status === 200 && JSON.stringify(output.body) === '{"ok":true}', `framed body: ${JSON.stringify(framed)}`);
  } finally {
    server.close();
  }
});
