/**
 * Settings of one local stack. `npm start` and `npm test` use two profiles with their own data folder and ports,
 * so a test run never touches a running development stack.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Absolute path of the repository root. */
export const repoRoot: string = fileURLToPath(new URL("../../../", import.meta.url));

/** The JWT secret of the local stack (the Supabase CLI's well-known local default; never used in production). */
export const localJwtSecret = "super-secret-jwt-token-with-at-least-32-characters-long";

/** Everything one running stack needs to know about itself. */
export interface StackProfile {
  /** Short name, used in folder names and log prefixes. */
  name: "dev" | "test" | "bench";
  /** Folder holding the Postgres cluster and sockets (gitignored). */
  stateDir: string;
  /** Postgres TCP port on 127.0.0.1. */
  dbPort: number;
  /** Port of the API gateway that serves `/functions/v1/<name>`. */
  apiPort: number;
  /** Port of the demo's Bitrix-like CRM and notification receiver. */
  demoPort: number;
}

/**
 * The named profiles. `FLOWS_PORT_BASE` moves the test and bench profiles to other ports and folders, so that two
 * test runs on one machine (two work trees, say) do not collide.
 */
export function profile(name: StackProfile["name"]): StackProfile {
  const portBase = Number(Deno.env.get("FLOWS_PORT_BASE") ?? "");
  if (name !== "dev" && portBase > 0) return profileAt(name, portBase);
  const base = join(repoRoot, ".stack", name);
  switch (name) {
    case "dev":
      return { name, stateDir: base, dbPort: 54322, apiPort: 54321, demoPort: 54325 };
    case "test":
      return { name, stateDir: base, dbPort: 54332, apiPort: 54331, demoPort: 54335 };
    case "bench":
      return { name, stateDir: base, dbPort: 54342, apiPort: 54341, demoPort: 54345 };
  }
}

function profileAt(name: StackProfile["name"], portBase: number): StackProfile {
  const stateDir = join(repoRoot, ".stack", `${name}-${portBase}`);
  return { name, stateDir, dbPort: portBase + 2, apiPort: portBase + 1, demoPort: portBase + 5 };
}

/** Where `availableProfile` looks for free ports when the usual ones are taken: bases 54400, 54410, … 59990. */
const FALLBACK_BASES = { first: 54_400, last: 59_990, step: 10 };

/**
 * The profile for a throwaway stack (`npm test`, the fault suite). Without `FLOWS_PORT_BASE` it takes the usual
 * ports (the profile's own, or those of `preferredBase`) when they are free, and otherwise the first base whose ports
 * are all free, so something else listening on this machine (another checkout's test run, a local Postgres) never
 * fails the run; `moved` then says so. With `FLOWS_PORT_BASE` the ports are taken as given, and a busy one fails the
 * start with a message naming it.
 */
export function availableProfile(name: "test" | "bench", preferredBase?: number): { profile: StackProfile; moved?: string } {
  if (Number(Deno.env.get("FLOWS_PORT_BASE") ?? "") > 0) return { profile: profile(name) };
  const usual = preferredBase ? profileAt(name, preferredBase) : profile(name);
  if (portsFree(usual)) return { profile: usual };
  for (let base = FALLBACK_BASES.first; base <= FALLBACK_BASES.last; base += FALLBACK_BASES.step) {
    const candidate = profileAt(name, base);
    if (portsFree(candidate)) {
      const busy = [usual.apiPort, usual.dbPort, usual.demoPort].filter((port) => !portFree(port));
      return { profile: candidate, moved: `port ${busy.join(", ")} in use; using ${candidate.apiPort}-${candidate.demoPort} instead` };
    }
  }
  return { profile: usual };
}

function portsFree(p: StackProfile): boolean {
  return portFree(p.apiPort) && portFree(p.dbPort) && portFree(p.demoPort);
}

function portFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

/** Connection string of the profile's database as the `postgres` role. */
export function dbUrl(p: StackProfile): string {
  return `postgresql://postgres:postgres@127.0.0.1:${p.dbPort}/postgres`;
}

/** Base URL of the profile's API gateway, as `SUPABASE_URL`. */
export function apiUrl(p: StackProfile): string {
  return `http://127.0.0.1:${p.apiPort}`;
}

/**
 * Memory limit of one Edge Function isolate on the platform: 256 MB
 * (https://supabase.com/docs/guides/functions/limits). The Edge Runtime creates each function's isolate with it as
 * V8's heap limit, and V8 derives its collector's sizes from that limit: a young generation of at most 16 MiB
 * instead of 32, and an old generation collected as soon as it grows by about a third. The local gateway runs with
 * the same limit, so that its memory and CPU figures are those of the platform's isolate, not those of V8's defaults
 * for the machine's physical memory.
 */
export const functionMemoryLimitMb = 256;

/**
 * `deno run` arguments of a functions gateway process. `FLOWS_FUNCTIONS_V8_FLAGS` (comma-separated, e.g.
 * `--prof,--logfile=/tmp/v8.log`) adds V8 flags, for profiling.
 */
export function gatewayArgs(): string[] {
  const extra = (Deno.env.get("FLOWS_FUNCTIONS_V8_FLAGS") ?? "").split(",").map((flag) => flag.trim()).filter(Boolean);
  const v8Flags = [`--max-heap-size=${functionMemoryLimitMb}`, ...extra].join(",");
  return ["run", "-A", "--quiet", `--v8-flags=${v8Flags}`, join(repoRoot, "packages/stack/src/functions/gateway.ts")];
}
