/**
 * The SQL structural check (`flows.validate_definition`, enforced by `publish_version`) and the engine's zod schema
 * (`validateFlowDefinition`) must agree on every case of the shared corpus: both accept or both reject.
 * The corpus belongs to the engine: packages/engine/test/fixtures/structural-cases.json.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { validateFlowDefinition } from "../../packages/engine/src/index.ts";
import { connect } from "./helpers.ts";

interface StructuralCase {
  name: string;
  definition: unknown;
  valid: boolean;
}

interface SqlProblem {
  path: string;
  message: string;
}

const corpusPath = fileURLToPath(new URL("../../packages/engine/test/fixtures/structural-cases.json", import.meta.url));
const cases = JSON.parse(readFileSync(corpusPath, "utf8")) as StructuralCase[];

const sql = connect();
afterAll(() => sql.end());

async function sqlProblems(definition: unknown): Promise<SqlProblem[]> {
  const [row] = await sql`select flows.validate_definition(${sql.json(definition as never)}::jsonb) as problems`;
  return row!.problems as SqlProblem[];
}

describe("flow definition checks: SQL and engine agree", () => {
  it("has a corpus to compare", () => {
    expect(cases.length).toBeGreaterThan(0);
    expect(cases.some((c) => c.valid)).toBe(true);
    expect(cases.some((c) => !c.valid)).toBe(true);
  });

  it.each(cases.map((c) => [c.name, c] as const))("%s", async (_name, testCase) => {
    const problems = await sqlProblems(testCase.definition);
    const engine = validateFlowDefinition(testCase.definition);
    const sqlAccepts = problems.length === 0;
    const engineAccepts = engine.success;
    const explanation = JSON.stringify({ sql: problems, engine: engine.success ? [] : engine.errors });
    expect(sqlAccepts, `SQL and engine disagree: ${explanation}`).toBe(engineAccepts);
    expect(sqlAccepts, `the corpus says valid=${testCase.valid}: ${explanation}`).toBe(testCase.valid);
  });
});
