import { describe, expect, it } from "vitest";
import { computeBackoffMs, decideRetry, DEFAULT_RETRY, FlowError, resolveRetrySettings, resolveTimeoutMs } from "../src/index.ts";

const retryable = new FlowError("HTTP_SERVER_ERROR", "500");

describe("resolveRetrySettings", () => {
  it("uses built-in defaults when nothing is set", () => {
    expect(resolveRetrySettings({})).toEqual(DEFAULT_RETRY);
  });

  it("merges field by field: step over http config (seed syntax) over flow defaults", () => {
    const settings = resolveRetrySettings(
      { retry: { max_attempts: 5 }, config: { retry: { delay: 250, jitter: true } } },
      { delay: 100, backoff: "fixed", max_delay: 900 },
    );
    expect(settings).toEqual({ maxAttempts: 5, delayMs: 250, backoff: "fixed", maxDelayMs: 900, jitter: true });
  });
});

describe("resolveTimeoutMs", () => {
  it("prefers the step, then its config, then the flow default, then the fallback", () => {
    expect(resolveTimeoutMs({ timeout: 1, config: { timeout: 2 } }, 3)).toBe(1);
    expect(resolveTimeoutMs({ config: { timeout: 2 } }, 3)).toBe(2);
    expect(resolveTimeoutMs({ config: {} }, 3)).toBe(3);
    expect(resolveTimeoutMs({}, undefined, 4)).toBe(4);
    expect(resolveTimeoutMs({})).toBe(30_000);
  });
});

describe("computeBackoffMs", () => {
  const base = { ...DEFAULT_RETRY, delayMs: 1000, maxDelayMs: 5000 };

  it("fixed repeats the delay", () => {
    expect([1, 2, 3].map((n) => computeBackoffMs(n, { ...base, backoff: "fixed" }))).toEqual([1000, 1000, 1000]);
  });

  it("exponential doubles and stops at max_delay", () => {
    expect([1, 2, 3, 4, 5].map((n) => computeBackoffMs(n, { ...base, backoff: "exponential" }))).toEqual([1000, 2000, 4000, 5000, 5000]);
  });

  it("jitter draws within [delay/2, delay] from the injected random source", () => {
    const settings = { ...base, backoff: "exponential" as const, jitter: true };
    expect(computeBackoffMs(2, settings, () => 0)).toBe(1000);
    expect(computeBackoffMs(2, settings, () => 1)).toBe(2000);
    expect(computeBackoffMs(2, settings, () => 0.25)).toBe(1250);
  });
});

describe("decideRetry", () => {
  const settings = { ...DEFAULT_RETRY, maxAttempts: 3, delayMs: 100 };

  it("retries retryable errors until max_attempts", () => {
    expect(decideRetry(1, retryable, settings)).toEqual({ retry: true, delayMs: 100 });
    expect(decideRetry(2, retryable, settings)).toEqual({ retry: true, delayMs: 200 });
    expect(decideRetry(3, retryable, settings)).toEqual({ retry: false, reason: "attempts_exhausted" });
  });

  it("never retries non-retryable errors", () => {
    expect(decideRetry(1, new FlowError("HTTP_CLIENT_ERROR", "404"), settings)).toEqual({ retry: false, reason: "not_retryable" });
  });

  it("treats Retry-After as a floor", () => {
    expect(decideRetry(1, new FlowError("RATE_LIMITED", "429", { retryAfterMs: 7000 }), settings)).toEqual({ retry: true, delayMs: 7000 });
    expect(decideRetry(2, new FlowError("RATE_LIMITED", "429", { retryAfterMs: 10 }), settings)).toEqual({ retry: true, delayMs: 200 });
  });
});
