/**
 * The flow definition schema: the single source of truth for what a flow version may contain.
 *
 * The SQL `publish_version` check enforces a structural subset of these rules (object shape, trigger,
 * step ids and types, size). Keep the names and limits here in step with it; the shared corpus in
 * `test/fixtures/structural-cases.json` proves both sides agree.
 */
import { z } from "zod";
import { isFlowError } from "../errors.ts";
import { jsonbTextByteLength } from "../json.ts";
import { forEachString, hasPlaceholder, parseTemplate, type Placeholder, TEMPLATE_ROOTS } from "../templates/parse.ts";
import { ParameterSchemaSchema } from "./parameters.ts";
import { RuleSchema } from "./rule-schema.ts";
import {
  ConditionConfigSchema,
  DbUpdateConfigSchema,
  FunctionCallConfigSchema,
  HttpConfigSchema,
  isReservedTable,
  LogConfigSchema,
  RetrySchema,
  SQL_TABLE,
  SubFlowConfigSchema,
  TabularConfigSchema,
  TimeoutSchema,
  TransformConfigSchema,
  WaitConfigSchema,
} from "./step-configs.ts";

/** Every built-in step type; the SQL check accepts exactly these. */
export const STEP_TYPES = [
  "tabular",
  "http",
  "wait",
  "db_update",
  "function_call",
  "condition",
  "transform",
  "log",
  "sub_flow",
  "parallel",
] as const;

/** Step types the executor runs itself because they contain steps; every other type has a runner. */
export const COMPOSITE_STEP_TYPES = ["parallel"] as const;

/** One of {@link STEP_TYPES}. */
export type StepType = (typeof STEP_TYPES)[number];

/** Trigger types; the SQL check accepts exactly these. */
export const TRIGGER_TYPES = ["row_change", "schedule", "manual", "webhook"] as const;

/** Row events a row_change trigger may listen to. */
export const ROW_EVENTS = ["INSERT", "UPDATE", "DELETE"] as const;

/** One of {@link ROW_EVENTS}. */
export type RowEventType = (typeof ROW_EVENTS)[number];

/** Largest definition accepted: 512 KiB of UTF-8 JSON. */
export const MAX_DEFINITION_BYTES = 512 * 1024;
/** Deepest nesting a definition may have (checked without recursion before anything else). */
export const MAX_DEFINITION_DEPTH = 64;
/** Most steps in one definition, counting the steps inside parallel branches. */
export const MAX_STEPS = 100;
/** Most branches of one parallel step. */
export const MAX_BRANCHES = 10;
/** Step ids: lowercase, start with a letter, at most 63 characters. */
export const STEP_ID_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;

const NamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NameSchema = z.string().max(128).regex(NamePattern, "Invalid name: use letters, digits and _");

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** What starts an execution. */
export const TriggerSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("row_change"),
    table: z
      .string()
      .min(1)
      .max(127)
      .regex(SQL_TABLE, "Invalid table: use table or schema.table in lowercase")
      .refine((table) => !SQL_TABLE.test(table) || !isReservedTable(table), "Reserved schema: flows cannot watch system tables"),
    events: z
      .array(z.enum(ROW_EVENTS))
      .min(1)
      .refine((events) => new Set(events).size === events.length, "Duplicate events"),
  }),
  z.strictObject({
    type: z.literal("schedule"),
    cron: z
      .string()
      .min(1)
      .max(200)
      .refine((cron) => cron.trim().split(/\s+/).length === 5, "Invalid cron: expected 5 fields (minute hour day month weekday)"),
    timezone: z.string().min(1).refine(isTimeZone, "Unknown time zone").optional(),
  }),
  z.strictObject({ type: z.literal("manual") }),
  z.strictObject({ type: z.literal("webhook") }),
]);

const StepIdSchema = z.string().regex(STEP_ID_PATTERN, "Invalid step id: use a-z, 0-9, _ and -, starting with a letter, at most 63 characters");

const stepFields = {
  id: StepIdSchema,
  name: z.string().max(200).optional(),
  /** The seeds' Portuguese spelling of `name`, accepted so old definitions keep validating. */
  nome: z.string().max(200).optional(),
  retry: RetrySchema.optional(),
  timeout: TimeoutSchema.optional(),
  continue_on_error: z.boolean().optional(),
};

// Each shape carries an id so the JSON Schema writes it once under $defs (branches reuse them).
const leafSteps = [
  z.strictObject({ ...stepFields, type: z.literal("tabular"), config: TabularConfigSchema }).meta({ id: "tabular_step" }),
  z.strictObject({ ...stepFields, type: z.literal("http"), config: HttpConfigSchema }).meta({ id: "http_step" }),
  z.strictObject({ ...stepFields, type: z.literal("wait"), config: WaitConfigSchema }).meta({ id: "wait_step" }),
  z.strictObject({ ...stepFields, type: z.literal("db_update"), config: DbUpdateConfigSchema }).meta({ id: "db_update_step" }),
  z.strictObject({ ...stepFields, type: z.literal("function_call"), config: FunctionCallConfigSchema }).meta({ id: "function_call_step" }),
  z.strictObject({ ...stepFields, type: z.literal("condition"), config: ConditionConfigSchema }).meta({ id: "condition_step" }),
  z.strictObject({ ...stepFields, type: z.literal("transform"), config: TransformConfigSchema }).meta({ id: "transform_step" }),
  z.strictObject({ ...stepFields, type: z.literal("log"), config: LogConfigSchema }).meta({ id: "log_step" }),
  z.strictObject({ ...stepFields, type: z.literal("sub_flow"), config: SubFlowConfigSchema }).meta({ id: "sub_flow_step" }),
] as const;

/** A step inside a parallel branch: any type but `parallel` (branches do not nest). */
export const BranchStepSchema = z.discriminatedUnion("type", [...leafSteps]);

const BranchIdSchema = z.string().regex(STEP_ID_PATTERN, "Invalid branch id: use a-z, 0-9, _ and -, starting with a letter, at most 63 characters");

/** `parallel` step: run each branch's steps in order, the branches at the same time, and continue when all end. */
export const ParallelConfigSchema = z.strictObject({
  branches: z
    .array(z.strictObject({ id: BranchIdSchema, name: z.string().max(200).optional(), steps: z.array(BranchStepSchema).min(1).max(MAX_STEPS) }))
    .min(1)
    .max(MAX_BRANCHES),
});

/**
 * One step; `config` is validated by the schema of its `type`. A parallel step has no retry or timeout of its own:
 * its branches' steps have theirs.
 */
export const FlowStepSchema = z.discriminatedUnion("type", [
  ...leafSteps,
  z.strictObject({
    id: StepIdSchema,
    name: stepFields.name,
    nome: stepFields.nome,
    continue_on_error: stepFields.continue_on_error,
    type: z.literal("parallel"),
    config: ParallelConfigSchema,
  }),
]);

const FlowDefinitionObjectSchema = z.strictObject({
  $schema: z.string().optional(),
  name: z.string().max(200).optional(),
  description: z.string().max(5000).optional(),
  trigger: TriggerSchema,
  when: RuleSchema.optional(),
  parameters: ParameterSchemaSchema.optional(),
  env: z.record(NameSchema, z.string()).optional(),
  secrets: z.record(NameSchema, z.string().min(1).max(256)).optional(),
  aliases: z.record(NameSchema, z.string().min(1).max(200)).optional(),
  defaults: z.strictObject({ retry: RetrySchema.optional(), timeout: TimeoutSchema.optional() }).optional(),
  variables: z.record(z.string(), z.json()).optional(),
  steps: z.array(FlowStepSchema).min(1).max(MAX_STEPS),
});

/** The whole flow definition, including cross-field checks (unique ids, branch targets, templates, size). */
export const FlowDefinitionSchema = FlowDefinitionObjectSchema.superRefine((definition, context) => {
  checkCrossReferences(definition, (path, message) => context.addIssue({ code: "custom", path, message }));
  const bytes = jsonbTextByteLength(definition);
  if (bytes > MAX_DEFINITION_BYTES) {
    context.addIssue({ code: "custom", path: [], message: `Definition is ${bytes} bytes; the limit is ${MAX_DEFINITION_BYTES}` });
  }
});

/** A validated flow definition. */
export type FlowDefinition = z.infer<typeof FlowDefinitionObjectSchema>;
/** A validated step. */
export type FlowStep = z.infer<typeof FlowStepSchema>;
/** A validated step that is not a parallel step (the kind a branch holds). */
export type LeafStep = z.infer<typeof BranchStepSchema>;
/** A validated parallel step. */
export type ParallelStep = Extract<FlowStep, { type: "parallel" }>;
/** A validated trigger. */
export type FlowTrigger = z.infer<typeof TriggerSchema>;

type Report = (path: Array<string | number>, message: string) => void;

/**
 * Where a step sits: `top` is its index in `steps` (for a branch step, its parallel step's index); a branch step also
 * has its branch and its index in that branch.
 */
export interface StepPlace {
  top: number;
  branch?: number;
  index: number;
  /** The step's path in the definition, e.g. `["steps", 2, "config", "branches", 0, "steps", 1]`. */
  path: Array<string | number>;
}

/** Every step of a definition, parallel steps followed by their branches' steps, with where each sits. */
export function listSteps(steps: readonly FlowStep[]): ReadonlyArray<{ step: FlowStep | LeafStep; place: StepPlace }> {
  // Called for every execution of a version, whose parsed definition the runtime keeps: listed once per steps array.
  const cached = listedSteps.get(steps);
  if (cached !== undefined) return cached;
  const list: Array<{ step: FlowStep | LeafStep; place: StepPlace }> = [];
  steps.forEach((step, top) => {
    list.push({ step, place: { top, index: top, path: ["steps", top] } });
    if (step.type !== "parallel") return;
    step.config.branches.forEach((branch, b) => {
      branch.steps.forEach((inner, index) => {
        list.push({ step: inner, place: { top, branch: b, index, path: ["steps", top, "config", "branches", b, "steps", index] } });
      });
    });
  });
  listedSteps.set(steps, list);
  return list;
}

const listedSteps = new WeakMap<readonly FlowStep[], ReadonlyArray<{ step: FlowStep | LeafStep; place: StepPlace }>>();

/** True when the step at `earlier` has finished before the step at `later` starts, on every path. */
function runsBefore(earlier: StepPlace, later: StepPlace): boolean {
  if (earlier.top !== later.top) return earlier.top < later.top;
  // Same top-level position: only an earlier step of the same branch; other branches run at the same time.
  return earlier.branch !== undefined && earlier.branch === later.branch && earlier.index < later.index;
}

const EXECUTION_FIELDS = new Set(["id", "flow_id", "version_id", "op", "table"]);
const STEP_FIELDS = new Set(["output", "error", "status"]);

// Everything that needs more than one field at a time. Runs only when the shape is already valid.
function checkCrossReferences(definition: FlowDefinition, report: Report): void {
  const all = listSteps(definition.steps);
  const places = new Map<string, StepPlace>();
  for (const { step, place } of all) {
    const first = places.get(step.id);
    if (first !== undefined) {
      report([...place.path, "id"], `Duplicate step id "${step.id}" (first used by ${formatPlace(first)})`);
    } else {
      places.set(step.id, place);
    }
  }
  if (all.length > MAX_STEPS) report(["steps"], `Too many steps: ${all.length} counting parallel branches; the limit is ${MAX_STEPS}`);
  definition.steps.forEach((step, index) => {
    if (step.type !== "parallel") return;
    const seen = new Map<string, number>();
    step.config.branches.forEach((branch, b) => {
      const first = seen.get(branch.id);
      if (first !== undefined) report(["steps", index, "config", "branches", b, "id"], `Duplicate branch id "${branch.id}" (first used by branches[${first}])`);
      else seen.set(branch.id, b);
    });
  });

  const aliases = definition.aliases ?? {};
  const triggerType = definition.trigger.type;
  const anywhere: StepPlace = { top: Infinity, index: Infinity, path: [] };
  for (const [name, target] of Object.entries(aliases)) {
    if ((TEMPLATE_ROOTS as readonly string[]).includes(name)) {
      report(["aliases", name], `Alias "${name}" shadows a template root`);
      continue;
    }
    try {
      const parsed = parseTemplate(`{{${target}}}`);
      const placeholder = parsed.parts[0] as Placeholder;
      if (placeholder.hasDefault) throw new Error("defaults are not allowed in alias targets");
      const problem = placeholderProblem(placeholder.segments, definition, triggerType, places, anywhere);
      if (problem !== undefined) report(["aliases", name], problem);
    } catch (error) {
      report(["aliases", name], `Invalid alias target "${target}": ${(error as Error).message}`);
    }
  }

  for (const { step, place } of all) {
    if (step.type === "parallel") continue;
    if (step.type === "condition") {
      for (const branch of ["then", "else"] as const) {
        const target = step.config[branch];
        if (target === undefined || target === null) continue;
        const targetPlace = places.get(target);
        const where = [...place.path, "config", branch];
        if (targetPlace === undefined) {
          report(where, `Unknown step id "${target}"`);
        } else if (!sameList(targetPlace, place)) {
          report(where, `Step "${target}" is not in the same list of steps (a condition jumps within its own branch or the top-level steps)`);
        } else if (targetPlace.index <= place.index) {
          // Forward-only jumps guarantee termination and keep "a completed step never runs again" true.
          report(where, `Step "${target}" must come after this step (branches only jump forward)`);
        }
      }
    }
    // Condition rules are data, not templates: they are compiled once per version and never rendered.
    const config = step.type === "condition" ? { ...step.config, rules: undefined } : step.config;
    forEachString(config, (text, path) => {
      if (!hasPlaceholder(text)) return;
      const where = [...place.path, "config", ...path];
      let parts;
      try {
        parts = parseTemplate(text).parts;
      } catch (error) {
        report(where, isFlowError(error) ? error.message : String(error));
        return;
      }
      for (const part of parts) {
        if (typeof part === "string") continue;
        let segments = part.segments;
        const alias = Object.prototype.hasOwnProperty.call(aliases, segments[0]!) ? aliases[segments[0]!] : undefined;
        if (alias !== undefined) segments = [...alias.replace(/\[(\d+)\]/g, ".$1").split("."), ...segments.slice(1)];
        const problem = placeholderProblem(segments, definition, triggerType, places, place, part.hasDefault);
        if (problem !== undefined) report(where, `${problem} in {{${part.source}}}`);
      }
    });
  }
}

function sameList(a: StepPlace, b: StepPlace): boolean {
  return a.branch === undefined ? b.branch === undefined : a.top === b.top && a.branch === b.branch;
}

function formatPlace(place: StepPlace): string {
  return place.path.map((segment, i) => (typeof segment === "number" ? `[${segment}]` : i === 0 ? segment : `.${segment}`)).join("");
}

function placeholderProblem(
  segments: string[],
  definition: FlowDefinition,
  triggerType: FlowTrigger["type"],
  places: Map<string, StepPlace>,
  current: StepPlace,
  hasDefault = false,
): string | undefined {
  const [root, first, second] = segments;
  switch (root) {
    case "row":
    case "old":
      return triggerType === "row_change" ? undefined : `"${root}" is only available to row_change triggers`;
    case "input":
      return triggerType === "manual" || triggerType === "webhook"
        ? undefined
        : `"input" is only available to manual and webhook triggers`;
    case "secrets":
      if (first === undefined || segments.length !== 2) return `Use {{secrets.NAME}}`;
      return Object.prototype.hasOwnProperty.call(definition.secrets ?? {}, first)
        ? undefined
        : `Secret "${first}" is not declared in "secrets"`;
    case "env":
      if (first === undefined) return `Use {{env.NAME}}`;
      return hasDefault || Object.prototype.hasOwnProperty.call(definition.env ?? {}, first)
        ? undefined
        : `Env "${first}" is not declared in "env"`;
    case "variables":
      if (first === undefined) return `Use {{variables.NAME}}`;
      return hasDefault || Object.prototype.hasOwnProperty.call(definition.variables ?? {}, first)
        ? undefined
        : `Variable "${first}" is not declared in "variables"`;
    case "execution":
      return first !== undefined && EXECUTION_FIELDS.has(first) && segments.length === 2
        ? undefined
        : `Use one of {{execution.id}}, {{execution.flow_id}}, {{execution.version_id}}, {{execution.op}}, {{execution.table}}`;
    case "steps": {
      if (first === undefined || second === undefined || !STEP_FIELDS.has(second)) {
        return `Use {{steps.<id>.output...}}, {{steps.<id>.error...}} or {{steps.<id>.status}}`;
      }
      const referenced = places.get(first);
      if (referenced === undefined) return `Unknown step id "${first}"`;
      return runsBefore(referenced, current) ? undefined : `Step "${first}" does not run before this step`;
    }
    default:
      return `Unknown template root "${root}" (use ${TEMPLATE_ROOTS.join(", ")} or a declared alias)`;
  }
}
