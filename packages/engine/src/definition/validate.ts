/**
 * Validation entry points (the seeds' API): `validateFlowDefinition`, `validateFlowStep`, `validateOrThrow`.
 * Every problem is reported with a readable path such as `steps[2].config.url: Invalid URL`.
 */
import type { z } from "zod";
import { FlowError } from "../errors.ts";
import { jsonbTextByteLength, pathDeeperThan } from "../json.ts";
import {
  type FlowDefinition,
  FlowDefinitionSchema,
  type FlowStep,
  FlowStepSchema,
  listSteps,
  MAX_DEFINITION_BYTES,
  MAX_DEFINITION_DEPTH,
} from "./schema.ts";

/** One validation problem. */
export interface ValidationIssue {
  /** Where, e.g. `steps[2].config.url`; `(root)` for the whole value. */
  path: string;
  /** What is wrong, e.g. `Invalid URL`. */
  message: string;
}

/** Result of a validation: the parsed value, or every issue found. */
export type ValidationResult<T> = { success: true; data: T } | { success: false; errors: ValidationIssue[] };

/** A registry view used to check configs of custom runners; satisfied by `createRegistry`. */
export interface ConfigValidatorLookup {
  get(stepType: string): { validateConfig(config: unknown): { valid: true } | { valid: false; errors: ValidationIssue[] } } | undefined;
}

/** Options for {@link validateFlowDefinition}. */
export interface ValidateDefinitionOptions {
  /** When given, each step's config is also checked by its runner (for limits configured per deployment). */
  registry?: ConfigValidatorLookup;
}

/** Formats `["steps", 2, "config", "url"]` as `steps[2].config.url`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(String(segment))) text += text === "" ? String(segment) : `.${String(segment)}`;
    else text += `[${JSON.stringify(String(segment))}]`;
  }
  return text === "" ? "(root)" : text;
}

/** Formats an issue as `path: message`. */
export function formatIssue(issue: ValidationIssue): string {
  return `${issue.path}: ${issue.message}`;
}

/** Joins a path prefix and a relative issue path (`steps[2].config` + `url`). */
export function prefixIssue(prefix: string, issue: ValidationIssue): ValidationIssue {
  if (issue.path === "(root)") return { path: prefix, message: issue.message };
  const joiner = issue.path.startsWith("[") ? "" : ".";
  return { path: `${prefix}${joiner}${issue.path}`, message: issue.message };
}

/** Converts zod issues into {@link ValidationIssue}s, choosing the most relevant branch of failed unions. */
export function issuesFromZod(issues: readonly z.core.$ZodIssue[], base: PropertyKey[] = []): ValidationIssue[] {
  const result: ValidationIssue[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    if (issue.code === "invalid_union" && issue.errors.length === 0 && "options" in issue) {
      // A discriminated union whose discriminator matched nothing: list the accepted values.
      const options = (issue as { options?: unknown[] }).options ?? [];
      result.push({ path: formatPath(path), message: `Invalid value: expected one of ${options.join(", ")}` });
    } else if (issue.code === "invalid_union" && issue.errors.length > 0) {
      result.push(...explainUnion(issue.errors, path));
    } else if (issue.code === "invalid_key" || issue.code === "invalid_element") {
      result.push(...issuesFromZod(issue.issues, path));
    } else if (issue.code === "invalid_type" && issue.message.endsWith("received undefined")) {
      result.push({ path: formatPath(path), message: "Required" });
    } else {
      result.push({ path: formatPath(path), message: issue.message });
    }
  }
  return result;
}

// A union failed. If every branch failed on the value's type, say which types would do; otherwise
// report the branch that got furthest (fewest problems at the value itself, then fewest problems),
// because that is almost always the shape the author meant.
function explainUnion(branches: readonly (readonly z.core.$ZodIssue[])[], path: PropertyKey[]): ValidationIssue[] {
  const typeOnly = branches.every((branch) => branch.length === 1 && branch[0]!.code === "invalid_type" && branch[0]!.path.length === 0);
  if (typeOnly) {
    const expected = branches.map((branch) => (branch[0] as z.core.$ZodIssueInvalidType).expected);
    const received = (branches[0]![0]!.message.match(/received (\w+)/) ?? [])[1];
    const message = received === "undefined"
      ? "Required"
      : `Invalid input: expected ${[...new Set(expected)].join(" | ")}${received ? `, received ${received}` : ""}`;
    return [{ path: formatPath(path), message }];
  }
  let best = branches[0]!;
  let bestScore = score(best);
  for (const branch of branches.slice(1)) {
    const candidate = score(branch);
    if (candidate[0] < bestScore[0] || (candidate[0] === bestScore[0] && candidate[1] < bestScore[1])) {
      best = branch;
      bestScore = candidate;
    }
  }
  return issuesFromZod(best, path);
}

function score(branch: readonly z.core.$ZodIssue[]): [number, number] {
  const atRoot = branch.filter((issue) =>
    issue.path.length === 0 || (issue.code === "invalid_type" && issue.path.length === 1 && issue.message.endsWith("received undefined"))
  ).length;
  return [atRoot, branch.length];
}

/** Validates a value against any zod schema, returning readable issues. */
export function validateWith<T>(schema: z.ZodType<T>, value: unknown): ValidationResult<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { success: true, data: parsed.data };
  return { success: false, errors: issuesFromZod(parsed.error.issues) };
}

/** Validates a whole flow definition: shape, configs, rules, templates, cross references and size. */
export function validateFlowDefinition(value: unknown, options: ValidateDefinitionOptions = {}): ValidationResult<FlowDefinition> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { success: false, errors: [{ path: "(root)", message: "Definition must be a JSON object" }] };
  }
  // Checked first and without recursion: zod's recursive checks would overflow the stack on hostile nesting.
  const deep = pathDeeperThan(value, MAX_DEFINITION_DEPTH);
  if (deep !== null) {
    return { success: false, errors: [{ path: formatPath(deep), message: `Nested deeper than ${MAX_DEFINITION_DEPTH} levels` }] };
  }
  // Checked before parsing so an oversized payload costs one serialization, not a full validation.
  const bytes = jsonbTextByteLength(value);
  if (bytes > MAX_DEFINITION_BYTES) {
    return {
      success: false,
      errors: [{ path: "(root)", message: `Definition is ${bytes} bytes; the limit is ${MAX_DEFINITION_BYTES}` }],
    };
  }
  const result = validateWith(FlowDefinitionSchema, value);
  if (!result.success || options.registry === undefined) return result;
  const errors: ValidationIssue[] = [];
  for (const { step, place } of listSteps(result.data.steps)) {
    // A parallel step is run by the executor itself; the steps in its branches are checked on their own.
    if (step.type === "parallel") continue;
    const where = formatPath(place.path);
    const runner = options.registry.get(step.type);
    if (runner === undefined) {
      errors.push({ path: `${where}.type`, message: `No runner registered for step type "${step.type}"` });
      continue;
    }
    const checked = runner.validateConfig(step.config);
    if (!checked.valid) errors.push(...checked.errors.map((issue) => prefixIssue(`${where}.config`, issue)));
  }
  return errors.length === 0 ? result : { success: false, errors };
}

/** Validates one step on its own (ids are not checked for uniqueness here). */
export function validateFlowStep(value: unknown): ValidationResult<FlowStep> {
  return validateWith(FlowStepSchema, value);
}

/** Parses with `schema` or throws FlowError VALIDATION_FAILED listing every issue. */
export function validateOrThrow<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema === (FlowDefinitionSchema as unknown) ? validateFlowDefinition(value) : validateWith(schema, value);
  if (result.success) return result.data as T;
  throw validationError(result.errors);
}

/** Builds the VALIDATION_FAILED error for a list of issues; nothing is dropped from the message. */
export function validationError(issues: ValidationIssue[], code: "VALIDATION_FAILED" | "CONFIG_INVALID" | "PARAMETERS_INVALID" = "VALIDATION_FAILED"): FlowError {
  return new FlowError(code, issues.map(formatIssue).join("; "), { details: { issues } });
}
