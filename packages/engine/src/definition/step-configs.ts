/**
 * zod schemas for every built-in step's `config`. Runners import their schema from here so that the
 * definition schema, the exported JSON Schema and the runners share one source of truth.
 *
 * Config strings may contain `{{placeholders}}`; fields that are not strings (wait `seconds`) accept a
 * placeholder string too. Runners validate again after rendering, with the same schemas.
 */
import { z } from "zod";
import { hasPlaceholder } from "../templates/parse.ts";
import { RuleSchema } from "./rule-schema.ts";

/** Retry settings; every field is optional because step settings are merged over flow defaults. */
export const RetrySchema = z.strictObject({
  max_attempts: z.int().min(1).max(20).optional(),
  delay: z.int().min(0).max(86_400_000).optional(),
  backoff: z.enum(["fixed", "exponential"]).optional(),
  max_delay: z.int().min(0).max(86_400_000).optional(),
  jitter: z.boolean().optional(),
});

/** Per-step timeout in milliseconds (10 minutes at most: Edge Functions do not live longer). */
export const TimeoutSchema = z.int().min(1).max(600_000);

/** A string containing at least one placeholder. */
export const TemplateStringSchema = z.string().regex(/\{\{[\s\S]*\}\}/, "Expected a number or a {{placeholder}}");

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

/** An http(s) URL, or a string with placeholders that must render to one. */
export const UrlSchema = z
  .string()
  .min(1)
  .max(8192)
  .refine((text) => hasPlaceholder(text) || isHttpUrl(text), "Invalid URL");

/** A SQL identifier as the database stores it unquoted; the store adapter still quotes it. */
export const SQL_IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
/** A table name: `table` or `schema.table`. */
export const SQL_TABLE = /^([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$/;

/**
 * A destination's rate limit: on average `per_second` requests per second, `burst` at once. Fractions allow slow
 * destinations (0.5 = one request every 2 s).
 */
export const RateLimitSchema = z.strictObject({
  per_second: z.number().min(0.01).max(10_000),
  burst: z.int().min(1).max(100_000),
});

/** HTTP methods the http runner sends. */
export const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] as const;

/** Default cap on a response body. */
export const DEFAULT_MAX_RESPONSE_BYTES = 1_048_576;

/** `http` step: call any HTTP endpoint. */
export const HttpConfigSchema = z.strictObject({
  method: z.enum(HTTP_METHODS).optional(),
  url: UrlSchema,
  headers: z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "Invalid header name"), z.string()).optional(),
  query: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  body: z.json().optional(),
  timeout: TimeoutSchema.optional(),
  retry: RetrySchema.optional(),
  max_response_bytes: z.int().min(1).max(10 * DEFAULT_MAX_RESPONSE_BYTES).optional(),
  /** Limit requests to the URL's origin (scheme, host, port); shared by every step and flow calling it. */
  rate_limit: RateLimitSchema.optional(),
});

const FieldValueSchema = z.strictObject({ field: z.string().min(1), value: z.json() });

/** `tabular` step: update CRM fields through a Bitrix24 inbound webhook. */
export const TabularConfigSchema = z.strictObject({
  webhook_url: UrlSchema,
  entity: z.string().regex(/^[a-z][a-z0-9_]*$/, "Invalid entity: use names like lead, deal, contact").optional(),
  id: z.union([z.string().min(1), z.int().positive()]).optional(),
  field: z.string().min(1),
  value: z.json(),
  additional_fields: z.union([z.array(FieldValueSchema), z.record(z.string().min(1), z.json())]).optional(),
  /** Limit per portal (webhook origin + `/rest/<user>`); default Bitrix24's 2/s, burst 50; `false` turns it off. */
  rate_limit: z.union([RateLimitSchema, z.literal(false)]).optional(),
});

/** Longest wait any deployment can configure; a runner's own maximum (default 3600 s) is usually lower. */
export const WAIT_ABSOLUTE_MAX_SECONDS = 30 * 24 * 3600;

/** `wait` step: suspend the execution. */
export const WaitConfigSchema = z.strictObject({
  seconds: z.union([z.number().min(0).max(WAIT_ABSOLUTE_MAX_SECONDS), TemplateStringSchema]),
  reason: z.string().max(500).optional(),
});

/**
 * Schemas a flow may not watch or write: the system's own tables (watching flows.events would capture its own inserts;
 * flows.*, auth.* and vault.* hold other tenants' rows, users and secrets) and the platform's schemas.
 */
export const RESERVED_SCHEMAS = [
  "flows", "auth", "vault", "net", "cron", "extensions", "storage", "realtime", "graphql", "graphql_public",
  "supabase_functions", "supabase_migrations", "pgsodium", "pgsodium_masks", "information_schema", "pg_catalog",
] as const;

/** True when `table` (`table` or `schema.table`) lives in a reserved or `pg_*` schema. */
export function isReservedTable(table: string): boolean {
  const schema = table.includes(".") ? table.slice(0, table.indexOf(".")) : "public";
  return (RESERVED_SCHEMAS as readonly string[]).includes(schema) || schema.startsWith("pg_");
}

/** `db_update` step: set columns of one row by key. */
export const DbUpdateConfigSchema = z.strictObject({
  table: z
    .string()
    .max(127)
    .regex(SQL_TABLE, "Invalid table: use table or schema.table in lowercase")
    // Only a well-formed name is checked for its schema, so a malformed one gets one clear error, not two.
    .refine((table) => !SQL_TABLE.test(table) || !isReservedTable(table), "Reserved schema: flows cannot write system tables"),
  key_column: z.string().max(63).regex(SQL_IDENTIFIER, "Invalid column name").optional(),
  key: z.union([z.string().min(1), z.number()]),
  set: z
    .record(z.string().max(63).regex(SQL_IDENTIFIER, "Invalid column name"), z.json())
    .refine((set) => Object.keys(set).length > 0, "At least one column to set"),
});

/** `function_call` step: invoke another Supabase Edge Function. */
export const FunctionCallConfigSchema = z.strictObject({
  function_name: z.string().max(128).regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, "Invalid function name"),
  body: z.json().optional(),
});

/** Flow keys, as `flows.flows.key` stores them. */
export const FLOW_KEY_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Longest a sub_flow step waits for its flow, in seconds (7 days). */
export const SUB_FLOW_MAX_WAIT_SECONDS = 7 * 24 * 3600;

/** Default wait for a sub_flow's execution, in seconds (24 hours). */
export const SUB_FLOW_DEFAULT_WAIT_SECONDS = 24 * 3600;

/**
 * `sub_flow` step: start an execution of another flow's published version (a manual or webhook flow: its
 * `parameters` are the contract) and, unless `wait` is false, suspend until it finishes and use its outputs.
 */
export const SubFlowConfigSchema = z.strictObject({
  flow: z.string().max(200).refine((key) => hasPlaceholder(key) || FLOW_KEY_PATTERN.test(key), "Invalid flow key: use a-z, 0-9, _ and -"),
  input: z.json().optional(),
  wait: z.boolean().optional(),
  timeout_seconds: z.union([z.int().min(1).max(SUB_FLOW_MAX_WAIT_SECONDS), TemplateStringSchema]).optional(),
});

const StepRefSchema = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, "Invalid step id");

/** `condition` step: evaluate rules, then continue at `then` or `else` (null ends the execution). */
export const ConditionConfigSchema = z.strictObject({
  rules: RuleSchema,
  subject: z.json().optional(),
  then: StepRefSchema.nullable().optional(),
  else: StepRefSchema.nullable().optional(),
});

/** `transform` step: render an object of templates; the result is the step output. */
export const TransformConfigSchema = z.strictObject({
  output: z.json(),
});

/** Log levels for the `log` step. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** Longest log message kept, in characters. */
export const MAX_LOG_MESSAGE_LENGTH = 10_000;

/**
 * `log` step: write a message into the attempt's logs. A message that is a lone placeholder
 * (`"{{row.id}}"`) renders to that value's own JSON type, so any JSON is accepted and the runner
 * turns non-strings into text.
 */
export const LogConfigSchema = z.strictObject({
  message: z.json().refine(
    (value) => typeof value !== "string" || value.length <= MAX_LOG_MESSAGE_LENGTH,
    `Must be at most ${MAX_LOG_MESSAGE_LENGTH} characters`,
  ),
  level: z.enum(LOG_LEVELS).optional(),
  data: z.json().optional(),
});

/** Parsed config of an `http` step. */
export type HttpConfig = z.infer<typeof HttpConfigSchema>;
/** Parsed config of a `tabular` step. */
export type TabularConfig = z.infer<typeof TabularConfigSchema>;
/** Parsed config of a `wait` step. */
export type WaitConfig = z.infer<typeof WaitConfigSchema>;
/** Parsed config of a `db_update` step. */
export type DbUpdateConfig = z.infer<typeof DbUpdateConfigSchema>;
/** Parsed config of a `function_call` step. */
export type FunctionCallConfig = z.infer<typeof FunctionCallConfigSchema>;
/** Parsed config of a `condition` step. */
export type ConditionConfig = z.infer<typeof ConditionConfigSchema>;
/** Parsed config of a `transform` step. */
export type TransformConfig = z.infer<typeof TransformConfigSchema>;
/** Parsed config of a `sub_flow` step. */
export type SubFlowConfig = z.infer<typeof SubFlowConfigSchema>;
/** Parsed config of a `log` step. */
export type LogConfig = z.infer<typeof LogConfigSchema>;
/** A rate limit as written in a definition. */
export type RateLimitConfig = z.infer<typeof RateLimitSchema>;
/** Retry settings as written in a definition. */
export type RetryConfig = z.infer<typeof RetrySchema>;
