/**
 * A transaction's connection dying under it (a restart, a pooler recycling backends, a terminated session) must end
 * in a rejected promise, not a crashed process: postgres.js's own `begin` sends ROLLBACK on the dead connection and
 * throws from a timer (see packages/runtime/src/postgres/connection-loss.ts). Vitest fails a run on such an uncaught
 * error, so the first test fails if `transaction` is replaced by `sql.begin`.
 */
import { connect as tcpConnect, createServer, type Server, type Socket } from "node:net";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { retryIfRefused, transaction } from "../../packages/runtime/src/postgres/connection-loss.ts";
import { createPostgresStore } from "../../packages/runtime/src/postgres/store.ts";
import type { ClaimedExecution } from "../../packages/runtime/src/ports.ts";
import { connect, stack } from "./helpers.ts";

const admin = connect();
afterAll(() => admin.end());

beforeAll(async () => {
  await admin`create table if not exists public.connection_loss_probe (label text primary key)`;
  await admin`truncate public.connection_loss_probe`;
});

/** A pool of its own, so that the sessions terminated are only this test's. */
function pool(max = 2): postgres.Sql {
  return postgres(stack.dbUrl, { max, onnotice: () => {}, connection: { application_name: "connection-loss-test" } });
}

async function labels(label: string): Promise<unknown[]> {
  return [...await admin`select label from public.connection_loss_probe where label = ${label}`];
}

describe("transactions when the connection dies", () => {
  it("reject with the connection's error, write nothing, and the pool goes on", async () => {
    // One connection, so the statement after the termination is sent on the reconnected one.
    const sql = pool(1);
    try {
      let reportBackend!: (pid: number) => void;
      const backend = new Promise<number>((resolve) => (reportBackend = resolve));
      const result = transaction(sql, async (tx) => {
        const [row] = await tx`select pg_backend_pid() as pid`;
        await tx`insert into public.connection_loss_probe (label) values ('terminated')`;
        reportBackend(row!.pid as number);
        await tx`select pg_sleep(5)`;
        return "committed";
      }).then((value) => ({ value }), (error) => error);
      const pid = await Promise.race([backend, result.then(() => null)]);
      expect(pid, "the body reached its long query").not.toBeNull();
      const [terminated] = await admin`select pg_terminate_backend(${pid}) as ok`;
      expect(terminated!.ok).toBe(true);

      expect(await result).toMatchObject({ code: "CONNECTION_CLOSED" });
      // Give a ROLLBACK wrongly queued on the dead connection the timer turn it would crash in.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await labels("terminated")).toHaveLength(0);

      // postgres.js 3.4.9 keeps the FATAL error of the terminated session and hands it to the next query of that
      // connection once it has reconnected, a query it never sent: retryIfRefused sends it again.
      const [after] = await retryIfRefused(() => sql`select 1 as one`);
      expect(after!.one).toBe(1);
    } finally {
      await sql.end({ timeout: 1 });
    }
  });

  it.each([
    ["the body fails for any other reason", "rolled back", new Error("the body failed")],
    [
      "an error looks like a lost connection but the connection stays open",
      "not really lost",
      Object.assign(new Error("socket reset (simulated)"), { code: "ECONNRESET" }),
    ],
  ])("roll back as usual when %s", async (_, label, thrown) => {
    const sql = pool();
    try {
      const outcome = await transaction(sql, async (tx) => {
        await tx`insert into public.connection_loss_probe (label) values (${label})`;
        throw thrown;
      }).catch((error) => error);
      expect(outcome).toBe(thrown);
      expect(await labels(label)).toHaveLength(0);
      const [after] = await sql`select 1 as one`;
      expect(after!.one).toBe(1);
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
});

/**
 * A TCP proxy in front of the test database that can cut the client off at its next COMMIT: before passing it on
 * (the transaction aborts with its session) or just after (Postgres commits, the client never hears of it).
 */
async function startCommitCutter(): Promise<{ url: string; cutNextCommit(when: "before" | "after"): void; close(): Promise<void> }> {
  const target = new URL(stack.dbUrl);
  let cut: "before" | "after" | null = null;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => sockets.delete(socket));
    }
    upstream.on("data", (data) => client.destroyed || client.write(data));
    upstream.on("close", () => client.destroy());
    client.on("close", () => setTimeout(() => upstream.end(), 200));
    client.on("data", (data) => {
      if (cut !== null && data.includes("commit")) {
        // After: Postgres gets the COMMIT, then the end of the session. Before: the session ends without it.
        if (cut === "after") upstream.write(data);
        else upstream.destroy();
        cut = null;
        client.destroy();
        return;
      }
      upstream.write(data);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = new URL(stack.dbUrl);
  url.hostname = "127.0.0.1";
  url.port = String((server.address() as { port: number }).port);
  return {
    url: url.href,
    cutNextCommit: (when) => (cut = when),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("a db_update whose connection is lost during COMMIT", () => {
  const execution: ClaimedExecution = {
    executionId: "00000000-0000-4000-8000-000000000001",
    tenantId: "00000000-0000-4000-8000-000000000002",
    flowId: "00000000-0000-4000-8000-000000000003",
    versionId: "00000000-0000-4000-8000-000000000004",
    triggerType: "manual",
    input: {},
    event: null,
    causationDepth: 0,
    cancelRequested: false,
    fresh: true,
    leaseOwner: "connection-loss-test",
  };
  const causation = { executionId: execution.executionId, stepId: "mark" };

  it("reports the update when Postgres committed it, and a retryable error when it did not", async () => {
    await admin`create table public.cut_short_leads (id int primary key, status text not null)`;
    await admin`insert into public.cut_short_leads values (1, 'new'), (2, 'new')`;
    const proxy = await startCommitCutter();
    const sql = postgres(proxy.url, { max: 1, prepare: false, onnotice: () => {} });
    try {
      const store = createPostgresStore(sql).storeFor(execution, () => false);

      proxy.cutNextCommit("after");
      const applied = await store.updateRow("public.cut_short_leads", "id", 1, { status: "marked" }, causation);
      // Committed: the step is done, and must not be run again.
      expect(applied).toEqual({ updatedCount: 1 });
      expect(await admin`select status from public.cut_short_leads where id = 1`).toEqual([{ status: "marked" }]);

      proxy.cutNextCommit("before");
      const refused = await store.updateRow("public.cut_short_leads", "id", 2, { status: "marked" }, causation).catch((error) => error);
      // Aborted with its session: nothing changed, and another attempt is safe.
      expect(refused).toMatchObject({ code: "NETWORK_ERROR", retryable: true });
      expect(await admin`select status from public.cut_short_leads where id = 2`).toEqual([{ status: "new" }]);
    } finally {
      await sql.end({ timeout: 1 });
      await proxy.close();
    }
  });
});

