/** Small JSON helpers shared by rules, templates and the executor. */

/** Any value that survives JSON.stringify/JSON.parse unchanged. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object (a row, a step output, an input payload). */
export type JsonObject = { [key: string]: JsonValue };

/** True for plain objects (not arrays, not null, not class instances such as Date). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Structural equality for JSON values; object key order does not matter. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let index = 0; index < a.length; index++) if (!deepEqual(a[index], b[index])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  for (const key of keys) {
    if (!Object.prototype.hasOwnProperty.call(right, key) || !deepEqual(left[key], right[key])) return false;
  }
  return true;
}

/**
 * Reads a path of segments from a value. Returns `undefined` when any segment is missing.
 * Only own properties are read, so `__proto__` or `constructor` in a path can never reach prototypes.
 */
export function readPath(value: unknown, segments: readonly string[]): unknown {
  let current: unknown = value;
  for (const segment of segments) {
    if (typeof current !== "object" || current === null) return undefined;
    if (!Object.prototype.hasOwnProperty.call(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/** Splits `a.b[0].c` into `["a", "b", "0", "c"]`. */
export function splitPath(path: string): string[] {
  return path.replace(/\[(\d+)\]/g, ".$1").split(".").filter((segment) => segment !== "");
}

/** Size in bytes of the UTF-8 JSON serialization of a value. */
export function jsonByteLength(value: unknown): number {
  const text = JSON.stringify(value);
  return text === undefined ? 0 : new TextEncoder().encode(text).length;
}

/**
 * Bytes of `value` in Postgres' text form of jsonb (`octet_length(definition::text)`), which puts a space after every
 * `:` and `,`. The definition size limit is measured this way on both sides, so the engine and the SQL check agree.
 */
export function jsonbTextByteLength(value: unknown): number {
  let separators = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (Array.isArray(item)) {
      separators += Math.max(0, item.length - 1);
      for (const child of item) stack.push(child);
    } else if (typeof item === "object" && item !== null) {
      const values = Object.values(item);
      separators += values.length + Math.max(0, values.length - 1);
      for (const child of values) stack.push(child);
    }
  }
  return jsonByteLength(value) + separators;
}

/**
 * The path segments of the first place nested deeper than `limit`, or null. Iterative, so hostile nesting cannot
 * overflow the stack.
 */
export function pathDeeperThan(value: unknown, limit: number): PropertyKey[] | null {
  const stack: { item: unknown; path: PropertyKey[] }[] = [{ item: value, path: [] }];
  while (stack.length > 0) {
    const { item, path } = stack.pop()!;
    if (typeof item !== "object" || item === null) continue;
    if (path.length >= limit) return path;
    if (Array.isArray(item)) item.forEach((child, index) => stack.push({ item: child, path: [...path, index] }));
    else for (const [key, child] of Object.entries(item)) stack.push({ item: child, path: [...path, key] });
  }
  return null;
}

/** Characters a jsonb value cannot hold: U+0000, and UTF-16 surrogates without their other half. */
const UNSTORABLE_CHARACTER = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSTORABLE_CHARACTERS = new RegExp(UNSTORABLE_CHARACTER.source, "g");
/** Those characters as JSON.stringify writes them. An escaped backslash before `u0000` matches too: only slower. */
const UNSTORABLE_ESCAPE = /\\u0000|\\ud[89a-f][0-9a-f]{2}/;

/**
 * The JSON text of `value`, with every character jsonb refuses (see `unstorablePath`) replaced by U+FFFD. For what
 * the engine records and did not choose, such as a response body that happens to hold a NUL byte: refusing it would
 * lose the record of a side effect that already happened. One plain serialization unless such a character is there.
 */
export function storableJsonText(value: unknown): string {
  const text = JSON.stringify(value);
  if (!UNSTORABLE_ESCAPE.test(text)) return text;
  const clean = (s: string) => s.replace(UNSTORABLE_CHARACTERS, "\ufffd");
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === "string") return clean(item);
    if (isPlainObject(item) && Object.keys(item).some((key) => UNSTORABLE_CHARACTER.test(key))) {
      return Object.fromEntries(Object.entries(item).map(([key, child]) => [clean(key), child]));
    }
    return item;
  });
}

/**
 * The path segments of the first string or key holding a character jsonb refuses (U+0000, or half a surrogate pair),
 * or null. Iterative, like `pathDeeperThan`.
 */
export function unstorablePath(value: unknown): PropertyKey[] | null {
  const stack: { item: unknown; path: PropertyKey[] }[] = [{ item: value, path: [] }];
  while (stack.length > 0) {
    const { item, path } = stack.pop()!;
    if (typeof item === "string") {
      if (UNSTORABLE_CHARACTER.test(item)) return path;
    } else if (Array.isArray(item)) {
      for (let index = item.length - 1; index >= 0; index--) stack.push({ item: item[index], path: [...path, index] });
    } else if (typeof item === "object" && item !== null) {
      for (const [key, child] of Object.entries(item).reverse()) {
        if (UNSTORABLE_CHARACTER.test(key)) return [...path, key];
        stack.push({ item: child, path: [...path, key] });
      }
    }
  }
  return null;
}
