/**
 * Injection through names and values against the real database. Names that could reach SQL are refused when a version
 * is published; values from rows (keys, column values) travel as parameters, so a row whose text is SQL changes exactly
 * the one row it names, with the text stored verbatim, and a canary table next to it stays as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../helpers.ts";
import { createLeadsTable, publishFlow, terminalExecutions } from "../flows-helpers.ts";

const sql = connect();
const suffix = Date.now().toString(36);
let leads: string;
let canary: string;

async function canaryState() {
  return await sql.unsafe(`select id, secret from ${canary} order by id`);
}

async function publishError(definition: unknown): Promise<{ code?: string; message?: string }> {
  try {
    await sql.begin(async (tx) => {
      const [{ flow_id: flowId }] = await tx`select (flows.create_flow(${`inj-${suffix}-${Math.random().toString(36).slice(2, 8)}`}, 'Injection')).flow_id`;
      const [{ version_id: versionId }] = await tx`select (flows.create_draft(${flowId}, ${tx.json(definition as never)})).version_id`;
      await tx`select flows.publish_version(${versionId})`;
      throw Object.assign(new Error("published"), { code: "PUBLISHED" });
    });
  } catch (error) {
    return error as { code?: string; message?: string };
  }
  return {};
}

beforeAll(async () => {
  leads = await createLeadsTable(sql, `inj_leads_${suffix}`);
  canary = `public.inj_canary_${suffix}`;
  await sql.unsafe(`create table ${canary} (id int primary key, secret text not null)`);
  await sql.unsafe(`insert into ${canary} values (1, 'untouched'), (2, 'also untouched')`);
});
afterAll(() => sql.end());

describe("names are refused when publishing", () => {
  const logStep = [{ id: "a", type: "log", config: { message: "m" } }];
  it.each([
    `${"inj_leads"}; drop table x`,
    "public.\"leads\"",
    "public.leads; delete from flows.flows",
    "Leads",
    "leads'--",
  ])("trigger.table %j: FL003 naming trigger.table, nothing created", async (table) => {
    const [{ n: before }] = await sql`select count(*)::int as n from flows.flows`;
    const error = await publishError({ trigger: { type: "row_change", table, events: ["INSERT"] }, steps: logStep });
    expect(error.code).toBe("FL003");
    expect(error.message).toMatch(/^trigger\.table: /);
    const [{ n: after }] = await sql`select count(*)::int as n from flows.flows`;
    expect(after).toBe(before);
    expect(await canaryState()).toEqual([{ id: 1, secret: "untouched" }, { id: 2, secret: "also untouched" }]);
  });
});

describe("values from rows are data", () => {
  const hostileNames = [
    "x'); drop table CANARY; --",
    "\"; update CANARY set secret = 'pwned'; --",
    "' or '1'='1",
    "$1",
    "\\'; select pg_sleep(5); --",
    "{{row.id}} 😀 \u202e",
  ];

  it("db_update keyed by a text column changes exactly the named row and stores the text verbatim", async () => {
    const names = hostileNames.map((name) => name.replace("CANARY", canary));
    const { flowId } = await publishFlow(sql, `inj-values-${suffix}`, {
      trigger: { type: "row_change", table: leads, events: ["INSERT"] },
      when: { field: "status", op: "eq", value: "new" },
      steps: [
        {
          id: "mark",
          type: "db_update",
          config: { table: leads, key_column: "name", key: "{{row.name}}", set: { status: "{{row.name}}", priority: "seen {{row.name}}" } },
        },
      ],
    });
    // A bystander row whose name the injections would match if they were SQL.
    await sql.unsafe(`insert into ${leads} (name, status) values ('bystander', 'kept')`);
    for (const name of names) await sql.unsafe(`insert into ${leads} (name) values ($1)`, [name]);
    const executions = await terminalExecutions(sql, flowId, names.length, 30_000);
    expect(executions.map((execution) => execution.status)).toEqual(names.map(() => "completed"));
    const rows = await sql.unsafe(`select name, status, priority from ${leads} order by id`);
    expect(rows).toEqual([
      { name: "bystander", status: "kept", priority: "low" },
      ...names.map((name) => ({ name, status: name, priority: `seen ${name}` })),
    ]);
    const outputs = await sql`
      select s.output from flows.execution_steps s join flows.executions e using (execution_id)
       where e.flow_id = ${flowId} and s.step_id = 'mark'`;
    expect(outputs.map((step) => (step.output as { updated_count: number }).updated_count)).toEqual(names.map(() => 1));
    expect(await canaryState()).toEqual([{ id: 1, secret: "untouched" }, { id: 2, secret: "also untouched" }]);
  });

  it("a key that is not a value of the key column's type fails the step with a clear error and changes nothing", async () => {
    const table = await createLeadsTable(sql, `inj_typed_${suffix}`);
    await sql.unsafe(`insert into ${table} (name, status) values ('first', 'kept'), ('second', 'kept')`);
    const { flowId } = await publishFlow(sql, `inj-typed-${suffix}`, {
      trigger: { type: "row_change", table, events: ["UPDATE"] },
      when: { field: "priority", op: "changed_to", value: "go" },
      steps: [{ id: "mark", type: "db_update", config: { table, key: "{{row.name}}", set: { status: "hit" } } }],
    });
    await sql.unsafe(`update ${table} set name = '1 or 1=1', priority = 'go' where name = 'first'`);
    const [execution] = await terminalExecutions(sql, flowId, 1, 30_000);
    expect(execution!.status).toBe("failed");
    expect(execution!.error_message).toMatch(/bigint|invalid input/i);
    expect(execution!.error_message).not.toMatch(/\n\s+at /);
    const rows = await sql.unsafe(`select name, status from ${table} order by id`);
    expect(rows).toEqual([{ name: "1 or 1=1", status: "kept" }, { name: "second", status: "kept" }]);
  });
});

describe("flows cannot write the system's own tables", () => {
  it("db_update into flows.members does not run, and the membership is unchanged", async () => {
    const tenant = "00000000-0000-0000-0000-0000000000c1";
    const [{ id: userId }] = await sql`insert into auth.users (email) values (${`victim-${suffix}@example.com`}) returning id`;
    await sql`insert into flows.members (tenant_id, user_id, role) values (${tenant}, ${userId}, 'member')`;
    const table = await createLeadsTable(sql, `inj_escalate_${suffix}`);
    const { flowId } = await publishFlow(sql, `inj-escalate-${suffix}`, {
      trigger: { type: "row_change", table, events: ["INSERT"] },
      steps: [{ id: "promote", type: "db_update", config: { table: "flows.members", key_column: "user_id", key: "{{row.name}}", set: { role: "admin" } } }],
    });
    await sql.unsafe(`insert into ${table} (name) values ($1)`, [userId]);
    const [execution] = await terminalExecutions(sql, flowId, 1, 30_000);
    const [member] = await sql`select role from flows.members where tenant_id = ${tenant} and user_id = ${userId}`;
    expect(member!.role).toBe("member");
    expect(execution!.status).toBe("failed");
  });
});
