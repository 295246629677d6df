/**
 * The pg_net stand-in's delivery worker. pg_net's background worker reads `net.http_request_queue` after the writing
 * transaction commits, sends each request, and records the outcome in `net._http_response`; this does the same from
 * the local stack's process. It is woken by a short poll on the queue's index, not by `pg_notify`: a notify inside
 * the writer's transaction serialises commits (2.3× slower single-row inserts on PostgreSQL 15).
 */
import postgres from "postgres";
import { logLine } from "./log.ts";

/** Settings of the delivery worker. */
export interface NetWorkerOptions {
  /** Pause between polls when the queue is empty. */
  pollMs?: number;
  /** Requests claimed per poll. */
  batchSize?: number;
  /** Requests in flight at once. */
  maxInFlight?: number;
  /** Share of requests dropped without delivery (0..1): the fault suite's lossy network. Recorded as an error. */
  dropRate?: number;
}

interface QueuedRequest {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string> | null;
  body: string | null;
  timeout_milliseconds: number;
}

/** Starts delivering queued requests; `stop()` waits for requests in flight. */
export function startNetWorker(databaseUrl: string, options: NetWorkerOptions = {}): { stop(): Promise<void> } {
  const pollMs = options.pollMs ?? 10;
  const batchSize = options.batchSize ?? 100;
  const maxInFlight = options.maxInFlight ?? 64;
  const dropRate = options.dropRate ?? 0;
  // Drops are spread evenly, the first request included (1st, 1 + 1/rate-th, …), not drawn at random: a run with few
  // requests still loses its share, so a fault run cannot pass without the fault by chance.
  let dropCredit = 1 - dropRate;
  const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
  const inFlight = new Set<Promise<void>>();
  let running = true;

  async function deliver(request: QueuedRequest): Promise<void> {
    let outcome: { status: number | null; type: string | null; headers: unknown; content: string | null; timedOut: boolean; error: string | null };
    if (dropRate > 0 && (dropCredit += dropRate) >= 1) {
      dropCredit -= 1;
      outcome = { status: null, type: null, headers: null, content: null, timedOut: false, error: "dropped by the local stack (simulated network loss)" };
    } else {
      try {
        const response = await fetch(request.url, {
          method: request.method.toUpperCase(),
          headers: request.headers ?? {},
          body: request.method.toUpperCase() === "GET" ? undefined : request.body ?? undefined,
          signal: AbortSignal.timeout(request.timeout_milliseconds),
        });
        const content = await response.text();
        outcome = {
          status: response.status,
          type: response.headers.get("content-type"),
          headers: Object.fromEntries(response.headers),
          content,
          timedOut: false,
          error: null,
        };
      } catch (error) {
        const timedOut = error instanceof DOMException && error.name === "TimeoutError";
        outcome = {
          status: null,
          type: null,
          headers: null,
          content: null,
          timedOut,
          error: timedOut ? `Timeout of ${request.timeout_milliseconds} ms reached` : String((error as Error).message ?? error),
        };
      }
    }
    try {
      await sql`
        insert into net._http_response (id, status_code, content_type, headers, content, timed_out, error_msg)
        values (${request.id}, ${outcome.status}, ${outcome.type}, ${outcome.headers === null ? null : sql.json(outcome.headers as postgres.JSONValue)},
                ${outcome.content}, ${outcome.timedOut}, ${outcome.error})`;
    } catch (error) {
      if (running) logLine("net", `could not record the response to request ${request.id}: ${(error as Error).message}`);
    }
  }

  async function loop(): Promise<void> {
    while (running) {
      let claimed: QueuedRequest[] = [];
      try {
        if (inFlight.size < maxInFlight) {
          // Deleting on claim is what pg_net does: a request is attempted at most once.
          claimed = await sql<QueuedRequest[]>`
            delete from net.http_request_queue
            where id in (
              select id from net.http_request_queue order by id
              limit ${Math.min(batchSize, maxInFlight - inFlight.size)} for update skip locked
            )
            returning id, method, url, headers, convert_from(body, 'UTF8') as body, timeout_milliseconds`;
        }
      } catch (error) {
        if (!running) break;
        logLine("net", `queue poll failed (retrying): ${(error as Error).message}`);
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      for (const request of claimed) {
        const delivery = deliver(request).finally(() => inFlight.delete(delivery));
        inFlight.add(delivery);
      }
      if (claimed.length === 0) await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  const done = loop();
  return {
    async stop() {
      running = false;
      await done;
      await Promise.allSettled([...inFlight]);
      await sql.end({ timeout: 2 });
    },
  };
}
