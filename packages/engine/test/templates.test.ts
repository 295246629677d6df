import { describe, expect, it } from "vitest";
import { createRedactor, isFlowError, parseTemplate, REDACTED, renderTemplates, type TemplateScope } from "../src/index.ts";

const scope: TemplateScope = {
  row: { id: 42, title: "Call Ana", amount: 12.5, tags: ["vip"], owner: null, customer: { tier: "gold" } },
  old: { id: 42, title: "Call" },
  input: { message: "hi" },
  variables: { channel: "#sales" },
  env: { BASE_URL: "https://api.example.com" },
  secrets: { TOKEN: "s3cr3t-token-value", PIN: "42" },
  steps: { lookup: { status: "completed", output: { body: { user: { id: "u-1" } } } } },
  execution: { id: "exec-1", op: "UPDATE" },
};

function render(value: unknown, options = {}) {
  return renderTemplates(value, scope, options);
}

function errorOf(fn: () => unknown): { code: string; message: string; details?: Record<string, unknown> } {
  try {
    fn();
  } catch (error) {
    if (isFlowError(error)) return error;
    throw error;
  }
  throw new Error("expected an error");
}

describe("placeholders", () => {
  it("reads every root", () => {
    const { value } = render({
      row: "{{row.title}}",
      old: "{{old.title}}",
      input: "{{input.message}}",
      variables: "{{variables.channel}}",
      env: "{{env.BASE_URL}}/x",
      steps: "{{steps.lookup.output.body.user.id}}",
      execution: "{{execution.id}}",
      status: "{{steps.lookup.status}}",
    });
    expect(value).toEqual({
      row: "Call Ana",
      old: "Call",
      input: "hi",
      variables: "#sales",
      env: "https://api.example.com/x",
      steps: "u-1",
      execution: "exec-1",
      status: "completed",
    });
  });

  it("keeps the JSON type when the string is exactly one placeholder", () => {
    const { value } = render({ id: "{{row.id}}", amount: "{{ row.amount }}", tags: "{{row.tags}}", customer: "{{row.customer}}", owner: "{{row.owner}}" });
    expect(value).toEqual({ id: 42, amount: 12.5, tags: ["vip"], customer: { tier: "gold" }, owner: null });
  });

  it("converts values to text inside larger strings (objects as JSON, null as empty)", () => {
    const { value } = render("id={{row.id}} tags={{row.tags}} owner=[{{row.owner}}] c={{row.customer}}");
    expect(value).toBe('id=42 tags=["vip"] owner=[] c={"tier":"gold"}');
  });

  it("supports array indexes and declared aliases", () => {
    expect(render("{{row.tags[0]}}|{{row.tags.0}}").value).toBe("vip|vip");
    expect(render({ lead: "{{leadId}}", tier: "{{cust.tier}}" }, { aliases: { leadId: "row.id", cust: "row.customer" } }).value).toEqual({
      lead: 42,
      tier: "gold",
    });
  });

  it("leaves object keys and non-string values alone", () => {
    expect(render({ "{{row.id}}": 1, n: 2, b: true, z: null }).value).toEqual({ "{{row.id}}": 1, n: 2, b: true, z: null });
  });

  it("skips the given top-level keys", () => {
    expect(render({ rules: { value: "{{row.id}}" }, other: "{{row.id}}" }, { skipKeys: ["rules"] }).value).toEqual({
      rules: { value: "{{row.id}}" },
      other: 42,
    });
  });
});

describe("missing paths and defaults", () => {
  it("a missing path is TEMPLATE_MISSING_PATH naming the path and location", () => {
    const error = errorOf(() => render({ url: "x/{{row.missing.deep}}" }, { location: "steps[1].config" }));
    expect(error.code).toBe("TEMPLATE_MISSING_PATH");
    expect(error.message).toBe('steps[1].config.url: template path "row.missing.deep" is missing (add | default: <value> to allow it)');
    expect(error.details).toMatchObject({ path: "row.missing.deep", location: "steps[1].config.url" });
  });

  it("a default applies to missing and null values and keeps its JSON type", () => {
    expect(render({
      a: '{{row.missing | default: "n/a"}}',
      b: "{{row.owner | default: 0}}",
      c: "{{ row.missing | default: null }}",
      d: "x{{row.missing|default:true}}",
      e: "{{row.id | default: 1}}",
    }).value).toEqual({ a: "n/a", b: 0, c: null, d: "xtrue", e: 42 });
  });

  it("a missing root (no row in a manual run) is missing too", () => {
    const error = errorOf(() => renderTemplates("{{row.id}}", { input: {} }));
    expect(error.code).toBe("TEMPLATE_MISSING_PATH");
  });

  it("syntax errors are TEMPLATE_SYNTAX", () => {
    expect(errorOf(() => parseTemplate("{{row.id")).code).toBe("TEMPLATE_SYNTAX");
    expect(errorOf(() => parseTemplate("{{row.id | upper}}")).code).toBe("TEMPLATE_SYNTAX");
    expect(errorOf(() => parseTemplate("{{row.id | default: bare}}")).message).toContain("the default must be a JSON literal");
    expect(errorOf(() => render("{{unknown.x}}")).message).toContain('unknown template root "unknown"');
  });
});

describe("secrets and redaction", () => {
  it("the real value holds the secret; the redacted copy never does", () => {
    const rendered = render({
      headers: { Authorization: "Bearer {{secrets.TOKEN}}" },
      token: "{{secrets.TOKEN}}",
      pin: "{{secrets.PIN}}",
      note: "pin is {{secrets.PIN}}",
    });
    expect(rendered.value).toEqual({
      headers: { Authorization: "Bearer s3cr3t-token-value" },
      token: "s3cr3t-token-value",
      pin: "42",
      note: "pin is 42",
    });
    expect(rendered.redacted).toEqual({
      headers: { Authorization: `Bearer ${REDACTED}` },
      token: REDACTED,
      pin: REDACTED,
      note: `pin is ${REDACTED}`,
    });
  });

  it("secret values that arrive through other data are scrubbed from the redacted copy", () => {
    const leaky: TemplateScope = { ...scope, steps: { echo: { status: "completed", output: { header: "Bearer s3cr3t-token-value" } } } };
    const rendered = renderTemplates({ copy: "{{steps.echo.output}}" }, leaky);
    expect(JSON.stringify(rendered.redacted)).not.toContain("s3cr3t-token-value");
    expect(rendered.redacted).toEqual({ copy: { header: `Bearer ${REDACTED}` } });
    // The scrub copies; the scope's own objects are untouched.
    expect(leaky.steps!.echo!.output).toEqual({ header: "Bearer s3cr3t-token-value" });
  });

  it("createRedactor replaces longest secrets first and ignores very short ones inside text", () => {
    const redact = createRedactor(["abcd", "abcdef", "42"]);
    expect(redact({ a: "xabcdefx abcd 42", list: ["abcd"] })).toEqual({ a: `x${REDACTED}x ${REDACTED} 42`, list: [REDACTED] });
  });
});

describe("size bound", () => {
  it("refuses rendered output above maxBytes with TEMPLATE_OUTPUT_TOO_LARGE", () => {
    const big: TemplateScope = { row: { text: "x".repeat(600) } };
    const error = errorOf(() => renderTemplates({ a: "{{row.text}}{{row.text}}" }, big, { maxBytes: 1000, location: "steps[0].config" }));
    expect(error.code).toBe("TEMPLATE_OUTPUT_TOO_LARGE");
    expect(error.message).toContain("steps[0].config.a");
    expect(renderTemplates({ a: "{{row.text}}" }, big, { maxBytes: 1000 }).value).toEqual({ a: "x".repeat(600) });
  });

  it("counts whole values inserted as objects", () => {
    const big: TemplateScope = { row: { list: Array.from({ length: 200 }, (_, i) => `item-${i}`) } };
    expect(errorOf(() => renderTemplates({ a: "{{row.list}}" }, big, { maxBytes: 1000 })).code).toBe("TEMPLATE_OUTPUT_TOO_LARGE");
  });
});
