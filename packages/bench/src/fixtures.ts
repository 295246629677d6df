/**
 * What the phases share: the database connection, bench tables and flows, switching the engine's wake-up URL off
 * and on, a no-op HTTP receiver, and extra flow-engine instances for scale-out.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { gatewayArgs, repoRoot } from "../../stack/src/config.ts";
import type { RunningStack } from "../../stack/src/stack.ts";
import type { BenchOptions } from "./options.ts";
import { postgresCpuSeconds, processCpuSeconds } from "./machine.ts";
import type { FigureBook } from "./report.ts";

/** Everything a phase needs. */
export interface BenchContext {
  stack: RunningStack;
  sql: postgres.Sql;
  options: BenchOptions;
  figures: FigureBook;
  /** Extra sections of the JSON report (raw numbers behind the figures). */
  details: Record<string, unknown>;
  /** A progress line on the terminal. */
  progress(message: string): void;
  /** Appends a line to the bench log file (the stack's own output goes there too). */
  log(message: string): void;
}

/** A loopback port nothing listens on: kicks sent there fail at once, so no invocation drains. */
export const UNREACHABLE_ENGINE_URL = "http://127.0.0.1:9/functions/v1/flow-engine";

/** Columns every bench table has. `batch_no` ties a row to the client-side commit time of its statement. */
export async function createBenchTable(sql: postgres.Sql, name: string): Promise<string> {
  await sql.unsafe(`
    create table public.${name} (
      id bigint generated always as identity primary key,
      kind text not null,
      amount integer not null,
      payload text not null,
      batch_no integer not null default 0,
      created_at timestamptz not null default clock_timestamp()
    )`);
  return `public.${name}`;
}

/** Creates and publishes a flow as the postgres role (an admin at the SQL prompt). */
export async function publishFlow(sql: postgres.Sql, key: string, definition: unknown): Promise<{ flowId: string; versionId: string }> {
  const [{ flow_id: flowId }] = await sql`select (flows.create_flow(${key}, ${"Bench " + key})).flow_id`;
  const [{ version_id: versionId }] = await sql`
    select (flows.create_draft(${flowId}, ${sql.json(definition as postgres.JSONValue)})).version_id`;
  await sql`select flows.publish_version(${versionId})`;
  return { flowId, versionId };
}

/** Points the database's kicks at `url` (Vault secret `flows_engine_url`). */
export async function setEngineUrl(sql: postgres.Sql, url: string): Promise<void> {
  const [secret] = await sql`select id from vault.decrypted_secrets where name = 'flows_engine_url'`;
  if (!secret) throw new Error("Vault secret flows_engine_url is missing: the stack did not set it");
  await sql`select vault.update_secret(${secret.id}::uuid, ${url})`;
  // Kicks sent to the old URL were lost on purpose; forget the last one so the next statement kicks at once
  // instead of waiting out the coalescing interval for a drain that never started.
  await sql`select setval('flows.engine_quiet_until', 0)`;
}

/** The engine URL the stack set, for restoring it. */
export function engineUrl(stack: RunningStack): string {
  return `${stack.apiUrl}/functions/v1/flow-engine`;
}

/** Polls `check` every `intervalMs` until it returns a value, or fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Waits until no event is unprocessed, no execution is pending or running, and no pg_net request is queued. */
export async function waitForIdle(sql: postgres.Sql, timeoutMs = 120_000): Promise<void> {
  await waitFor("the engine to go idle", async () => {
    const [row] = await sql`
      select (select count(*) from flows.events where processed_at is null)::int as events,
             (select count(*) from flows.executions where status in ('pending', 'running'))::int as executions,
             (select count(*) from net.http_request_queue)::int as queued`;
    return row!.events === 0 && row!.executions === 0 && row!.queued === 0;
  }, timeoutMs, 100);
}

/**
 * Polls like {@link waitFor}, but asks `done` (an exact count, which joins every execution of the burst to its event)
 * only when a probe of the engine's partial indexes finds nothing left to do, or every few seconds for progress.
 * Polled every 100 ms during a burst, the exact count cost Postgres up to 74 ms per poll at 10,000 executions, on
 * the cores the engine was measured on, and was charged to the engine's Postgres CPU.
 */
export async function waitForDrained<T>(
  sql: postgres.Sql,
  what: string,
  done: () => Promise<T | undefined | false>,
  timeoutMs: number,
  exactEveryMs = 5_000,
): Promise<T> {
  let lastExact = Date.now();
  return await waitFor(what, async () => {
    const [probe] = await sql`
      select exists (select 1 from flows.events where processed_at is null)
          or exists (select 1 from flows.executions where status = 'pending')
          or exists (select 1 from flows.executions where status = 'running')
          or exists (select 1 from flows.executions where status = 'waiting') as work_left`;
    if (probe!.work_left && Date.now() - lastExact < exactEveryMs) return undefined;
    lastExact = Date.now();
    return await done();
  }, timeoutMs, 100);
}

/**
 * Waits until no invocation is draining: `engine_state.draining_until` in the past for 1.5 s straight. A drain
 * lingers for a second after its work runs out (and renews the mark every second while it lives), so a backlog
 * inserted right after a measured drain would be partly drained by the previous one before the next is started.
 */
export async function waitForDrainsToStop(sql: postgres.Sql, timeoutMs = 60_000): Promise<void> {
  let quietSince: number | null = null;
  await waitFor("the draining invocations to stop", async () => {
    const [row] = await sql`select draining_until < clock_timestamp() as quiet from flows.engine_state`;
    if (!row?.quiet) quietSince = null;
    else quietSince ??= Date.now();
    return quietSince !== null && Date.now() - quietSince >= 1_500;
  }, timeoutMs, 100);
}

/**
 * Vacuums the outbox and execution tables (untimed), so a measurement starts from the state autovacuum keeps a
 * quiet database in, not from the dead rows of the one before it (claims scan dead index entries until vacuumed).
 */
export async function settle(sql: postgres.Sql): Promise<void> {
  await sql.unsafe(`vacuum (analyze) flows.events, flows.executions, flows.execution_steps, net.http_request_queue, net._http_response`);
}

/** A local HTTP receiver answering `{"ok":true}` at once; counts requests and repeated Idempotency-Keys. */
export function startReceiver() {
  let requests = 0;
  const keys = new Map<string, number>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    requests++;
    const key = request.headers.get("idempotency-key");
    if (key) keys.set(key, (keys.get(key) ?? 0) + 1);
    if (request.body) await request.body.cancel();
    return Response.json({ ok: true });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    get requests() {
      return requests;
    },
    /** Idempotency-Keys seen more than once (a step's request delivered twice). */
    repeatedKeys: () => [...keys.values()].filter((n) => n > 1).length,
    reset() {
      requests = 0;
      keys.clear();
    },
    stop: () => server.shutdown(),
  };
}

/** Pid of the stack's flow-engine process (the gateway that serves the function). */
export function functionsPid(stack: RunningStack): number | null {
  const file = join(stack.profile.stateDir, "functions.pid");
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, "utf8").trim());
  return pid > 0 ? pid : null;
}

/** Peaks of the functions process's memory as its `/health` reports it (V8's view), in MiB. */
export interface HeapPeaks {
  samples: number;
  rssMiB: number;
  heapTotalMiB: number;
  heapUsedMiB: number;
  externalMiB: number;
  /** Heap in use plus external memory, at the same moment: what the platform's memory limit counts. */
  heapUsedPlusExternalMiB: number;
}

/**
 * Samples the functions gateway's `/health` (which reports `Deno.memoryUsage()`) every `intervalMs` until stopped.
 * Peaks between samples are missed, so these are lower bounds; VmHWM is the exact peak of the resident set.
 */
export function sampleHeap(apiUrl: string, intervalMs = 200): { stop(): Promise<HeapPeaks> } {
  const peaks: HeapPeaks = { samples: 0, rssMiB: 0, heapTotalMiB: 0, heapUsedMiB: 0, externalMiB: 0, heapUsedPlusExternalMiB: 0 };
  const mib = (bytes: number) => bytes / 1048576;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const response = await fetch(`${apiUrl}/health`, { signal: AbortSignal.timeout(2_000) });
        const { memory } = await response.json() as { memory?: Deno.MemoryUsage };
        if (memory) {
          peaks.samples++;
          peaks.rssMiB = Math.max(peaks.rssMiB, mib(memory.rss));
          peaks.heapTotalMiB = Math.max(peaks.heapTotalMiB, mib(memory.heapTotal));
          peaks.heapUsedMiB = Math.max(peaks.heapUsedMiB, mib(memory.heapUsed));
          peaks.externalMiB = Math.max(peaks.externalMiB, mib(memory.external));
          peaks.heapUsedPlusExternalMiB = Math.max(peaks.heapUsedPlusExternalMiB, mib(memory.heapUsed + memory.external));
        }
      } catch { /* a restarting process: the next sample counts */ }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peaks;
    },
  };
}

/** Pid of the stack's postmaster (first line of postmaster.pid). */
export function postmasterPid(stack: RunningStack): number | null {
  const file = join(stack.profile.stateDir, "data", "postmaster.pid");
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, "utf8").split("\n")[0]);
  return pid > 0 ? pid : null;
}

/** CPU seconds used so far by the flow-engine process, Postgres and this program. */
export function cpuSnapshot(stack: RunningStack, enginePids: number[]) {
  const pg = postmasterPid(stack);
  return {
    wallSeconds: performance.now() / 1000,
    engine: enginePids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0),
    postgres: pg ? postgresCpuSeconds(pg) : 0,
    bench: processCpuSeconds(Deno.pid),
  };
}

/** CPU used between two snapshots, as cores busy on average and milliseconds per unit of work. */
export function cpuUsage(before: ReturnType<typeof cpuSnapshot>, after: ReturnType<typeof cpuSnapshot>, units: number) {
  const wall = after.wallSeconds - before.wallSeconds;
  const part = (name: "engine" | "postgres" | "bench") => {
    const seconds = after[name] - before[name];
    return { cpuSeconds: seconds, coresBusy: seconds / wall, msPerUnit: (seconds * 1000) / units };
  };
  return { wallSeconds: wall, engine: part("engine"), postgres: part("postgres"), bench: part("bench") };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** One more flow-engine process, as the platform runs another isolate; serves `/functions/v1/flow-engine`. */
export interface EngineInstance {
  pid: number;
  drainUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts a separate functions gateway process. Concurrent POSTs to one process share one drain (the handler runs
 * one drain per isolate), so scale-out needs separate processes, as separate isolates on the platform.
 */
export async function startEngineInstance(ctx: BenchContext, index: number, env: Record<string, string>): Promise<EngineInstance> {
  const port = freePort();
  const child = new Deno.Command(join(repoRoot, "node_modules/.bin/deno"), {
    args: gatewayArgs(),
    cwd: repoRoot,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? "/root",
      FLOWS_FUNCTIONS_DIR: join(repoRoot, "supabase/functions"),
      FLOWS_CONFIG_TOML: join(repoRoot, "supabase/config.toml"),
      FLOWS_GATEWAY_PORT: String(port),
      FLOWS_JWT_SECRET: ctx.stack.jwtSecret,
      SUPABASE_URL: ctx.stack.apiUrl,
      SUPABASE_ANON_KEY: ctx.stack.anonKey,
      SUPABASE_SERVICE_ROLE_KEY: ctx.stack.serviceRoleKey,
      SUPABASE_DB_URL: ctx.stack.dbUrl,
      ...env,
    },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let listening: () => void = () => {};
  const ready = new Promise<void>((resolve) => (listening = resolve));
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of stream) {
      pending += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.startsWith("listening on")) listening();
        ctx.log(`engine-${index} | ${line}`);
      }
    }
  };
  const output = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`engine instance ${index} did not start within 60 s`)), 60_000);
  });
  const exited = child.status.then(() => Promise.reject(new Error(`engine instance ${index} exited during start-up`)));
  exited.catch(() => {}); // only meaningful during start-up
  try {
    await Promise.race([ready, timeout, exited]);
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return {
    pid: child.pid,
    drainUrl: `http://127.0.0.1:${port}/functions/v1/flow-engine`,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      let grace: ReturnType<typeof setTimeout> | undefined;
      const exit = await Promise.race([child.status, new Promise((r) => (grace = setTimeout(() => r(null), 5_000)))]);
      clearTimeout(grace);
      if (exit === null) {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
        await child.status;
      }
      await output;
    },
  };
}

/** Connects a client of its own (bench load never shares the connection that polls for progress). */
export function connect(url: string, max = 1): postgres.Sql {
  return postgres(url, { max, onnotice: () => {}, connection: { application_name: "flows-bench" } });
}
