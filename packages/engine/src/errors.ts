/**
 * The engine's single error taxonomy.
 *
 * Every error that crosses a module boundary carries a stable `code` and a `retryable` flag. Code is
 * identified by `code`, never only by `instanceof`, because errors travel between Deno, Node and
 * Postgres (as JSON) and class identity does not survive those trips.
 */

/** Catalog of every error code: whether it is retryable by default and what it means. */
export const ERROR_CATALOG = {
  VALIDATION_FAILED: { retryable: false, summary: "A flow definition or step failed validation." },
  PARAMETERS_INVALID: { retryable: false, summary: "Run input does not match the definition's `parameters` schema." },
  CONFIG_INVALID: { retryable: false, summary: "A step configuration is invalid after templates were rendered." },
  UNKNOWN_STEP_TYPE: { retryable: false, summary: "No runner is registered for the step's type." },
  BRANCH_TARGET_INVALID: { retryable: false, summary: "A condition step pointed at a step that does not exist or is not ahead of it." },
  TEMPLATE_SYNTAX: { retryable: false, summary: "A `{{...}}` placeholder cannot be parsed or names an unknown root." },
  TEMPLATE_MISSING_PATH: { retryable: false, summary: "A placeholder path resolved to nothing and has no default." },
  TEMPLATE_OUTPUT_TOO_LARGE: { retryable: false, summary: "Rendering a step configuration exceeded the size bound." },
  SECRET_NOT_FOUND: { retryable: false, summary: "A secret referenced by the definition is missing from the secret store." },
  DESTINATION_BLOCKED: { retryable: false, summary: "The SSRF guard refused the destination (private, loopback, metadata...)." },
  TOO_MANY_REDIRECTS: { retryable: false, summary: "More than 5 redirects were followed." },
  NETWORK_ERROR: { retryable: true, summary: "The connection failed (DNS, refused, reset...)." },
  TIMEOUT: { retryable: true, summary: "The step exceeded its timeout, or the server answered 408." },
  RATE_LIMITED: { retryable: true, summary: "HTTP 429, Bitrix24 503 or QUERY_LIMIT_EXCEEDED. Honours Retry-After." },
  HTTP_SERVER_ERROR: { retryable: true, summary: "The server answered 5xx." },
  HTTP_CLIENT_ERROR: { retryable: false, summary: "The server answered 4xx (other than 408 and 429)." },
  RESPONSE_TOO_LARGE: { retryable: false, summary: "The response body exceeded the size cap." },
  REMOTE_ERROR: { retryable: false, summary: "The remote API reported an error in its body (Bitrix24 `error`)." },
  FUNCTION_ERROR: { retryable: false, summary: "An invoked Edge Function failed." },
  ROW_NOT_FOUND: { retryable: false, summary: "db_update matched no row." },
  SERIALIZATION_FAILURE: { retryable: true, summary: "Postgres serialization failure or deadlock (40001, 40P01)." },
  STORE_ERROR: { retryable: false, summary: "The store failed in a way retrying will not fix." },
  ATTEMPT_INTERRUPTED: { retryable: true, summary: "An attempt was found still running on resume (the worker died mid-step)." },
  SUB_FLOW_UNAVAILABLE: { retryable: false, summary: "A sub_flow step's flow cannot be started (unknown, unpublished, inactive, no input trigger, bad input, too deep)." },
  SUB_FLOW_FAILED: { retryable: false, summary: "The execution a sub_flow step started failed or was cancelled." },
  SUB_FLOW_TIMEOUT: { retryable: false, summary: "A sub_flow step's execution did not finish within `timeout_seconds`; it is asked to stop." },
  BRANCH_FAILED: { retryable: false, summary: "A branch of a parallel step failed; the other branches stopped before their next step." },
  CANCELLED: { retryable: false, summary: "The execution was cancelled." },
  UNEXPECTED_ERROR: { retryable: false, summary: "Anything else; the original message is kept." },
} as const satisfies Record<string, { retryable: boolean; summary: string }>;

/** One of the codes in {@link ERROR_CATALOG}. */
export type FlowErrorCode = keyof typeof ERROR_CATALOG;

/** The JSON shape of an error as persisted in attempts and execution outcomes. */
export interface SerializedFlowError {
  code: string;
  message: string;
  retryable: boolean;
  retryAfterMs?: number;
  details?: Record<string, unknown>;
}

/** Options for {@link FlowError}; `retryable` defaults to the catalog's value for the code. */
export interface FlowErrorOptions {
  retryable?: boolean;
  retryAfterMs?: number;
  details?: Record<string, unknown>;
  cause?: unknown;
}

/** The engine's error class; always carries `code` and `retryable`. */
export class FlowError extends Error {
  /** Stable machine-readable code from {@link ERROR_CATALOG}. */
  readonly code: FlowErrorCode;
  /** Whether the executor may try the step again. */
  readonly retryable: boolean;
  /** Minimum wait the remote asked for (Retry-After), in milliseconds. */
  readonly retryAfterMs?: number;
  /** Structured context (status, issues, paths); never contains secret values. */
  readonly details?: Record<string, unknown>;

  constructor(code: FlowErrorCode, message: string, options: FlowErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "FlowError";
    this.code = code;
    this.retryable = options.retryable ?? ERROR_CATALOG[code].retryable;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
    if (options.details !== undefined) this.details = options.details;
  }

  /** The persisted JSON form. */
  toJSON(): SerializedFlowError {
    return serializeError(this);
  }
}

/** Structural check used instead of `instanceof`, so errors from another realm or runtime still match. */
export function isFlowError(value: unknown): value is FlowError {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as { code?: unknown; retryable?: unknown; message?: unknown };
  return typeof candidate.code === "string" && typeof candidate.retryable === "boolean" &&
    typeof candidate.message === "string";
}

/** True when `value` is a FlowError-like value with the given code. */
export function hasErrorCode(value: unknown, code: FlowErrorCode): boolean {
  return isFlowError(value) && value.code === code;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

/**
 * Coerces anything thrown into the taxonomy. This is the only place unknown throws are classified.
 *
 * Unknown errors are not retryable: repeating a side effect we do not understand is worse than
 * failing loudly. Network failures are classified where fetch is called (the HTTP client), because
 * only there is a `TypeError` known to mean "network".
 */
export function toFlowError(value: unknown): FlowError {
  if (value instanceof FlowError) return value;
  if (isFlowError(value)) {
    const known = value.code in ERROR_CATALOG ? (value.code as FlowErrorCode) : "UNEXPECTED_ERROR";
    return new FlowError(known, value.message, {
      retryable: value.retryable,
      ...(typeof value.retryAfterMs === "number" ? { retryAfterMs: value.retryAfterMs } : {}),
      details: {
        ...(value.details ?? {}),
        ...(known === value.code ? {} : { originalCode: value.code }),
      },
    });
  }
  if (value instanceof Error || (typeof value === "object" && value !== null && "name" in value)) {
    const error = value as { name?: unknown; message?: unknown; code?: unknown };
    const message = typeof error.message === "string" && error.message !== "" ? error.message : String(error.name);
    if (error.name === "TimeoutError") return new FlowError("TIMEOUT", message, { cause: value });
    if (error.name === "AbortError") return new FlowError("CANCELLED", message, { cause: value });
    if (typeof error.code === "string" && SQLSTATE.test(error.code)) return fromSqlState(error.code, message, value);
    return new FlowError("UNEXPECTED_ERROR", message, { cause: value });
  }
  if (typeof value === "object" && value !== null && typeof (value as { code?: unknown }).code === "string") {
    const { code, message } = value as { code: string; message?: unknown };
    if (SQLSTATE.test(code)) return fromSqlState(code, typeof message === "string" ? message : code, value);
  }
  return new FlowError("UNEXPECTED_ERROR", typeof value === "string" ? value : safeString(value), {
    cause: value,
  });
}

// Postgres errors reach us from the store adapter; mapping SQLSTATE here keeps adapters free of policy.
function fromSqlState(sqlState: string, message: string, cause: unknown): FlowError {
  const details = { sqlState };
  if (sqlState === "40001" || sqlState === "40P01") {
    return new FlowError("SERIALIZATION_FAILURE", message, { details, cause });
  }
  // Class 08 and the 57P0x shutdowns end the session: the statement's transaction went with it.
  if (sqlState.startsWith("08") || /^57P0\d$/.test(sqlState)) return new FlowError("NETWORK_ERROR", message, { details, cause });
  if (sqlState === "57014") return new FlowError("TIMEOUT", message, { details, cause });
  return new FlowError("STORE_ERROR", message, { details, cause });
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Converts any error into its persisted JSON form. */
export function serializeError(value: unknown): SerializedFlowError {
  const error = toFlowError(value);
  return {
    code: error.code,
    message: error.message,
    retryable: error.retryable,
    ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
    ...(error.details !== undefined && Object.keys(error.details).length > 0 ? { details: error.details } : {}),
  };
}
