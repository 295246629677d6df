import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  builtInRunners,
  COMPOSITE_STEP_TYPES,
  createRegistry,
  flowDefinitionSchemaText,
  FlowStepSchema,
  formatIssue,
  isFlowError,
  STEP_TYPES,
  validateFlowDefinition,
  validateFlowStep,
  validateOrThrow,
  FlowDefinitionSchema,
} from "../src/index.ts";

const corpus = JSON.parse(readFileSync(new URL("./fixtures/structural-cases.json", import.meta.url), "utf8")) as Array<{
  name: string;
  valid: boolean;
  zod_error_path?: string;
  definition: unknown;
}>;

const manual = { type: "manual" } as const;
const logStep = (id = "log_it", extra: Record<string, unknown> = {}) => ({ id, type: "log", config: { message: "hello" }, ...extra });

function errorsOf(definition: unknown): string[] {
  const result = validateFlowDefinition(definition);
  return result.success ? [] : result.errors.map(formatIssue);
}

describe("structural corpus shared with the SQL publish_version check", () => {
  it("covers valid and invalid cases", () => {
    expect(corpus.filter((c) => c.valid).length).toBeGreaterThanOrEqual(8);
    expect(corpus.filter((c) => !c.valid).length).toBeGreaterThanOrEqual(25);
  });

  for (const testCase of corpus) {
    it(`${testCase.valid ? "accepts" : "rejects"}: ${testCase.name}`, () => {
      const result = validateFlowDefinition(testCase.definition);
      expect(result.success).toBe(testCase.valid);
      // Invalid cases must fail for the reason they were written for, not by accident.
      if (!result.success) expect(result.errors[0]!.path).toBe(testCase.zod_error_path);
    });
  }
});

describe("STEP_TYPES", () => {
  it("lists exactly the step types of the schema and the built-in runners", () => {
    expect([...STEP_TYPES].sort()).toEqual([...createRegistry(builtInRunners()).stepTypes(), ...COMPOSITE_STEP_TYPES].sort());
    for (const type of STEP_TYPES) {
      const result = validateFlowStep({ id: "x", type, config: {} });
      // Every type is known; failures are about its config, never about the type.
      if (!result.success) expect(result.errors.every((e) => e.path.startsWith("config"))).toBe(true);
    }
  });
});

describe("validateFlowDefinition error paths", () => {
  it("names the step and config field: steps[2].config.url: Invalid URL", () => {
    const errors = errorsOf({
      trigger: manual,
      steps: [logStep("a"), logStep("b"), { id: "c", type: "http", config: { url: "not a url" } }],
    });
    expect(errors).toEqual(["steps[2].config.url: Invalid URL"]);
  });

  it("reports every problem, not only the first", () => {
    const errors = errorsOf({
      trigger: { type: "row_change", table: "leads", events: [] },
      steps: [{ id: "Bad", type: "log", config: {} }],
    });
    expect(errors).toEqual([
      "trigger.events: Too small: expected array to have >=1 items",
      "steps[0].id: Invalid step id: use a-z, 0-9, _ and -, starting with a letter, at most 63 characters",
      "steps[0].config.message: Required",
    ]);
  });

  it("rejects unknown keys so typos do not pass silently", () => {
    expect(errorsOf({ trigger: manual, steps: [logStep("a", { continue_on_eror: true })] })).toEqual([
      'steps[0]: Unrecognized key: "continue_on_eror"',
    ]);
  });

  it("accepts the seed's nome as the step name", () => {
    expect(errorsOf({ trigger: manual, steps: [logStep("a", { nome: "Atualizar" })] })).toEqual([]);
  });

  it("checks retry and timeout bounds", () => {
    expect(errorsOf({ trigger: manual, steps: [logStep("a", { retry: { max_attempts: 21 }, timeout: 0 })] })).toEqual([
      "steps[0].retry.max_attempts: Too big: expected number to be <=20",
      "steps[0].timeout: Too small: expected number to be >=1",
    ]);
  });

  it("rejects a bad rule at validation time with the rule's path", () => {
    const errors = errorsOf({
      trigger: { type: "row_change", table: "leads", events: ["UPDATE"] },
      when: { all: [{ field: "status", op: "eq", value: "new" }, { any: [{ field: "email", op: "matches", value: "([a-z" }] }] },
      steps: [logStep()],
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^when\.all\[1\]\.any\[0\]\.value: .*Unterminated character class/);
  });

  it("rejects branch targets that do not exist or jump backwards", () => {
    const errors = errorsOf({
      trigger: manual,
      steps: [
        logStep("first"),
        { id: "check", type: "condition", config: { rules: { field: "x", op: "is_null" }, then: "first", else: "nowhere" } },
      ],
    });
    expect(errors).toEqual([
      'steps[1].config.then: Step "first" must come after this step (branches only jump forward)',
      'steps[1].config.else: Unknown step id "nowhere"',
    ]);
  });

  it("checks placeholders: syntax, roots, declared secrets/env/variables, step order", () => {
    const errors = errorsOf({
      trigger: manual,
      secrets: { TOKEN: "vault_token" },
      steps: [
        {
          id: "call",
          type: "http",
          config: {
            url: "https://api.example.com/{{input.id}}",
            headers: {
              a: "{{secrets.TOKEN}}",
              b: "{{secrets.OTHER}}",
              c: "{{env.MISSING}}",
              d: "{{env.MISSING | default: \"x\"}}",
              e: "{{rows.id}}",
              f: "{{steps.later.output.x}}",
              g: "{{row.id}}",
              h: "{{input.id",
            },
          },
        },
        logStep("later"),
      ],
    });
    expect(errors).toEqual([
      'steps[0].config.headers.b: Secret "OTHER" is not declared in "secrets" in {{secrets.OTHER}}',
      'steps[0].config.headers.c: Env "MISSING" is not declared in "env" in {{env.MISSING}}',
      'steps[0].config.headers.e: Unknown template root "rows" (use row, old, input, variables, env, secrets, steps, execution or a declared alias) in {{rows.id}}',
      'steps[0].config.headers.f: Step "later" does not run before this step in {{steps.later.output.x}}',
      'steps[0].config.headers.g: "row" is only available to row_change triggers in {{row.id}}',
      'steps[0].config.headers.h: Unclosed placeholder in "{{input.id"',
    ]);
  });

  it("resolves aliases when checking placeholders", () => {
    const base = { trigger: { type: "row_change", table: "leads", events: ["INSERT"] } };
    expect(errorsOf({
      ...base,
      aliases: { leadId: "row.id" },
      steps: [{ id: "a", type: "log", config: { message: "lead {{leadId}}" } }],
    })).toEqual([]);
    expect(errorsOf({
      ...base,
      aliases: { row: "row.id", token: "secrets.NOPE" },
      steps: [logStep()],
    })).toEqual([
      'aliases.row: Alias "row" shadows a template root',
      'aliases.token: Secret "NOPE" is not declared in "secrets"',
    ]);
  });

  it("validates the parameters JSON Schema subset and rejects unsupported keywords", () => {
    expect(errorsOf({ trigger: manual, parameters: { type: "object", properties: { id: { type: "integer" } } }, steps: [logStep()] })).toEqual([]);
    expect(errorsOf({ trigger: manual, parameters: { type: "object", oneOf: [] }, steps: [logStep()] })).toEqual([
      'parameters: Unrecognized key: "oneOf"',
    ]);
  });

  it("checks schedule cron fields and time zones", () => {
    expect(errorsOf({ trigger: { type: "schedule", cron: "0 9 * * 1-5", timezone: "America/Sao_Paulo" }, steps: [logStep()] })).toEqual([]);
    expect(errorsOf({ trigger: { type: "schedule", cron: "every day", timezone: "Mars/Olympus" }, steps: [logStep()] })).toEqual([
      "trigger.cron: Invalid cron: expected 5 fields (minute hour day month weekday)",
      "trigger.timezone: Unknown time zone",
    ]);
  });

  it("runs runner-specific checks when given a registry (wait maximum)", () => {
    const definition = { trigger: manual, steps: [{ id: "pause", type: "wait", config: { seconds: 7200 } }] };
    expect(validateFlowDefinition(definition).success).toBe(true);
    const result = validateFlowDefinition(definition, { registry: createRegistry(builtInRunners()) });
    expect(result.success ? [] : result.errors.map(formatIssue)).toEqual(["steps[0].config.seconds: Must be at most 3600 seconds"]);
    const generous = createRegistry(builtInRunners({ wait: { maxSeconds: 86_400 } }));
    expect(validateFlowDefinition(definition, { registry: generous }).success).toBe(true);
  });
});

describe("validateOrThrow and validateFlowStep", () => {
  it("returns parsed data when valid", () => {
    const step = { id: "step-1", type: "tabular", nome: "Update Status", config: { webhook_url: "https://api.example.com/webhook", field: "STATUS_ID", value: "QUALIFIED" } };
    expect(validateOrThrow(FlowStepSchema, step)).toEqual(step);
    expect(validateFlowStep(step)).toEqual({ success: true, data: step });
  });

  it("throws VALIDATION_FAILED whose message lists every issue with its path", () => {
    let caught: unknown;
    try {
      validateOrThrow(FlowDefinitionSchema, { trigger: manual, steps: [logStep("a"), logStep("a")] });
    } catch (error) {
      caught = error;
    }
    expect(isFlowError(caught)).toBe(true);
    expect(caught).toMatchObject({ code: "VALIDATION_FAILED", retryable: false, message: 'steps[1].id: Duplicate step id "a" (first used by steps[0])' });
  });
});

describe("JSON Schema export", () => {
  it("matches the committed schema/flow-definition.schema.json (run scripts/export-schema.ts after changing the schema)", () => {
    const committed = readFileSync(new URL("../schema/flow-definition.schema.json", import.meta.url), "utf8");
    expect(committed).toBe(flowDefinitionSchemaText());
  });

  it("describes steps as a union keyed by type", () => {
    const schema = JSON.parse(flowDefinitionSchemaText());
    const steps = schema.properties.steps;
    expect(steps.maxItems).toBe(100);
    // Step shapes shared with parallel branches are written once under $defs and referenced.
    const resolve = (node: { $ref?: string }) => (node.$ref === undefined ? node : schema.$defs[node.$ref.replace("#/$defs/", "")]);
    const types = steps.items.oneOf.map((variant: { $ref?: string }) => (resolve(variant) as { properties: { type: { const: string } } }).properties.type.const);
    expect(types).toEqual([...STEP_TYPES]);
  });
});
