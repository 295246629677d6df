import type { HttpPort, StepContext } from "../../src/index.ts";
import { FakeClock, InMemoryFunctions, InMemoryStore } from "../../src/testing/index.ts";

/** A StepContext for calling a runner directly. */
export function stepContext(overrides: Partial<Omit<StepContext, "http">> & { http?: Partial<HttpPort> } = {}): StepContext {
  const { http, ...rest } = overrides;
  return {
    executionId: "exec-1",
    stepId: "step-1",
    attempt: 1,
    signal: new AbortController().signal,
    idempotencyKey: "key-1",
    event: {},
    causation: { executionId: "exec-1", stepId: "step-1" },
    clock: new FakeClock(),
    store: new InMemoryStore(),
    functions: new InMemoryFunctions(),
    ...rest,
    http: { fetch: (url, init) => fetch(url, init), allowedHosts: ["127.0.0.1"], ...http },
  };
}

/** Runs a promise that must reject and returns the error. */
export async function rejectionOf(promise: Promise<unknown>): Promise<{ code: string; retryable: boolean; message: string; retryAfterMs?: number; details?: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    return error as never;
  }
  throw new Error("expected the promise to reject");
}
