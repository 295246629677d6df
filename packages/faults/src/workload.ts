/**
 * What happens during a fault run: the application's writes (bulk statements and single-row transactions, paced
 * over a window), the fault schedule (function kills at random times, one Postgres restart) and the tick.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type postgres from "postgres";

/** A deterministic PRNG (mulberry32): one seed, one run's sequence of choices. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** One write: rows `from..to` of the run's sequence, in one statement (bulk) or one single-row transaction. */
interface Write {
  kind: "bulk" | "single";
  from: number;
  to: number;
}

/** Splits `rows` into bulk statements of 20–200 rows (about 60 % of rows) and single-row transactions, shuffled. */
export function planWrites(rows: number, random: () => number): Write[] {
  const sizes: number[] = [];
  let bulkRows = Math.round(rows * 0.6);
  while (bulkRows > 0) {
    const size = Math.min(bulkRows, 20 + Math.floor(random() * 181));
    sizes.push(size);
    bulkRows -= size;
  }
  const singles = rows - sizes.reduce((a, b) => a + b, 0);
  for (let i = 0; i < singles; i++) sizes.push(1);
  for (let i = sizes.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [sizes[i], sizes[j]] = [sizes[j]!, sizes[i]!];
  }
  const writes: Write[] = [];
  let next = 1;
  for (const size of sizes) {
    writes.push({ kind: size === 1 ? "single" : "bulk", from: next, to: next + size - 1 });
    next += size;
  }
  return writes;
}

/** What the writer did. */
export interface WriteReport {
  statements: number;
  /** Statements that failed at least once (Postgres was restarting) and were retried. */
  failedStatements: number;
  /** Statements that still failed after every retry (their rows may be missing). */
  abandonedStatements: number;
  firstWriteAt: number;
  lastWriteAt: number;
}

/**
 * Writes the plan into `table`, spreading statements evenly over `durationMs`. Each row carries its sequence number
 * under a unique constraint, so a statement retried after a lost connection (as an application would) is harmless
 * even when its first try did commit.
 */
export async function runWrites(sql: postgres.Sql, table: string, writes: Write[], durationMs: number, isStopped: () => boolean): Promise<WriteReport> {
  const report: WriteReport = { statements: 0, failedStatements: 0, abandonedStatements: 0, firstWriteAt: Date.now(), lastWriteAt: 0 };
  const started = Date.now();
  for (let i = 0; i < writes.length && !isStopped(); i++) {
    await sleep(started + (i * durationMs) / writes.length - Date.now());
    const write = writes[i]!;
    let failed = false;
    // Up to 60 tries 500 ms apart: longer than a Postgres restart takes, bounded all the same.
    for (let attempt = 1; attempt <= 60; attempt++) {
      try {
        if (write.kind === "bulk") {
          await sql.unsafe(
            `insert into ${table} (seq, name) select g, 'lead ' || g from generate_series($1::int, $2::int) g on conflict (seq) do nothing`,
            [write.from, write.to],
          );
        } else {
          await sql.unsafe(`insert into ${table} (seq, name) values ($1, $2) on conflict (seq) do nothing`, [write.from, `lead ${write.from}`]);
        }
        break;
      } catch {
        failed = true;
        if (attempt === 60 || isStopped()) {
          report.abandonedStatements++;
          break;
        }
        await sleep(500);
      }
    }
    if (failed) report.failedStatements++;
    report.statements++;
  }
  report.lastWriteAt = Date.now();
  return report;
}

/** One fault as it happened. */
export interface FaultRecord {
  kind: "kill functions" | "restart postgres";
  /** Seconds after the writes started. */
  atS: number;
  /** When the fault was over (ms since the epoch): the kill itself, or Postgres accepting connections again. */
  endedAt: number;
  detail: string;
}

/** What the schedule needs from the stack. */
export interface FaultTarget {
  stateDir: string;
  apiUrl: string;
  killFunctions(): void;
  restartPostgres(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

/** The running functions process's pid, once it answers /health (waits up to 30 s; null if it never does). */
async function liveFunctionsPid(target: FaultTarget): Promise<number | null> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const pidFile = join(target.stateDir, "functions.pid");
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8")) : 0;
    const healthy = await fetch(`${target.apiUrl}/health`, { signal: AbortSignal.timeout(1_000) })
      .then(async (r) => (await r.body?.cancel(), r.ok))
      .catch(() => false);
    if (pid > 0 && healthy && isAlive(pid)) return pid;
    await sleep(100);
  }
  return null;
}

/**
 * Random times for `kills` function kills within `windowMs` (at least `gapMs` apart, so each kill hits a process
 * that came back up) and one Postgres restart in the middle third of `restartWindowMs`.
 */
export function planFaults(kills: number, windowMs: number, restartWindowMs: number, random: () => number, gapMs = 2_000) {
  const killTimes = Array.from({ length: kills }, () => 1_000 + random() * (windowMs - 1_000)).sort((a, b) => a - b);
  for (let i = 1; i < killTimes.length; i++) killTimes[i] = Math.max(killTimes[i]!, killTimes[i - 1]! + gapMs);
  const restartAt = restartWindowMs * (1 / 3 + random() / 3);
  return { killTimes, restartAt };
}

/** Runs the fault plan against the stack; every fault is recorded with when it ended. */
export async function runFaults(
  target: FaultTarget,
  plan: { killTimes: number[]; restartAt: number },
  startedAt: number,
  isStopped: () => boolean,
  progress: (message: string) => void,
): Promise<FaultRecord[]> {
  const records: FaultRecord[] = [];
  const seconds = () => (Date.now() - startedAt) / 1000;
  const kills = (async () => {
    for (const at of plan.killTimes) {
      await sleep(startedAt + at - Date.now());
      if (isStopped()) return;
      const pid = await liveFunctionsPid(target);
      if (pid === null) {
        records.push({ kind: "kill functions", atS: seconds(), endedAt: Date.now(), detail: "skipped: the functions process did not come back within 30 s" });
        continue;
      }
      target.killFunctions();
      const deadline = Date.now() + 5_000;
      while (isAlive(pid) && Date.now() < deadline) await sleep(20);
      const gone = !isAlive(pid);
      records.push({ kind: "kill functions", atS: seconds(), endedAt: Date.now(), detail: gone ? `SIGKILL pid ${pid}` : `pid ${pid} still alive after SIGKILL` });
      progress(`fault: killed the functions process (pid ${pid}) at ${seconds().toFixed(1)} s`);
    }
  })();
  const restart = (async () => {
    await sleep(startedAt + plan.restartAt - Date.now());
    if (isStopped()) return;
    const atS = seconds();
    const t0 = Date.now();
    try {
      await target.restartPostgres();
      records.push({ kind: "restart postgres", atS, endedAt: Date.now(), detail: `down and up again in ${Date.now() - t0} ms` });
      progress(`fault: restarted postgres at ${atS.toFixed(1)} s (${Date.now() - t0} ms)`);
    } catch (error) {
      records.push({ kind: "restart postgres", atS, endedAt: Date.now(), detail: `failed: ${(error as Error).message}` });
      progress(`fault: postgres restart FAILED: ${(error as Error).message}`);
    }
  })();
  await Promise.all([kills, restart]);
  return records.sort((a, b) => a.atS - b.atS);
}

/**
 * Calls `flows.tick()` every `intervalMs` until stopped: what pg_cron's flows_tick job does (every 5 s on hosted
 * Supabase's pg_cron ≥ 1.5; the local pg_cron 1.4 only ticks each minute). Failures (Postgres restarting) are counted.
 */
export function startTicker(sql: postgres.Sql, intervalMs: number) {
  let stopped = false;
  let ticks = 0;
  let failures = 0;
  const loop = (async () => {
    while (!stopped) {
      try {
        await sql`select flows.tick()`;
        ticks++;
      } catch {
        failures++;
      }
      for (let waited = 0; waited < intervalMs && !stopped; waited += 100) await sleep(100);
    }
  })();
  return {
    get ticks() {
      return ticks;
    },
    get failures() {
      return failures;
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
