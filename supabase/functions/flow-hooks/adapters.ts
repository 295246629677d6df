/**
 * Builds the flow-hooks adapters: postgres.js on SUPABASE_DB_URL (pooler-safe, no prepared statements). Every SQL
 * statement the function runs is here.
 */
import postgres from "postgres";
import { absorbConnectionLossRejections, transaction } from "../../../packages/runtime/src/postgres/connection-loss.ts";
import type { HookDeps, WebhookTarget } from "./handler.ts";

/** The handler's dependencies for this process. */
export function createHookDeps(env: (name: string) => string | undefined): HookDeps {
  const dbUrl = env("SUPABASE_DB_URL");
  if (!dbUrl) return { env };

  const sql = postgres(dbUrl, {
    prepare: false,
    max: Number(env("FLOWS_HOOKS_DB_POOL_SIZE") ?? 4),
    idle_timeout: 20,
    onnotice: () => {},
    connection: { application_name: "flow-hooks" },
  });
  absorbConnectionLossRejections((line) => console.warn(JSON.stringify({ level: "warn", message: line })));

  return {
    env,
    async findFlow(tenantId, flowKey): Promise<WebhookTarget | null> {
      const [row] = await sql`
        select f.flow_id, f.tenant_id, f.key, f.is_active, v.version_id, v.trigger_type, v.definition -> 'parameters' as parameters,
               (select s.decrypted_secret from vault.decrypted_secrets s where s.name = flows.webhook_secret_name(f.flow_id)) as secret
          from flows.flows f
          left join flows.versions v on v.flow_id = f.flow_id and v.status = 'published'
         where f.tenant_id = ${tenantId} and f.key = ${flowKey}`;
      if (!row) return null;
      return {
        flowId: row.flow_id,
        tenantId: row.tenant_id,
        key: row.key,
        isActive: row.is_active,
        versionId: row.version_id,
        triggerType: row.trigger_type,
        parameters: row.parameters ?? undefined,
        secret: row.secret,
      };
    },
    async createExecution(target, input): Promise<string | null> {
      return await transaction(sql, async (tx) => {
        // A JSON null body is stored as {} (the column holds an object or value, never SQL null).
        // Pinned to the version whose parameters accepted the body, if it is still the published one.
        const [row] = await tx`
          insert into flows.executions (tenant_id, flow_id, version_id, trigger_type, status, input)
          select v.tenant_id, v.flow_id, v.version_id, 'webhook', 'pending', ${tx.json((input ?? {}) as postgres.JSONValue)}
            from flows.versions v
            join flows.flows f on f.flow_id = v.flow_id
           where v.version_id = ${target.versionId} and v.status = 'published' and f.is_active
          returning execution_id`;
        if (!row) return null;
        // pg_net sends the kick after commit; the flow-engine then claims the pending execution.
        await tx`select flows.request_drain(true)`;
        return row.execution_id as string;
      });
    },
  };
}
