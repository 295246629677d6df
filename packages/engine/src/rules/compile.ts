/**
 * Compiles a rule tree into a plain function, once per version. Evaluation then does no parsing,
 * no regex compilation and no allocation.
 */
import { FlowError } from "../errors.ts";
import { deepEqual } from "../json.ts";
import { validationError, validateWith } from "../definition/validate.ts";
import { canonicalOp, compilePattern, type Rule, type RuleCondition, RuleSchema } from "../definition/rule-schema.ts";
import { compareValues, looseEquals, prepareValue, toText } from "./coerce.ts";

/** What a rule is evaluated against: the new row, the old row (UPDATE) and the operation. */
export interface RuleContext {
  row: unknown;
  old?: unknown;
  op?: string;
}

/** A compiled rule. */
export type CompiledRule = (context: RuleContext) => boolean;

type Getter = (value: unknown) => unknown;

// Own properties only, so a field named "constructor" reads the row, never Object.prototype.
const hasOwn = Object.prototype.hasOwnProperty;

function compileGetter(path: string): Getter {
  const segments = path.split(".");
  if (segments.length === 1) {
    const [key] = segments as [string];
    return (value) => (typeof value === "object" && value !== null && hasOwn.call(value, key) ? (value as Record<string, unknown>)[key] : undefined);
  }
  return (value) => {
    let current = value;
    for (const key of segments) {
      if (typeof current !== "object" || current === null || !hasOwn.call(current, key)) return undefined;
      current = (current as Record<string, unknown>)[key];
    }
    return current;
  };
}

/** Validates and compiles a rule; throws VALIDATION_FAILED for a rule that validation would reject. */
export function compileRules(rule: Rule): CompiledRule {
  const checked = validateWith(RuleSchema, rule);
  if (!checked.success) throw validationError(checked.errors);
  return compileNode(rule);
}

function compileNode(rule: Rule): CompiledRule {
  if ("field" in rule) return compileCondition(rule);
  if ("not" in rule) {
    const inner = compileNode(rule.not);
    return (context) => !inner(context);
  }
  const children = ("all" in rule ? rule.all : rule.any).map(compileNode);
  if ("all" in rule) {
    if (children.length === 1) return children[0]!;
    return (context) => {
      for (let index = 0; index < children.length; index++) if (!children[index]!(context)) return false;
      return true;
    };
  }
  if (children.length === 1) return children[0]!;
  return (context) => {
    for (let index = 0; index < children.length; index++) if (children[index]!(context)) return true;
    return false;
  };
}

function compileCondition(condition: RuleCondition): CompiledRule {
  const get = compileGetter(condition.field);
  const op = canonicalOp(condition.op);
  const value = prepareValue(condition.value);
  switch (op) {
    case "eq":
      return ({ row }) => looseEquals(get(row), value);
    case "ne":
      return ({ row }) => !looseEquals(get(row), value);
    case "gt":
      return ({ row }) => (compareValues(get(row), value) ?? NaN) > 0;
    case "gte":
      return ({ row }) => (compareValues(get(row), value) ?? NaN) >= 0;
    case "lt":
      return ({ row }) => (compareValues(get(row), value) ?? NaN) < 0;
    case "lte":
      return ({ row }) => (compareValues(get(row), value) ?? NaN) <= 0;
    case "contains":
      return ({ row }) => contains(get(row), value);
    case "not_contains":
      return ({ row }) => !contains(get(row), value);
    case "in": {
      const options = (condition.value as unknown[]).map(prepareValue);
      return ({ row }) => isIn(get(row), options);
    }
    case "not_in": {
      const options = (condition.value as unknown[]).map(prepareValue);
      return ({ row }) => !isIn(get(row), options);
    }
    case "starts_with": {
      const prefix = toText(condition.value)!;
      return ({ row }) => toText(get(row))?.startsWith(prefix) === true;
    }
    case "ends_with": {
      const suffix = toText(condition.value)!;
      return ({ row }) => toText(get(row))?.endsWith(suffix) === true;
    }
    case "matches": {
      const pattern = compilePattern(condition.value as string);
      return ({ row }) => {
        const text = toText(get(row));
        return text !== undefined && pattern.test(text);
      };
    }
    case "is_null":
      return ({ row }) => get(row) == null;
    case "is_not_null":
      return ({ row }) => get(row) != null;
    case "changed":
      return ({ row, old, op: event }) => event === "UPDATE" && changed(get(old), get(row));
    case "changed_from":
      return ({ row, old, op: event }) => {
        if (event !== "UPDATE") return false;
        const before = get(old);
        return changed(before, get(row)) && looseEquals(before, value);
      };
    case "changed_to":
      return ({ row, old, op: event }) => {
        if (event !== "UPDATE") return false;
        const after = get(row);
        return changed(get(old), after) && looseEquals(after, value);
      };
    default:
      throw new FlowError("VALIDATION_FAILED", `Unknown rule operator "${String(op)}"`);
  }
}

function contains(field: unknown, value: ReturnType<typeof prepareValue>): boolean {
  if (Array.isArray(field)) {
    for (const item of field) if (looseEquals(item, value)) return true;
    return false;
  }
  const text = toText(field);
  const needle = toText(value.raw);
  return text !== undefined && needle !== undefined && text.includes(needle);
}

function isIn(field: unknown, options: ReturnType<typeof prepareValue>[]): boolean {
  for (let index = 0; index < options.length; index++) if (looseEquals(field, options[index]!)) return true;
  return false;
}

// A missing field and null are the same state, so null -> missing is not a change.
function changed(before: unknown, after: unknown): boolean {
  return !deepEqual(before ?? null, after ?? null);
}

/** Compiles a definition's `when` rule; a flow without one matches every event. */
export function compileWhen(when: Rule | undefined): CompiledRule {
  return when === undefined ? () => true : compileRules(when);
}
