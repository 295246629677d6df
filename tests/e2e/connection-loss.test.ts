/**
 * A transaction's connection dying under it (a restart, a pooler recycling backends, a terminated session) must end
 * in a rejected promise, not a crashed process: postgres.js's own `begin` sends ROLLBACK on the dead connection and
 * throws from a timer (see packages/runtime/src/postgres/connection-loss.ts). Vitest fails a run on such an uncaught
 * error, so the first test fails if `transaction` is replaced by `sql.begin`.
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { transaction } from "../../packages/runtime/src/postgres/connection-loss.ts";
import { connect, stack } from "./helpers.ts";

const admin = connect();
afterAll(() => admin.end());

beforeAll(async () => {
  await admin`create table if not exists public.connection_loss_probe (label text primary key)`;
  await admin`truncate public.connection_loss_probe`;
});

/** A pool of its own, so that the sessions terminated are only this test's. */
function pool(): postgres.Sql {
  return postgres(stack.dbUrl, { max: 2, onnotice: () => {}, connection: { application_name: "connection-loss-test" } });
}

async function labels(label: string): Promise<unknown[]> {
  return [...await admin`select label from public.connection_loss_probe where label = ${label}`];
}

describe("transactions when the connection dies", () => {
  it("reject with the connection's error, write nothing, and the pool goes on", async () => {
    const sql = pool();
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

      // postgres.js 3.4.9 keeps the FATAL error of a terminated session and hands it to the next query of that
      // connection once it has reconnected: one failure is the library's, a second would be ours.
      const selectOne = () => sql`select 1 as one`.then(([row]) => row!.one as number);
      expect(await selectOne().catch(selectOne)).toBe(1);
    } finally {
      await sql.end({ timeout: 1 });
    }
  });

  it("roll back as usual when the body fails for any other reason", async () => {
    const sql = pool();
    try {
      const outcome = await transaction(sql, async (tx) => {
        await tx`insert into public.connection_loss_probe (label) values ('rolled back')`;
        throw new Error("the body failed");
      }).catch((error) => error);
      expect((outcome as Error).message).toBe("the body failed");
      expect(await labels("rolled back")).toHaveLength(0);
    } finally {
      await sql.end({ timeout: 1 });
    }
  });

  it("roll back as usual when an error looks like a lost connection but the connection stays open", async () => {
    const sql = pool();
    try {
      const outcome = await transaction(sql, async (tx) => {
        await tx`insert into public.connection_loss_probe (label) values ('not really lost')`;
        throw Object.assign(new Error("socket reset (simulated)"), { code: "ECONNRESET" });
      }).catch((error) => error);
      expect(outcome).toMatchObject({ code: "ECONNRESET" });
      expect(await labels("not really lost")).toHaveLength(0);
      const [after] = await sql`select 1 as one`;
      expect(after!.one).toBe(1);
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
});
