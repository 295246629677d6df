import { z } from "zod";
import type { JsonValue } from "../json.ts";

/** Canonical rule operators. */
export const RULE_OPS = [
  "eq",
  "ne",
  "gt",
  "gte",
  "lt",
  "lte",
  "contains",
  "not_contains",
  "in",
  "not_in",
  "starts_with",
  "ends_with",
  "matches",
  "is_null",
  "is_not_null",
  "changed",
  "changed_from",
  "changed_to",
] as const;

/** Symbolic spellings accepted for compatibility with older rule tables. */
export const RULE_OP_ALIASES = { "=": "eq", "!=": "ne", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte" } as const;

/** A canonical operator. */
export type RuleOp = (typeof RULE_OPS)[number];

/** An operator as written in a definition (canonical or symbolic). */
export type RuleOpInput = RuleOp | keyof typeof RULE_OP_ALIASES;

/** A single comparison of a row field with a value. */
export interface RuleCondition {
  field: string;
  op: RuleOpInput;
  value?: JsonValue;
}

/** A rule tree: a condition or an `all` / `any` / `not` combination. */
export type Rule = RuleCondition | { all: Rule[] } | { any: Rule[] } | { not: Rule };

/** Longest accepted `matches` pattern; bounds compile cost and the worst cases of backtracking. */
export const MAX_PATTERN_LENGTH = 200;
/** Deepest accepted nesting of all/any/not. */
export const MAX_RULE_DEPTH = 12;
/** Most conditions accepted in one rule tree. */
export const MAX_RULE_CONDITIONS = 200;

const NO_VALUE_OPS: ReadonlySet<string> = new Set(["is_null", "is_not_null", "changed"]);
const ORDER_OPS: ReadonlySet<string> = new Set(["gt", "gte", "lt", "lte", ">", ">=", "<", "<="]);
const TEXT_OPS: ReadonlySet<string> = new Set(["contains", "not_contains", "starts_with", "ends_with"]);

/** Canonical operator for an operator as written. */
export function canonicalOp(op: RuleOpInput): RuleOp {
  return (RULE_OP_ALIASES as Record<string, RuleOp>)[op] ?? (op as RuleOp);
}

/**
 * Compiles a `matches` pattern. A leading `(?i)` makes it case-insensitive, since JSON has no place
 * for regex flags. Throws SyntaxError for an invalid pattern.
 */
export function compilePattern(pattern: string): RegExp {
  if (pattern.startsWith("(?i)")) return new RegExp(pattern.slice(4), "i");
  return new RegExp(pattern);
}

const FieldPathSchema = z
  .string()
  .max(200)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/, "Invalid field path: use dot-separated names like payload.customer.tier");

const ConditionSchema = z
  .strictObject({
    field: FieldPathSchema,
    op: z.enum([...RULE_OPS, ...(Object.keys(RULE_OP_ALIASES) as (keyof typeof RULE_OP_ALIASES)[])]),
    value: z.json().optional(),
  })
  .superRefine((condition, context) => {
    const issue = conditionValueProblem(condition.op, condition.value);
    if (issue !== undefined) context.addIssue({ code: "custom", path: ["value"], message: issue });
  });

// Value requirements per operator, checked when the definition is validated so nothing fails at run time.
function conditionValueProblem(op: RuleOpInput, value: JsonValue | undefined): string | undefined {
  if (NO_VALUE_OPS.has(op)) {
    return value === undefined ? undefined : `Operator "${op}" takes no value`;
  }
  if (value === undefined) return `Operator "${op}" needs a value`;
  if (op === "in" || op === "not_in") {
    return Array.isArray(value) ? undefined : `Operator "${op}" needs an array value`;
  }
  if (op === "matches") {
    if (typeof value !== "string") return `Operator "matches" needs a string pattern`;
    if (value.length > MAX_PATTERN_LENGTH) return `Pattern longer than ${MAX_PATTERN_LENGTH} characters`;
    try {
      compilePattern(value);
    } catch (error) {
      return (error as Error).message;
    }
    return undefined;
  }
  if (ORDER_OPS.has(op) && typeof value !== "number" && typeof value !== "string") {
    return `Operator "${op}" needs a number, numeric string or date string`;
  }
  if (TEXT_OPS.has(op) && (value === null || typeof value === "object")) {
    return `Operator "${op}" needs a string, number or boolean value`;
  }
  return undefined;
}

const RuleNodeSchema: z.ZodType<Rule> = z.lazy(() =>
  z.union([
    ConditionSchema,
    z.strictObject({ all: z.array(RuleNodeSchema).min(1) }),
    z.strictObject({ any: z.array(RuleNodeSchema).min(1) }),
    z.strictObject({ not: RuleNodeSchema }),
  ])
);

/** A rule tree with bounded depth and size. */
export const RuleSchema: z.ZodType<Rule> = RuleNodeSchema.superRefine((rule, context) => {
  const { depth, conditions } = measureRule(rule);
  if (depth > MAX_RULE_DEPTH) {
    context.addIssue({ code: "custom", message: `Rule nesting deeper than ${MAX_RULE_DEPTH} levels` });
  }
  if (conditions > MAX_RULE_CONDITIONS) {
    context.addIssue({ code: "custom", message: `Rule has more than ${MAX_RULE_CONDITIONS} conditions` });
  }
});

function measureRule(rule: Rule): { depth: number; conditions: number } {
  if ("field" in rule) return { depth: 1, conditions: 1 };
  const children = "all" in rule ? rule.all : "any" in rule ? rule.any : [rule.not];
  let depth = 0;
  let conditions = 0;
  for (const child of children) {
    const measured = measureRule(child);
    depth = Math.max(depth, measured.depth);
    conditions += measured.conditions;
  }
  return { depth: depth + 1, conditions };
}
