/**
 * The demo `npm start` runs: a `leads` table, a published "qualify lead" flow (rules on status and priority →
 * update the lead in a local Bitrix24-like CRM → wait a few seconds → notify a local receiver), a few inserted and
 * updated leads, and each execution's progress printed live.
 */
import postgres from "postgres";
import { logLine } from "../log.ts";
import { startCrmServer } from "./crm-server.ts";

/** Builds the qualify-lead definition against the demo CRM's address. */
export function qualifyLeadDefinition(crmUrl: string) {
  return {
    trigger: { type: "row_change", table: "public.leads", events: ["INSERT", "UPDATE"] },
    when: {
      all: [
        { field: "status", op: "eq", value: "new" },
        { field: "priority", op: "in", value: ["high", "urgent"] },
      ],
    },
    steps: [
      {
        id: "update_crm",
        type: "tabular",
        name: "Mark the lead qualified in the CRM",
        config: {
          webhook_url: `${crmUrl}/rest/1/demo-token`,
          entity: "lead",
          id: "{{row.id}}",
          field: "STATUS_ID",
          value: "QUALIFIED",
          additional_fields: [{ field: "COMMENTS", value: "Qualified by flows: {{row.priority}} priority" }],
        },
      },
      { id: "cool_down", type: "wait", name: "Give the CRM a moment", config: { seconds: 3 } },
      {
        id: "notify_owner",
        type: "http",
        name: "Tell the lead's owner",
        config: {
          method: "POST",
          url: `${crmUrl}/notify`,
          body: { text: "Lead {{row.name}} was qualified", lead_id: "{{row.id}}", crm_result: "{{steps.update_crm.output.result}}" },
        },
        retry: { max_attempts: 3, delay: 500, backoff: "exponential" },
      },
    ],
  };
}

/** Starts the demo; `stop()` ends the live view and the CRM server. */
export async function startDemo(dbUrl: string, crmPort: number): Promise<{ stop(): Promise<void> }> {
  const crm = startCrmServer({ port: crmPort, onRequest: (line) => logLine("demo", `CRM ← ${line}`) });
  const sql = postgres(dbUrl, { max: 2, onnotice: () => {} });
  const crmUrl = `http://127.0.0.1:${crmPort}`;

  await sql`
    create table if not exists public.leads (
      id bigint generated always as identity primary key,
      name text not null,
      email text,
      status text not null default 'new',
      priority text not null default 'normal',
      created_at timestamptz not null default now()
    )`;
  const [existing] = await sql`select flow_id from flows.flows where key = 'qualify-lead'`;
  if (!existing) {
    const [{ flow_id: flowId }] = await sql`
      select (flows.create_flow('qualify-lead', 'Qualify lead', 'Marks high-priority new leads qualified in the CRM and tells their owner')).flow_id`;
    const [{ version_id: versionId }] = await sql`
      select (flows.create_draft(${flowId}, ${sql.json(qualifyLeadDefinition(crmUrl))})).version_id`;
    await sql`select flows.publish_version(${versionId}, 'First version, created by the demo')`;
    logLine("demo", "published flow qualify-lead v1 on public.leads (INSERT, UPDATE)");
  }

  // Live view: print every step attempt and execution status change as it happens.
  const seen = new Map<string, string>();
  let watching = true;
  const startedAt = new Date();
  const watch = (async () => {
    while (watching) {
      try {
        const rows = await sql`
          select e.execution_id, e.status, e.subject, f.key, v.version_number, s.step_attempt_id, s.step_id, s.status as step_status,
                 s.attempt, s.duration_ms
            from flows.executions e
            join flows.flows f on f.flow_id = e.flow_id
            join flows.versions v on v.version_id = e.version_id
            left join flows.execution_steps s on s.execution_id = e.execution_id
           where e.created_at >= ${startedAt}
           order by e.created_at, s.step_attempt_id`;
        const executionStates: [string, string, string][] = [];
        for (const r of rows) {
          const who = `${r.key} v${r.version_number} · lead ${r.subject}`;
          if (r.step_attempt_id) {
            const key = `step:${r.step_attempt_id}`;
            const state = `${r.step_status}`;
            if (seen.get(key) !== state) {
              seen.set(key, state);
              const took = r.duration_ms === null ? "" : ` (${r.duration_ms} ms)`;
              logLine("demo", `${who} · step ${r.step_id} attempt ${r.attempt}: ${r.step_status}${took}`);
            }
          }
          executionStates.push([`exec:${r.execution_id}`, r.status, who]);
        }
        // Steps first, then the execution's status, so the log reads in the order things happened.
        for (const [key, status, who] of executionStates) {
          if (seen.get(key) !== status) {
            seen.set(key, status);
            logLine("demo", `${who} · execution ${status}`);
          }
        }
      } catch (error) {
        if (watching) logLine("demo", `live view paused: ${(error as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();

  logLine("demo", "inserting leads: Ada (new, high), Grace (new, low), Linus (new, urgent)");
  const [ada] = await sql`insert into public.leads (name, email, priority) values ('Ada', 'ada@example.com', 'high') returning id`;
  await sql`insert into public.leads (name, email, priority) values ('Grace', 'grace@example.com', 'low'), ('Linus', 'linus@example.com', 'urgent')`;
  setTimeout(async () => {
    if (!watching) return;
    logLine("demo", "updating Grace's priority to high: the rules now match");
    await sql`update public.leads set priority = 'high' where name = 'Grace' and id > ${ada.id}`.catch(() => {});
  }, 1_500);

  return {
    async stop() {
      watching = false;
      await watch;
      await sql.end({ timeout: 2 });
      await crm.close();
    },
  };
}
