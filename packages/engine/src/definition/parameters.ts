/**
 * The `parameters` section: a small subset of JSON Schema describing manual and webhook input,
 * and the validator that checks input against it when a run starts.
 *
 * A subset is implemented here rather than a full JSON Schema library because the core must stay
 * dependency-free apart from zod, and unsupported keywords are rejected so that no author believes
 * a constraint is enforced when it is not.
 */
import { z } from "zod";
import { deepEqual, isPlainObject, type JsonValue, pathDeeperThan, unstorablePath } from "../json.ts";

/** JSON Schema types the validator understands. */
export const PARAMETER_TYPES = ["object", "array", "string", "number", "integer", "boolean", "null"] as const;

/** One of {@link PARAMETER_TYPES}. */
export type ParameterType = (typeof PARAMETER_TYPES)[number];

/** The supported JSON Schema subset. */
export interface ParameterSchema {
  $schema?: string;
  $comment?: string;
  title?: string;
  description?: string;
  default?: JsonValue;
  examples?: JsonValue[];
  type?: ParameterType | ParameterType[];
  enum?: JsonValue[];
  const?: JsonValue;
  properties?: Record<string, ParameterSchema>;
  required?: string[];
  additionalProperties?: boolean | ParameterSchema;
  items?: ParameterSchema;
  minItems?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
}

const TypeSchema = z.enum(PARAMETER_TYPES);
const Count = z.int().min(0);

/** zod schema for a `parameters` JSON Schema (unsupported keywords are rejected). */
export const ParameterSchemaSchema: z.ZodType<ParameterSchema> = z.lazy(() =>
  z.strictObject({
    $schema: z.string().optional(),
    $comment: z.string().optional(),
    title: z.string().optional(),
    description: z.string().optional(),
    default: z.json().optional(),
    examples: z.array(z.json()).optional(),
    type: z.union([TypeSchema, z.array(TypeSchema).min(1)]).optional(),
    enum: z.array(z.json()).min(1).optional(),
    const: z.json().optional(),
    properties: z.record(z.string(), ParameterSchemaSchema).optional(),
    required: z.array(z.string()).optional(),
    additionalProperties: z.union([z.boolean(), ParameterSchemaSchema]).optional(),
    items: ParameterSchemaSchema.optional(),
    minItems: Count.optional(),
    maxItems: Count.optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    minLength: Count.optional(),
    maxLength: Count.optional(),
    pattern: z
      .string()
      .max(200)
      .refine(isValidPattern, "Invalid regular expression")
      .optional(),
  })
);

function isValidPattern(pattern: string): boolean {
  try {
    new RegExp(pattern, "u");
    return true;
  } catch {
    return false;
  }
}

/** One problem found in run input; `path` starts at `input`. */
export interface ParameterIssue {
  path: string;
  message: string;
}

/** Checks `value` against a parameters schema and returns every problem found (empty when valid). */
export function validateParameters(schema: ParameterSchema, value: unknown, path = "input"): ParameterIssue[] {
  const issues: ParameterIssue[] = [];
  check(schema, value, path, issues);
  return issues;
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function matchesType(type: ParameterType, value: unknown): boolean {
  switch (type) {
    case "null":
      return value === null;
    case "array":
      return Array.isArray(value);
    case "object":
      return isPlainObject(value);
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "string":
      return typeof value === "string";
    case "boolean":
      return typeof value === "boolean";
  }
}

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text !== undefined && text.length > 60 ? `${text.slice(0, 57)}...` : String(text);
}

function check(schema: ParameterSchema, value: unknown, path: string, issues: ParameterIssue[]): void {
  if (value === undefined) {
    issues.push({ path, message: "Required" });
    return;
  }
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((type) => matchesType(type, value))) {
      issues.push({ path, message: `Expected ${types.join(" | ")}, received ${typeOf(value)}` });
      return;
    }
  }
  if (schema.const !== undefined && !deepEqual(schema.const, value)) {
    issues.push({ path, message: `Expected ${describe(schema.const)}` });
  }
  if (schema.enum !== undefined && !schema.enum.some((option) => deepEqual(option, value))) {
    issues.push({ path, message: `Expected one of ${schema.enum.map(describe).join(", ")}` });
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) {
      issues.push({ path, message: `Must be >= ${schema.minimum}` });
    }
    if (schema.maximum !== undefined && value > schema.maximum) {
      issues.push({ path, message: `Must be <= ${schema.maximum}` });
    }
  }
  if (typeof value === "string") {
    // Length counts code points, as JSON Schema specifies, not UTF-16 units.
    const length = [...value].length;
    if (schema.minLength !== undefined && length < schema.minLength) {
      issues.push({ path, message: `Must be at least ${schema.minLength} characters` });
    }
    if (schema.maxLength !== undefined && length > schema.maxLength) {
      issues.push({ path, message: `Must be at most ${schema.maxLength} characters` });
    }
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, "u").test(value)) {
      issues.push({ path, message: `Must match pattern ${schema.pattern}` });
    }
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      issues.push({ path, message: `Must have at least ${schema.minItems} items` });
    }
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      issues.push({ path, message: `Must have at most ${schema.maxItems} items` });
    }
    if (schema.items !== undefined) {
      value.forEach((item, index) => check(schema.items!, item, `${path}[${index}]`, issues));
    }
  }
  if (isPlainObject(value)) {
    const properties = schema.properties ?? {};
    for (const name of schema.required ?? []) {
      if (!Object.prototype.hasOwnProperty.call(value, name)) {
        issues.push({ path: `${path}.${name}`, message: "Required" });
      }
    }
    for (const [name, child] of Object.entries(value)) {
      const childPath = `${path}.${name}`;
      const propertySchema = Object.prototype.hasOwnProperty.call(properties, name) ? properties[name] : undefined;
      if (propertySchema !== undefined) {
        check(propertySchema, child, childPath, issues);
      } else if (schema.additionalProperties === false) {
        issues.push({ path: childPath, message: "Unknown property" });
      } else if (typeof schema.additionalProperties === "object") {
        check(schema.additionalProperties, child, childPath, issues);
      }
    }
  }
}

/** As deep as a run's input may nest: the limit flow definitions have. */
export const MAX_INPUT_DEPTH = 64;

/**
 * Why a run's input (a manual run's or a webhook's body) cannot be stored as jsonb, naming the place as
 * `validateParameters` does; null when it can. Checked before any schema, so every flow refuses such input alike.
 */
export function inputStorageProblem(value: unknown, path = "input"): ParameterIssue | null {
  const at = (segments: PropertyKey[]) =>
    segments.reduce<string>((text, segment) => (typeof segment === "number" ? `${text}[${segment}]` : `${text}.${String(segment)}`), path);
  const deep = pathDeeperThan(value, MAX_INPUT_DEPTH);
  if (deep) return { path: at(deep), message: `Nested deeper than ${MAX_INPUT_DEPTH} levels` };
  const bad = unstorablePath(value);
  if (bad) return { path: at(bad), message: "Contains U+0000 or half of a surrogate pair, which jsonb cannot hold" };
  return null;
}
