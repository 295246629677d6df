/**
 * The fault suite (`npm run test:faults`): a 5,000-event run on a throwaway local stack while the function process
 * is killed ten times at random, Postgres is restarted once, the HTTP target fails 30 % of requests and answers 5 %
 * too late, and the pg_net stand-in drops 20 % of kicks. Afterwards it asserts that every event has exactly one
 * execution per matching version, every execution is terminal, no completed step ran twice and nothing is stuck,
 * and reports how long the system took to finish its work after the last fault. See docs/faults.md.
 *
 * Run: deno run -A packages/faults/src/faults.ts [--seed N] [--rows N] [--keep-data]
 * Prints `ok - …` / `not ok - …` lines and `N passed, N failed`; exits non-zero on any failure.
 */
import { appendFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { type FlowDefinition, formatIssue, validateFlowDefinition } from "../../engine/src/index.ts";
import { availableProfile, repoRoot } from "../../stack/src/config.ts";
import { startStack } from "../../stack/src/stack.ts";
import { type Check, faultChecks, runChecks } from "./checks.ts";
import { startTarget, type Target } from "./target.ts";
import { planFaults, planWrites, runFaults, runWrites, seededRandom, startTicker } from "./workload.ts";
type RunningStack = Awaited<ReturnType<typeof startStack>>;

// The run's shape, as the issue states it.
const KILLS = 10;
const FAIL_RATE = 0.3;
const SLOW_RATE = 0.05;
const DROP_RATE = 0.2;
const STEP_TIMEOUT_MS = 1_000;
const SLOW_DELAY_MS = 3_000;
const MAX_ATTEMPTS = 10;
const WRITE_WINDOW_MS = 30_000;
/** Kills fall within the writes and the 15 s after them, while the backlog is still being worked off. */
const KILL_WINDOW_MS = WRITE_WINDOW_MS + 15_000;
const TICK_INTERVAL_MS = 2_000;
const SETTLE_TIMEOUT_MS = 5 * 60_000;
const WATCHDOG_MS = 15 * 60_000;
const HTTP_STEP = "call";

function flag(name: string): string | undefined {
  const index = Deno.args.indexOf(`--${name}`);
  return index >= 0 ? Deno.args[index + 1] : undefined;
}
const seed = Number(flag("seed") ?? Math.floor(Math.random() * 2 ** 31));
const rowsPlanned = Number(flag("rows") ?? 5_000);
const keepData = Deno.args.includes("--keep-data");
if (!Number.isInteger(seed) || !Number.isInteger(rowsPlanned) || rowsPlanned < 1) {
  console.error("usage: deno run -A packages/faults/src/faults.ts [--seed N] [--rows N] [--keep-data]");
  Deno.exit(2);
}

const stackDir = join(repoRoot, ".stack");
mkdirSync(stackDir, { recursive: true });
const logFile = join(stackDir, "faults.log");
const reportFile = join(stackDir, "faults-report.json");
writeFileSync(logFile, "");

// The stack's parts print through console.*; that goes to the log file so the terminal shows the suite's own lines.
const print = console.log.bind(console);
const toLog = (...args: unknown[]) => appendFileSync(logFile, args.map(String).join(" ") + "\n");
console.log = toLog;
console.warn = toLog;
console.error = toLog;
console.info = toLog;

const runStartedAt = Date.now();
function progress(message: string): void {
  const line = `faults | ${((Date.now() - runStartedAt) / 1000).toFixed(1).padStart(6)} s  ${message}`;
  print(line);
  toLog(line);
}

// Ports away from `npm start` (5432x) and `npm test` (5433x), so the suite can run beside both; `FLOWS_PORT_BASE`
// overrides them, and busy ports move the stack to free ones.
const { profile: bench, moved: portsMoved } = availableProfile("bench", 63_000);
let stack: RunningStack | null = null;
let target: Target | null = null;
let stopping: Promise<void> | null = null;
let stopped = false;
const isStopped = () => stopped;

async function shutdown(): Promise<void> {
  stopped = true;
  stopping ??= (async () => {
    await target?.stop().catch((error) => toLog(`target stop failed: ${error}`));
    if (stack) await stack.stop().catch((error) => toLog(`stack stop failed: ${error}`));
    if (!keepData) rmSync(bench.stateDir, { recursive: true, force: true });
  })();
  await stopping;
}

Deno.addSignalListener("SIGINT", () => {
  progress("interrupted: stopping the stack");
  shutdown().finally(() => Deno.exit(130));
});
const watchdog = setTimeout(() => {
  progress(`the run exceeded ${WATCHDOG_MS / 60_000} minutes: stopping`);
  shutdown().finally(() => Deno.exit(1));
}, WATCHDOG_MS);

/** The flow under test: an http call with retries, then a log line. */
function httpFlow(table: string, url: string): FlowDefinition {
  return {
    trigger: { type: "row_change", table, events: ["INSERT"] },
    steps: [
      {
        id: HTTP_STEP,
        type: "http",
        config: { method: "POST", url: `${url}/leads`, body: { id: "{{row.id}}", seq: "{{row.seq}}" } },
        timeout: STEP_TIMEOUT_MS,
        retry: { max_attempts: MAX_ATTEMPTS, delay: 100, backoff: "exponential", max_delay: 2_000 },
      },
      { id: "done", type: "log", config: { message: "lead {{row.id}} delivered" } },
    ],
  } as FlowDefinition;
}

/** A second flow on the same table, so "one execution per matching version" covers two versions per event. */
function logFlow(table: string): FlowDefinition {
  return {
    trigger: { type: "row_change", table, events: ["INSERT"] },
    steps: [{ id: "note", type: "log", config: { message: "lead {{row.id}} seen" } }],
  } as FlowDefinition;
}

async function publish(sql: postgres.Sql, key: string, definition: FlowDefinition) {
  const checked = validateFlowDefinition(definition);
  if (!checked.success) throw new Error(`flow ${key} is invalid: ${checked.errors.map(formatIssue).join("; ")}`);
  const [{ flow_id: flowId }] = await sql`select (flows.create_flow(${key}, ${"Faults " + key})).flow_id`;
  const [{ version_id: versionId }] = await sql`
    select (flows.create_draft(${flowId}, ${sql.json(definition as unknown as postgres.JSONValue)})).version_id`;
  await sql`select flows.publish_version(${versionId})`;
  return { key, flowId: flowId as string, versionId: versionId as string };
}

const results: Check[] = [];
let exitCode = 1;
try {
  // Throwaway: a fresh cluster every run.
  if (existsSync(bench.stateDir)) rmSync(bench.stateDir, { recursive: true, force: true });
  if (portsMoved) progress(portsMoved);
  progress(`seed ${seed}; starting a throwaway stack (ports ${bench.apiPort}/${bench.dbPort}; its output goes to ${logFile})`);
  stack = await startStack(bench, {
    fast: true,
    net: { dropRate: DROP_RATE },
    functionsEnv: { FLOWS_ALLOW_PRIVATE_NETWORKS: "true", FLOWS_LEASE_MS: "3000" },
  });
  // Separate clients, so a stalled check never delays the writer or the tick. postgres.js reconnects lazily after
  // the restart; connect_timeout bounds each try.
  const options = { onnotice: () => {}, connect_timeout: 5 } as const;
  const sql = postgres(stack.dbUrl, { ...options, max: 4 });
  const writerSql = postgres(stack.dbUrl, { ...options, max: 1 });
  const tickSql = postgres(stack.dbUrl, { ...options, max: 1 });

  const random = seededRandom(seed);
  target = startTarget({ failRate: FAIL_RATE, slowRate: SLOW_RATE, delayMs: SLOW_DELAY_MS, random: seededRandom(seed ^ 0x5eed) });
  const tableName = "fault_leads";
  const table = `public.${tableName}`;
  await sql.unsafe(`
    create table ${table} (
      id bigint generated always as identity primary key,
      seq integer not null,
      name text not null,
      created_at timestamptz not null default clock_timestamp(),
      constraint fault_leads_seq_unique unique (seq)
    )`);
  const flows = [await publish(sql, "faults-http", httpFlow(table, target.url)), await publish(sql, "faults-log", logFlow(table))];
  progress(`published ${flows.map((f) => f.key).join(" and ")} on ${table}; target ${target.url} (503 ${FAIL_RATE * 100} %, ` +
    `late ${SLOW_RATE * 100} % by ${SLOW_DELAY_MS} ms vs a ${STEP_TIMEOUT_MS} ms step timeout); kicks dropped ${DROP_RATE * 100} %`);

  const writes = planWrites(rowsPlanned, random);
  const faultPlan = planFaults(KILLS, KILL_WINDOW_MS, WRITE_WINDOW_MS, random);
  progress(`writing ${rowsPlanned} rows in ${writes.length} statements over ${WRITE_WINDOW_MS / 1000} s; kills at ` +
    `${faultPlan.killTimes.map((t) => (t / 1000).toFixed(1)).join(", ")} s; postgres restart at ${(faultPlan.restartAt / 1000).toFixed(1)} s`);

  const ticker = startTicker(tickSql, TICK_INTERVAL_MS);
  const faultsStartedAt = new Date();
  const writesStartedAt = Date.now();
  const [writeReport, faults] = await Promise.all([
    runWrites(writerSql, table, writes, WRITE_WINDOW_MS, isStopped).then((report) => {
      progress(`writes done: ${report.statements} statements, ${report.failedStatements} retried after failing during the restart, ` +
        `${report.abandonedStatements} abandoned`);
      return report;
    }),
    runFaults({
      stateDir: bench.stateDir,
      apiUrl: stack.apiUrl,
      killFunctions: () => stack!.killFunctions(),
      restartPostgres: () => stack!.restartPostgres(),
    }, faultPlan, writesStartedAt, isStopped, progress),
  ]);
  const lastFaultAt = Math.max(...faults.map((f) => f.endedAt));
  progress(`faults done; waiting (tick every ${TICK_INTERVAL_MS / 1000} s) until every execution is terminal`);

  // Settled: every committed row's event processed and both flows' executions terminal.
  let settledAt: number | null = null;
  let lastReport = 0;
  const settleDeadline = Date.now() + SETTLE_TIMEOUT_MS;
  while (Date.now() < settleDeadline) {
    try {
      const [state] = await sql`
        select (select count(*) from flows.events where source_table = ${tableName}) as events,
               (select count(*) from flows.events where source_table = ${tableName} and processed_at is null) as unprocessed,
               (select count(*) from flows.executions where flow_id = any(${sql.array(flows.map((f) => f.flowId))}::uuid[])) as executions,
               (select count(*) from flows.executions
                 where flow_id = any(${sql.array(flows.map((f) => f.flowId))}::uuid[])
                   and status not in ('completed', 'failed', 'cancelled')) as open`;
      const events = Number(state!.events);
      const done = Number(state!.unprocessed) === 0 && Number(state!.executions) === events * flows.length && Number(state!.open) === 0;
      if (done) {
        settledAt = Date.now();
        break;
      }
      if (Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        progress(`events ${events}, unprocessed ${state!.unprocessed}, executions ${state!.executions}, not terminal ${state!.open}`);
      }
    } catch (error) {
      toLog(`settle poll failed: ${(error as Error).message}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await ticker.stop();
  const recoveryS = settledAt === null ? null : (settledAt - lastFaultAt) / 1000;
  // How soon work resumed after the last fault, apart from how long the backlog then took.
  const [resumed] = await sql`
    select extract(epoch from min(finished_at)) * 1000 as first_ms from flows.executions
     where flow_id = any(${sql.array(flows.map((f) => f.flowId))}::uuid[]) and finished_at > to_timestamp(${lastFaultAt / 1000})`;
  const resumedS = resumed?.first_ms == null ? null : (Number(resumed.first_ms) - lastFaultAt) / 1000;
  const [backlog] = await sql`
    select count(*) as open from flows.executions
     where flow_id = any(${sql.array(flows.map((f) => f.flowId))}::uuid[])
       and (finished_at is null or finished_at > to_timestamp(${lastFaultAt / 1000}))`;
  progress(settledAt === null
    ? `not settled within ${SETTLE_TIMEOUT_MS / 60_000} minutes of the last fault`
    : `settled ${recoveryS!.toFixed(1)} s after the last fault (${((settledAt - writeReport.lastWriteAt) / 1000).toFixed(1)} s after the ` +
      `last write); the first execution finished ${resumedS?.toFixed(1)} s after it; ${backlog?.open} executions were open then`);

  results.push({
    ok: settledAt !== null,
    name: `all work done within ${SETTLE_TIMEOUT_MS / 60_000} minutes of the last fault`,
    detail: recoveryS === null
      ? "timed out"
      : `recovery time after the last fault ${recoveryS.toFixed(1)} s (${backlog?.open} executions open at that moment; ` +
        `the first finished ${resumedS?.toFixed(1)} s after it)`,
  });
  const killsDone = faults.filter((f) => f.kind === "kill functions" && f.detail.startsWith("SIGKILL")).length;
  const restarts = faults.filter((f) => f.kind === "restart postgres" && !f.detail.startsWith("failed")).length;
  const faultResult = await faultChecks(sql, { kills: killsDone, killsPlanned: KILLS, restarts, startedAt: faultsStartedAt });
  const runResult = await runChecks(sql, {
    table,
    tableName,
    rowsPlanned,
    flows,
    httpStepId: HTTP_STEP,
    maxAttempts: MAX_ATTEMPTS,
    target,
  });
  results.push(...faultResult.checks, ...runResult.checks);

  const figures = {
    seed,
    rowsPlanned,
    ...runResult.figures,
    ...faultResult.figures,
    writeStatements: writeReport.statements,
    writeStatementsRetried: writeReport.failedStatements,
    writeSeconds: (writeReport.lastWriteAt - writeReport.firstWriteAt) / 1000,
    ticks: ticker.ticks,
    tickFailures: ticker.failures,
    recoverySecondsAfterLastFault: recoveryS,
    firstCompletionSecondsAfterLastFault: resumedS,
    executionsOpenAtLastFault: Number(backlog?.open ?? 0),
    secondsFromFirstWriteToSettled: settledAt === null ? null : (settledAt - writesStartedAt) / 1000,
    lastFaultAtSeconds: (lastFaultAt - writesStartedAt) / 1000,
  };
  for (const fault of faults) progress(`  ${fault.atS.toFixed(1).padStart(5)} s  ${fault.kind}: ${fault.detail}`);
  progress(`figures: ${JSON.stringify(figures)}`);
  writeFileSync(reportFile, JSON.stringify({ generatedAt: new Date().toISOString(), figures, faults, checks: results }, null, 2) + "\n");
  await Promise.all([sql.end({ timeout: 2 }), writerSql.end({ timeout: 2 }), tickSql.end({ timeout: 2 })]);
} catch (error) {
  results.push({ ok: false, name: "the fault run completed", detail: (error as Error).stack ?? String(error) });
} finally {
  clearTimeout(watchdog);
  await shutdown();
}

for (const result of results) print(`${result.ok ? "ok" : "not ok"} - ${result.name}\n  # ${result.detail}`);
const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
print(`# total ${((Date.now() - runStartedAt) / 1000).toFixed(0)} s; seed ${seed}; stack log ${logFile}; report ${reportFile}`);
print(`${passed} passed, ${failed} failed`);
exitCode = failed === 0 && passed > 0 ? 0 : 1;
Deno.exit(exitCode);
