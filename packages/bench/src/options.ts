/** Command-line flags of the benchmark program, with the defaults the published figures use. */

/** The phases, in the order they run. */
export const PHASES = ["write", "e2e", "kicks", "statements", "peer", "scale"] as const;
/** One phase of the benchmark. */
export type Phase = (typeof PHASES)[number];

/** What one run measures and how much. */
export interface BenchOptions {
  /** `--quick`: smaller volumes, for iterating on the runtime. */
  quick: boolean;
  /** Rows per table variant in the write-path phase (single-row and bulk each). */
  rows: number;
  /** Rows of a bulk statement in the write-path phase. */
  bulkStatementRows: number;
  /** Matching rows inserted at full speed per flow in the end-to-end phase. */
  e2eRows: number;
  /** Rows per insert statement in the end-to-end phase. */
  e2eStatementRows: number;
  /** Duration and rate of the steady (idle latency) part of the end-to-end phase. */
  steadySeconds: number;
  steadyRate: number;
  /** Backlog drained by each scale-out round, and the drain counts tried. */
  scaleRows: number;
  scaleDrains: number[];
  /** Single-row inserts of the kick-coalescing measurement. */
  kickRows: number;
  /** No-op jobs per graphile-worker burst in the peer phase (the end-to-end burst size unless set). */
  peerJobs: number;
  /** Phases to run (`--only=write,e2e`); all by default. */
  phases: Phase[];
  /** Keep the bench stack's data folder after the run (for inspection). */
  keepData: boolean;
}

const usage = `usage: deno run -A packages/bench/src/bench.ts [--quick] [--rows N] [--e2e-rows N] [--steady-seconds S]
       [--steady-rate R] [--scale-rows N] [--kick-rows N] [--peer-jobs N] [--only write,e2e,kicks,statements,peer,scale]
       [--keep-data]`;

function positiveInteger(flag: string, raw: string | undefined): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${flag}: expected a positive integer, got ${raw ?? "nothing"}\n${usage}`);
  return value;
}

/** Parses `args` (`--flag value` or `--flag=value`). */
export function parseOptions(args: string[]): BenchOptions {
  const flags = new Map<string, string | undefined>();
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (arg === "--help" || arg === "-h") {
      console.log(usage);
      Deno.exit(0);
    }
    if (!arg.startsWith("--")) throw new Error(`unexpected argument ${arg}\n${usage}`);
    const [name, inline] = arg.slice(2).split("=", 2) as [string, string | undefined];
    const boolean = name === "quick" || name === "keep-data";
    const value = boolean ? "true" : inline ?? args[++index];
    flags.set(name, value);
  }
  const known = new Set(["quick", "rows", "e2e-rows", "steady-seconds", "steady-rate", "scale-rows", "kick-rows", "peer-jobs", "only", "keep-data"]);
  for (const name of flags.keys()) if (!known.has(name)) throw new Error(`unknown flag --${name}\n${usage}`);

  const quick = flags.has("quick");
  const int = (name: string, fallback: number) => (flags.has(name) ? positiveInteger(`--${name}`, flags.get(name)) : fallback);
  const only = flags.get("only");
  const phases = only ? only.split(",").map((p) => p.trim()) : [...PHASES];
  for (const phase of phases) {
    if (!(PHASES as readonly string[]).includes(phase)) throw new Error(`--only: unknown phase ${phase} (use ${PHASES.join(", ")})`);
  }
  const rows = int("rows", quick ? 10_000 : 100_000);
  const e2eRows = int("e2e-rows", quick ? 2_000 : 10_000);
  return {
    quick,
    rows,
    bulkStatementRows: Math.min(10_000, rows),
    e2eRows,
    e2eStatementRows: 1_000,
    steadySeconds: int("steady-seconds", quick ? 10 : 30),
    steadyRate: int("steady-rate", 100),
    scaleRows: int("scale-rows", quick ? 2_000 : 10_000),
    scaleDrains: [1, 2, 4],
    kickRows: int("kick-rows", 1_000),
    // As many jobs as our bursts have rows: a burst's fixed costs weigh the same on both sides.
    peerJobs: int("peer-jobs", e2eRows),
    phases: phases as Phase[],
    keepData: flags.has("keep-data"),
  };
}
