/**
 * Fuzzed flow definitions through the engine's validation: it never throws, every rejection names where (a path
 * that exists in the input, or a missing required key under an existing parent), the input is not changed, and
 * nothing leaks onto Object.prototype. The seed is printed; FLOWS_FUZZ_SEED replays a run.
 */
import { describe, expect, it } from "vitest";
import { validateFlowDefinition } from "../../src/index.ts";
import { baseDefinitions, describeCase, fuzzSeed, generateCases, pathNamesAPlace } from "./fuzz.ts";

const CASES = 2_000;
const seed = fuzzSeed(process.env);
console.log(`definition fuzz (engine): seed ${seed}, ${CASES} cases; replay with FLOWS_FUZZ_SEED=${seed}`);

describe("fuzzed definitions through validateFlowDefinition", () => {
  it("accepts every base definition (the mutations start from valid ground)", () => {
    for (const definition of baseDefinitions()) {
      const result = validateFlowDefinition(definition);
      expect(result.success, JSON.stringify(result.success ? [] : result.errors)).toBe(true);
    }
  });

  it(`never throws, names where every problem is and changes nothing (${CASES} cases)`, { timeout: 120_000 }, () => {
    const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();
    const cases = generateCases(seed, CASES);
    let accepted = 0;
    let rejected = 0;
    for (const fuzzCase of cases) {
      const where = describeCase(seed, fuzzCase);
      const before = JSON.stringify(fuzzCase.definition);
      let result: ReturnType<typeof validateFlowDefinition>;
      try {
        result = validateFlowDefinition(fuzzCase.definition);
      } catch (error) {
        throw new Error(`validateFlowDefinition threw ${(error as Error)?.name}: ${(error as Error)?.message} for ${where}`);
      }
      // Nothing changed: validation neither mutates its input nor pollutes prototypes.
      expect(JSON.stringify(fuzzCase.definition), `input changed: ${where}`).toBe(before);
      expect(Object.getOwnPropertyNames(Object.prototype).sort(), `Object.prototype changed: ${where}`).toEqual(prototypeKeys);
      expect(({} as Record<string, unknown>).polluted, where).toBeUndefined();
      if (result.success) {
        accepted++;
        // An accepted definition is plain data: it survives a JSON round trip unchanged.
        const text = JSON.stringify(result.data);
        expect(JSON.stringify(JSON.parse(text)), where).toBe(text);
        continue;
      }
      rejected++;
      expect(result.errors.length, `rejection without errors: ${where}`).toBeGreaterThan(0);
      for (const issue of result.errors) {
        expect(typeof issue.path === "string" && issue.path.length > 0, `empty path in ${JSON.stringify(issue)}: ${where}`).toBe(true);
        expect(typeof issue.message === "string" && issue.message.trim().length > 0, `empty message: ${where}`).toBe(true);
        expect(issue.message, `stack trace in message: ${where}`).not.toMatch(/\n\s+at /);
        expect(pathNamesAPlace(fuzzCase.definition, issue.path), `path ${issue.path} names no place (${issue.message}): ${where}`).toBe(true);
      }
    }
    console.log(`definition fuzz (engine): seed ${seed}: ${accepted} accepted, ${rejected} rejected`);
    expect(accepted + rejected).toBe(CASES);
    // The generator must exercise both outcomes, or the test proves little.
    expect(accepted).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(CASES / 2);
  });

  it("generates the same cases for the same seed", () => {
    expect(JSON.stringify(generateCases(42, 50))).toBe(JSON.stringify(generateCases(42, 50)));
    expect(JSON.stringify(generateCases(42, 50))).not.toBe(JSON.stringify(generateCases(43, 50)));
  });
});
