import { describe, expect, it } from "vitest";
import { compileRules, compileRulesCached, compileWhen, createCompiledCache, isFlowError, type Rule, type RuleContext } from "../src/index.ts";

const evaluate = (rule: Rule, row: unknown, extra: Omit<RuleContext, "row"> = {}) => compileRules(rule)({ row, ...extra });
const is = (field: string, op: string, value: unknown, row: unknown) =>
  evaluate({ field, op, value } as Rule, row);

describe("equality operators", () => {
  it("eq / = compare strings exactly (case-sensitive)", () => {
    expect(is("status", "eq", "new", { status: "new" })).toBe(true);
    expect(is("status", "=", "new", { status: "new" })).toBe(true);
    expect(is("status", "eq", "new", { status: "New" })).toBe(false);
  });

  it("ne / != are the exact negation of eq, so missing fields are not equal", () => {
    expect(is("status", "ne", "new", { status: "old" })).toBe(true);
    expect(is("status", "!=", "new", { status: "new" })).toBe(false);
    expect(is("status", "ne", "new", {})).toBe(true);
  });

  it("numeric strings compare as numbers with numbers, strings with strings", () => {
    expect(is("amount", "eq", 5, { amount: "5.0" })).toBe(true);
    expect(is("amount", "eq", "5", { amount: 5 })).toBe(true);
    expect(is("amount", "eq", "5", { amount: "5.0" })).toBe(false);
    expect(is("amount", "eq", 5, { amount: "five" })).toBe(false);
  });

  it("booleans equal their string forms", () => {
    expect(is("active", "eq", true, { active: "true" })).toBe(true);
    expect(is("active", "eq", "false", { active: false })).toBe(true);
    expect(is("active", "eq", true, { active: 1 })).toBe(false);
  });

  it("ISO dates equal as instants when the rule value is a date", () => {
    expect(is("due", "eq", "2024-01-01T00:00:00Z", { due: "2024-01-01T00:00:00+00:00" })).toBe(true);
    expect(is("due", "eq", "2024-01-01T03:00:00+03:00", { due: "2024-01-01 00:00:00+00" })).toBe(true);
    expect(is("due", "eq", "2024-01-01T00:00:00Z", { due: "2024-01-02T00:00:00Z" })).toBe(false);
  });

  it("eq null matches null and missing; objects compare structurally", () => {
    expect(is("owner", "eq", null, { owner: null })).toBe(true);
    expect(is("owner", "eq", null, {})).toBe(true);
    expect(is("owner", "eq", null, { owner: 0 })).toBe(false);
    expect(is("tags", "eq", ["a", { b: 1 }], { tags: ["a", { b: 1 }] })).toBe(true);
    expect(is("meta", "eq", { a: 1, b: 2 }, { meta: { b: 2, a: 1 } })).toBe(true);
  });
});

describe("ordering operators", () => {
  const row = { amount: "1500", score: 7, due: "2024-06-01T12:00:00Z", name: "beta" };

  it("gt gte lt lte with numbers and numeric strings, and their symbols", () => {
    expect(is("amount", "gt", 1000, row)).toBe(true);
    expect(is("amount", ">", "1499.5", row)).toBe(true);
    expect(is("score", "gte", 7, row)).toBe(true);
    expect(is("score", ">=", 8, row)).toBe(false);
    expect(is("score", "lt", 8, row)).toBe(true);
    expect(is("score", "<", 7, row)).toBe(false);
    expect(is("score", "lte", "7", row)).toBe(true);
    expect(is("score", "<=", 6, row)).toBe(false);
  });

  it("compares dates as instants when the value is an ISO date", () => {
    expect(is("due", "gt", "2024-06-01", row)).toBe(true);
    expect(is("due", "lt", "2024-06-01T13:00:00+01:00", row)).toBe(false);
    expect(is("due", "lte", "2024-06-01T13:00:00+01:00", row)).toBe(true);
  });

  it("compares other strings lexicographically", () => {
    expect(is("name", "gt", "alpha", row)).toBe(true);
    expect(is("name", "lt", "alpha", row)).toBe(false);
  });

  it("is false for null, missing or incomparable fields", () => {
    for (const op of ["gt", "gte", "lt", "lte"]) {
      expect(is("missing", op, 1, row)).toBe(false);
      expect(is("x", op, 1, { x: null })).toBe(false);
      expect(is("x", op, 1, { x: "abc" })).toBe(false);
      expect(is("x", op, 1, { x: { n: 1 } })).toBe(false);
    }
  });
});

describe("text and membership operators", () => {
  it("contains / not_contains on strings and arrays", () => {
    expect(is("title", "contains", "urgent", { title: "very urgent task" })).toBe(true);
    expect(is("title", "contains", "URGENT", { title: "very urgent task" })).toBe(false);
    expect(is("tags", "contains", "vip", { tags: ["new", "vip"] })).toBe(true);
    expect(is("ids", "contains", 3, { ids: ["1", "3"] })).toBe(true);
    expect(is("title", "not_contains", "urgent", { title: "calm" })).toBe(true);
    expect(is("title", "not_contains", "urgent", {})).toBe(true);
    expect(is("title", "contains", "x", {})).toBe(false);
  });

  it("in / not_in use eq semantics for each option", () => {
    expect(is("priority", "in", ["High", "Critical"], { priority: "High" })).toBe(true);
    expect(is("priority", "in", ["High", "Critical"], { priority: "Low" })).toBe(false);
    expect(is("level", "in", [1, 2], { level: "2" })).toBe(true);
    expect(is("priority", "not_in", ["High"], { priority: "Low" })).toBe(true);
    expect(is("priority", "not_in", ["High"], { priority: "High" })).toBe(false);
  });

  it("starts_with / ends_with on strings and numbers only", () => {
    expect(is("phone", "starts_with", "+55", { phone: "+5511999" })).toBe(true);
    expect(is("zip", "starts_with", "01", { zip: 1310 })).toBe(false);
    expect(is("code", "starts_with", 13, { code: 1310 })).toBe(true);
    expect(is("email", "ends_with", "@acme.com", { email: "ana@acme.com" })).toBe(true);
    expect(is("email", "ends_with", "@acme.com", { email: null })).toBe(false);
  });

  it("matches uses a regular expression compiled once, (?i) for case-insensitive", () => {
    expect(is("email", "matches", "^[^@]+@acme\\.com$", { email: "ana@acme.com" })).toBe(true);
    expect(is("email", "matches", "^[^@]+@acme\\.com$", { email: "ana@ACME.com" })).toBe(false);
    expect(is("email", "matches", "(?i)^[^@]+@acme\\.com$", { email: "ana@ACME.com" })).toBe(true);
    expect(is("email", "matches", ".", {})).toBe(false);
  });
});

describe("null operators", () => {
  it("is_null / is_not_null treat missing as null", () => {
    expect(evaluate({ field: "owner", op: "is_null" }, { owner: null })).toBe(true);
    expect(evaluate({ field: "owner", op: "is_null" }, {})).toBe(true);
    expect(evaluate({ field: "owner", op: "is_null" }, { owner: "" })).toBe(false);
    expect(evaluate({ field: "owner", op: "is_not_null" }, { owner: 0 })).toBe(true);
    expect(evaluate({ field: "owner", op: "is_not_null" }, {})).toBe(false);
  });
});

describe("change operators (UPDATE only)", () => {
  const update = (old: unknown) => ({ old, op: "UPDATE" });

  it("changed compares old and new values", () => {
    const rule: Rule = { field: "status", op: "changed" };
    expect(evaluate(rule, { status: "won" }, update({ status: "new" }))).toBe(true);
    expect(evaluate(rule, { status: "new" }, update({ status: "new" }))).toBe(false);
    expect(evaluate(rule, { status: "won" }, { old: { status: "new" }, op: "INSERT" })).toBe(false);
    // null and missing are the same state
    expect(evaluate(rule, { status: null }, update({}))).toBe(false);
    expect(evaluate({ field: "meta", op: "changed" }, { meta: { a: 1 } }, update({ meta: { a: 1 } }))).toBe(false);
  });

  it("changed_from / changed_to require a change and check one side", () => {
    expect(evaluate({ field: "status", op: "changed_from", value: "new" }, { status: "won" }, update({ status: "new" }))).toBe(true);
    expect(evaluate({ field: "status", op: "changed_from", value: "lost" }, { status: "won" }, update({ status: "new" }))).toBe(false);
    expect(evaluate({ field: "status", op: "changed_to", value: "won" }, { status: "won" }, update({ status: "new" }))).toBe(true);
    expect(evaluate({ field: "status", op: "changed_to", value: "won" }, { status: "won" }, update({ status: "won" }))).toBe(false);
    expect(evaluate({ field: "status", op: "changed_to", value: "won" }, { status: "won" }, { op: "INSERT" })).toBe(false);
  });
});

describe("paths and combinators", () => {
  it("reads nested paths and never reaches prototypes", () => {
    expect(is("payload.customer.tier", "eq", "gold", { payload: { customer: { tier: "gold" } } })).toBe(true);
    expect(is("payload.customer.tier", "eq", "gold", { payload: null })).toBe(false);
    expect(evaluate({ field: "constructor", op: "is_null" }, {})).toBe(true);
    expect(evaluate({ field: "items.0", op: "eq", value: "a" }, { items: ["a"] })).toBe(true);
  });

  it("all / any / not combine conditions", () => {
    const rule: Rule = {
      all: [
        { field: "priority", op: "eq", value: "High" },
        { any: [{ field: "assignee", op: "is_null" }, { field: "overdue", op: "eq", value: true }] },
        { not: { field: "status", op: "in", value: ["done", "cancelled"] } },
      ],
    };
    const compiled = compileRules(rule);
    expect(compiled({ row: { priority: "High", assignee: null, status: "open" } })).toBe(true);
    expect(compiled({ row: { priority: "High", assignee: "ana", overdue: true, status: "open" } })).toBe(true);
    expect(compiled({ row: { priority: "High", assignee: "ana", overdue: false, status: "open" } })).toBe(false);
    expect(compiled({ row: { priority: "High", assignee: null, status: "done" } })).toBe(false);
    expect(compiled({ row: { priority: "Low", assignee: null, status: "open" } })).toBe(false);
  });
});

describe("compilation", () => {
  it("rejects a bad rule with VALIDATION_FAILED naming the path", () => {
    for (const [rule, message] of [
      [{ field: "x", op: "matches", value: "(" }, "value: "],
      [{ field: "x", op: "matches", value: "a".repeat(201) }, "value: Pattern longer than 200 characters"],
      [{ field: "x", op: "in", value: "a" }, 'value: Operator "in" needs an array value'],
      [{ field: "x", op: "is_null", value: 1 }, 'value: Operator "is_null" takes no value'],
      [{ field: "x", op: "gt", value: true }, 'value: Operator "gt" needs a number, numeric string or date string'],
      [{ field: "x", op: "eq" }, 'value: Operator "eq" needs a value'],
      [{ field: "x y", op: "eq", value: 1 }, "field: Invalid field path"],
      [{ all: [] }, "all: Too small"],
      [{ field: "x", op: "like", value: 1 }, "op: Invalid option"],
    ] as const) {
      let caught: unknown;
      try {
        compileRules(rule as unknown as Rule);
      } catch (error) {
        caught = error;
      }
      expect(isFlowError(caught) && caught.code).toBe("VALIDATION_FAILED");
      expect((caught as Error).message).toContain(message);
    }
  });

  it("bounds nesting depth", () => {
    let rule: Rule = { field: "x", op: "is_null" };
    for (let depth = 0; depth < 12; depth++) rule = { not: rule };
    expect(() => compileRules(rule)).toThrow(/nesting deeper than 12/);
  });

  it("compileWhen without a rule matches everything", () => {
    expect(compileWhen(undefined)({ row: {} })).toBe(true);
    expect(compileWhen({ field: "a", op: "eq", value: 1 })({ row: { a: 2 } })).toBe(false);
  });

  it("compileRulesCached returns the same function for the same rule object", () => {
    const rule: Rule = { field: "a", op: "eq", value: 1 };
    expect(compileRulesCached(rule)).toBe(compileRulesCached(rule));
    expect(compileRulesCached({ ...rule })).not.toBe(compileRulesCached(rule));
  });

  it("createCompiledCache builds once per key and evicts the least recently used", () => {
    const cache = createCompiledCache<number>(2);
    let builds = 0;
    const build = () => ++builds;
    expect(cache.get("v1", build)).toBe(1);
    expect(cache.get("v1", build)).toBe(1);
    cache.get("v2", build);
    cache.get("v1", build); // v1 is now most recent
    cache.get("v3", build); // evicts v2
    expect(cache.size).toBe(2);
    expect(cache.get("v1", build)).toBe(1);
    expect(cache.get("v2", build)).toBe(4);
  });
});
