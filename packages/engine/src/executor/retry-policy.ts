/**
 * The retry policy: the only place that decides whether and when a failed step runs again.
 * Runners only say whether an error is retryable; everything about timing lives here.
 */
import type { RetryConfig } from "../definition/step-configs.ts";
import type { FlowError } from "../errors.ts";

/** Retry settings with every field resolved. */
export interface RetrySettings {
  maxAttempts: number;
  delayMs: number;
  backoff: "fixed" | "exponential";
  maxDelayMs: number;
  jitter: boolean;
}

/** Built-in settings: 3 attempts, 1 s then 2 s, capped at 60 s, no jitter. */
export const DEFAULT_RETRY: RetrySettings = {
  maxAttempts: 3,
  delayMs: 1000,
  backoff: "exponential",
  maxDelayMs: 60_000,
  jitter: false,
};

/** Default step timeout when neither the step, its config nor the flow defaults set one. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** Step fields the policy reads. */
export interface RetrySource {
  retry?: RetryConfig;
  timeout?: number;
  config?: unknown;
}

function configField<K extends "retry" | "timeout">(step: RetrySource, key: K): RetryConfig | number | undefined {
  const config = step.config;
  if (typeof config !== "object" || config === null) return undefined;
  return (config as Record<string, RetryConfig | number | undefined>)[key];
}

/**
 * Resolves retry settings field by field: step `retry` over the http config's `retry` (seed syntax)
 * over the flow's `defaults.retry` over {@link DEFAULT_RETRY}.
 */
export function resolveRetrySettings(step: RetrySource, defaults?: RetryConfig): RetrySettings {
  const fromConfig = configField(step, "retry");
  const layers = [defaults, typeof fromConfig === "object" ? fromConfig : undefined, step.retry];
  const merged = { ...DEFAULT_RETRY };
  for (const layer of layers) {
    if (layer === undefined) continue;
    if (layer.max_attempts !== undefined) merged.maxAttempts = layer.max_attempts;
    if (layer.delay !== undefined) merged.delayMs = layer.delay;
    if (layer.backoff !== undefined) merged.backoff = layer.backoff;
    if (layer.max_delay !== undefined) merged.maxDelayMs = layer.max_delay;
    if (layer.jitter !== undefined) merged.jitter = layer.jitter;
  }
  return merged;
}

/** Resolves the step timeout: step `timeout`, then config `timeout` (seed syntax), then flow default, then 30 s. */
export function resolveTimeoutMs(step: RetrySource, defaultTimeoutMs?: number, fallbackMs = DEFAULT_TIMEOUT_MS): number {
  const fromConfig = configField(step, "timeout");
  return step.timeout ?? (typeof fromConfig === "number" ? fromConfig : undefined) ?? defaultTimeoutMs ?? fallbackMs;
}

/**
 * Delay before attempt `failedAttempt + 1`. Exponential doubles from `delay` (delay, 2x, 4x...),
 * capped at `max_delay`. Jitter draws uniformly from [delay/2, delay] so that clients that failed
 * together do not retry together.
 */
export function computeBackoffMs(failedAttempt: number, settings: RetrySettings, random: () => number = Math.random): number {
  const base = settings.backoff === "fixed" ? settings.delayMs : settings.delayMs * 2 ** (failedAttempt - 1);
  const capped = Math.min(base, settings.maxDelayMs);
  if (!settings.jitter) return capped;
  return Math.round(capped / 2 + random() * (capped / 2));
}

/** What to do after a failed attempt. */
export type RetryDecision =
  | { retry: true; delayMs: number }
  | { retry: false; reason: "not_retryable" | "attempts_exhausted" };

/** Decides whether attempt `failedAttempt` is followed by another, and after how long (Retry-After is a floor). */
export function decideRetry(
  failedAttempt: number,
  error: Pick<FlowError, "retryable" | "retryAfterMs">,
  settings: RetrySettings,
  random: () => number = Math.random,
): RetryDecision {
  if (!error.retryable) return { retry: false, reason: "not_retryable" };
  if (failedAttempt >= settings.maxAttempts) return { retry: false, reason: "attempts_exhausted" };
  const backoff = computeBackoffMs(failedAttempt, settings, random);
  // The server knows when it can take the request again; never retry sooner than it asked.
  return { retry: true, delayMs: Math.max(backoff, error.retryAfterMs ?? 0) };
}
