/** A rate limiter for tests: the process-local buckets, plus a record of every call for assertions. */
import { LocalRateLimiter } from "../flow-control/rate-limit.ts";
import type { Clock, RateLimiterPort, TokenBucket } from "../ports.ts";

/** One `takeToken` call and its answer. */
export interface RateTake {
  destination: string;
  bucket: TokenBucket;
  waitMs: number;
  at: Date;
}

/** An in-memory {@link RateLimiterPort} on the given clock. */
export class InMemoryRateLimiter implements RateLimiterPort {
  /** Every call, oldest first. */
  readonly takes: RateTake[] = [];
  private readonly buckets: LocalRateLimiter;

  constructor(private readonly clock: Clock) {
    this.buckets = new LocalRateLimiter(clock);
  }

  /** Times at which tokens were handed out for `destination`. */
  grantedAt(destination: string): Date[] {
    return this.takes.filter((take) => take.destination === destination && take.waitMs === 0).map((take) => take.at);
  }

  async takeToken(destination: string, bucket: TokenBucket): Promise<{ waitMs: number }> {
    const answer = await this.buckets.takeToken(destination, bucket);
    this.takes.push({ destination, bucket, waitMs: answer.waitMs, at: this.clock.now() });
    return answer;
  }
}
