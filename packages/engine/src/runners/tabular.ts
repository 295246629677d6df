/**
 * The `tabular` runner: updates CRM fields through a Bitrix24 inbound webhook
 * (`POST <webhook_url>/crm.<entity>.update` with `{id, fields}`).
 *
 * Bitrix24 reports failures in the body, often with HTTP 200 or 400: `{error, error_description}`.
 * Those are failures with that text and are not retried, except QUERY_LIMIT_EXCEEDED and HTTP 503,
 * which are its rate limiting and are retried. Requests are limited per portal to Bitrix24's published 2/s, burst 50,
 * unless the config says otherwise (`rate_limit`); the executor takes the tokens.
 */
import { DEFAULT_MAX_RESPONSE_BYTES, type TabularConfig, TabularConfigSchema } from "../definition/step-configs.ts";
import { FlowError } from "../errors.ts";
import { BITRIX24_RATE_LIMIT, bitrixPortalKey, rateLimitFromConfig } from "../flow-control/rate-limit.ts";
import { isPlainObject } from "../json.ts";
import { excerpt, parseRetryAfter, sendRequest } from "./http-client.ts";
import { statusError } from "./http.ts";
import { configValidator, type StepContext, type StepRunner } from "./types.ts";

/** Output of a tabular step. */
export interface TabularOutput {
  entity: string;
  id: string | number;
  fields: Record<string, unknown>;
  result: unknown;
}

function collectFields(config: TabularConfig): Record<string, unknown> {
  const fields: Record<string, unknown> = { [config.field]: config.value };
  const extra = config.additional_fields;
  if (Array.isArray(extra)) for (const { field, value } of extra) fields[field] = value;
  else if (extra !== undefined) Object.assign(fields, extra);
  return fields;
}

function recordId(config: TabularConfig, context: StepContext): string | number {
  if (config.id !== undefined) return config.id;
  // Default to the triggering row's id, which is what the seed's {{leadId}} meant.
  const row = context.event.row;
  const id = isPlainObject(row) ? row.id : undefined;
  if (typeof id === "string" || typeof id === "number") return id;
  throw new FlowError("CONFIG_INVALID", `tabular: no "id" in config and the triggering row has no id`);
}

/** The tabular (Bitrix24) runner. */
export const tabularRunner: StepRunner<TabularConfig> = {
  stepType: "tabular",
  configSchema: TabularConfigSchema,
  validateConfig: configValidator(TabularConfigSchema),
  rateLimit(config: TabularConfig) {
    if (config.rate_limit === false) return null;
    const limit = config.rate_limit === undefined ? BITRIX24_RATE_LIMIT : rateLimitFromConfig(config.rate_limit);
    return { destination: bitrixPortalKey(config.webhook_url), limit };
  },
  async execute(config: TabularConfig, context: StepContext) {
    const entity = config.entity ?? "lead";
    const id = recordId(config, context);
    const fields = collectFields(config);
    const response = await sendRequest(
      context.http,
      {
        method: "POST",
        url: `${config.webhook_url.replace(/\/+$/, "")}/crm.${entity}.update`,
        headers: { "content-type": "application/json", accept: "application/json", "Idempotency-Key": context.idempotencyKey },
        body: JSON.stringify({ id, fields }),
        maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES,
      },
      context.signal,
    );
    const retryAfterMs = parseRetryAfter(response.headers["retry-after"], context.clock);
    let payload: unknown;
    try {
      payload = JSON.parse(response.text);
    } catch {
      payload = undefined;
    }
    const error = isPlainObject(payload) && typeof payload.error === "string" ? payload.error : undefined;
    const description = isPlainObject(payload) && typeof payload.error_description === "string" ? payload.error_description : "";
    const details = { status: response.status, error, error_description: description };
    if (response.status === 503 || error === "QUERY_LIMIT_EXCEEDED") {
      throw new FlowError("RATE_LIMITED", `Bitrix24 rate limit: ${description || error || "503 Service Unavailable"}`, {
        details,
        retryAfterMs: retryAfterMs ?? 1000,
      });
    }
    if (response.status >= 500) throw statusError(response, retryAfterMs, "Bitrix24");
    if (error !== undefined) {
      throw new FlowError("REMOTE_ERROR", description === "" ? `Bitrix24 error ${error}` : `Bitrix24 error ${error}: ${description}`, { details });
    }
    if (response.status >= 400) throw statusError(response, retryAfterMs, "Bitrix24");
    if (!isPlainObject(payload) || !("result" in payload) || payload.result === false) {
      throw new FlowError("REMOTE_ERROR", `Bitrix24 did not confirm the update`, {
        details: { status: response.status, body: excerpt(response.text) },
      });
    }
    const output: TabularOutput = { entity, id, fields, result: payload.result };
    return { status: "completed", output };
  },
};
