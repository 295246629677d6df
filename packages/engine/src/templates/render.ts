/**
 * Rendering of step configurations. Produces two copies in one walk: the real value, sent to the
 * outside world, and a redacted value, the only one that may be persisted or logged.
 */
import { FlowError } from "../errors.ts";
import { readPath } from "../json.ts";
import { hasPlaceholder, parseTemplate, type Placeholder, TEMPLATE_ROOTS, type TemplateRoot } from "./parse.ts";
import { createRedactor, REDACTED } from "./redact.ts";

/** State of an earlier step as templates see it (`{{steps.<id>.output.x}}`). */
export interface StepState {
  status: "completed" | "failed";
  output?: unknown;
  error?: unknown;
}

/** Everything placeholders can read. */
export interface TemplateScope {
  row?: unknown;
  old?: unknown;
  input?: unknown;
  variables?: Record<string, unknown>;
  env?: Record<string, string>;
  secrets?: Record<string, string>;
  steps?: Record<string, StepState>;
  execution?: { id: string; flow_id?: string; version_id?: string; op?: string; table?: string };
}

/** Options for {@link renderTemplates}. */
export interface RenderOptions {
  /** Alias name -> path, from the definition's `aliases` (e.g. `leadId` -> `row.id`). */
  aliases?: Record<string, string>;
  /** Largest rendered value accepted, in bytes of JSON. Default 1 MiB. */
  maxBytes?: number;
  /** Prefix for error messages, e.g. `steps[1].config`. */
  location?: string;
  /** Top-level keys copied verbatim (a condition's `rules` are data, not templates). */
  skipKeys?: readonly string[];
}

/** A rendered value and its redacted twin. */
export interface Rendered<T> {
  value: T;
  redacted: T;
}

/** Default bound on rendered output. */
export const DEFAULT_MAX_RENDER_BYTES = 1_048_576;

const ROOTS: ReadonlySet<string> = new Set(TEMPLATE_ROOTS);

/**
 * Renders every string of a JSON value. A string that is exactly one placeholder takes the JSON
 * type of what it points at; placeholders inside larger strings are converted to text (objects as
 * JSON, null as ""). A missing path throws TEMPLATE_MISSING_PATH unless a default is given.
 */
export function renderTemplates<T = unknown>(input: unknown, scope: TemplateScope, options: RenderOptions = {}): Rendered<T> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_RENDER_BYTES;
  const location = options.location ?? "";
  const aliases = options.aliases ?? {};
  const secretValues = Object.values(scope.secrets ?? {});
  const redact = createRedactor(secretValues);
  let budget = maxBytes;

  const spend = (amount: number, path: string): void => {
    budget -= amount;
    if (budget < 0) {
      throw new FlowError("TEMPLATE_OUTPUT_TOO_LARGE", `${path || "(root)"}: rendered configuration is larger than ${maxBytes} bytes`, {
        details: { location: path, maxBytes },
      });
    }
  };

  const resolve = (placeholder: Placeholder, path: string): { value: unknown; secret: boolean } => {
    let segments = placeholder.segments;
    const head = segments[0]!;
    if (!ROOTS.has(head)) {
      const target = Object.prototype.hasOwnProperty.call(aliases, head) ? aliases[head] : undefined;
      if (target === undefined) {
        throw new FlowError("TEMPLATE_SYNTAX", `${path || "(root)"}: unknown template root "${head}" in {{${placeholder.source}}}`, {
          details: { location: path, placeholder: placeholder.source },
        });
      }
      segments = [...target.replace(/\[(\d+)\]/g, ".$1").split("."), ...segments.slice(1)];
    }
    const root = segments[0] as TemplateRoot;
    let value = readPath(scope[root], segments.slice(1));
    if (scope[root] === undefined) value = undefined;
    if ((value === undefined || value === null) && placeholder.hasDefault) value = placeholder.defaultValue;
    if (value === undefined) {
      const missing = segments.join(".");
      throw new FlowError("TEMPLATE_MISSING_PATH", `${path || "(root)"}: template path "${missing}" is missing (add | default: <value> to allow it)`, {
        details: { location: path, path: missing },
      });
    }
    return { value, secret: root === "secrets" };
  };

  const walk = (value: unknown, path: string, depth: number): Rendered<unknown> => {
    if (typeof value === "string") {
      if (!hasPlaceholder(value)) {
        spend(value.length, path);
        return { value, redacted: value };
      }
      let parsed;
      try {
        parsed = parseTemplate(value);
      } catch (error) {
        const flowError = error as FlowError;
        throw new FlowError(flowError.code, `${path || "(root)"}: ${flowError.message}`, { details: { location: path } });
      }
      if (parsed.single) {
        const { value: resolved, secret } = resolve(parsed.parts[0] as Placeholder, path);
        // Whole values (an earlier step's output) are charged at their real size, so repeating one cannot
        // build an unbounded result before the final measurement.
        spend(typeof resolved === "string" ? resolved.length : (JSON.stringify(resolved) ?? "").length, path);
        return { value: resolved, redacted: secret ? REDACTED : resolved };
      }
      let text = "";
      let redacted = "";
      for (const part of parsed.parts) {
        if (typeof part === "string") {
          text += part;
          redacted += part;
          spend(part.length, path);
          continue;
        }
        const { value: resolved, secret } = resolve(part, path);
        const piece = embed(resolved);
        spend(piece.length, path);
        text += piece;
        redacted += secret ? REDACTED : piece;
      }
      return { value: text, redacted };
    }
    if (Array.isArray(value)) {
      const values: unknown[] = [];
      const redacted: unknown[] = [];
      value.forEach((item, index) => {
        const rendered = walk(item, `${path}[${index}]`, depth + 1);
        values.push(rendered.value);
        redacted.push(rendered.redacted);
      });
      return { value: values, redacted };
    }
    if (typeof value === "object" && value !== null) {
      const values: Record<string, unknown> = {};
      const redacted: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        if (depth === 0 && options.skipKeys?.includes(key)) {
          values[key] = item;
          redacted[key] = item;
          continue;
        }
        const rendered = walk(item, path === "" ? key : `${path}.${key}`, depth + 1);
        values[key] = rendered.value;
        redacted[key] = rendered.redacted;
      }
      return { value: values, redacted };
    }
    return { value, redacted: value };
  };

  const rendered = walk(input, location, 0);
  // Whole values (objects from earlier steps) were counted roughly while walking; measure the result exactly.
  const size = new TextEncoder().encode(JSON.stringify(rendered.value) ?? "").length;
  if (size > maxBytes) {
    throw new FlowError("TEMPLATE_OUTPUT_TOO_LARGE", `${location || "(root)"}: rendered configuration is ${size} bytes; the limit is ${maxBytes}`, {
      details: { location, maxBytes, size },
    });
  }
  // Secrets can also arrive inside non-secret values (an earlier response echoing a token).
  return { value: rendered.value as T, redacted: redact(rendered.redacted) as T };
}

function embed(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}
