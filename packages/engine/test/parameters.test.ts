import { describe, expect, it } from "vitest";
import { type ParameterSchema, validateParameters } from "../src/index.ts";

const schema: ParameterSchema = {
  type: "object",
  required: ["email", "count"],
  additionalProperties: false,
  properties: {
    email: { type: "string", minLength: 3, maxLength: 50, pattern: "^[^@]+@[^@]+$" },
    count: { type: "integer", minimum: 1, maximum: 10 },
    plan: { enum: ["free", "pro"] },
    tags: { type: "array", items: { type: "string" }, maxItems: 2 },
    meta: { type: "object", additionalProperties: { type: "number" } },
    note: { type: ["string", "null"] },
  },
};

describe("validateParameters (JSON Schema subset)", () => {
  it("accepts valid input", () => {
    expect(validateParameters(schema, { email: "a@b", count: 3, plan: "pro", tags: ["x"], meta: { a: 1 }, note: null })).toEqual([]);
  });

  it("names the path of every problem", () => {
    expect(validateParameters(schema, { email: "ab", count: 11.5, plan: "gold", tags: ["a", 2, "c"], meta: { a: "1" }, note: 5, extra: 1 })).toEqual([
      { path: "input.email", message: "Must be at least 3 characters" },
      { path: "input.email", message: "Must match pattern ^[^@]+@[^@]+$" },
      { path: "input.count", message: "Expected integer, received number" },
      { path: "input.plan", message: 'Expected one of "free", "pro"' },
      { path: "input.tags", message: "Must have at most 2 items" },
      { path: "input.tags[1]", message: "Expected string, received integer" },
      { path: "input.meta.a", message: "Expected number, received string" },
      { path: "input.note", message: "Expected string | null, received integer" },
      { path: "input.extra", message: "Unknown property" },
    ]);
  });

  it("reports required properties and bounds", () => {
    expect(validateParameters(schema, { count: 0 })).toEqual([
      { path: "input.email", message: "Required" },
      { path: "input.count", message: "Must be >= 1" },
    ]);
    expect(validateParameters(schema, "nope")).toEqual([{ path: "input", message: "Expected object, received string" }]);
  });

  it("counts string length in code points", () => {
    expect(validateParameters({ type: "string", maxLength: 2 }, "😀😀")).toEqual([]);
  });
});
