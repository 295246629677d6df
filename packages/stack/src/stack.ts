/**
 * Brings a whole local stack up and down: Postgres, bootstrap, migrations, Vault secrets, the pg_net stand-in's
 * delivery worker and the Edge Functions gateway. Used by `npm start`, `npm test` and `npm run bench`.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { absorbConnectionLossRejections } from "../../runtime/src/postgres/connection-loss.ts";
import { apiUrl, dbUrl, gatewayArgs, localJwtSecret, repoRoot, type StackProfile } from "./config.ts";
import { localApiKeys } from "./jwt.ts";
import { logLine, pipeLines } from "./log.ts";
import { startNetWorker, type NetWorkerOptions } from "./net-worker.ts";
import { assertPortFree, bootstrapDatabase, ensureCluster, pushMigrations, setEngineSecrets, startPostgres } from "./postgres.ts";

/** A running stack. */
export interface RunningStack {
  profile: StackProfile;
  dbUrl: string;
  apiUrl: string;
  anonKey: string;
  serviceRoleKey: string;
  jwtSecret: string;
  /** Kills the functions process (it is restarted, as the platform starts a new instance); for fault tests. */
  killFunctions(): void;
  /**
   * Stops Postgres with a fast shutdown (open transactions roll back, clients are disconnected) and starts it again
   * on the same data folder and port; the other parts stay up and reconnect on their own. For fault tests.
   */
  restartPostgres(): Promise<void>;
  /** Stops everything this stack started. */
  stop(): Promise<void>;
}

/** Options for {@link startStack}. */
export interface StackOptions {
  /** Throwaway cluster: fsync off. */
  fast?: boolean;
  net?: NetWorkerOptions;
  /** Extra environment for the functions (e.g. FLOWS_ALLOW_PRIVATE_NETWORKS for local step targets). */
  functionsEnv?: Record<string, string>;
}

/**
 * Starts the functions gateway as a Deno process, restarting it whenever it exits until `stop()`, as the platform
 * starts a new instance. Fault tests kill it through its pid file and keep it down while the hold file exists.
 */
function superviseFunctions(env: Record<string, string>, stateDir: string) {
  const pidFile = join(stateDir, "functions.pid");
  const holdFile = join(stateDir, "functions.hold");
  let child: Deno.ChildProcess | null = null;
  let stopping = false;
  let ready: (() => void) | null = null;
  const firstReady = new Promise<void>((resolve) => (ready = resolve));
  const deno = join(repoRoot, "node_modules/.bin/deno");

  async function spawnOnce(): Promise<void> {
    while (!stopping) {
      while (existsSync(holdFile) && !stopping) await new Promise((r) => setTimeout(r, 100));
      if (stopping) return;
      // setsid: Ctrl-C reaches the stack, which stops this process itself (instead of restarting it).
      child = new Deno.Command("setsid", {
        args: [deno, ...gatewayArgs()],
        cwd: repoRoot,
        env,
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      writeFileSync(pidFile, String(child.pid));
      const sink = (line: string) => {
        logLine("functions", line);
        if (line.startsWith("listening on") && ready) {
          ready();
          ready = null;
        }
      };
      const output = Promise.all([pipeLines("functions", child.stdout, sink), pipeLines("functions", child.stderr, sink)]);
      const status = await child.status;
      await output;
      child = null;
      if (stopping) return;
      logLine("functions", `process exited (code ${status.code}, signal ${status.signal ?? "none"}); restarting`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const loop = spawnOnce();
  return {
    ready: firstReady,
    kill() {
      try {
        child?.kill("SIGKILL");
      } catch { /* already gone */ }
    },
    async stop() {
      stopping = true;
      try {
        child?.kill("SIGTERM");
      } catch { /* already gone */ }
      await loop;
    },
  };
}

let absorbing = false;

/** Starts a stack for `profile` and resolves once every part is ready. */
export async function startStack(profile: StackProfile, options: StackOptions = {}): Promise<RunningStack> {
  const started = performance.now();
  // The delivery worker and the caller's own clients (a fault run's writer, the bench) use postgres.js too, and a
  // Postgres restart must not end this process through the driver's unawaited queries (docs/faults.md).
  if (!absorbing) {
    absorbing = true;
    absorbConnectionLossRejections((line) => logLine("stack", line));
  }
  await assertPortFree(profile.apiPort);
  await ensureCluster(profile);
  let pg = await startPostgres(profile, { fast: options.fast });
  const stopPostgres = async () => {
    try {
      pg.kill("SIGINT");
    } catch { /* already gone */ }
    await pg.status;
  };
  try {
    logLine("stack", `postgres ready on 127.0.0.1:${profile.dbPort} (${Math.round(performance.now() - started)} ms)`);
    await bootstrapDatabase(profile);
    await pushMigrations(profile);
    const keys = await localApiKeys(localJwtSecret);
    await setEngineSecrets(profile, `${apiUrl(profile)}/functions/v1/flow-engine`, keys.serviceRoleKey);
    const net = startNetWorker(dbUrl(profile), options.net);
    const functions = superviseFunctions({
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? "/root",
      FLOWS_FUNCTIONS_DIR: join(repoRoot, "supabase/functions"),
      FLOWS_CONFIG_TOML: join(repoRoot, "supabase/config.toml"),
      FLOWS_GATEWAY_PORT: String(profile.apiPort),
      FLOWS_JWT_SECRET: localJwtSecret,
      SUPABASE_URL: apiUrl(profile),
      SUPABASE_ANON_KEY: keys.anonKey,
      SUPABASE_SERVICE_ROLE_KEY: keys.serviceRoleKey,
      SUPABASE_DB_URL: dbUrl(profile),
      ...options.functionsEnv,
    }, profile.stateDir);
    await Promise.race([
      functions.ready,
      new Promise((_, reject) => setTimeout(() => reject(new Error("the functions gateway did not start within 60 s")), 60_000)),
    ]);
    logLine("stack", `ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return {
      profile,
      dbUrl: dbUrl(profile),
      apiUrl: apiUrl(profile),
      anonKey: keys.anonKey,
      serviceRoleKey: keys.serviceRoleKey,
      jwtSecret: localJwtSecret,
      killFunctions: () => functions.kill(),
      async restartPostgres() {
        // SIGINT is postgres's fast shutdown; the postmaster removes its pid file before it exits.
        await stopPostgres();
        logLine("stack", "postgres stopped (fast shutdown); starting it again");
        pg = await startPostgres(profile, { fast: options.fast });
        logLine("stack", `postgres ready again on 127.0.0.1:${profile.dbPort}`);
      },
      async stop() {
        await functions.stop();
        await net.stop();
        await stopPostgres();
      },
    };
  } catch (error) {
    await stopPostgres();
    throw error;
  }
}
