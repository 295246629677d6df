import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_CATALOG, formatIssue, RULE_OPS, STEP_TYPES, validateFlowDefinition } from "../src/index.ts";

// The reference must not drift from the code: every example validates, every code and operator is documented.
const doc = readFileSync(new URL("../../../docs/flow-definition.md", import.meta.url), "utf8");
const jsonBlocks = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((match) => JSON.parse(match[1]!) as Record<string, unknown>);
const definitions = jsonBlocks.filter((block) => "trigger" in block && "steps" in block);

describe("docs/flow-definition.md", () => {
  it("has the worked examples", () => {
    expect(definitions.length).toBeGreaterThanOrEqual(4);
    expect(doc).toContain("### Qualify a lead in Bitrix24");
    expect(doc).toContain("### Notify a PM on a high-priority task");
  });

  definitions.forEach((definition, index) => {
    it(`example ${index + 1} (${String(definition.name ?? "unnamed")}) is a valid definition`, () => {
      const result = validateFlowDefinition(definition);
      expect(result.success ? [] : result.errors.map(formatIssue)).toEqual([]);
    });
  });

  it("documents every error code, operator and step type", () => {
    for (const code of Object.keys(ERROR_CATALOG)) expect(doc, code).toContain(`| \`${code}\` |`);
    for (const op of RULE_OPS) expect(doc, op).toMatch(new RegExp(`\`${op}\``));
    for (const type of STEP_TYPES) expect(doc, type).toContain(`### ${type} `);
  });
});
