/** Helpers for the trigger tests: a member who signs in, and webhook signatures computed as a sender would. */
import { createHmac } from "node:crypto";
import type postgres from "postgres";
import { stack } from "../helpers.ts";

/** Creates a user and makes them a member (role `member` unless given) of the default tenant; returns the user id. */
export async function createMember(sql: postgres.Sql, email: string, role = "member"): Promise<string> {
  const [{ id }] = await sql`insert into auth.users (email, raw_app_meta_data) values (${email}, '{}') returning id`;
  await sql`insert into flows.members (tenant_id, user_id, role) values (flows.default_tenant(), ${id}, ${role})`;
  return id;
}

/** Runs `work` in a transaction as a signed-in user, the way PostgREST does (role and JWT claims). */
export async function asUser<T>(sql: postgres.Sql, userId: string, work: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
  return (await sql.begin(async (tx) => {
    await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub: userId, role: "authenticated", aud: "authenticated" })}, true),
                    set_config('role', 'authenticated', true)`;
    return await work(tx);
  })) as T;
}

/** `X-Flows-Signature` for a body: v1=HMAC-SHA256(secret, "<timestamp>.<body>") in hex. */
export function signature(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/** POSTs a body to the flow's webhook, signed with `secret` (or with the given headers instead). */
export async function postHook(
  path: string,
  body: string,
  options: { secret?: string; timestamp?: number; headers?: Record<string, string> } = {},
): Promise<Response> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = options.headers ?? {
    "Content-Type": "application/json",
    "X-Flows-Timestamp": String(timestamp),
    "X-Flows-Signature": signature(options.secret ?? "", timestamp, body),
  };
  return await fetch(`${stack.apiUrl}/functions/v1/flow-hooks/${path}`, { method: "POST", headers, body });
}
