/**
 * The benchmark program (`npm run bench`, never part of `npm test`): starts a throwaway local stack (profile
 * "bench"), measures the write-path overhead of capture, end-to-end throughput and latency, kick coalescing,
 * a peer (graphile-worker) on the same Postgres, scale-out and the function's memory, prints a table and writes
 * `.stack/bench-report.json`.
 * See docs/performance.md for what each figure means and how it was measured.
 *
 * Run: deno run -A packages/bench/src/bench.ts [--quick] [--rows N] ...   (--help lists the flags)
 */
import { appendFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { profile, repoRoot } from "../../stack/src/config.ts";
import { type RunningStack, startStack } from "../../stack/src/stack.ts";
import { type BenchContext, connect, functionsPid } from "./fixtures.ts";
import { describeMachine, describeVersions, loadAverage, processMemory } from "./machine.ts";
import { parseOptions } from "./options.ts";
import { type EndToEndSummary, measureKickCoalescing, runEndToEnd, setUpEndToEnd } from "./phases/end-to-end.ts";
import { runPeer } from "./phases/peer.ts";
import { runScaleOut } from "./phases/scale-out.ts";
import { runStatementProfile } from "./phases/statements.ts";
import { runWritePath } from "./phases/write-path.ts";
import { FigureBook, renderTable } from "./report.ts";

const options = parseOptions(Deno.args);
const stackDir = join(repoRoot, ".stack");
mkdirSync(stackDir, { recursive: true });
const logFile = join(stackDir, "bench.log");
const reportFile = join(stackDir, "bench-report.json");
writeFileSync(logFile, "");

// The stack prints every part's output through console.*; it goes to the log file so the terminal shows progress.
const print = console.log.bind(console);
const toLog = (...args: unknown[]) => appendFileSync(logFile, args.map(String).join(" ") + "\n");
console.log = toLog;
console.warn = toLog;
console.error = toLog;
console.info = toLog;

const startedAt = Date.now();
function progress(message: string): void {
  const seconds = Math.floor((Date.now() - startedAt) / 1000);
  const stamp = `${String(Math.floor(seconds / 60)).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`;
  print(`bench | ${stamp} ${message}`);
  toLog(`bench | ${stamp} ${message}`);
}

function assertFree(port: number): void {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
  } catch {
    throw new Error(`port ${port} on 127.0.0.1 is in use: is another bench running? (ss -ltnp 'sport = :${port}')`);
  }
}

const bench = profile("bench");
const functionsEnv = { FLOWS_ALLOW_PRIVATE_NETWORKS: "true" };
let stack: RunningStack | null = null;
let stopping: Promise<void> | null = null;

async function shutdown(): Promise<void> {
  stopping ??= (async () => {
    if (stack) await stack.stop().catch((error) => toLog(`stack stop failed: ${error}`));
    if (!options.keepData) rmSync(bench.stateDir, { recursive: true, force: true });
  })();
  await stopping;
}

Deno.addSignalListener("SIGINT", () => {
  progress("interrupted: stopping the bench stack");
  shutdown().finally(() => Deno.exit(130));
});
// A run that hangs still stops by itself: every wait is bounded, and this bounds the whole.
const watchdog = setTimeout(() => {
  progress("the run exceeded 40 minutes: stopping");
  shutdown().finally(() => Deno.exit(1));
}, 40 * 60_000);

let exitCode = 0;
const figures = new FigureBook();
const details: Record<string, unknown> = {};
const phaseSeconds: Record<string, number> = {};
let machineInfo: Record<string, unknown> = {};
let versions: Record<string, unknown> = {};
let loadBefore: number[] = [];
let failure: string | null = null;

function sourceRevision() {
  // The figures belong to the code that ran: a run on a tree with uncommitted changes says so.
  const git = (args: string[]) => {
    try {
      const output = new Deno.Command("git", { args, cwd: repoRoot, stdout: "piped", stderr: "null" }).outputSync();
      return output.success ? new TextDecoder().decode(output.stdout).trim() : null;
    } catch {
      return null;
    }
  };
  const changed = git(["status", "--porcelain", "--", "packages", "supabase"]);
  return { commit: git(["rev-parse", "HEAD"]), uncommittedFiles: changed === null ? null : changed.split("\n").filter(Boolean).length };
}

function writeReport(): void {
  const report = {
    generatedAt: new Date().toISOString(),
    command: `deno run -A packages/bench/src/bench.ts ${Deno.args.join(" ")}`.trim(),
    source: sourceRevision(),
    ...(failure ? { failure } : {}),
    options,
    machine: { ...machineInfo, loadAverageBefore: loadBefore, loadAverageAfter: loadAverage() },
    versions,
    stack: { profile: bench.name, fsync: "off (throwaway cluster)", functionsEnv },
    phaseSeconds: Object.fromEntries(Object.entries(phaseSeconds).map(([k, v]) => [k, { value: Math.round(v), unit: "s" }])),
    figures: figures.figures,
    details,
  };
  writeFileSync(reportFile, JSON.stringify(report, null, 2) + "\n");
}

try {
  assertFree(bench.apiPort);
  assertFree(bench.dbPort);
  // Throwaway: a fresh cluster every run, so no earlier run's rows or flows change the figures.
  if (existsSync(bench.stateDir)) rmSync(bench.stateDir, { recursive: true, force: true });
  progress(`starting a throwaway stack (profile bench, ports ${bench.apiPort}/${bench.dbPort}; its output goes to ${logFile})`);
  stack = await startStack(bench, { fast: true, functionsEnv });
  const sql = connect(stack.dbUrl, 2);
  const machine = describeMachine();
  machineInfo = machine;
  versions = await describeVersions(sql);
  loadBefore = loadAverage();
  progress(`machine: ${machine.cpuModel}, ${machine.cpuCores} cores, ${machine.memory.value} MiB; load ${loadBefore.join(" ")}`);
  progress(`versions: PostgreSQL ${versions.postgres}, pg_cron ${versions.pgCron}, Deno ${versions.deno}, Node ${versions.node}`);
  const source = sourceRevision();
  progress(`source: commit ${source.commit?.slice(0, 10) ?? "unknown"}, ${source.uncommittedFiles ?? "?"} uncommitted file(s) under packages/ and supabase/`);

  const ctx: BenchContext = { stack, sql, options, figures, details, progress, log: toLog };
  const timed = async (name: string, run: () => Promise<unknown>) => {
    const t0 = performance.now();
    progress(`phase ${name}: start`);
    await run();
    phaseSeconds[name] = (performance.now() - t0) / 1000;
    progress(`phase ${name}: done in ${phaseSeconds[name].toFixed(0)} s`);
  };

  if (options.phases.includes("write")) await timed("write path", () => runWritePath(ctx));
  figures.quote("write path (calibration)", "naive outbox: single-row / bulk", 1.29, "× (bulk 1.97×)", "issue 6, same machine class");
  figures.quote("write path (calibration)", "per-row webhook: single-row / bulk", 1.23, "× (bulk 3.07×)", "issue 6, same machine class");

  let endToEnd: EndToEndSummary | null = null;
  if (["e2e", "kicks", "statements"].some((p) => options.phases.includes(p as typeof options.phases[number]))) {
    const fixture = await setUpEndToEnd(ctx);
    try {
      if (options.phases.includes("e2e")) await timed("end to end", async () => (endToEnd = await runEndToEnd(ctx, fixture)));
      if (options.phases.includes("kicks")) await timed("invocations", () => measureKickCoalescing(ctx, fixture));
      if (options.phases.includes("statements")) await timed("statements", () => runStatementProfile(ctx, fixture, logFile));
    } finally {
      await fixture.receiver.stop();
    }
  }
  const pid = functionsPid(stack);
  const memory = pid ? processMemory(pid) : null;
  figures.add("memory", "peak RSS of the flow-engine process (whole run)", memory?.peakRssMiB ?? null, "MiB", {
    target: "< 150",
    met: (v) => v < 150,
  });

  if (options.phases.includes("peer")) await timed("peer", () => runPeer(ctx, endToEnd));

  if (options.phases.includes("scale")) await timed("scale-out", () => runScaleOut(ctx, functionsEnv));

  writeReport();
  const table = renderTable(figures.figures);
  await sql.end();
  print("");
  print(table);
  print("");
  const missed = figures.figures.filter((f) => f.met === false);
  progress(`report written to ${reportFile}; ${missed.length} target(s) missed; load average ${loadBefore.join(" ")} → ${loadAverage().join(" ")}`);
} catch (error) {
  exitCode = 1;
  failure = String((error as Error).message ?? error);
  progress(`failed: ${(error as Error).stack ?? error}`);
  progress(`the stack's output is in ${logFile}`);
  writeReport();
  progress(`what was measured before the failure is in ${reportFile}`);
} finally {
  clearTimeout(watchdog);
  await shutdown();
  progress("stack stopped");
}
Deno.exit(exitCode);
