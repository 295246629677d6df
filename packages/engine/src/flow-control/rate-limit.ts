/**
 * Per-destination rate limits: token buckets, the safety headroom the engine keeps below a destination's published
 * limit, and a process-local limiter for when no shared one (Postgres) is wired in.
 *
 * A bucket holds up to `capacity` tokens and refills at `ratePerSecond`. Every request takes one token; when none
 * is left the limiter says how long until one is, and takes nothing. The executor waits short waits in place and
 * suspends the execution for long ones (executor/run-execution.ts).
 */
import { FlowError } from "../errors.ts";
import type { Clock, RateLimiterPort, TokenBucket } from "../ports.ts";

/** A destination's published limit, as step configs and runners state it. */
export interface RateLimit {
  /** Requests per second the destination accepts on average. */
  perSecond: number;
  /** Requests the destination accepts at once after a quiet period. */
  burst: number;
}

/** What a runner asks of the limiter before an attempt: which bucket, and the destination's limit. */
export interface RateLimitRequest {
  /** Names the bucket, e.g. `https://example.bitrix24.com/rest/1`. Never contains credentials. */
  destination: string;
  limit: RateLimit;
}

/** Bitrix24's published limit for inbound webhooks: 2 requests per second, 50 at once, per portal. */
export const BITRIX24_RATE_LIMIT: RateLimit = { perSecond: 2, burst: 50 };

/** How much refill time the engine keeps in hand below a destination's burst. */
export const RATE_HEADROOM_MS = 1_000;

/**
 * The bucket the engine keeps for a destination's limit: the same rate, but `RATE_HEADROOM_MS` of refill fewer
 * tokens (never fewer than one). A token taken here reaches the destination later, after the attempt's start is
 * written and, on a new connection, a TLS handshake; a cold burst arrives hundreds of milliseconds after its tokens
 * while the paced requests after it go at once, so the destination sees them closer together than they were taken.
 * With the destination's bucket that much fuller than ours, requests up to a second out of step still fit it.
 */
export function bucketFor(limit: RateLimit): TokenBucket {
  const headroom = Math.min((limit.perSecond * RATE_HEADROOM_MS) / 1000, limit.burst - 1);
  return { ratePerSecond: limit.perSecond, capacity: limit.burst - Math.max(0, headroom) };
}

/** A bucket's state: tokens left when it was last refilled. */
export interface BucketState {
  tokens: number;
  refilledAtMs: number;
}

/**
 * Refills a bucket up to now and takes one token if there is one. Returns the new state and the milliseconds to wait
 * (0 = taken). `flows.take_rate_token` in SQL does exactly this; keep the two in step.
 */
export function takeFromBucket(state: BucketState | undefined, nowMs: number, bucket: TokenBucket): { state: BucketState; waitMs: number } {
  const elapsedSeconds = state === undefined ? 0 : Math.max(0, nowMs - state.refilledAtMs) / 1000;
  const available = state === undefined ? bucket.capacity : Math.min(bucket.capacity, state.tokens + elapsedSeconds * bucket.ratePerSecond);
  const refilledAtMs = state === undefined ? nowMs : Math.max(state.refilledAtMs, nowMs);
  if (available >= 1) return { state: { tokens: available - 1, refilledAtMs }, waitMs: 0 };
  // The epsilon keeps float noise (1.0000000000000009 ms) from rounding a wait up by a whole millisecond.
  const waitMs = Math.max(1, Math.ceil(((1 - available) / bucket.ratePerSecond) * 1000 - 1e-6));
  return { state: { tokens: available, refilledAtMs }, waitMs };
}

/** A limiter whose buckets live in this process: exact for one process, not shared between invocations. */
export class LocalRateLimiter implements RateLimiterPort {
  private readonly buckets = new Map<string, BucketState>();

  constructor(private readonly clock: Pick<Clock, "now">) {}

  takeToken(destination: string, bucket: TokenBucket): Promise<{ waitMs: number }> {
    const taken = takeFromBucket(this.buckets.get(destination), this.clock.now().getTime(), bucket);
    this.buckets.set(destination, taken.state);
    return Promise.resolve({ waitMs: taken.waitMs });
  }
}

// One local limiter per clock: the system clock is one object, so every execution in the process shares its buckets;
// each test's fake clock gets buckets of its own.
const localLimiters = new WeakMap<object, LocalRateLimiter>();

/** The process-local limiter used when the ports carry no `rateLimiter`. */
export function localRateLimiterFor(clock: Clock): LocalRateLimiter {
  let limiter = localLimiters.get(clock);
  if (limiter === undefined) {
    limiter = new LocalRateLimiter(clock);
    localLimiters.set(clock, limiter);
  }
  return limiter;
}

/**
 * The bucket key of a Bitrix24 webhook: origin plus `/rest/<user>`, so every webhook of one portal user shares it and
 * the webhook's secret token never becomes part of a key (keys are stored in plain text).
 */
export function bitrixPortalKey(webhookUrl: string): string {
  const url = parseUrl(webhookUrl);
  const user = /^\/rest\/([^/]+)/.exec(url.pathname);
  return user === null ? url.origin : `${url.origin}/rest/${user[1]}`;
}

/** The bucket key of a URL: its origin (scheme, host and port). */
export function originKey(url: string): string {
  return parseUrl(url).origin;
}

function parseUrl(text: string): URL {
  try {
    return new URL(text);
  } catch {
    throw new FlowError("CONFIG_INVALID", "Invalid URL after rendering templates");
  }
}

/** Converts a config's `rate_limit` (`{per_second, burst}`) into a {@link RateLimit}. */
export function rateLimitFromConfig(config: { per_second: number; burst: number }): RateLimit {
  return { perSecond: config.per_second, burst: config.burst };
}
