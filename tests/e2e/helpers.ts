/** Shared set-up for end-to-end tests: the running test stack's coordinates and a database client. */
import postgres from "postgres";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run end-to-end tests through \`npm test\`, which starts the stack`);
  return value;
}

/** Coordinates of the stack `npm test` started. */
export const stack = {
  dbUrl: required("FLOWS_TEST_DB_URL"),
  apiUrl: required("FLOWS_TEST_API_URL"),
  anonKey: required("FLOWS_TEST_ANON_KEY"),
  serviceRoleKey: required("FLOWS_TEST_SERVICE_ROLE_KEY"),
  jwtSecret: required("FLOWS_TEST_JWT_SECRET"),
  stateDir: required("FLOWS_TEST_STATE_DIR"),
};

/** A postgres.js client on the test database as the `postgres` role. */
export function connect(): postgres.Sql {
  return postgres(stack.dbUrl, { max: 4, onnotice: () => {} });
}

/** Polls `probe` until it returns a non-undefined value or `timeoutMs` passes. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Kills the flow-engine process (SIGKILL, as the platform does at its wall-clock limit); `hold` keeps it down. */
export async function killFunctions(options: { hold?: boolean } = {}): Promise<void> {
  const { readFileSync, writeFileSync } = await import("node:fs");
  if (options.hold) writeFileSync(`${stack.stateDir}/functions.hold`, "");
  const pid = Number(readFileSync(`${stack.stateDir}/functions.pid`, "utf8"));
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** Lets the supervisor start the flow-engine process again and waits until it answers. */
export async function releaseFunctions(): Promise<void> {
  const { rmSync } = await import("node:fs");
  rmSync(`${stack.stateDir}/functions.hold`, { force: true });
  await eventually(async () => {
    const response = await fetch(`${stack.apiUrl}/health`).catch(() => null);
    return response?.ok ? true : undefined;
  }, 20_000, "the functions process to come back");
}
