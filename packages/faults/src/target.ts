/**
 * The unreliable HTTP receiver the fault suite's flow calls: it fails a share of requests with 503, answers another
 * share only after the step's timeout, and records every request by its Idempotency-Key, so the suite can tell a
 * step's repeated delivery (allowed: at-least-once) from a completed step that ran again (not allowed).
 */

/** What the target saw for one Idempotency-Key. */
export interface KeyRecord {
  /** Arrival times (ms since the epoch) of every request carrying the key. */
  arrivals: number[];
  /** How many of those requests were answered 2xx at once. */
  okCount: number;
  /** How many were answered 2xx only after the delay (the caller had given up by then). */
  lateOkCount: number;
  /** How many were answered 503. */
  failedCount: number;
}

/** Settings of {@link startTarget}. */
export interface TargetOptions {
  /** Share of requests answered 503. */
  failRate: number;
  /** Share of requests answered only after `delayMs` (beyond the step's timeout). */
  slowRate: number;
  delayMs: number;
  /** Deterministic draws in [0, 1), so one seed gives one sequence of answers. */
  random: () => number;
}

/** A running target. */
export interface Target {
  url: string;
  keys: Map<string, KeyRecord>;
  /** Requests without an Idempotency-Key (the flow's http step always sends one: any here is a defect). */
  readonly unkeyedCount: number;
  readonly requestCount: number;
  stop(): Promise<void>;
}

/** Starts the target on a free loopback port. */
export function startTarget(options: TargetOptions): Target {
  const keys = new Map<string, KeyRecord>();
  let unkeyedCount = 0;
  let requestCount = 0;
  const abort = new AbortController();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, signal: abort.signal, onListen: () => {} }, async (request) => {
    const arrivedAt = Date.now();
    requestCount++;
    if (request.body) await request.body.cancel();
    const key = request.headers.get("idempotency-key");
    let record: KeyRecord | undefined;
    if (key) {
      record = keys.get(key);
      if (!record) keys.set(key, record = { arrivals: [], okCount: 0, lateOkCount: 0, failedCount: 0 });
      record.arrivals.push(arrivedAt);
    } else unkeyedCount++;
    const draw = options.random();
    if (draw < options.failRate) {
      if (record) record.failedCount++;
      return Response.json({ error: "unavailable (simulated)" }, { status: 503 });
    }
    if (draw < options.failRate + options.slowRate) {
      // Bounded by the server's own shutdown: stop() aborts the wait.
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, options.delayMs);
        abort.signal.addEventListener("abort", () => (clearTimeout(timer), resolve(undefined)), { once: true });
      });
      if (record) record.lateOkCount++;
      return Response.json({ ok: true, late: true });
    }
    if (record) record.okCount++;
    return Response.json({ ok: true });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    keys,
    get unkeyedCount() {
      return unkeyedCount;
    },
    get requestCount() {
      return requestCount;
    },
    async stop() {
      abort.abort();
      await server.finished;
    },
  };
}
