/**
 * Value coercion used by rule operators. The rules are deliberately few and documented in
 * docs/flow-definition.md ("Coercion"):
 *
 * - A number and a numeric string compare as numbers (`5` equals `"5.0"`); two strings compare as strings.
 * - When the rule value is an ISO-8601 date string, a date string in the row compares as an instant
 *   (`"2024-01-01T00:00:00Z"` equals `"2024-01-01T00:00:00+00:00"`). Timestamps without an offset are UTC.
 * - A boolean equals the strings `"true"` / `"false"`.
 * - `null` and a missing field are the same thing; only `eq null`, `is_null` and the negated operators match them.
 * - Objects and arrays compare structurally.
 */
import { deepEqual } from "../json.ts";

const NUMERIC = /^\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*$/;
const ISO_DATE = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}(?::?\d{2})?)?)?$/;

/** The number a value stands for: a finite number or a numeric string; otherwise undefined. */
export function toNumber(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value === "string" && NUMERIC.test(value)) return Number(value);
  return undefined;
}

/** Epoch milliseconds of an ISO-8601 date or timestamp string; undefined when it is not one. */
export function toDateMs(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const match = ISO_DATE.exec(value);
  if (match === null) return undefined;
  const [, date, time, zone] = match;
  if (time === undefined) return Date.parse(`${date}T00:00:00Z`);
  // Normalise Postgres-style offsets (+00, +0530) and default to UTC so parsing never depends on the host's zone.
  let offset = zone ?? "Z";
  if (/^[+-]\d{2}$/.test(offset)) offset += ":00";
  else if (/^[+-]\d{4}$/.test(offset)) offset = `${offset.slice(0, 3)}:${offset.slice(3)}`;
  const parsed = Date.parse(`${date}T${time}${offset}`);
  return Number.isNaN(parsed) ? undefined : parsed;
}

/** A rule value analysed once at compile time so evaluation does no parsing of it. */
export interface PreparedValue {
  raw: unknown;
  num: number | undefined;
  date: number | undefined;
}

/** Analyses a rule value. */
export function prepareValue(raw: unknown): PreparedValue {
  return { raw, num: toNumber(raw), date: toDateMs(raw) };
}

/** Equality with the documented coercions. */
export function looseEquals(field: unknown, value: PreparedValue): boolean {
  const raw = value.raw;
  if (raw === null || raw === undefined) return field === null || field === undefined;
  if (field === null || field === undefined) return false;
  switch (typeof field) {
    case "number":
      if (typeof raw === "number") return field === raw;
      return typeof raw === "string" && value.num !== undefined && field === value.num;
    case "string":
      if (typeof raw === "string") {
        if (field === raw) return true;
        if (value.date === undefined) return false;
        return toDateMs(field) === value.date;
      }
      if (typeof raw === "number") return toNumber(field) === raw;
      if (typeof raw === "boolean") return field === (raw ? "true" : "false");
      return false;
    case "boolean":
      if (typeof raw === "boolean") return field === raw;
      return typeof raw === "string" && raw === (field ? "true" : "false");
    default:
      return deepEqual(field, raw);
  }
}

/**
 * Orders a field against a rule value: negative, zero or positive; undefined when they are not
 * comparable (then every ordering operator is false).
 */
export function compareValues(field: unknown, value: PreparedValue): number | undefined {
  if (field === null || field === undefined) return undefined;
  if (value.date !== undefined) {
    const fieldDate = toDateMs(field);
    if (fieldDate !== undefined) return fieldDate - value.date;
  }
  if (value.num !== undefined) {
    const fieldNumber = toNumber(field);
    if (fieldNumber !== undefined) return fieldNumber - value.num;
  }
  if (typeof field === "string" && typeof value.raw === "string") {
    return field < value.raw ? -1 : field > value.raw ? 1 : 0;
  }
  return undefined;
}

/** The text form used by contains / starts_with / ends_with / matches: strings and numbers only. */
export function toText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}
