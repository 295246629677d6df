/**
 * What the engine does about postgres.js 3.4.9 when a connection dies under it (a Postgres restart, a pooler
 * recycling its backends, a terminated session). Two paths in the driver otherwise end the whole process, every
 * execution in flight with it (Node and Deno alike):
 *
 * - Inside `sql.begin`, any error is answered with a ROLLBACK on the transaction's connection. When the error is that
 *   connection going away, the ROLLBACK is queued for a socket that no longer exists, and the write throws from a
 *   timer callback: an uncaught TypeError (porsager/postgres#1208). Postgres rolls back a transaction whose session
 *   ended, so nothing needs sending: `transaction` keeps such an error from postgres.js, whose `begin` rejects on its
 *   own when it processes the connection's close.
 * - On every new connection the driver reads the database's array types with a query nobody awaits. Terminated
 *   then, its rejection is unhandled, which ends a Deno process: `absorbConnectionLossRejections` absorbs (and logs)
 *   unhandled rejections that are connection losses, and only those.
 *
 * A third fault costs a statement, not the process: the driver hands a terminated session's FATAL error to the first
 * query sent on the reconnected connection, which `retryIfRefused` sends again.
 */
import type postgres from "postgres";

/** How long a body's connection error may precede the close that confirms it before it is treated as any error. */
const CLOSE_CONFIRM_MS = 2_000;

/**
 * `sql.begin(body)`, safe against the connection dying mid-transaction: rejects with the connection's error instead
 * of crashing the process. The body must await nothing but its own queries, as every body here does: a query sent
 * after the connection closed while none was in flight would meet the same fault.
 */
export async function transaction<T>(sql: postgres.Sql, body: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
  let beginEnded!: () => void;
  const ended = new Promise<void>((resolve) => (beginEnded = resolve));
  const begun = sql.begin(async (tx) => {
    try {
      return await body(tx);
    } catch (error) {
      if (connectionLost(error) && (await within(ended, CLOSE_CONFIRM_MS))) {
        // `begin` has rejected with the close already; settling this scope now would only send the fatal ROLLBACK.
        return await new Promise<never>(() => {});
      }
      throw error;
    }
  });
  begun.then(beginEnded, beginEnded);
  return (await begun) as T;
}

/**
 * Runs `statement` once more if it was refused with a FATAL server error. postgres.js 3.4.9 hands a FATAL answer to
 * a query only when that query was never sent: at connection start (too many connections, a server starting up), or
 * as the stale error of a session that was terminated, which it delivers to the first query sent on the reconnected
 * connection (a query in flight when its session dies gets `CONNECTION_CLOSED` instead). Running it again cannot
 * apply it twice; without this, one statement after every lost connection fails for nothing.
 */
export async function retryIfRefused<T>(statement: () => Promise<T>): Promise<T> {
  try {
    return await statement();
  } catch (error) {
    if ((error as { severity?: unknown } | null)?.severity !== "FATAL") throw error;
    return await statement();
  }
}

/** Error codes of a socket that died (Node's and Deno's `node:net`). */
const SOCKET_GONE = new Set([
  "ECONNRESET", "EPIPE", "ETIMEDOUT", "ECONNABORTED", "ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTCONN",
  "ERR_SOCKET_CLOSED", "ERR_STREAM_DESTROYED",
]);

/**
 * Whether an error means the connection itself is gone: postgres.js's own connection errors, a socket error, or a
 * server error that ends the session (FATAL or PANIC, the 57P0x shutdowns). A class 08 error at ERROR severity is
 * not: dblink or postgres_fdw report their own connections' failures that way, and the session goes on.
 */
export function connectionLost(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, severity } = error as { code?: unknown; severity?: unknown };
  if (severity === "FATAL" || severity === "PANIC") return true;
  if (typeof code !== "string") return false;
  return code.startsWith("CONNECTION_") || code === "CONNECT_TIMEOUT" || SOCKET_GONE.has(code) || /^57P0\d$/.test(code);
}

/**
 * What became of a transaction whose connection was lost during COMMIT, asked on another connection:
 * `txid_status` answers from the commit log. A commit still being processed by the dying session is asked about
 * again for up to three seconds. `unknown` when Postgres cannot say (the id is too old) or cannot be asked.
 */
export async function commitStatus(sql: postgres.Sql, xid: string): Promise<"committed" | "aborted" | "unknown"> {
  const ask = async () => (await sql`select pg_catalog.txid_status(${xid}::bigint) as status`)[0]?.status as string | null;
  for (let tries = 0; tries < 30; tries++) {
    const status = await retryIfRefused(ask).catch(() => null);
    if (status === "committed" || status === "aborted") return status;
    if (status !== "in progress") return "unknown";
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return "unknown";
}

/** Whether `promise` settles within `ms`. */
async function within(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Absorbs unhandled promise rejections that are connection losses (see the module comment), passing `warn` a line
 * that says so; any other unhandled rejection still ends the process. For Deno processes (the functions, the stack).
 */
export function absorbConnectionLossRejections(warn: (line: string) => void): void {
  (globalThis as unknown as EventTarget).addEventListener("unhandledrejection", (event) => {
    const rejection = event as Event & { reason?: unknown };
    if (!connectionLost(rejection.reason)) return;
    rejection.preventDefault();
    warn(`a database connection was lost under a query nobody awaited: ${(rejection.reason as Error).message}`);
  });
}
