/** The `http` runner: calls any HTTP endpoint and classifies the answer for the retry policy. */
import { DEFAULT_MAX_RESPONSE_BYTES, type HttpConfig, HttpConfigSchema } from "../definition/step-configs.ts";
import { FlowError } from "../errors.ts";
import { originKey, rateLimitFromConfig } from "../flow-control/rate-limit.ts";
import { excerpt, type InboundResponse, parseBody, parseRetryAfter, sendRequest } from "./http-client.ts";
import { configValidator, type StepContext, type StepRunner } from "./types.ts";

/** Output of an http step: `{{steps.<id>.output.body.x}}` reads the parsed body. */
export interface HttpOutput {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

function buildUrl(config: HttpConfig): string {
  if (config.query === undefined) return config.url;
  const url = new URL(config.url);
  for (const [name, value] of Object.entries(config.query)) url.searchParams.append(name, String(value));
  return url.href;
}

/** Maps a non-2xx status to the taxonomy: 408 and 5xx and 429 retryable, other 4xx not. */
export function statusError(response: InboundResponse, retryAfterMs: number | undefined, service = "Server"): FlowError {
  const details = { status: response.status, body: excerpt(response.text) };
  const retry = retryAfterMs === undefined ? {} : { retryAfterMs };
  if (response.status === 429) return new FlowError("RATE_LIMITED", `${service} answered 429 Too Many Requests`, { details, ...retry });
  if (response.status === 408) return new FlowError("TIMEOUT", `${service} answered 408 Request Timeout`, { details, ...retry });
  if (response.status >= 500) return new FlowError("HTTP_SERVER_ERROR", `${service} answered ${response.status}`, { details, ...retry });
  return new FlowError("HTTP_CLIENT_ERROR", `${service} answered ${response.status}`, { details });
}

/** The http runner. */
export const httpRunner: StepRunner<HttpConfig> = {
  stepType: "http",
  configSchema: HttpConfigSchema,
  validateConfig: configValidator(HttpConfigSchema, (config) => {
    const method = config.method ?? "GET";
    const issues = config.body !== undefined && (method === "GET" || method === "HEAD")
      ? [{ path: "body", message: `A ${method} request cannot have a body` }]
      : [];
    // A rendered value with a line break would make fetch throw, which would look like a network failure.
    for (const [name, value] of Object.entries(config.headers ?? {})) {
      if (/[\r\n\0]/.test(value)) issues.push({ path: `headers.${name}`, message: "Header values cannot contain line breaks" });
      // fetch refuses the rest of Unicode in a header (HTTP carries bytes there), as a TypeError that would also look
      // like a network failure, retried for nothing.
      else if (/[^\u0000-\u00ff]/.test(value)) {
        issues.push({ path: `headers.${name}`, message: "Header values must be Latin-1 text; percent-encode or base64-encode other characters" });
      }
    }
    return issues;
  }),
  rateLimit(config: HttpConfig) {
    return config.rate_limit === undefined ? null : { destination: originKey(config.url), limit: rateLimitFromConfig(config.rate_limit) };
  },
  async execute(config: HttpConfig, context: StepContext) {
    const method = config.method ?? "GET";
    const headers: Record<string, string> = {};
    const has = (name: string) => Object.keys(headers).some((key) => key.toLowerCase() === name);
    for (const [name, value] of Object.entries(config.headers ?? {})) headers[name] = value;
    let body: string | undefined;
    if (typeof config.body === "string") {
      body = config.body;
      if (!has("content-type")) headers["content-type"] = "text/plain; charset=utf-8";
    } else if (config.body !== undefined) {
      body = JSON.stringify(config.body);
      if (!has("content-type")) headers["content-type"] = "application/json";
    }
    // The key is attempt-independent, so a receiver that honours it applies a retried request once.
    if (!has("idempotency-key")) headers["Idempotency-Key"] = context.idempotencyKey;
    const response = await sendRequest(
      context.http,
      { method, url: buildUrl(config), headers, body, maxResponseBytes: config.max_response_bytes ?? DEFAULT_MAX_RESPONSE_BYTES },
      context.signal,
    );
    if (response.status >= 400) {
      throw statusError(response, parseRetryAfter(response.headers["retry-after"], context.clock));
    }
    const output: HttpOutput = { status: response.status, headers: response.headers, body: parseBody(response) };
    return { status: "completed", output };
  },
};
