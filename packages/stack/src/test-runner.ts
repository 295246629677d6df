/**
 * `npm test`: every suite, against a throwaway stack with its own data folder and ports (never the `npm start` one).
 * Ends with `N passed, N failed` summed over the suites. Suites that report no count (type checks, lint, bundles)
 * count as one test each.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, existsSync } from "node:fs";
import { join } from "node:path";
import { availableProfile, profile, repoRoot } from "./config.ts";
import { logLine, pipeLines } from "./log.ts";
import { startStack, type RunningStack } from "./stack.ts";

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

interface Suite {
  name: string;
  needsStack: boolean;
  command: (ctx: SuiteContext) => string[];
  /** Reads counts from the output; default: one test that passed or failed by exit code. */
  parse?: (output: string, ctx: SuiteContext, success: boolean) => Counts;
}

interface SuiteContext {
  stack?: RunningStack;
  workDir: string;
}

const bin = (name: string) => join(repoRoot, "node_modules/.bin", name);

function functionEntries(): string[] {
  const dir = join(repoRoot, "supabase/functions");
  return readdirSync(dir)
    .filter((n) => !n.startsWith("_") && !n.startsWith(".") && existsSync(join(dir, n, "index.ts")))
    .map((n) => join("supabase/functions", n, "index.ts"));
}

function vitestCounts(file: string): (output: string, ctx: SuiteContext, success: boolean) => Counts {
  return (_output, ctx, success) => {
    const path = join(ctx.workDir, file);
    if (!existsSync(path)) return { passed: 0, failed: 1, skipped: 0 };
    const report = JSON.parse(readFileSync(path, "utf8"));
    const counts = {
      passed: report.numPassedTests,
      failed: report.numFailedTests,
      skipped: report.numPendingTests + (report.numTodoTests ?? 0),
    };
    // A suite that failed to load reports no failed test; count it so a red run never prints "0 failed".
    if (!success && counts.failed === 0) counts.failed = 1;
    return counts;
  };
}

function tapCounts(output: string, _ctx: SuiteContext, success: boolean): Counts {
  const passed = (output.match(/^\s*ok \d+/gm) ?? []).length;
  let failed = (output.match(/^\s*not ok \d+/gm) ?? []).length;
  // A file that died part-way ran fewer tests than it planned: the ones it never ran count as failed.
  for (const [, planned, ran] of output.matchAll(/You planned (\d+) tests? but ran (\d+)/g)) {
    failed += Math.max(0, Number(planned) - Number(ran));
  }
  return { passed, failed: failed === 0 && !success ? 1 : failed, skipped: 0 };
}

function denoTestCounts(output: string, _ctx: SuiteContext, success: boolean): Counts {
  const summary = /(ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed(?: \(\d+ steps?\))?(?: \| (\d+) ignored)?/.exec(output);
  if (!summary) return { passed: 0, failed: 1, skipped: 0 };
  const failed = Number(summary[3]);
  return { passed: Number(summary[2]), failed: failed === 0 && !success ? 1 : failed, skipped: Number(summary[4] ?? 0) };
}

const suites: Suite[] = [
  { name: "typecheck-node", needsStack: false, command: () => [bin("tsc"), "-p", "tsconfig.json", "--noEmit"] },
  {
    name: "typecheck-deno",
    needsStack: false,
    command: () => [bin("deno"), "check", "--quiet", ...functionEntries(), "packages/stack/src/cli.ts", ...["packages/engine/src/index.ts"].filter((f) => existsSync(join(repoRoot, f)))],
  },
  {
    name: "unit",
    needsStack: false,
    command: (ctx) => [bin("vitest"), "run", "--project", "unit", "--reporter=default", "--reporter=json", `--outputFile.json=${join(ctx.workDir, "unit.json")}`],
    parse: vitestCounts("unit.json"),
  },
  {
    name: "deno-test",
    needsStack: false,
    command: () => [bin("deno"), "test", "-A", "--quiet", ...["supabase/functions", "packages/engine/test/deno", "packages/stack/test/deno"].filter((d) => existsSync(join(repoRoot, d)))],
    parse: denoTestCounts,
  },
  {
    // Kills, a Postgres restart, a flaky target and lost kicks during a 5,000-event run, on a stack of its own.
    // It runs before the test stack starts, so the two never share ports.
    name: "faults",
    needsStack: false,
    command: () => [bin("deno"), "run", "-A", "packages/faults/src/faults.ts"],
    parse: (output, _ctx, success) => {
      const summary = [...output.matchAll(/^(\d+) passed, (\d+) failed$/gm)].at(-1);
      if (!summary) return { passed: 0, failed: 1, skipped: 0 };
      const failed = Number(summary[2]);
      return { passed: Number(summary[1]), failed: failed === 0 && !success ? 1 : failed, skipped: 0 };
    },
  },
  ...functionEntries().map((entry): Suite => ({
    name: `bundle ${entry.split("/")[2]}`,
    needsStack: false,
    command: (ctx) => [bin("deno"), "bundle", "--quiet", "--output", join(ctx.workDir, `${entry.split("/")[2]}.bundle.js`), entry],
  })),
  {
    name: "database",
    needsStack: true,
    command: (ctx) => ["pg_prove", "--verbose", "--ext", ".sql", "-r", "-d", ctx.stack!.dbUrl, "supabase/tests/database"],
    parse: tapCounts,
  },
  {
    name: "db-lint",
    needsStack: true,
    command: (ctx) => [bin("supabase"), "db", "lint", `--remote=${ctx.stack!.dbUrl}`, "--schema", "flows", "--fail-on", "error", "--workdir", repoRoot],
  },
  {
    // The committed types must match what the migrations produce.
    name: "types-drift",
    needsStack: true,
    command: (ctx) => [
      "sh",
      "-c",
      `"${bin("supabase")}" gen types --lang typescript --schema flows --remote='${ctx.stack!.dbUrl}?sslmode=disable' --workdir "${repoRoot}" > "${join(ctx.workDir, "database.types.ts")}" && cmp "${join(ctx.workDir, "database.types.ts")}" supabase/types/database.types.ts && echo "types match the migrations"`,
    ],
  },
  {
    name: "e2e",
    needsStack: true,
    command: (ctx) => [bin("vitest"), "run", "--project", "e2e", "--reporter=default", "--reporter=json", `--outputFile.json=${join(ctx.workDir, "e2e.json")}`],
    parse: vitestCounts("e2e.json"),
  },
];

async function runSuite(suite: Suite, ctx: SuiteContext): Promise<Counts> {
  const [cmd, ...args] = suite.command(ctx);
  const env: Record<string, string> = { FORCE_COLOR: "0", NO_COLOR: "1" };
  if (ctx.stack) {
    Object.assign(env, {
      FLOWS_TEST_DB_URL: ctx.stack.dbUrl,
      FLOWS_TEST_API_URL: ctx.stack.apiUrl,
      FLOWS_TEST_ANON_KEY: ctx.stack.anonKey,
      FLOWS_TEST_SERVICE_ROLE_KEY: ctx.stack.serviceRoleKey,
      FLOWS_TEST_JWT_SECRET: ctx.stack.jwtSecret,
      FLOWS_TEST_STATE_DIR: ctx.stack.profile.stateDir,
    });
  }
  const started = performance.now();
  const child = new Deno.Command(cmd, { args, cwd: repoRoot, env, stdout: "piped", stderr: "piped" }).spawn();
  const lines: string[] = [];
  const sink = (raw: string) => {
    // deno colours its output even with NO_COLOR in some paths; counts are parsed from plain text.
    const line = raw.replace(/\x1b\[[0-9;]*m/g, "");
    lines.push(line);
    logLine("test", `${suite.name}: ${line}`);
  };
  await Promise.all([pipeLines("test", child.stdout, sink), pipeLines("test", child.stderr, sink)]);
  const status = await child.status;
  const output = lines.join("\n");
  const counts = suite.parse
    ? suite.parse(output, ctx, status.success)
    : { passed: status.success ? 1 : 0, failed: status.success ? 0 : 1, skipped: 0 };
  logLine(
    "test",
    `${suite.name}: ${status.success ? "ok" : "FAILED"} — ${counts.passed} passed, ${counts.failed} failed (${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
  return counts;
}

/** Runs the suites (all, or those named in `only`); returns the process exit code. */
export async function runAllSuites(only: string[]): Promise<number> {
  const usualDir = profile("test").stateDir;
  rmSync(usualDir, { recursive: true, force: true });
  const workDir = join(usualDir, "reports");
  mkdirSync(workDir, { recursive: true });
  const selected = suites.filter((s) => only.length === 0 || only.some((o) => s.name.startsWith(o)));
  const results: [string, Counts][] = [];
  const ctx: SuiteContext = { workDir };
  for (const suite of selected.filter((s) => !s.needsStack)) results.push([suite.name, await runSuite(suite, ctx)]);
  const stackSuites = selected.filter((s) => s.needsStack);
  if (stackSuites.length > 0) {
    let stack: RunningStack | undefined;
    try {
      // Ports are picked only now: the suites before may have run for minutes.
      const { profile: testProfile, moved } = availableProfile("test");
      if (moved) logLine("test", moved);
      if (testProfile.stateDir !== usualDir) rmSync(testProfile.stateDir, { recursive: true, force: true });
      // Test targets listen on loopback; a short lease lets the kill tests see an expired lease within seconds.
      stack = await startStack(testProfile, {
        fast: true,
        functionsEnv: { FLOWS_ALLOW_PRIVATE_NETWORKS: "true", FLOWS_LEASE_MS: "3000" },
      });
      ctx.stack = stack;
      for (const suite of stackSuites) results.push([suite.name, await runSuite(suite, ctx)]);
    } catch (error) {
      logLine("test", `the test stack failed: ${(error as Error).message}`);
      results.push(["stack", { passed: 0, failed: 1, skipped: 0 }]);
    } finally {
      await stack?.stop();
    }
  }
  const total = results.reduce((t, [, c]) => ({ passed: t.passed + c.passed, failed: t.failed + c.failed, skipped: t.skipped + c.skipped }), {
    passed: 0,
    failed: 0,
    skipped: 0,
  });
  console.log("");
  for (const [name, c] of results) console.log(`${c.failed ? "FAIL" : "ok  "}  ${name.padEnd(28)} ${c.passed} passed, ${c.failed} failed`);
  console.log(`${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ""}`);
  return total.failed === 0 ? 0 : 1;
}
