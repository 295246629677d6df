/**
 * Parsing of `{{ path | default: <json> }}` placeholders.
 *
 * Parsing is separate from rendering so that definitions are checked once at validation time
 * (syntax, roots, declared secrets) and rendering never meets a malformed placeholder.
 */
import { FlowError } from "../errors.ts";
import type { JsonValue } from "../json.ts";

/** Names a placeholder path may start with (besides aliases the definition declares). */
export const TEMPLATE_ROOTS = ["row", "old", "input", "variables", "env", "secrets", "steps", "execution"] as const;

/** One of {@link TEMPLATE_ROOTS}. */
export type TemplateRoot = (typeof TEMPLATE_ROOTS)[number];

/** A parsed placeholder. */
export interface Placeholder {
  /** The text between the braces, for error messages. */
  source: string;
  /** Path segments; the first is a root or an alias. */
  segments: string[];
  /** Whether `| default: ...` was given. */
  hasDefault: boolean;
  /** The default value (a JSON literal); meaningful only when `hasDefault`. */
  defaultValue: JsonValue;
}

/** A parsed template string: literal text interleaved with placeholders. */
export interface ParsedTemplate {
  parts: Array<string | Placeholder>;
  /** True when the whole string is exactly one placeholder, so the value keeps its JSON type. */
  single: boolean;
}

const PLACEHOLDER = /\{\{([\s\S]*?)\}\}/g;
const SEGMENT = "[A-Za-z0-9_$-]+";
const EXPRESSION = new RegExp(
  `^\\s*([A-Za-z_$][A-Za-z0-9_$-]*(?:\\.${SEGMENT}|\\[\\d+\\])*)\\s*(?:\\|\\s*default\\s*:\\s*([\\s\\S]+?))?\\s*$`,
);

/** Cheap test used to skip strings that contain no placeholder. */
export function hasPlaceholder(text: string): boolean {
  return text.includes("{{");
}

const cache = new Map<string, ParsedTemplate>();
const CACHE_LIMIT = 5000;

/** Parses a template string; throws FlowError TEMPLATE_SYNTAX. Results are cached by text. */
export function parseTemplate(text: string): ParsedTemplate {
  const cached = cache.get(text);
  if (cached !== undefined) return cached;
  const parsed = parseUncached(text);
  // A bounded cache: definitions repeat the same strings on every run, but memory must not grow without limit.
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(text, parsed);
  return parsed;
}

function parseUncached(text: string): ParsedTemplate {
  const parts: Array<string | Placeholder> = [];
  let last = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    const index = match.index ?? 0;
    if (index > last) parts.push(text.slice(last, index));
    parts.push(parsePlaceholder(match[1] ?? ""));
    last = index + match[0].length;
  }
  const rest = text.slice(last);
  if (rest.includes("{{")) {
    throw new FlowError("TEMPLATE_SYNTAX", `Unclosed placeholder in "${truncate(text)}"`);
  }
  if (rest !== "") parts.push(rest);
  const only = parts[0];
  return { parts, single: parts.length === 1 && typeof only === "object" };
}

function parsePlaceholder(source: string): Placeholder {
  const match = EXPRESSION.exec(source);
  if (match === null) {
    throw new FlowError("TEMPLATE_SYNTAX", `Invalid placeholder "{{${source}}}": expected {{path}} or {{path | default: <json>}}`);
  }
  const path = match[1] ?? "";
  const segments = path.replace(/\[(\d+)\]/g, ".$1").split(".");
  const defaultText = match[2];
  if (defaultText === undefined) return { source: source.trim(), segments, hasDefault: false, defaultValue: null };
  let defaultValue: JsonValue;
  try {
    defaultValue = JSON.parse(defaultText) as JsonValue;
  } catch {
    throw new FlowError(
      "TEMPLATE_SYNTAX",
      `Invalid default in "{{${source}}}": the default must be a JSON literal such as "text", 0, true or null`,
    );
  }
  return { source: source.trim(), segments, hasDefault: true, defaultValue };
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Calls `visit` for every string in a JSON value, with its path relative to the value. */
export function forEachString(
  value: unknown,
  visit: (text: string, path: Array<string | number>) => void,
  path: Array<string | number> = [],
): void {
  if (typeof value === "string") {
    visit(value, path);
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => forEachString(item, visit, [...path, index]));
  } else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) forEachString(item, visit, [...path, key]);
  }
}
