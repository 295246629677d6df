/**
 * Entry point of the project's commands: `start` (the local stack with the demo, in the foreground until Ctrl-C),
 * `reset` (wipe the development database) and `test` (every suite against a throwaway stack).
 */
import { rmSync } from "node:fs";
import { profile } from "./config.ts";
import { logLine } from "./log.ts";
import { startStack } from "./stack.ts";

async function start(): Promise<void> {
  const dev = profile("dev");
  const stack = await startStack(dev);
  const lines = [
    "",
    "flows local stack is running",
    `  Postgres         ${stack.dbUrl}`,
    `  Edge Functions   ${stack.apiUrl}/functions/v1/<name>   (flow-engine: ${stack.apiUrl}/functions/v1/flow-engine/health)`,
    `  JWT secret       ${stack.jwtSecret}`,
    `  anon key         ${stack.anonKey}`,
    `  service_role key ${stack.serviceRoleKey}`,
    "  Ctrl-C stops everything; `npm run stack:reset` wipes the database.",
    "",
  ];
  for (const line of lines) logLine("stack", line);
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    logLine("stack", "stopping…");
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
  } else if (command === "test") {
    const { runAllSuites } = await import("./test-runner.ts");
    Deno.exit(await runAllSuites(Deno.args.slice(1)));
  } else {
    console.error(`unknown command ${command ?? "(none)"}; use start, reset or test`);
    Deno.exit(2);
  }
} catch (error) {
  logLine("stack", `failed: ${(error as Error).message}`);
  Deno.exit(1);
}
