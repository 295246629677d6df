/**
 * Injection through names: table, column and field names in rules, templates and db_update are either rejected by
 * validation (with the path) or harmless at run time (values travel as data, prototype keys read nothing).
 * The SQL side of db_update (quoting, parameters) is proven against Postgres in tests/e2e/security/injection.test.ts.
 */
import { describe, expect, it } from "vitest";
import {
  builtInRunners,
  compileRules,
  createRegistry,
  type FlowDefinition,
  renderTemplates,
  runExecution,
  validateFlowDefinition,
} from "../../src/index.ts";
import { createTestPorts } from "../../src/testing/index.ts";

const manual = { type: "manual" };
const rowTrigger = { type: "row_change", table: "public.leads", events: ["INSERT", "UPDATE"] };

function dbUpdate(config: Record<string, unknown>) {
  return { trigger: rowTrigger, steps: [{ id: "mark", type: "db_update", config: { table: "leads", key: "{{row.id}}", set: { status: "x" }, ...config } }] };
}

function problems(value: unknown) {
  const result = validateFlowDefinition(value);
  return result.success ? [] : result.errors;
}

function valid(value: unknown): FlowDefinition {
  const result = validateFlowDefinition(value);
  if (!result.success) throw new Error(JSON.stringify(result.errors));
  return result.data;
}

describe("names that could reach SQL are rejected at validation", () => {
  const badTables = [
    "leads; drop table x",
    "leads;drop table x",
    "\"leads\"",
    "public.\"leads\"",
    "Leads",
    "public.leads.extra",
    "leads--",
    "leads/**/",
    "pg_catalog.pg_authid x",
    "leads where 1=1",
    "",
    " leads",
    "lеads", // Cyrillic е
    "x".repeat(128),
  ];
  it.each(badTables)("db_update table %j", (table) => {
    expect(problems(dbUpdate({ table }))).toEqual([{ path: "steps[0].config.table", message: expect.any(String) }]);
  });

  it.each(badTables)("trigger.table %j", (table) => {
    const issues = problems({ ...dbUpdate({}), trigger: { ...rowTrigger, table } });
    expect([...new Set(issues.map((issue) => issue.path))]).toEqual(["trigger.table"]);
  });

  const badColumns = ["status\"; drop table leads; --", "sta tus", "Status", "status'", "a.b", "1abc", "", "x".repeat(64), "col)"];
  it.each(badColumns)("db_update key_column %j", (column) => {
    expect(problems(dbUpdate({ key_column: column })).map((issue) => issue.path)).toEqual(["steps[0].config.key_column"]);
  });

  it.each(badColumns.filter((column) => column !== ""))("db_update set column %j", (column) => {
    const issues = problems(dbUpdate({ set: { [column]: 1 } }));
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0]!.path.startsWith("steps[0].config.set")).toBe(true);
  });

  it("a table or column cannot be a placeholder (names are never rendered from data)", () => {
    expect(problems(dbUpdate({ table: "{{row.table}}" })).map((issue) => issue.path)).toEqual(["steps[0].config.table"]);
    expect(problems(dbUpdate({ key_column: "{{row.column}}" })).map((issue) => issue.path)).toEqual(["steps[0].config.key_column"]);
    expect(problems(dbUpdate({ set: { "{{row.column}}": 1 } }))[0]!.path).toMatch(/^steps\[0\]\.config\.set/);
  });

  it.each(["status'; drop", "a b", "a..b", "a.b.", "[0]", "row[\"x\"]", "a.b;c"])("rule field %j", (field) => {
    const issues = problems({ trigger: rowTrigger, when: { field, op: "eq", value: 1 }, steps: [{ id: "a", type: "log", config: { message: "m" } }] });
    expect(issues.map((issue) => issue.path)).toEqual(["when.field"]);
  });

  it.each(["{{row.a; drop}}", "{{row['a']}}", "{{row.a || 1}}", "{{row.a | default: x}}", "{{ eval(1) }}", "{{row.a}", "{{"])(
    "template %j",
    (message) => {
      const issues = problems({ trigger: rowTrigger, steps: [{ id: "a", type: "log", config: { message } }] });
      expect(issues.map((issue) => issue.path)).toEqual(["steps[0].config.message"]);
    },
  );
});

describe("flows may not reach the system's own tables", () => {
  // db_update runs with the engine's database role and row changes are captured by a security definer trigger, so a
  // name in these schemas would let a flow author change memberships, versions or users, or read other tenants' rows.
  it.each(["flows.members", "flows.executions", "auth.users"])("db_update table %s is rejected", (table) => {
    expect(problems(dbUpdate({ table })).map((issue) => issue.path)).toEqual(["steps[0].config.table"]);
  });

  it.each(["flows.events", "flows.versions", "auth.users"])("trigger.table %s is rejected", (table) => {
    expect(problems({ ...dbUpdate({}), trigger: { ...rowTrigger, table } }).map((issue) => issue.path)).toEqual(["trigger.table"]);
  });
});

describe("names and values that validation accepts are harmless at run time", () => {
  it("rule fields named after prototype members read only the row's own properties", () => {
    const row = { status: "new" };
    for (const field of ["__proto__", "constructor", "constructor.name", "toString", "hasOwnProperty", "__proto__.polluted"]) {
      expect(compileRules({ field, op: "is_not_null" })({ row }), field).toBe(false);
      expect(compileRules({ field, op: "is_null" })({ row }), field).toBe(true);
    }
    expect(compileRules({ field: "constructor", op: "eq", value: "x" })({ row: { constructor: "x" } })).toBe(true);
  });

  it("template paths through prototype members resolve to nothing: TEMPLATE_MISSING_PATH, or the default", () => {
    for (const path of ["row.__proto__", "row.constructor", "row.constructor.name", "row.toString", "input.__proto__.polluted", "steps.__proto__"]) {
      let code: string | undefined;
      try {
        renderTemplates({ text: `{{${path}}}` }, { row: { id: 1 }, input: {}, steps: {} });
      } catch (error) {
        code = (error as { code?: string }).code;
      }
      expect(code, path).toBe("TEMPLATE_MISSING_PATH");
    }
    expect(renderTemplates({ text: "{{row.__proto__ | default: \"none\"}}" }, { row: { id: 1 } }).value).toEqual({ text: "none" });
  });

  it("prototype keys in a definition never reach Object.prototype nor any object's prototype", () => {
    const text = JSON.stringify({
      trigger: manual,
      variables: { b: 2 },
      steps: [
        { id: "shape", type: "transform", config: { output: { k: "{{variables.b}}" } } },
        { id: "crm", type: "tabular", config: { webhook_url: "https://crm.example/rest/", id: 1, field: "F", value: 1, additional_fields: { UF_X: 1 } } },
      ],
    })
      .replace('"variables":{', '"variables":{"__proto__":{"polluted":true},')
      .replace('"output":{', '"output":{"__proto__":{"polluted":true},')
      .replace('"additional_fields":{', '"additional_fields":{"__proto__":{"polluted":true},');
    const value = JSON.parse(text) as Record<string, unknown>;
    expect(Object.prototype.hasOwnProperty.call(value.variables, "__proto__")).toBe(true);
    const definition = valid(value);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(definition.variables)).toBe(Object.prototype);
    expect((definition.variables as Record<string, unknown>).polluted).toBeUndefined();
    const rendered = renderTemplates<{ output: Record<string, unknown> }>(definition.steps[0]!.config, { variables: definition.variables });
    expect(Object.getPrototypeOf(rendered.value.output)).toBe(Object.prototype);
    expect(rendered.value.output.polluted).toBeUndefined();
  });

  it("db_update passes identifiers exactly as validated and every rendered value as data", async () => {
    const ports = createTestPorts();
    const hostile = "1'; drop table leads; --";
    ports.store.seedRows("public.leads", [{ id: hostile, status: "new", note: "" }]);
    const definition = valid({
      trigger: rowTrigger,
      steps: [
        {
          id: "mark",
          type: "db_update",
          config: { table: "leads", key: "{{row.id}}", set: { status: "{{row.name}}", note: "{{row.id}} and {{row.name}}" } },
        },
      ],
    });
    const name = "x\"); delete from leads; select (\"";
    const outcome = await runExecution({
      execution: { id: "inject-1", event: { op: "INSERT", table: "public.leads", row: { id: hostile, name } } },
      definition,
      registry: createRegistry(builtInRunners()),
      ports,
    });
    expect(outcome.status).toBe("completed");
    expect(ports.store.updates).toEqual([
      expect.objectContaining({ table: "public.leads", keyColumn: "id", key: hostile, values: { status: name, note: `${hostile} and ${name}` } }),
    ]);
  });
});
