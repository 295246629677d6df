/**
 * Where the drain's time goes: every statement the flow-engine sends while it runs a small batch of each flow is
 * logged by Postgres (`log_statement = all`, for this phase only) and counted per kind and per execution; and the
 * plans of the two claim queries are captured at the executions table's size by then.
 */
import { readFileSync } from "node:fs";
import { type BenchContext, connect, engineUrl, setEngineUrl, settle, waitFor, waitForIdle } from "../fixtures.ts";
import type { EndToEndFixture } from "./end-to-end.ts";

// The store's statements, recognised by how they begin (packages/runtime/src/postgres/store.ts).
const kinds: [string, RegExp][] = [
  ["heartbeat (mark_draining)", /^select flows\.mark_draining/],
  ["stopDraining (clear_draining)", /^select flows\.clear_draining/],
  ["stopDraining (try advisory lock)", /pg_try_advisory_xact_lock/],
  ["claimEvents", /^update flows\.events e\s+set claimed_at/],
  ["listeningVersions", /^select v\.version_id/],
  ["recordMatches: insert executions", /^insert into flows\.executions/],
  ["recordMatches: mark events processed", /^update flows\.events set processed_at/],
  ["claimExecutions", /^with candidates|flows\.claim_executions\(/],
  ["cancelRequested (batch check)", /^select execution_id from flows\.executions where execution_id = any/],
  ["loadCheckpoint", /^select step_attempt_id/],
  ["startAttempt (insert execution_steps)", /^insert into flows\.execution_steps/],
  ["finishAttempt (update execution_steps)", /^update flows\.execution_steps/],
  ["isCancelRequested", /^select cancel_requested_at/],
  ["saveOutcome (update executions)", /^update flows\.executions\s+set status/],
  ["recordEngineWrites (batched attempts and outcomes)", /flows\.record_engine_writes\(/],
  ["renewLeases", /^update flows\.executions (x )?set lease_expires_at/],
  ["nextResumeAt", /^select min\(resume_at\)/],
  ["maxCausationDepth", /^select max_causation_depth/],
  ["secrets (vault)", /vault\.decrypted_secrets/],
  ["waitForSkippedWriters", /pg_advisory_xact_lock\(|set local lock_timeout/],
  ["begin / commit", /^(begin|commit|rollback)\b/i],
];

/**
 * Statements the flow-engine sent between two markers in the bench log, by kind. Recognised by their text (the
 * stack fixes log_line_prefix on the command line, so the application name cannot be logged); statements of other
 * clients (this program, the pg_net stand-in, pg_cron) match no kind and are returned apart.
 */
function countStatements(logFile: string, startMarker: string, endMarker: string) {
  // The stack colours its prefixes on a terminal; the escape codes are not part of the statements.
  const text = readFileSync(logFile, "utf8").replaceAll(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g"), "");
  const entries: { sql: string }[] = [];
  let current: { sql: string } | null = null;
  for (const raw of text.split("\n")) {
    const match = /^postgres\s*\| (.*)$/.exec(raw);
    if (!match) continue;
    const line = match[1]!;
    const head = /^\d{4}-\d\d-\d\d [\d:.]+ \S+ \[\d+\] (\w+):\s+(.*)$/.exec(line);
    if (head) {
      current = { sql: "" };
      // "statement: ..." (simple protocol) or "execute <unnamed>: ..." (extended protocol); DETAIL lines are skipped.
      const statement = /^(?:statement|execute [^:]*):\s*(.*)$/.exec(head[2]!);
      if (head[1] === "LOG" && statement) {
        current.sql = statement[1]!;
        entries.push(current);
      } else current = null;
    } else if (current) {
      current.sql += " " + line.trim();
    }
  }
  const start = entries.findIndex((e) => e.sql.includes(startMarker));
  const end = entries.findIndex((e) => e.sql.includes(endMarker));
  const counts: Record<string, number> = {};
  const others: Record<string, number> = {};
  for (const entry of entries.slice(start + 1, end < 0 ? undefined : end)) {
    const sql = entry.sql.trim().replace(/\s+/g, " ");
    const kind = kinds.find(([, pattern]) => pattern.test(sql))?.[0];
    if (kind) counts[kind] = (counts[kind] ?? 0) + 1;
    else others[sql.slice(0, 60)] = (others[sql.slice(0, 60)] ?? 0) + 1;
  }
  return { counts, others };
}

async function explain(ctx: BenchContext, query: string): Promise<{ plan: string[]; executionMs: number | null }> {
  const rows = await ctx.sql.unsafe(`explain (analyze, buffers) ${query}`);
  const plan = rows.map((r) => String(r["QUERY PLAN"]));
  const time = plan.map((l) => /Execution Time: ([\d.]+) ms/.exec(l)?.[1]).find(Boolean);
  return { plan, executionMs: time ? Number(time) : null };
}

/** Runs the statement-count phase and records its figures. */
export async function runStatementProfile(ctx: BenchContext, fixture: EndToEndFixture, logFile: string): Promise<void> {
  const { sql, stack } = ctx;
  const rows = ctx.options.quick ? 100 : 300;
  await setEngineUrl(sql, engineUrl(stack));
  await waitForIdle(sql);
  await settle(sql);
  await sql.unsafe(`alter system set log_statement = 'all'`);
  await sql`select pg_reload_conf()`;
  await new Promise((r) => setTimeout(r, 500));
  const results: Record<string, unknown> = {};
  try {
    for (const [label, flow] of [["1-step flow (log)", fixture.logFlow], ["3-step flow (http, transform, http)", fixture.httpFlow]] as const) {
      const marker = `bench-profile-${crypto.randomUUID().slice(0, 8)}`;
      const writer = connect(stack.dbUrl, 1);
      try {
        await writer.unsafe(`select '${marker}-start'`);
        await writer.unsafe(`insert into ${flow.table} (kind, amount, payload, batch_no) select 'go', g, md5(g::text), 5000000 from generate_series(1, ${rows}) g`);
      } finally {
        await writer.end();
      }
      await waitFor(`${rows} profiled executions`, async () => {
        const [row] = await sql`
          select count(*)::int as n from flows.executions x join flows.events e on e.event_id = x.event_id
           where x.flow_id = ${flow.flowId} and x.status = 'completed' and (e.new_row ->> 'batch_no')::int = 5000000`;
        return row!.n >= rows;
      }, 120_000, 100);
      await waitForIdle(sql);
      await sql.unsafe(`select '${marker}-end'`);
      await new Promise((r) => setTimeout(r, 1_000)); // the stack forwards Postgres's log lines asynchronously
      const { counts, others } = countStatements(logFile, `${marker}-start`, `${marker}-end`);
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      const perExecution = Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Number((v / rows).toFixed(2))]));
      results[label] = { executions: rows, statements: total, perExecution, otherClientsStatements: others };
      ctx.figures.add("where the time goes", `${label}: statements the function sends per execution`, total / rows, "statements");
      ctx.progress(`statements: ${label}: ${(total / rows).toFixed(1)} per execution (${Object.entries(perExecution).slice(0, 4).map(([k, v]) => `${k} ${v}`).join(", ")}, ...)`);
    }
  } finally {
    await sql.unsafe(`alter system reset log_statement`);
    await sql`select pg_reload_conf()`;
  }

  const [{ n: executionRows }] = await sql`select count(*)::int as n from flows.executions`;
  const claimExecutions = await explain(ctx, `
    select execution_id from flows.executions
     where status = 'pending' or (status = 'waiting' and resume_at <= now()) or (status = 'running' and lease_expires_at < now())
     order by coalesce(resume_at, created_at) limit 16`);
  const claimEvents = await explain(ctx, `
    select event_id from flows.events
     where processed_at is null and (claimed_at is null or claimed_at < now() - interval '60 seconds')
     order by event_id limit 200`);
  ctx.figures.add("where the time goes", `claimExecutions candidate scan with ${executionRows.toLocaleString("en-US")} executions stored, none runnable`, claimExecutions.executionMs, "ms");
  ctx.figures.add("where the time goes", "claimEvents candidate scan, none unprocessed", claimEvents.executionMs, "ms");
  ctx.details.statements = { perFlow: results, executionRows, plans: { claimExecutions, claimEvents } };
}
