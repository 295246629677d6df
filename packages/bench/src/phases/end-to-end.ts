/**
 * End-to-end: matching rows inserted at full speed (statements of 1,000) for a 1-step and a 3-step flow, then a
 * steady trickle for idle latency, and how many function invocations single-row inserts cost. Latency runs from
 * the commit of the row's statement (taken by this client when the statement returns) to the execution's finished_at.
 */
import {
  type BenchContext,
  connect,
  cpuSnapshot,
  cpuUsage,
  createBenchTable,
  engineUrl,
  functionsPid,
  publishFlow,
  sampleHeap,
  setEngineUrl,
  settle,
  startReceiver,
  waitFor,
  waitForDrained,
  waitForIdle,
} from "../fixtures.ts";
import { processMemory } from "../machine.ts";
import { latencySummary, round } from "../stats.ts";

/** Flows of this phase and the receiver their http steps call. */
export interface EndToEndFixture {
  logFlow: { flowId: string; table: string };
  httpFlow: { flowId: string; table: string };
  receiver: ReturnType<typeof startReceiver>;
}

/** Creates the phase's tables and flows. */
export async function setUpEndToEnd(ctx: BenchContext): Promise<EndToEndFixture> {
  const { sql } = ctx;
  const receiver = startReceiver();
  const logTable = await createBenchTable(sql, "bench_e2e_log");
  const httpTable = await createBenchTable(sql, "bench_e2e_http");
  const { flowId: logFlowId } = await publishFlow(sql, "bench-log", {
    trigger: { type: "row_change", table: logTable, events: ["INSERT"] },
    steps: [{ id: "note", type: "log", config: { message: "row {{row.id}} arrived" } }],
  });
  const { flowId: httpFlowId } = await publishFlow(sql, "bench-http", {
    trigger: { type: "row_change", table: httpTable, events: ["INSERT"] },
    steps: [
      { id: "first", type: "http", config: { method: "POST", url: `${receiver.url}/first`, body: { id: "{{row.id}}" } } },
      { id: "shape", type: "transform", config: { output: { id: "{{row.id}}", status: "{{steps.first.output.status}}" } } },
      { id: "second", type: "http", config: { method: "POST", url: `${receiver.url}/second`, body: { id: "{{steps.shape.output.id}}" } } },
    ],
  });
  return { logFlow: { flowId: logFlowId, table: logTable }, httpFlow: { flowId: httpFlowId, table: httpTable }, receiver };
}

/** Upper bound of a batch range that is open at the top (batch_no is read as int4). */
const LAST_BATCH = 2 ** 31 - 1;

/** Commit-to-finish latencies (ms) of a flow's executions whose row's batch_no is from `fromBatch` to `toBatch`. */
async function latencies(ctx: BenchContext, flowId: string, commits: Map<number, number>, fromBatch: number, toBatch = LAST_BATCH) {
  const rows = await ctx.sql`
    select (e.new_row ->> 'batch_no')::int as batch_no, extract(epoch from x.finished_at) * 1000 as finished_ms, x.status
      from flows.executions x
      join flows.events e on e.event_id = x.event_id
     where x.flow_id = ${flowId} and (e.new_row ->> 'batch_no')::int >= ${fromBatch}`;
  const values: number[] = [];
  let lastFinished = 0;
  const statuses: Record<string, number> = {};
  for (const row of rows) {
    statuses[row.status] = (statuses[row.status] ?? 0) + 1;
    const committed = commits.get(row.batch_no);
    if (committed === undefined || row.finished_ms === null) continue;
    values.push(Number(row.finished_ms) - committed);
    lastFinished = Math.max(lastFinished, Number(row.finished_ms));
  }
  return { values, lastFinished, statuses };
}

async function terminalCount(ctx: BenchContext, flowId: string, fromBatch: number, toBatch = LAST_BATCH): Promise<number> {
  const [row] = await ctx.sql`
    select count(*)::int as n from flows.executions x join flows.events e on e.event_id = x.event_id
     where x.flow_id = ${flowId} and x.status in ('completed', 'failed', 'cancelled')
       and (e.new_row ->> 'batch_no')::int between ${fromBatch} and ${toBatch}`;
  return row!.n;
}

/**
 * Where a burst's time went, in ms from the first insert: when events were first and last claimed, when
 * executions were created, started and finished, and when kicks reached the function.
 */
async function burstTimeline(ctx: BenchContext, flowId: string, fromBatch: number, startedMs: number) {
  const since = new Date(startedMs);
  const [row] = await ctx.sql`
    select extract(epoch from min(e.claimed_at)) * 1000 as first_claim, extract(epoch from max(e.claimed_at)) * 1000 as last_claim,
           extract(epoch from min(x.created_at)) * 1000 as first_created, extract(epoch from max(x.created_at)) * 1000 as last_created,
           extract(epoch from min(x.started_at)) * 1000 as first_started, extract(epoch from min(x.finished_at)) * 1000 as first_finished,
           extract(epoch from max(x.finished_at)) * 1000 as last_finished
      from flows.executions x join flows.events e on e.event_id = x.event_id
     where x.flow_id = ${flowId} and (e.new_row ->> 'batch_no')::int >= ${fromBatch}`;
  const kicks = await ctx.sql`
    select extract(epoch from created) * 1000 as at, status_code, error_msg from net._http_response
     where created >= ${since} order by created limit 50`;
  const rel = (v: unknown) => (v === null || v === undefined ? null : Math.round(Number(v) - startedMs));
  return {
    firstClaim: rel(row!.first_claim),
    lastClaim: rel(row!.last_claim),
    firstExecutionCreated: rel(row!.first_created),
    lastExecutionCreated: rel(row!.last_created),
    firstStarted: rel(row!.first_started),
    firstFinished: rel(row!.first_finished),
    lastFinished: rel(row!.last_finished),
    kicks: kicks.map((k) => ({ at: rel(k.at), status: k.status_code, error: k.error_msg })),
  };
}

/**
 * One matching row before anything is timed, as the peer's pool runs a few jobs first: the function's first
 * invocation loads its module and opens its connections, a one-off cost that is reported here instead of being
 * charged to the first burst. Returns that row's commit → completion in ms, or null when a kick had already been
 * sent in this stack (the write path's draining variant invokes the function), so the figure would not be a cold start.
 */
async function firstExecution(ctx: BenchContext, flow: { flowId: string; table: string }, batch: number): Promise<number | null> {
  const { stack, sql } = ctx;
  await setEngineUrl(sql, engineUrl(stack));
  await waitForIdle(sql);
  const [before] = await sql`select last_kick_at = '-infinity' as never_kicked from flows.engine_state`;
  const writer = connect(stack.dbUrl, 1);
  const commits = new Map<number, number>();
  try {
    await writer.unsafe(`insert into ${flow.table} (kind, amount, payload, batch_no) values ('go', 0, md5('0'), ${batch})`);
    commits.set(batch, Date.now());
  } finally {
    await writer.end();
  }
  await waitFor("the first execution", async () => (await terminalCount(ctx, flow.flowId, batch, batch)) >= 1, 60_000, 20);
  const measured = await latencies(ctx, flow.flowId, commits, batch, batch);
  return before!.never_kicked ? (measured.values[0] ?? null) : null;
}

/** Inserts `rows` matching rows at full speed and measures until every execution is terminal. */
async function burst(ctx: BenchContext, label: string, flow: { flowId: string; table: string }, fromBatch: number) {
  const { options, stack, sql } = ctx;
  await setEngineUrl(sql, engineUrl(stack));
  await waitForIdle(sql);
  await settle(sql);
  const [engineBefore] = await sql`
    select draining_until > clock_timestamp() as draining, case when last_kick_at = '-infinity' then null else extract(epoch from clock_timestamp() - last_kick_at) * 1000 end as ms_since_kick
      from flows.engine_state`;
  ctx.log(`bench | ${label}: engine state before the burst: ${JSON.stringify(engineBefore)}`);
  const writer = connect(stack.dbUrl, 1);
  const commits = new Map<number, number>();
  await writer`select 1`;
  const enginePid = functionsPid(stack);
  const cpuBefore = cpuSnapshot(stack, enginePid ? [enginePid] : []);
  const heap = sampleHeap(stack.apiUrl);
  const started = Date.now();
  try {
    let batch = fromBatch;
    for (let done = 0; done < options.e2eRows; done += options.e2eStatementRows, batch++) {
      const n = Math.min(options.e2eStatementRows, options.e2eRows - done);
      await writer.unsafe(
        `insert into ${flow.table} (kind, amount, payload, batch_no) select 'go', g, md5(g::text), ${batch} from generate_series(1, ${n}) g`,
      );
      commits.set(batch, Date.now());
    }
  } finally {
    await writer.end();
  }
  const inserted = Date.now();
  ctx.progress(`end to end: ${label}: ${options.e2eRows.toLocaleString("en-US")} rows committed in ${((inserted - started) / 1000).toFixed(2)} s; waiting for executions`);
  const timeoutMs = Math.max(180_000, options.e2eRows * 20);
  await waitForDrained(sql, `${options.e2eRows} executions of ${label}`, async () => {
    const done = await terminalCount(ctx, flow.flowId, fromBatch);
    if (done < options.e2eRows) {
      ctx.progress(`end to end: ${label}: ${done.toLocaleString("en-US")}/${options.e2eRows.toLocaleString("en-US")} executions terminal`);
    }
    return done >= options.e2eRows;
  }, timeoutMs);
  const cpu = cpuUsage(cpuBefore, cpuSnapshot(stack, enginePid ? [enginePid] : []), options.e2eRows);
  const heapPeaks = await heap.stop();
  const measured = await latencies(ctx, flow.flowId, commits, fromBatch);
  const seconds = (measured.lastFinished - started) / 1000;
  const timeline = await burstTimeline(ctx, flow.flowId, fromBatch, started);
  ctx.log(`bench | ${label}: timeline ${JSON.stringify(timeline)}`);
  // Excludes the time before the first claim (the kick's way to the function), which the total includes.
  const drainSeconds = timeline.firstClaim === null || timeline.lastFinished === null ? null : (timeline.lastFinished - timeline.firstClaim) / 1000;
  return {
    timelineMs: timeline,
    executionsPerSecondOnceDraining: drainSeconds ? options.e2eRows / drainSeconds : null,
    cpu,
    heapPeaks,
    rows: options.e2eRows,
    insertSeconds: (inserted - started) / 1000,
    secondsUntilAllComplete: seconds,
    executionsPerSecond: options.e2eRows / seconds,
    latencyMs: latencySummary(measured.values),
    statuses: measured.statuses,
  };
}

/** Single-row inserts at `rate` per second for `seconds`; idle latency and function invocations per 1,000 rows. */
async function steady(ctx: BenchContext, flow: { flowId: string; table: string }, fromBatch: number) {
  const { options, stack, sql } = ctx;
  await waitForIdle(sql);
  await settle(sql);
  const [{ now: since }] = await sql`select now()`;
  const writer = connect(stack.dbUrl, 1);
  const commits = new Map<number, number>();
  const total = options.steadyRate * options.steadySeconds;
  const intervalMs = 1000 / options.steadyRate;
  const started = performance.now();
  let behind = 0;
  try {
    await writer`select 1`;
    for (let index = 0; index < total; index++) {
      const due = started + index * intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      else if (wait < -intervalMs) behind++;
      const batch = fromBatch + index;
      await writer`insert into ${writer(flow.table.split(".")[1]!)} (kind, amount, payload, batch_no) values ('go', ${index}, md5(${index}::text), ${batch})`;
      commits.set(batch, Date.now());
      if ((index + 1) % (options.steadyRate * 10) === 0) ctx.progress(`end to end: steady ${options.steadyRate} rows/s: ${(index + 1) / options.steadyRate} s of ${options.steadySeconds} s`);
    }
  } finally {
    await writer.end();
  }
  await waitFor(`${total} steady executions`, async () => (await terminalCount(ctx, flow.flowId, fromBatch)) >= total, 60_000, 100);
  await waitForIdle(sql);
  const [kicks] = await sql`
    select count(*)::int as posts, count(*) filter (where status_code between 200 and 299)::int as accepted
      from net._http_response where created >= ${since}`;
  const measured = await latencies(ctx, flow.flowId, commits, fromBatch);
  return {
    rows: total,
    ratePerSecond: options.steadyRate,
    seconds: options.steadySeconds,
    insertsLate: behind,
    latencyMs: latencySummary(measured.values),
    statuses: measured.statuses,
    functionPosts: kicks!.posts,
    functionPostsAccepted: kicks!.accepted,
  };
}

/** Single-row inserts at full speed: how many POSTs reached the function (coalescing). */
export async function measureKickCoalescing(ctx: BenchContext, fixture: EndToEndFixture) {
  const { options, stack, sql } = ctx;
  const flow = fixture.logFlow;
  await setEngineUrl(sql, engineUrl(stack));
  await waitForIdle(sql);
  await settle(sql);
  const fromBatch = 3_000_000;
  const [{ now: since }] = await sql`select now()`;
  const writer = connect(stack.dbUrl, 1);
  const started = performance.now();
  try {
    for (let index = 0; index < options.kickRows; index++) {
      await writer`insert into ${writer(flow.table.split(".")[1]!)} (kind, amount, payload, batch_no) values ('go', ${index}, md5(${index}::text), ${fromBatch})`;
    }
  } finally {
    await writer.end();
  }
  const seconds = (performance.now() - started) / 1000;
  await waitFor(`${options.kickRows} executions`, async () => (await terminalCount(ctx, flow.flowId, fromBatch)) >= options.kickRows, 120_000, 100);
  await waitForIdle(sql);
  const [kicks] = await sql`
    select count(*)::int as posts, count(*) filter (where status_code between 200 and 299)::int as accepted
      from net._http_response where created >= ${since}`;
  const perThousand = (kicks!.posts / options.kickRows) * 1000;
  ctx.figures.add("invocations", `POSTs to the function per 1,000 single-row inserts at full speed (${Math.round(options.kickRows / seconds)} rows/s)`, perThousand, "POSTs");
  ctx.details.kickCoalescing = { rows: options.kickRows, insertSeconds: seconds, functionPosts: kicks!.posts, functionPostsAccepted: kicks!.accepted };
  ctx.progress(`invocations: ${kicks!.posts} POSTs for ${options.kickRows} single-row inserts at ${Math.round(options.kickRows / seconds)} rows/s`);
}

function recordMemory(ctx: BenchContext, label: string) {
  const pid = functionsPid(ctx.stack);
  const memory = pid ? processMemory(pid) : null;
  (ctx.details.functionMemory as Record<string, unknown>)[label] = memory;
  return memory;
}

/** The end-to-end figures other phases compare against (the peer's ratios). */
export interface EndToEndSummary {
  oneStep: { executionsPerSecond: number; executionsPerSecondOnceDraining: number | null };
  threeStep: { executionsPerSecond: number; executionsPerSecondOnceDraining: number | null };
  /** Commit → completion at the steady rate, 1-step flow. */
  steadyLatencyMs: ReturnType<typeof latencySummary>;
}

/** Runs the end-to-end phase and records its figures. */
export async function runEndToEnd(ctx: BenchContext, fixture: EndToEndFixture): Promise<EndToEndSummary> {
  ctx.details.functionMemory ??= {};
  const results: Record<string, unknown> = {};
  const rates: Partial<Pick<EndToEndSummary, "oneStep" | "threeStep">> = {};
  const section = "end to end";
  // Batch 0 is below every burst's batches, so no burst counts this row.
  const coldMs = await firstExecution(ctx, fixture.logFlow, 0);
  results.firstExecutionColdMs = coldMs;
  if (coldMs !== null) {
    ctx.figures.add(section, "first execution after the function process started (cold): commit → completion", coldMs, "ms");
  }
  for (const [label, flow, target] of [
    ["1-step flow (log)", fixture.logFlow, 5_000],
    ["3-step flow (http, transform, http)", fixture.httpFlow, 2_000],
  ] as const) {
    fixture.receiver.reset();
    const result = await burst(ctx, label, flow, 1);
    rates[flow === fixture.logFlow ? "oneStep" : "threeStep"] = {
      executionsPerSecond: result.executionsPerSecond,
      executionsPerSecondOnceDraining: result.executionsPerSecondOnceDraining,
    };
    const memory = recordMemory(ctx, `after ${label}`);
    const repeated = fixture.receiver.repeatedKeys();
    results[label] = { ...result, receiverRequests: fixture.receiver.requests, repeatedIdempotencyKeys: repeated, functionMemory: memory };
    ctx.figures.add(section, `${label}: executions/s (${result.rows.toLocaleString("en-US")} rows)`, result.executionsPerSecond, "executions/s", {
      target: `>= ${target.toLocaleString("en-US")}`,
      met: (v) => v >= target,
    });
    ctx.figures.add(section, `${label}: executions/s from the first claim to the last completion`, result.executionsPerSecondOnceDraining, "executions/s");
    ctx.figures.add(section, `${label}: first claim after the first commit`, result.timelineMs.firstClaim, "ms");
    ctx.figures.add(section, `${label}: commit → completion p50`, result.latencyMs.p50, "ms");
    ctx.figures.add(section, `${label}: commit → completion p95`, result.latencyMs.p95, "ms");
    ctx.figures.add(section, `${label}: commit → completion p99`, result.latencyMs.p99, "ms");
    const completed = (result.statuses as Record<string, number>).completed ?? 0;
    ctx.figures.add(section, `${label}: executions completed`, completed, "executions", { target: `= ${result.rows}`, met: (v) => v === result.rows });
    ctx.figures.add(section, `${label}: CPU of the flow-engine process per execution (${result.cpu.engine.coresBusy.toFixed(2)} cores busy)`, result.cpu.engine.msPerUnit, "ms");
    ctx.figures.add(section, `${label}: CPU of Postgres per execution (${result.cpu.postgres.coresBusy.toFixed(2)} cores busy)`, result.cpu.postgres.msPerUnit, "ms");
    ctx.figures.add(section, `${label}: peak V8 heap in use + external memory, sampled (what the platform's limit counts)`, result.heapPeaks.heapUsedPlusExternalMiB, "MiB");
    if (flow === fixture.httpFlow) {
      ctx.figures.add(section, `${label}: step requests delivered twice`, repeated, "requests", { target: "= 0", met: (v) => v === 0 });
    }
    ctx.progress(
      `end to end: ${label}: ${Math.round(result.executionsPerSecond)} executions/s, p50 ${round(result.latencyMs.p50)} ms, p99 ${round(result.latencyMs.p99)} ms`,
    );
  }

  ctx.progress(`end to end: steady ${ctx.options.steadyRate} rows/s for ${ctx.options.steadySeconds} s (1-step flow)`);
  const idle = await steady(ctx, fixture.logFlow, 1_000_000);
  recordMemory(ctx, "after steady");
  results.steady = idle;
  const label = `steady ${idle.ratePerSecond} rows/s, 1-step`;
  ctx.figures.add(section, `${label}: commit → completion p50`, idle.latencyMs.p50, "ms", { target: "< 50", met: (v) => v < 50 });
  ctx.figures.add(section, `${label}: commit → completion p95`, idle.latencyMs.p95, "ms");
  ctx.figures.add(section, `${label}: commit → completion p99`, idle.latencyMs.p99, "ms", { target: "< 200", met: (v) => v < 200 });
  ctx.figures.add("invocations", `POSTs to the function per 1,000 single-row inserts at ${idle.ratePerSecond} rows/s`, (idle.functionPosts / idle.rows) * 1000, "POSTs");
  ctx.progress(`end to end: steady: p50 ${round(idle.latencyMs.p50)} ms, p99 ${round(idle.latencyMs.p99)} ms, ${idle.functionPosts} POSTs for ${idle.rows} rows`);
  ctx.details.endToEnd = results;
  return { oneStep: rates.oneStep!, threeStep: rates.threeStep!, steadyLatencyMs: idle.latencyMs };
}
