/**
 * The peer: graphile-worker, a job queue on Postgres for Node, running no-op jobs on the bench's Postgres in its
 * default settings and in the batched settings of its performance page. For each: jobs/s for a burst added the way
 * the end-to-end bursts add rows (statements of 1,000 over one connection, the worker already running), and
 * add → start latency at the end-to-end phase's steady rate. Our end-to-end rates of the same run are then recorded
 * as ratios to its jobs/s. The pool runs as a Node child process (packages/bench/src/peer/graphile-worker-pool.mjs).
 */
import { join } from "node:path";
import { repoRoot } from "../../../stack/src/config.ts";
import { type BenchContext, connect, cpuSnapshot, cpuUsage, waitFor } from "../fixtures.ts";
import { processMemory } from "../machine.ts";
import { latencySummary, round } from "../stats.ts";
import type { EndToEndSummary } from "./end-to-end.ts";

/** graphile-worker's own default schema; the phase drops it before each mode and at the end. */
const SCHEMA = "graphile_worker";
const POOL_SCRIPT = join(repoRoot, "packages/bench/src/peer/graphile-worker-pool.mjs");
const SECTION = "peer (graphile-worker)";

/** A configuration of the peer: graphile-worker `RunnerOptions`, passed to the pool as they are. */
export interface PeerMode {
  name: "default" | "batched";
  options: Record<string, unknown>;
  /** What the options amount to, for the report. */
  describes: string;
}

/** The two configurations measured. */
export const PEER_MODES: PeerMode[] = [
  {
    name: "default",
    options: {},
    describes: "nothing set: 1 job at a time, a pool of 10 connections, new jobs announced by LISTEN/NOTIFY (2 s poll " +
      "as fallback), prepared statements, no local queue, one statement per job fetched and per job completed",
  },
  {
    name: "batched",
    // The single-process configuration of worker.graphile.org/docs/performance ("Quick stats"), all of it available
    // in 0.17: jobs fetched 500 at a time into a local queue, completions sent together.
    options: {
      preset: { worker: { concurrentJobs: 24, maxPoolSize: 25, localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
    },
    describes: "concurrentJobs 24, maxPoolSize 25, localQueue.size 500, completeJobBatchDelay 0, failJobBatchDelay 0",
  },
];

/** Wall-clock milliseconds with sub-millisecond precision; the pool stamps job starts with the same clock. */
const epochMs = () => performance.timeOrigin + performance.now();

/** One job as the pool saw it: [n, addedAt, startedAt] (n and addedAt from its payload). */
type StartedJob = [number, number, number];

/** A running pool process. */
interface PeerPool {
  pid: number;
  version: string;
  node: string;
  /** Resolves as soon as `count` jobs have started since the previous report (told by the pool, not polled). */
  started(count: number, timeoutMs: number): Promise<void>;
  /** The jobs started since the previous report. */
  report(): Promise<StartedJob[]>;
  stop(): Promise<void>;
}

async function startPool(ctx: BenchContext, mode: PeerMode): Promise<PeerPool> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("node", {
      args: [POOL_SCRIPT, JSON.stringify({ connectionString: ctx.stack.dbUrl, options: mode.options })],
      cwd: join(repoRoot, "packages/bench/src/peer"),
      // One log line per completed job is graphile-worker's default; its own performance test turns it off too.
      env: { NO_LOG_SUCCESS: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    throw new Error(`peer: cannot start node (graphile-worker runs under Node; is node >= 20 in PATH?): ${error}`);
  }
  const messages: Record<string, unknown>[] = [];
  // Woken on every message and on exit, so that a measurement learns of "reached" within a tick, not a poll.
  const waiters = new Set<() => void>();
  const wake = () => waiters.forEach((w) => w());
  let exited: Deno.CommandStatus | null = null;
  const status = child.status.then((s) => {
    exited = s;
    wake();
    return s;
  });
  const pump = async (stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of stream) {
      pending += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = pending.indexOf("\n")) >= 0) {
        onLine(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
      }
    }
  };
  const output = Promise.all([
    pump(child.stdout, (line) => {
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(line);
      } catch {
        ctx.log(`peer-${mode.name} | ${line}`);
        return;
      }
      if ("progress" in message) ctx.progress(`peer: ${mode.name}: ${Number(message.progress).toLocaleString("en-US")} jobs started`);
      else messages.push(message);
      wake();
    }),
    pump(child.stderr, (line) => ctx.log(`peer-${mode.name} | ${line}`)),
  ]);
  const commands = child.stdin.getWriter();
  const encoder = new TextEncoder();

  /** The next message carrying `key`; an `error` message, the process exiting or `timeoutMs` passing fails it. */
  const next = async (key: string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = messages.findIndex((m) => key in m || "error" in m);
      if (index >= 0) {
        const [message] = messages.splice(index, 1);
        if ("error" in message!) throw new Error(`peer (${mode.name}): ${message.error}`);
        return message!;
      }
      if (exited) throw new Error(`peer (${mode.name}): the pool exited with code ${exited.code} (its output is in the bench log)`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for the graphile-worker pool (${mode.name}) to send ${key}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      let waiter: () => void = () => {};
      await new Promise<void>((resolve) => {
        waiter = resolve;
        waiters.add(waiter);
        timer = setTimeout(resolve, left);
      });
      waiters.delete(waiter);
      clearTimeout(timer);
    }
  };

  const kill = async () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await status;
  };
  let ready: Record<string, unknown>;
  try {
    ready = await next("ready", 60_000);
  } catch (error) {
    await kill();
    await output;
    throw error;
  }
  return {
    pid: child.pid,
    version: String(ready.version),
    node: String(ready.node),
    async started(count, timeoutMs) {
      await commands.write(encoder.encode(`notify ${count}\n`));
      await next("reached", timeoutMs);
    },
    async report() {
      await commands.write(encoder.encode("report\n"));
      return (await next("report", 30_000)).report as StartedJob[];
    },
    async stop() {
      try {
        await commands.write(encoder.encode("stop\n"));
        await commands.close();
      } catch { /* the process is gone already */ }
      let grace: ReturnType<typeof setTimeout> | undefined;
      const stopped = await Promise.race([status, new Promise((r) => (grace = setTimeout(() => r(null), 15_000)))]);
      clearTimeout(grace);
      if (stopped === null) {
        ctx.log(`peer-${mode.name} | did not stop within 15 s: killed`);
        await kill();
      }
      await output;
    },
  };
}

/**
 * Polls graphile-worker's job table every 2 ms until it is empty (completed jobs are deleted) and returns when that
 * was first seen: an upper bound of the last completion, late by at most one poll. Called once every job has started,
 * so the polls only cover the last completions and do not compete with the pool for the CPU.
 */
async function queueEmptyAt(watcher: ReturnType<typeof connect>, what: string, timeoutMs: number): Promise<number> {
  return await waitFor(what, async () => {
    const [row] = await watcher`select not exists (select from graphile_worker._private_jobs) as empty`;
    return row!.empty ? epochMs() : undefined;
  }, timeoutMs, 2);
}

/** Jobs started in each whole second after `since`: whether the rate holds, rises or falls as the backlog drains. */
function startsPerSecond(jobs: StartedJob[], since: number): number[] {
  const bins: number[] = [];
  for (const [, , startedAt] of jobs) {
    const second = Math.max(0, Math.floor((startedAt - since) / 1000));
    while (bins.length <= second) bins.push(0);
    bins[second]!++;
  }
  return bins;
}

/** Adds `options.peerJobs` jobs in statements of 1,000 and measures until the queue is empty. */
async function burst(ctx: BenchContext, pool: PeerPool, mode: PeerMode) {
  const { options, stack, sql } = ctx;
  const total = options.peerJobs;
  await sql.unsafe(`vacuum (analyze) ${SCHEMA}._private_jobs`);
  const writer = connect(stack.dbUrl, 1);
  const watcher = connect(stack.dbUrl, 1);
  try {
    await writer`select 1`;
    await watcher`select 1`;
    const cpuBefore = cpuSnapshot(stack, [pool.pid]);
    const started = epochMs();
    for (let done = 0; done < total; done += options.e2eStatementRows) {
      const n = Math.min(options.e2eStatementRows, total - done);
      // Built in the database, as the end-to-end bursts' rows are: one add_jobs call per statement.
      await writer`
        select count(*) from graphile_worker.add_jobs(array(
          select ('noop', json_build_object('n', ${done}::int + g, 'addedAt', ${epochMs()}::float8), null, null, null, null, null, null)::graphile_worker.job_spec
            from generate_series(0, ${n - 1}::int) g))`;
    }
    const added = epochMs();
    ctx.progress(`peer: ${mode.name}: ${total.toLocaleString("en-US")} jobs added in ${((added - started) / 1000).toFixed(2)} s; waiting for them to run`);
    await pool.started(total, Math.max(120_000, total * 20));
    const emptyAt = await queueEmptyAt(watcher, `the ${mode.name} burst's last completions`, 60_000);
    const cpu = cpuUsage(cpuBefore, cpuSnapshot(stack, [pool.pid]), total);
    const jobs = await pool.report();
    const seconds = (emptyAt - started) / 1000;
    return {
      jobs: total,
      jobsStarted: jobs.length,
      distinctJobsStarted: new Set(jobs.map(([n]) => n)).size,
      addSeconds: (added - started) / 1000,
      secondsUntilQueueEmpty: seconds,
      lastStartMs: jobs.length ? jobs.reduce((latest, [, , s]) => Math.max(latest, s), 0) - started : null,
      jobsPerSecond: total / seconds,
      addToStartMs: latencySummary(jobs.map(([, a, s]) => s - a)),
      startsPerSecond: startsPerSecond(jobs, started),
      cpu,
    };
  } finally {
    await writer.end();
    await watcher.end();
  }
}

/** One `add_job` call at a time at the steady rate of the end-to-end phase; add → start latency of each job. */
async function trickle(ctx: BenchContext, pool: PeerPool, mode: PeerMode) {
  const { options, stack, sql } = ctx;
  await sql.unsafe(`vacuum (analyze) ${SCHEMA}._private_jobs`);
  const writer = connect(stack.dbUrl, 1);
  const watcher = connect(stack.dbUrl, 1);
  const total = options.steadyRate * options.steadySeconds;
  const intervalMs = 1000 / options.steadyRate;
  const returned = new Map<number, number>();
  let behind = 0;
  try {
    await writer`select 1`;
    await watcher`select 1`;
    const started = performance.now();
    for (let n = 0; n < total; n++) {
      const wait = started + n * intervalMs - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      else if (wait < -intervalMs) behind++;
      await writer`select 1 from graphile_worker.add_job('noop', json_build_object('n', ${n}::int, 'addedAt', ${epochMs()}::float8))`;
      returned.set(n, epochMs());
      if ((n + 1) % (options.steadyRate * 10) === 0) {
        ctx.progress(`peer: ${mode.name}: steady ${options.steadyRate} jobs/s: ${(n + 1) / options.steadyRate} s of ${options.steadySeconds} s`);
      }
    }
    await pool.started(total, 60_000);
    await queueEmptyAt(watcher, `the ${mode.name} steady jobs' last completions`, 60_000);
  } finally {
    await writer.end();
    await watcher.end();
  }
  const jobs = await pool.report();
  return {
    jobs: total,
    ratePerSecond: options.steadyRate,
    seconds: options.steadySeconds,
    addsLate: behind,
    jobsStarted: jobs.length,
    distinctJobsStarted: new Set(jobs.map(([n]) => n)).size,
    // From just before the add_job call (graphile-worker's own latency test measures the same way).
    addToStartMs: latencySummary(jobs.map(([, addedAt, startedAt]) => startedAt - addedAt)),
    // From the add_job call's return, as the end-to-end phase's commit time is taken.
    addReturnedToStartMs: latencySummary(jobs.map(([n, , startedAt]) => startedAt - (returned.get(n) ?? NaN)).filter(Number.isFinite)),
  };
}

/** Waits until the pool has run a few jobs, so its statements are prepared before anything is timed. */
async function warmUp(ctx: BenchContext, pool: PeerPool) {
  const watcher = connect(ctx.stack.dbUrl, 1);
  try {
    await watcher`
      select count(*) from graphile_worker.add_jobs(array(
        select ('noop', json_build_object('n', -g, 'addedAt', 0), null, null, null, null, null, null)::graphile_worker.job_spec
          from generate_series(1, 100) g))`;
    await pool.started(100, 60_000);
    await queueEmptyAt(watcher, "the warm-up jobs", 60_000);
  } finally {
    await watcher.end();
  }
  await pool.report();
}

async function dropSchema(ctx: BenchContext) {
  await ctx.sql.unsafe(`drop schema if exists ${SCHEMA} cascade`);
}

/** Measures one mode on a fresh graphile-worker schema: warm-up, burst, steady trickle. */
async function measureMode(ctx: BenchContext, mode: PeerMode) {
  await dropSchema(ctx);
  ctx.progress(`peer: ${mode.name} settings (${mode.describes}): starting the pool`);
  const pool = await startPool(ctx, mode);
  try {
    await warmUp(ctx, pool);
    const fired = await burst(ctx, pool, mode);
    ctx.progress(`peer: ${mode.name}: ${Math.round(fired.jobsPerSecond)} jobs/s for ${fired.jobs.toLocaleString("en-US")} jobs`);
    ctx.progress(`peer: ${mode.name}: steady ${ctx.options.steadyRate} jobs/s for ${ctx.options.steadySeconds} s`);
    const steady = await trickle(ctx, pool, mode);
    ctx.progress(`peer: ${mode.name}: add → start p50 ${round(steady.addToStartMs.p50)} ms, p99 ${round(steady.addToStartMs.p99)} ms`);
    return {
      settings: mode.options,
      describes: mode.describes,
      graphileWorker: pool.version,
      node: pool.node,
      burst: fired,
      steady,
      poolMemory: processMemory(pool.pid),
    };
  } finally {
    await pool.stop();
  }
}

/**
 * Runs the peer phase: each mode on a fresh graphile-worker schema, then the ratios of our rates to its rates
 * (when the end-to-end phase ran in this run).
 */
export async function runPeer(ctx: BenchContext, ours: EndToEndSummary | null): Promise<void> {
  const results: Record<string, unknown> = {};
  const jobsPerSecond: Partial<Record<PeerMode["name"], number>> = {};
  const addToStartP50: Partial<Record<PeerMode["name"], number | null>> = {};
  try {
    for (const mode of PEER_MODES) {
      const measured = await measureMode(ctx, mode);
      results[mode.name] = measured;
      jobsPerSecond[mode.name] = measured.burst.jobsPerSecond;
      addToStartP50[mode.name] = measured.steady.addToStartMs.p50;

      const { burst: fired, steady } = measured;
      const label = `${mode.name} settings`;
      ctx.figures.add(SECTION, `${label}: jobs/s, first add → queue empty (${fired.jobs.toLocaleString("en-US")} jobs)`, fired.jobsPerSecond, "jobs/s");
      ctx.figures.add(SECTION, `${label}: add → start p50, steady ${steady.ratePerSecond} jobs/s`, steady.addToStartMs.p50, "ms");
      ctx.figures.add(SECTION, `${label}: add → start p95`, steady.addToStartMs.p95, "ms");
      ctx.figures.add(SECTION, `${label}: add → start p99`, steady.addToStartMs.p99, "ms");
      ctx.figures.add(SECTION, `${label}: add_job returned → start p50`, steady.addReturnedToStartMs.p50, "ms");
      ctx.figures.add(SECTION, `${label}: CPU of the Node process per job (${fired.cpu.engine.coresBusy.toFixed(2)} cores busy)`, fired.cpu.engine.msPerUnit, "ms");
      ctx.figures.add(SECTION, `${label}: CPU of Postgres per job (${fired.cpu.postgres.coresBusy.toFixed(2)} cores busy)`, fired.cpu.postgres.msPerUnit, "ms");
      const expected = fired.jobs + steady.jobs;
      ctx.figures.add(SECTION, `${label}: jobs run once (burst + steady)`, fired.distinctJobsStarted + steady.distinctJobsStarted, "jobs", {
        target: `= ${expected}`,
        met: (v) => v === expected && fired.jobsStarted + steady.jobsStarted === expected,
      });
    }
  } finally {
    await dropSchema(ctx);
  }
  ctx.details.peer = results;

  if (!ours) {
    ctx.progress("peer: the end-to-end phase did not run: no ratios");
    return;
  }
  const ratio = (a: number | null | undefined, b: number | null | undefined) => (a && b ? a / b : null);
  const ahead = { target: ">= 1", met: (v: number) => v >= 1 };
  const { default: atDefault, batched } = jobsPerSecond;
  ctx.figures.add(SECTION, "our 1-step executions/s ÷ its default jobs/s", ratio(ours.oneStep.executionsPerSecond, atDefault), "×", ahead);
  ctx.figures.add(SECTION, "our 1-step executions/s ÷ its batched jobs/s", ratio(ours.oneStep.executionsPerSecond, batched), "×");
  ctx.figures.add(SECTION, "our 3-step executions/s ÷ its default jobs/s", ratio(ours.threeStep.executionsPerSecond, atDefault), "×", ahead);
  ctx.figures.add(SECTION, "our 3-step executions/s ÷ its batched jobs/s", ratio(ours.threeStep.executionsPerSecond, batched), "×");
  ctx.figures.add(
    SECTION,
    "our 1-step executions/s from the first claim ÷ its default jobs/s",
    ratio(ours.oneStep.executionsPerSecondOnceDraining, atDefault),
    "×",
    undefined,
    "excludes the wait for the first kick",
  );
  ctx.figures.add(
    SECTION,
    "our steady commit → completion p50 ÷ its default add → start p50",
    ratio(ours.steadyLatencyMs.p50, addToStartP50.default),
    "×",
    undefined,
    "different spans: ours ends at a completed execution and includes the kick over HTTP",
  );
  ctx.progress(
    `peer: our 1-step ${Math.round(ours.oneStep.executionsPerSecond)} executions/s = ` +
      `${round(ratio(ours.oneStep.executionsPerSecond, atDefault))}× its default, ${round(ratio(ours.oneStep.executionsPerSecond, batched))}× its batched`,
  );
}
