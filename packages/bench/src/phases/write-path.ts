/**
 * Write-path overhead: the same inserts into an unwatched table, a watched table (capture on, draining paused),
 * a watched table while the engine drains, and a table with a Supabase-database-webhook-style row trigger.
 * Variants run in interleaved chunks, in a rotating order, so drift on a shared machine touches all of them alike.
 */
import type postgres from "postgres";
import {
  type BenchContext,
  connect,
  createBenchTable,
  engineUrl,
  publishFlow,
  setEngineUrl,
  settle,
  UNREACHABLE_ENGINE_URL,
  waitForIdle,
} from "../fixtures.ts";

type VariantName = "unwatched" | "watched" | "watched, engine draining" | "watched, no row wanted" | "webhook-style trigger";

interface Variant {
  name: VariantName;
  table: string;
  /** Untimed: before a chunk. */
  prepare(): Promise<void>;
  /** Untimed: after a chunk; returns what the chunk left behind (events or queued requests). */
  cleanup(chunkRows: number): Promise<void>;
}

type Mode = "single-row, 1 client" | "single-row, 4 clients" | "bulk statements";

/** A webhook as Supabase's dashboard creates it: a row trigger calling net.http_post and recording the request. */
async function installWebhookTrigger(sql: postgres.Sql, table: string): Promise<void> {
  await sql.unsafe(`
    create schema if not exists bench;
    create table bench.hooks (
      hook_id bigint generated always as identity primary key,
      hook_table_id oid not null,
      hook_name text not null,
      request_id bigint,
      created_at timestamptz not null default now()
    );
    -- Modelled on supabase_functions.http_request(): build the payload, queue one request per row, record it.
    create function bench.http_request() returns trigger
    language plpgsql volatile security definer set search_path = ''
    as $$
    declare
      v_request_id bigint;
    begin
      v_request_id := net.http_post(
        url := tg_argv[0],
        body := pg_catalog.jsonb_build_object('type', tg_op, 'table', tg_table_name, 'schema', tg_table_schema,
                                              'record', pg_catalog.to_jsonb(new), 'old_record', null),
        headers := '{"Content-Type": "application/json"}'::jsonb,
        timeout_milliseconds := 1000);
      insert into bench.hooks (hook_table_id, hook_name, request_id) values (tg_relid, tg_name, v_request_id);
      return new;
    end
    $$;
    create trigger bench_webhook after insert on ${table}
      for each row execute function bench.http_request('http://127.0.0.1:9/webhook');`);
}

async function insertSingleRows(url: string, table: string, rows: number, clients: number): Promise<number> {
  const sql = connect(url, clients);
  try {
    await sql`select 1`;
    const perClient = Math.ceil(rows / clients);
    const started = performance.now();
    await Promise.all(Array.from({ length: clients }, async (_, client) => {
      const count = Math.min(perClient, rows - client * perClient);
      for (let index = 0; index < count; index++) {
        await sql`insert into ${sql(table.split(".")[0]!)}.${sql(table.split(".")[1]!)} (kind, amount, payload)
                  values ('row', ${index}, md5(${index}::text))`;
      }
    }));
    return (performance.now() - started) / 1000;
  } finally {
    await sql.end();
  }
}

async function insertBulk(url: string, table: string, rows: number, statementRows: number): Promise<number> {
  const sql = connect(url, 1);
  try {
    await sql`select 1`;
    const started = performance.now();
    for (let done = 0; done < rows; done += statementRows) {
      const n = Math.min(statementRows, rows - done);
      await sql.unsafe(`insert into ${table} (kind, amount, payload) select 'row', g, md5(g::text) from generate_series(1, ${n}) g`);
    }
    return (performance.now() - started) / 1000;
  } finally {
    await sql.end();
  }
}

/** Runs the write-path phase and records its figures. */
export async function runWritePath(ctx: BenchContext): Promise<void> {
  const { sql, stack, options } = ctx;
  const unwatched = await createBenchTable(sql, "bench_unwatched");
  const watched = await createBenchTable(sql, "bench_watched");
  const live = await createBenchTable(sql, "bench_watched_live");
  const unwanted = await createBenchTable(sql, "bench_watched_unwanted");
  const webhook = await createBenchTable(sql, "bench_webhook");
  // Watched, every row captured, yet no execution: a rule capture cannot translate (a regular expression), so every
  // row is captured and the engine's evaluation of the rule rejects it. Only capture (and, when draining, claiming) costs.
  const untranslatable = { field: "kind", op: "matches", value: "^never$" };
  await publishFlow(sql, "bench-watched", { trigger: { type: "row_change", table: watched, events: ["INSERT"] }, when: untranslatable, steps: [{ id: "log", type: "log", config: { message: "never" } }] });
  await publishFlow(sql, "bench-watched-live", { trigger: { type: "row_change", table: live, events: ["INSERT"] }, when: untranslatable, steps: [{ id: "log", type: "log", config: { message: "never" } }] });
  // Watched by a flow whose rule capture translates and no row meets: rows are filtered in the writer's statement.
  await publishFlow(sql, "bench-watched-unwanted", { trigger: { type: "row_change", table: unwanted, events: ["INSERT"] }, when: { field: "kind", op: "eq", value: "never" }, steps: [{ id: "log", type: "log", config: { message: "never" } }] });
  await installWebhookTrigger(sql, webhook);

  const paused = async () => {
    await setEngineUrl(sql, UNREACHABLE_ENGINE_URL);
    await waitForIdle(sql);
  };
  const countEvents = async (table: string) => {
    const [row] = await sql`select count(*)::int as n from flows.events where source_table = ${table.split(".")[1]!}`;
    return row!.n as number;
  };
  const captured: Record<string, { expected: number; written: number }> = {};
  const noteCaptured = (name: string, expected: number, written: number) => {
    const entry = (captured[name] ??= { expected: 0, written: 0 });
    entry.expected += expected;
    entry.written += written;
  };

  const variants: Variant[] = [
    { name: "unwatched", table: unwatched, prepare: paused, cleanup: async () => {} },
    {
      name: "watched",
      table: watched,
      prepare: paused,
      async cleanup(chunkRows) {
        noteCaptured("watched", chunkRows, await countEvents(watched));
        // The events are left unprocessed on purpose (no drain); remove them so later chunks start alike.
        await sql`delete from flows.events where source_table = 'bench_watched'`;
        await settle(sql);
      },
    },
    {
      name: "watched, engine draining",
      table: live,
      async prepare() {
        await setEngineUrl(sql, engineUrl(stack));
        await waitForIdle(sql);
      },
      async cleanup(chunkRows) {
        // The drain finishes what the chunk left (untimed), so the next chunk starts idle.
        await waitForIdle(sql);
        noteCaptured("watched, engine draining", chunkRows, await countEvents(live));
        await sql`delete from flows.events where source_table = 'bench_watched_live'`;
        await settle(sql);
      },
    },
    {
      name: "watched, no row wanted",
      table: unwanted,
      prepare: paused,
      async cleanup() {
        noteCaptured("watched, no row wanted", 0, await countEvents(unwanted));
      },
    },
    {
      name: "webhook-style trigger",
      table: webhook,
      prepare: paused,
      async cleanup() {
        // pg_net would deliver these after the writer committed; the writer's cost is what is measured here.
        await sql`delete from net.http_request_queue`;
        await waitForIdle(sql);
        await settle(sql);
      },
    },
  ];

  const modes: { mode: Mode; rounds: number; run: (table: string, rows: number) => Promise<number> }[] = [
    { mode: "single-row, 1 client", rounds: options.quick ? 4 : 10, run: (t, n) => insertSingleRows(stack.dbUrl, t, n, 1) },
    { mode: "single-row, 4 clients", rounds: options.quick ? 4 : 10, run: (t, n) => insertSingleRows(stack.dbUrl, t, n, 4) },
    {
      mode: "bulk statements",
      rounds: Math.max(2, Math.ceil(options.rows / options.bulkStatementRows)),
      run: (t, n) => insertBulk(stack.dbUrl, t, n, options.bulkStatementRows),
    },
  ];

  const results: Record<string, Record<string, { rows: number; seconds: number; rowsPerSecond: number; ratio: number }>> = {};
  for (const { mode, rounds, run } of modes) {
    const chunk = mode === "bulk statements" ? options.bulkStatementRows : Math.ceil(options.rows / rounds);
    const totals = new Map<VariantName, { rows: number; seconds: number }>();
    for (let round = 0; round < rounds; round++) {
      const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
      for (const variant of order) {
        const t0 = performance.now();
        await variant.prepare();
        const t1 = performance.now();
        const seconds = await run(variant.table, chunk);
        const t2 = performance.now();
        await variant.cleanup(chunk);
        ctx.log(`bench | write path: ${mode}: ${variant.name}: prepare ${Math.round(t1 - t0)} ms, insert ${Math.round(t2 - t1)} ms, cleanup ${Math.round(performance.now() - t2)} ms`);
        const total = totals.get(variant.name) ?? { rows: 0, seconds: 0 };
        total.rows += chunk;
        total.seconds += seconds;
        totals.set(variant.name, total);
      }
      ctx.progress(`write path: ${mode}: round ${round + 1}/${rounds} (${chunk.toLocaleString("en-US")} rows per variant)`);
    }
    const base = totals.get("unwatched")!;
    const perRowBase = base.seconds / base.rows;
    results[mode] = {};
    for (const [name, total] of totals) {
      const ratio = total.seconds / total.rows / perRowBase;
      results[mode][name] = { rows: total.rows, seconds: total.seconds, rowsPerSecond: total.rows / total.seconds, ratio };
      const section = `write path (${mode})`;
      ctx.figures.add(section, `${name}: rows/s`, total.rows / total.seconds, "rows/s");
      if (name === "unwatched") continue;
      const limit = mode === "bulk statements" ? 1.5 : 1.3;
      const check = name.startsWith("watched")
        ? { target: `<= ${limit}`, met: (v: number) => v <= limit }
        : undefined;
      ctx.figures.add(section, `${name}: time per row vs unwatched`, ratio, "×", check);
    }
  }
  await setEngineUrl(sql, engineUrl(stack));
  ctx.details.writePath = { rowsPerVariantAndMode: options.rows, bulkStatementRows: options.bulkStatementRows, results, captured };
  for (const [name, c] of Object.entries(captured)) {
    if (c.written !== c.expected) throw new Error(`write path: ${name} captured ${c.written} events for ${c.expected} rows`);
  }
}
