/**
 * The local PostgreSQL 15 cluster: created as the `postgres` OS user, run in the foreground with pg_cron preloaded,
 * bootstrapped with what hosted Supabase already has, and migrated with the real Supabase CLI.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { dbUrl, repoRoot, type StackProfile } from "./config.ts";
import { logLine, pipeLines } from "./log.ts";

const binDir = Deno.env.get("PG_BINDIR") ?? "/usr/lib/postgresql/15/bin";
const isRoot = Deno.uid() === 0;

function asPostgresUser(command: string, args: string[]): [string, string[]] {
  // initdb and postgres refuse to run as root; setpriv execs in place, so signals reach postgres itself.
  // setsid keeps Ctrl-C in the terminal from reaching postgres directly: the stack stops it in order.
  return isRoot
    ? ["setsid", ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", command, ...args]]
    : ["setsid", [command, ...args]];
}

async function run(command: string, args: string[], part = "postgres"): Promise<void> {
  const [cmd, argv] = asPostgresUser(command, args);
  const child = new Deno.Command(cmd, { args: argv, stdout: "piped", stderr: "piped" }).spawn();
  const output: string[] = [];
  await Promise.all([pipeLines(part, child.stdout, (l) => output.push(l)), pipeLines(part, child.stderr, (l) => output.push(l))]);
  const status = await child.status;
  if (!status.success) {
    throw new Error(`${command} ${args.join(" ")} failed (exit ${status.code}):\n${output.join("\n")}`);
  }
}

function ownByPostgres(path: string): void {
  if (isRoot) new Deno.Command("chown", { args: ["-R", "postgres:postgres", path] }).outputSync();
}

/** Paths of a profile's cluster. */
export function clusterPaths(p: StackProfile) {
  return { data: join(p.stateDir, "data"), sockets: join(p.stateDir, "run"), log: join(p.stateDir, "postgres.log") };
}

/** Creates the cluster if it does not exist yet; returns true when it was created now. */
export async function ensureCluster(p: StackProfile): Promise<boolean> {
  const paths = clusterPaths(p);
  if (existsSync(join(paths.data, "PG_VERSION"))) return false;
  mkdirSync(paths.data, { recursive: true });
  mkdirSync(paths.sockets, { recursive: true });
  const pwfile = join(p.stateDir, "pwfile");
  writeFileSync(pwfile, "postgres\n");
  ownByPostgres(p.stateDir);
  logLine("postgres", `creating a cluster in ${paths.data}`);
  await run(join(binDir, "initdb"), [
    "-D", paths.data, "--username=postgres", `--pwfile=${pwfile}`, "--auth-local=trust", "--auth-host=scram-sha-256",
    "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions",
  ]);
  return true;
}

/** Starts postgres in the foreground of a child process; resolves once it accepts connections. */
export async function startPostgres(p: StackProfile, options: { fast?: boolean } = {}): Promise<Deno.ChildProcess> {
  const paths = clusterPaths(p);
  const pidFile = join(paths.data, "postmaster.pid");
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
    if (pid > 0 && isAlive(pid)) {
      throw new Error(
        `a postgres (pid ${pid}) is already running on ${paths.data}: stop the other stack first (Ctrl-C in its terminal, or kill ${pid})`,
      );
    }
  }
  await assertPortFree(p.dbPort);
  mkdirSync(paths.sockets, { recursive: true });
  ownByPostgres(paths.sockets);
  const settings: Record<string, string> = {
    port: String(p.dbPort),
    listen_addresses: "127.0.0.1",
    unix_socket_directories: paths.sockets,
    shared_preload_libraries: "pg_cron",
    "cron.database_name": "postgres",
    // pg_cron 1.4 runs jobs through libpq over TCP unless it uses background workers, and TCP needs a password.
    "cron.use_background_workers": "on",
    max_worker_processes: "32",
    max_connections: "200",
    log_line_prefix: "%m [%p] ",
    log_min_messages: "warning",
  };
  if (options.fast) {
    // A throwaway test or benchmark cluster: durability across an OS crash is not needed.
    settings.fsync = "off";
    settings.full_page_writes = "off";
  }
  const args = ["-D", paths.data, ...Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`])];
  const [cmd, argv] = asPostgresUser(join(binDir, "postgres"), args);
  const child = new Deno.Command(cmd, { args: argv, stdout: "piped", stderr: "piped" }).spawn();
  pipeLines("postgres", child.stdout);
  pipeLines("postgres", child.stderr);
  await waitForDatabase(p, child);
  return child;
}

function isAlive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

/** Fails with a clear message when something already listens on `port`. */
export async function assertPortFree(port: number): Promise<void> {
  try {
    const listener = Deno.listen({ hostname: "127.0.0.1", port });
    listener.close();
  } catch {
    throw new Error(`port ${port} on 127.0.0.1 is in use: stop what listens there (ss -ltnp 'sport = :${port}') and retry`);
  }
}

async function waitForDatabase(p: StackProfile, child: Deno.ChildProcess): Promise<void> {
  let exited = false;
  child.status.then(() => (exited = true));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`postgres exited during start-up (is port ${p.dbPort} in use? see the log above)`);
    const sql = postgres(dbUrl(p), { max: 1, connect_timeout: 2, onnotice: () => {} });
    try {
      await sql`select 1`;
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await sql.end({ timeout: 1 });
    }
  }
  throw new Error(`postgres did not accept connections on 127.0.0.1:${p.dbPort} within 30 s`);
}

/** Runs the local-only bootstrap (roles, auth, extensions, net and vault stand-ins). */
export async function bootstrapDatabase(p: StackProfile): Promise<void> {
  const sql = postgres(dbUrl(p), { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(readFileSync(join(repoRoot, "packages/stack/sql/bootstrap.sql"), "utf8"));
  } finally {
    await sql.end();
  }
}

/** Applies pending migrations with the real Supabase CLI (`supabase db push`). */
export async function pushMigrations(p: StackProfile): Promise<void> {
  const cli = join(repoRoot, "node_modules/.bin/supabase");
  const child = new Deno.Command(cli, {
    args: ["db", "push", `--remote=${dbUrl(p)}`, "--yes", "--workdir", repoRoot],
    stdout: "piped",
    stderr: "piped",
    env: { SUPABASE_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
  }).spawn();
  const output: string[] = [];
  const keep = (l: string) => output.push(l);
  await Promise.all([pipeLines("migrate", child.stdout, keep), pipeLines("migrate", child.stderr, keep)]);
  const status = await child.status;
  for (const line of output) if (line.trim()) logLine("postgres", `migrate: ${line}`);
  if (!status.success) throw new Error(`supabase db push failed (exit ${status.code})`);
}

/** Stores the values the database needs to wake the flow engine, as hosted projects keep them: in Vault. */
export async function setEngineSecrets(p: StackProfile, engineUrl: string, serviceRoleKey: string): Promise<void> {
  const sql = postgres(dbUrl(p), { max: 1, onnotice: () => {} });
  try {
    for (const [name, value] of [["flows_engine_url", engineUrl], ["flows_engine_key", serviceRoleKey]]) {
      const [existing] = await sql`select id from vault.decrypted_secrets where name = ${name}`;
      if (existing) await sql`select vault.update_secret(${existing.id}::uuid, ${value})`;
      else await sql`select vault.create_secret(${value}, ${name}, 'set by the local stack')`;
    }
  } finally {
    await sql.end();
  }
}
