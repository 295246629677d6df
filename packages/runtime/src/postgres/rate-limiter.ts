/**
 * The engine's RateLimiterPort over postgres.js: one statement per token, `flows.take_rate_token`, which refills and
 * takes under the bucket row's lock. Pooler-safe: no prepared statements, no session state.
 */
import type postgres from "postgres";
import type { RateLimiterPort } from "../../../engine/src/index.ts";
import { retryIfRefused } from "./connection-loss.ts";

/** Per-destination token buckets kept in `flows.rate_buckets`, shared by every invocation. */
export function createPostgresRateLimiter(sql: postgres.Sql): RateLimiterPort {
  return {
    async takeToken(destination, bucket) {
      const [row] = await retryIfRefused(() => sql`
        select flows.take_rate_token(${destination}, ${bucket.ratePerSecond}::double precision,
                                     ${bucket.capacity}::double precision) as wait_ms`);
      return { waitMs: Number(row?.wait_ms ?? 0) };
    },
  };
}
