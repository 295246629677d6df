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
