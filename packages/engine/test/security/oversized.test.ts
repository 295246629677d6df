/**
 * Oversized inputs get bounded, clear errors: a 10 MB HTTP response (RESPONSE_TOO_LARGE, whether its size is
 * declared or streamed), templates that expand without bound (TEMPLATE_OUTPUT_TOO_LARGE), a definition over
 * 512 KiB, and nesting deeper than any definition needs. Each case checks the code, that it is not retried, and
 * that nothing after the failing step ran.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  builtInRunners,
  createRegistry,
  type ExecutionRequest,
  type FlowDefinition,
  httpRunner,
  MAX_DEFINITION_BYTES,
  renderTemplates,
  runExecution,
  validateFlowDefinition,
} from "../../src/index.ts";
import { createTestPorts, type TestPorts } from "../../src/testing/index.ts";
import { rejectionOf, stepContext } from "../helpers/context.ts";
import { startServer, type TestServer } from "../helpers/server.ts";

const TEN_MB = 10 * 1024 * 1024;
let server: TestServer;
let streamedBytes = 0;

beforeAll(async () => {
  server = await startServer(async (request, response) => {
    const chunk = Buffer.alloc(64 * 1024, "z");
    if (request.path === "/declared") {
      response.writeHead(200, { "content-type": "text/plain", "content-length": String(TEN_MB) });
    } else {
      // No content-length: the client can only find out by reading.
      response.writeHead(200, { "content-type": "application/json" });
    }
    for (let sent = 0; sent < TEN_MB; sent += chunk.length) {
      if (response.destroyed) break;
      const ok = response.write(chunk);
      streamedBytes += chunk.length;
      if (!ok) await new Promise<void>((resolve) => { response.once("drain", resolve); response.once("close", resolve); });
    }
    response.end();
  });
});
afterAll(() => server.close());

function definition(value: unknown): FlowDefinition {
  const result = validateFlowDefinition(value);
  if (!result.success) throw new Error(JSON.stringify(result.errors));
  return result.data;
}

function run(def: FlowDefinition, ports: TestPorts, execution: ExecutionRequest) {
  return runExecution({ execution, definition: def, registry: createRegistry(builtInRunners()), ports });
}

describe("a 10 MB HTTP response", () => {
  it("is refused before reading when its length is declared", async () => {
    const error = await rejectionOf(httpRunner.execute({ url: `${server.url}/declared` }, stepContext()));
    expect(error.code).toBe("RESPONSE_TOO_LARGE");
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/larger than 1048576 bytes/);
  });

  it("is cut off after the cap when it is streamed, even with the highest cap a definition may set", async () => {
    streamedBytes = 0;
    const error = await rejectionOf(httpRunner.execute({ url: `${server.url}/streamed`, max_response_bytes: TEN_MB - 1 }, stepContext()));
    expect(error.code).toBe("RESPONSE_TOO_LARGE");
    expect(error.message).toMatch(new RegExp(`larger than ${TEN_MB - 1} bytes`));
  });

  it("fails the execution with RESPONSE_TOO_LARGE after one attempt; later steps do not run", async () => {
    const ports = createTestPorts();
    const outcome = await run(
      definition({
        trigger: { type: "manual" },
        steps: [
          { id: "fetch", type: "http", config: { url: `${server.url}/streamed` } },
          { id: "after", type: "log", config: { message: "{{steps.fetch.output.status}}" } },
        ],
      }),
      ports,
      { id: "big-response", input: {} },
    );
    expect(outcome.status).toBe("failed");
    if (outcome.status === "failed") expect(outcome.error.code).toBe("RESPONSE_TOO_LARGE");
    expect(ports.store.attemptsOf("big-response").map((a) => `${a.stepId}#${a.attempt}:${a.status}`)).toEqual(["fetch#1:failed"]);
  });
});

describe("templates that expand without bound", () => {
  const big = "b".repeat(200_000);

  it("a string repeated in one config: TEMPLATE_OUTPUT_TOO_LARGE naming where", () => {
    const config = { output: Array.from({ length: 10 }, () => "{{row.big}}") };
    let error: { code?: string; message?: string } = {};
    try {
      renderTemplates(config, { row: { big } }, { location: "steps[0].config" });
    } catch (thrown) {
      error = thrown as typeof error;
    }
    expect(error.code).toBe("TEMPLATE_OUTPUT_TOO_LARGE");
    expect(error.message).toMatch(/^steps\[0\]\.config\.output\[\d+\]: rendered configuration is larger than 1048576 bytes/);
  });

  it("a chain of steps doubling an earlier output stops at the first step over the bound", async () => {
    const ports = createTestPorts();
    const steps: unknown[] = [{ id: "s0", type: "transform", config: { output: "{{row.big}}" } }];
    for (let index = 1; index <= 12; index++) {
      steps.push({ id: `s${index}`, type: "transform", config: { output: [`{{steps.s${index - 1}.output}}`, `{{steps.s${index - 1}.output}}`] } });
    }
    const outcome = await run(
      definition({ trigger: { type: "row_change", table: "public.leads", events: ["INSERT"] }, steps }),
      ports,
      { id: "doubling", event: { op: "INSERT", table: "public.leads", row: { id: 1, big } } },
    );
    expect(outcome.status).toBe("failed");
    if (outcome.status === "failed") {
      expect(outcome.error.code).toBe("TEMPLATE_OUTPUT_TOO_LARGE");
      // 200 KB doubles to 400 KB, 800 KB, then 1.6 MB: s3 is the first over 1 MiB.
      expect(outcome.stepId).toBe("s3");
    }
    const attempts = ports.store.attemptsOf("doubling").map((a) => `${a.stepId}:${a.status}`);
    expect(attempts).toEqual(["s0:completed", "s1:completed", "s2:completed", "s3:failed"]);
  });

  it("thousands of references to a large earlier output: TEMPLATE_OUTPUT_TOO_LARGE, not an engine crash", { timeout: 60_000 }, async () => {
    // Each reference renders a whole object; 3,000 references to ~900 KB would be ~2.7 GB of JSON.
    const ports = createTestPorts();
    const outcome = await run(
      definition({
        trigger: { type: "row_change", table: "public.leads", events: ["INSERT"] },
        steps: [
          { id: "load", type: "transform", config: { output: { text: "{{row.big}}" } } },
          { id: "fan", type: "transform", config: { output: Array.from({ length: 3_000 }, () => "{{steps.load.output}}") } },
        ],
      }),
      ports,
      { id: "fan-out", event: { op: "INSERT", table: "public.leads", row: { id: 1, big: "c".repeat(900_000) } } },
    );
    expect(outcome.status).toBe("failed");
    if (outcome.status === "failed") {
      expect(outcome.error.code, outcome.error.message).toBe("TEMPLATE_OUTPUT_TOO_LARGE");
      expect(outcome.stepId).toBe("fan");
    }
  });
});

describe("oversized and over-deep definitions", () => {
  it("a definition over 512 KiB is rejected at (root) with its size", () => {
    const result = validateFlowDefinition({
      trigger: { type: "manual" },
      variables: { blob: "v".repeat(MAX_DEFINITION_BYTES) },
      steps: [{ id: "a", type: "log", config: { message: "m" } }],
    });
    expect(result.success).toBe(false);
    if (!result.success) {
      expect(result.errors).toEqual([{ path: "(root)", message: expect.stringMatching(/^Definition is \d+ bytes; the limit is 524288$/) }]);
    }
  });

  it("a definition nested 5,000 levels deep (25 KB) is rejected with a path, never a RangeError", () => {
    let deep: unknown = 1;
    for (let level = 0; level < 5_000; level++) deep = { a: deep };
    const value = { trigger: { type: "manual" }, variables: { deep }, steps: [{ id: "a", type: "log", config: { message: "m" } }] };
    // About 30 KB ({"a": …} per level), far under the size limit; not serialised here, since JSON.stringify itself
    // may overflow the stack of a test worker at this depth.
    expect(5_000 * '{"a":}'.length).toBeLessThan(MAX_DEFINITION_BYTES);
    let result: ReturnType<typeof validateFlowDefinition> | undefined;
    expect(() => {
      result = validateFlowDefinition(value);
    }).not.toThrow();
    expect(result?.success).toBe(false);
    if (result && !result.success) expect(result.errors[0]!.path).toMatch(/^variables/);
  });
});
