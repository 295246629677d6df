/**
 * Entry point of the project's commands: `start` (the local stack with the demo, in the foreground until Ctrl-C),
 * `reset` (wipe the development database) and `test` (every suite against a throwaway stack).
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { profile, repoRoot } from "./config.ts";
import { logLine } from "./log.ts";
import { startDemo } from "./demo/demo.ts";
import { startStack } from "./stack.ts";

async function start(): Promise<void> {
  const dev = profile("dev");
  // The demo's CRM runs on this machine, so the engine may call private addresses here (never on hosted projects).
  const stack = await startStack(dev, { functionsEnv: { FLOWS_ALLOW_PRIVATE_NETWORKS: "true" } });
  const lines = [
    "",
    "flows local stack is running",
    `  Postgres         ${stack.dbUrl}`,
    `  Edge Functions   ${stack.apiUrl}/functions/v1/<name>   (flow-engine: ${stack.apiUrl}/functions/v1/flow-engine/health)`,
    `  Demo CRM         http://127.0.0.1:${dev.demoPort}   (Bitrix24-like webhook; GET /state shows what it received)`,
    `  JWT secret       ${stack.jwtSecret}`,
    `  anon key         ${stack.anonKey}`,
    `  service_role key ${stack.serviceRoleKey}`,
    "  Ctrl-C stops everything; `npm run stack:reset` wipes the database.",
    "",
  ];
  for (const line of lines) logLine("stack", line);
  const demo = await startDemo(stack.dbUrl, dev.demoPort);
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    logLine("stack", "stopping…");
    await demo.stop();
    await stack.stop();
    logLine("stack", "stopped");
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", shutdown);
  Deno.addSignalListener("SIGTERM", shutdown);
}

const command = Deno.args[0];
try {
  if (command === "start") await start();
  else if (command === "reset") {
    rmSync(profile("dev").stateDir, { recursive: true, force: true });
    logLine("stack", "development database wiped; the next `npm start` creates a fresh one");
  } else if (command === "types") {
    // Regenerates supabase/types/database.types.ts from the migrations, on a throwaway stack: wiped first, since a
    // database left by an earlier run would keep an edited migration as it was first applied.
    rmSync(profile("test").stateDir, { recursive: true, force: true });
    const stack = await startStack(profile("test"), { fast: true });
    try {
      const output = new Deno.Command(join(repoRoot, "node_modules/.bin/supabase"), {
        args: ["gen", "types", "--lang", "typescript", "--schema", "flows", `--remote=${stack.dbUrl}?sslmode=disable`, "--workdir", repoRoot],
      }).outputSync();
      if (!output.success) throw new Error(new TextDecoder().decode(output.stderr));
      writeFileSync(join(repoRoot, "supabase/types/database.types.ts"), output.stdout);
      logLine("stack", "wrote supabase/types/database.types.ts");
    } finally {
      await stack.stop();
    }
  } else if (command === "test") {
    const { runAllSuites } = await import("./test-runner.ts");
    Deno.exit(await runAllSuites(Deno.args.slice(1)));
  } else {
    console.error(`unknown command ${command ?? "(none)"}; use start, reset, types or test`);
    Deno.exit(2);
  }
} catch (error) {
  logLine("stack", `failed: ${(error as Error).message}`);
  Deno.exit(1);
}
