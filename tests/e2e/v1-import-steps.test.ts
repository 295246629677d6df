/**
 * A seed-000 v1 flow imported by flows.import_v1 is one the engine accepts and runs: every definition the import
 * produces passes the engine's full validation (the SQL import only runs the structural subset), and a manual run
 * with a lead calls Bitrix24 and the CRM the way v1 did, with {{leadId}} and {{variables.…}} filled from the input.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { validateFlowDefinition } from "../../packages/engine/src/index.ts";
import { connect } from "./helpers.ts";
import { startTarget, terminalExecutions } from "./flows-helpers.ts";
import { asUser, createMember } from "./triggers/trigger-helpers.ts";

const sql = connect();
afterAll(async () => {
  await sql`drop schema if exists v1_steps cascade`;
  await sql`drop schema if exists v1_e2e_steps cascade`;
  await sql.end();
});

interface ReportEntry {
  v1_flow_id: string;
  status: string;
  key?: string;
  flow_id?: string;
  definition?: unknown;
  reasons: string[];
}

describe("flows.import_v1 on seed 000's model", () => {
  it("produces definitions the engine accepts", async () => {
    const fixture = readFileSync(
      fileURLToPath(new URL("../../supabase/tests/database/v1-import/steps_fixture.psql", import.meta.url)),
      "utf8",
    );
    await sql.unsafe(fixture);
    const [{ report }] = await sql`select flows.import_v1('v1_steps', p_dry_run => true) as report`;
    const entries = (report as { flows: ReportEntry[] }).flows.filter((e) => e.status === "would_import");
    expect(entries.length).toBe(3);
    for (const entry of entries) {
      const result = validateFlowDefinition(entry.definition);
      expect(result.success, `${entry.v1_flow_id}: ${JSON.stringify(result.success ? [] : result.errors)}`).toBe(true);
    }
  });

  it("runs an imported flow for a lead: the Bitrix24 update and the CRM call carry the lead and the variables", async () => {
    const target = startTarget(() => ({ body: { result: true } }));
    const { url, requests, close } = await target;
    try {
      await sql.unsafe(`
        create schema v1_e2e_steps;
        create table v1_e2e_steps.flows (id bigint primary key, nome text, steps jsonb, is_active boolean);
        create table v1_e2e_steps.flows_runs (id bigint primary key, flow_id bigint, lead_id integer, status text);`);
      const steps = [
        {
          id: "atualizar",
          type: "tabular",
          nome: "Atualizar status",
          config: {
            webhook_url: `${url}/rest/1/tok/`,
            field: "STATUS_ID",
            value: "QUALIFIED",
            additional_fields: [{ field: "UF_CRM_ORIGEM", value: "{{variables.origem}}" }],
          },
        },
        { id: "pausa", type: "wait", config: { seconds: 0, reason: "nada a esperar" } },
        {
          id: "avisar",
          type: "http_call",
          config: {
            method: "POST",
            url: `${url}/leads/{{leadId}}`,
            body: { lead: "{{leadId}}", origem: "{{variables.origem}}" },
            timeout: 5000,
            retry: { max_attempts: 2, delay: 10 },
          },
        },
      ];
      await sql`insert into v1_e2e_steps.flows values (1, 'E2E qualificar lead', ${sql.json(steps)}, true)`;
      const [{ report }] = await sql`select flows.import_v1('v1_e2e_steps') as report`;
      const [entry] = (report as { flows: ReportEntry[] }).flows;
      expect(entry).toMatchObject({ status: "imported", key: "e2e-qualificar-lead", reasons: [] });

      const userId = await createMember(sql, "v1-import-runner@example.com");
      const executionId = await asUser(sql, userId, async (tx) => {
        const [row] = await tx`
          select flows.start_run('e2e-qualificar-lead', ${tx.json({ lead_id: 7, variables: { origem: "site" } })}) as id`;
        return row.id as string;
      });
      const [execution] = await terminalExecutions(sql, entry.flow_id!, 1);
      expect(execution).toMatchObject({ execution_id: executionId, status: "completed" });

      expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /rest/1/tok/crm.lead.update", "POST /leads/7"]);
      expect(JSON.parse(requests[0]!.body)).toEqual({ id: 7, fields: { STATUS_ID: "QUALIFIED", UF_CRM_ORIGEM: "site" } });
      expect(JSON.parse(requests[1]!.body)).toEqual({ lead: 7, origem: "site" });
    } finally {
      await close();
    }
  });
});
