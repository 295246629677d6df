/**
 * Scale-out: a backlog built while no invocation drains (kicks point nowhere), then drained by 1, 2 and 4
 * flow-engine processes started at the same moment; executions/s each, and no duplicate executions or step runs.
 */
import {
  type BenchContext,
  connect,
  createBenchTable,
  engineUrl,
  type EngineInstance,
  publishFlow,
  setEngineUrl,
  settle,
  startEngineInstance,
  UNREACHABLE_ENGINE_URL,
  waitForDrained,
  waitForDrainsToStop,
  waitForIdle,
} from "../fixtures.ts";
import { processMemory } from "../machine.ts";

async function duplicates(ctx: BenchContext) {
  const [row] = await ctx.sql`
    select
      (select count(*) from (select 1 from flows.executions where event_id is not null
                              group by event_id, version_id having count(*) > 1) d)::int as executions,
      (select count(*) from (select 1 from flows.execution_steps where status = 'completed'
                              group by execution_id, step_id having count(*) > 1) d)::int as steps`;
  return { executions: row!.executions as number, completedSteps: row!.steps as number };
}

/** Runs the scale-out phase and records its figures. */
export async function runScaleOut(ctx: BenchContext, functionsEnv: Record<string, string>): Promise<void> {
  const { sql, stack, options } = ctx;
  const table = await createBenchTable(sql, "bench_scale");
  const { flowId } = await publishFlow(sql, "bench-scale", {
    trigger: { type: "row_change", table, events: ["INSERT"] },
    steps: [{ id: "note", type: "log", config: { message: "row {{row.id}} drained" } }],
  });
  const most = Math.max(...options.scaleDrains);
  ctx.progress(`scale-out: starting ${most} flow-engine processes`);
  const instances: EngineInstance[] = [];
  const results: Record<string, unknown>[] = [];
  try {
    for (let index = 0; index < most; index++) instances.push(await startEngineInstance(ctx, index + 1, functionsEnv));
    for (const drains of options.scaleDrains) {
      const batch = 100 * drains;
      await setEngineUrl(sql, UNREACHABLE_ENGINE_URL);
      await waitForIdle(sql);
      await waitForDrainsToStop(sql);
      await settle(sql);
      const writer = connect(stack.dbUrl, 1);
      try {
        for (let done = 0; done < options.scaleRows; done += 1_000) {
          const n = Math.min(1_000, options.scaleRows - done);
          await writer.unsafe(`insert into ${table} (kind, amount, payload, batch_no) select 'go', g, md5(g::text), ${batch} from generate_series(1, ${n}) g`);
        }
      } finally {
        await writer.end();
      }
      const [waiting] = await sql`select count(*)::int as n from flows.events where source_table = 'bench_scale' and processed_at is null`;
      if (waiting!.n !== options.scaleRows) throw new Error(`scale-out: expected a backlog of ${options.scaleRows} events, found ${waiting!.n}`);
      ctx.progress(`scale-out: ${drains} drain(s) on a backlog of ${options.scaleRows.toLocaleString("en-US")} events`);

      const started = Date.now();
      const responses = await Promise.all(instances.slice(0, drains).map((instance) =>
        fetch(instance.drainUrl, {
          method: "POST",
          headers: { authorization: `Bearer ${stack.serviceRoleKey}`, "content-type": "application/json" },
          body: JSON.stringify({ reason: "bench" }),
        }).then(async (response) => {
          await response.body?.cancel();
          return response.status;
        })
      ));
      if (responses.some((status) => status !== 202)) throw new Error(`scale-out: drain requests answered ${responses.join(", ")}`);
      const terminal = async () => {
        const [row] = await sql`
          select count(*)::int as n, extract(epoch from max(x.finished_at)) * 1000 as last_ms
            from flows.executions x join flows.events e on e.event_id = x.event_id
           where x.flow_id = ${flowId} and x.status in ('completed', 'failed', 'cancelled')
             and (e.new_row ->> 'batch_no')::int = ${batch}`;
        return row!.n >= options.scaleRows ? Number(row!.last_ms) : undefined;
      };
      const lastFinished = await waitForDrained(sql, `${options.scaleRows} executions drained by ${drains}`, terminal, Math.max(180_000, options.scaleRows * 20));
      const seconds = (lastFinished - started) / 1000;
      const claims = await sql`
        select claimed_by, count(*)::int as events from flows.events
         where source_table = 'bench_scale' and (new_row ->> 'batch_no')::int = ${batch} group by 1 order by 1`;
      const result = {
        drains,
        events: options.scaleRows,
        seconds,
        executionsPerSecond: options.scaleRows / seconds,
        eventsClaimedPerProcess: claims.map((c) => c.events as number),
      };
      results.push(result);
      ctx.figures.add("scale-out", `${drains} concurrent drain(s): executions/s`, result.executionsPerSecond, "executions/s");
      ctx.progress(`scale-out: ${drains} drain(s): ${Math.round(result.executionsPerSecond)} executions/s; events claimed per process ${result.eventsClaimedPerProcess.join("/")}`);
    }
    const found = await duplicates(ctx);
    ctx.figures.add("scale-out", "duplicate executions (event × version), whole run", found.executions, "executions", { target: "= 0", met: (v) => v === 0 });
    ctx.figures.add("scale-out", "duplicate completed step runs (execution × step), whole run", found.completedSteps, "step runs", { target: "= 0", met: (v) => v === 0 });
    const memory = instances.map((instance) => processMemory(instance.pid));
    ctx.details.scaleOut = { rounds: results, duplicates: found, instanceMemory: memory };
    const peak = Math.max(...memory.map((m) => m?.peakRssMiB ?? 0));
    ctx.figures.add("memory", "peak RSS of a scale-out flow-engine process", peak, "MiB", { target: "< 150", met: (v) => v < 150 });
  } finally {
    await Promise.all(instances.map((instance) => instance.stop()));
    await setEngineUrl(sql, engineUrl(stack));
  }
}
