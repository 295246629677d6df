/**
 * Fuzzed flow definitions through the SQL side: `flows.validate_definition`, then `create_draft` + `publish_version`
 * on a real database. Only two outcomes are allowed: success, or FL003 naming the path of the first problem with every
 * problem in the detail (no other SQLSTATE, no stack trace). When the engine's zod check accepts a definition, SQL
 * must accept it too. Every case runs in a transaction that is rolled back, and the test ends by checking that the
 * flow has no version left and no trigger was installed. The seed is printed; FLOWS_FUZZ_SEED replays a run.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateFlowDefinition } from "../../../packages/engine/src/index.ts";
import { describeCase, fuzzSeed, generateCases } from "../../../packages/engine/test/security/fuzz.ts";
import { connect } from "../helpers.ts";

const CASES = 1_000;
const seed = fuzzSeed(process.env);
console.log(`definition fuzz (SQL): seed ${seed}, ${CASES} cases; replay with FLOWS_FUZZ_SEED=${seed}`);

const sql = connect();
const suffix = Date.now().toString(36);
const table = `public.fuzz_leads_${suffix}`;
let flowId: string;

class Undo extends Error {}

interface Problem {
  path: string;
  message: string;
}

interface Outcome {
  problems: Problem[] | null;
  published: boolean;
  error?: { code: string; message: string; detail?: string };
}

// Postgres' jsonb cannot hold \u0000, and rejects unpaired surrogates; such definitions never reach our functions.
const jsonbCannotHold = (text: string) =>
  /\\u0000|\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}/i.test(text);

async function attempt(definition: unknown): Promise<Outcome> {
  const outcome: Outcome = { problems: null, published: false };
  // Sent as JSON text, so a definition that is JSON null arrives as the jsonb value null, not as SQL NULL (which
  // create_draft reads as "no definition given").
  const text = JSON.stringify(definition) ?? "null";
  try {
    await sql.begin(async (tx) => {
      const [{ problems }] = await tx`select flows.validate_definition(${text}::text::jsonb) as problems`;
      outcome.problems = problems as Problem[];
      const [{ version_id: versionId }] = await tx`select (flows.create_draft(${flowId}, ${text}::text::jsonb)).version_id`;
      await tx`select flows.publish_version(${versionId})`;
      outcome.published = true;
      throw new Undo();
    });
  } catch (error) {
    if (!(error instanceof Undo)) {
      const e = error as { code?: string; message?: string; detail?: string };
      outcome.error = { code: String(e.code), message: String(e.message), detail: e.detail };
    }
  }
  return outcome;
}

beforeAll(async () => {
  await sql.unsafe(`create table ${table} (id bigint generated always as identity primary key, status text, score integer)`);
  [{ flow_id: flowId }] = await sql`select (flows.create_flow(${`fuzz-${suffix}`}, 'Fuzzed definitions')).flow_id`;
});
afterAll(() => sql.end());

describe("fuzzed definitions through validate_definition and publish_version", () => {
  it(`only FL003 or success, paths named, SQL accepts what zod accepts (${CASES} cases)`, { timeout: 300_000 }, async () => {
    const tally = { published: 0, fl003: 0, jsonbInput: 0 };
    for (const fuzzCase of generateCases(seed, CASES, table)) {
      const where = describeCase(seed, fuzzCase);
      const text = JSON.stringify(fuzzCase.definition) ?? "";
      const outcome = await attempt(fuzzCase.definition);
      const engine = validateFlowDefinition(fuzzCase.definition);

      if (outcome.error && outcome.problems === null) {
        // Refused before our code ran: only jsonb's own input rules may do that.
        expect(jsonbCannotHold(text), `${outcome.error.code} ${outcome.error.message}: ${where}`).toBe(true);
        expect(["22P05", "22P02"], where).toContain(outcome.error.code);
        tally.jsonbInput++;
        continue;
      }
      const problems = outcome.problems!;
      expect(Array.isArray(problems), where).toBe(true);
      for (const problem of problems) {
        expect(typeof problem.path === "string" && problem.path.length > 0, where).toBe(true);
        expect(typeof problem.message === "string" && problem.message.length > 0, where).toBe(true);
      }
      if (outcome.published) {
        expect(problems, `published although validate_definition found problems: ${where}`).toEqual([]);
        tally.published++;
      } else {
        const error = outcome.error!;
        expect(error.code, `${error.message}: ${where}`).toBe("FL003");
        expect(error.message, where).not.toMatch(/\n\s+at |PL\/pgSQL|CONTEXT/);
        if (problems.length > 0) {
          // The message names the first problem's path; the detail lists them all.
          expect(error.message.startsWith(`${problems[0]!.path}: `), `${error.message}: ${where}`).toBe(true);
          expect(JSON.parse(error.detail ?? "null"), where).toEqual(problems);
        } else {
          // Structurally fine, refused by a publish-time check (the watched table must exist, schedules run in UTC):
          // the message still starts with the path it is about.
          expect(error.message, where).toMatch(/^[A-Za-z_$][\w$-]*(\.[\w$-]+|\[\d+\])*: /);
        }
        tally.fl003++;
      }
      if (engine.success) expect(problems, `zod accepts but SQL refuses: ${where}`).toEqual([]);
    }
    console.log(`definition fuzz (SQL): seed ${seed}: ${tally.published} published, ${tally.fl003} FL003, ${tally.jsonbInput} refused by jsonb input`);
    expect(tally.published + tally.fl003 + tally.jsonbInput).toBe(CASES);
    expect(tally.published).toBeGreaterThan(0);
    expect(tally.fl003).toBeGreaterThan(0);

    // Nothing was left behind: every case was rolled back.
    const [{ n: versions }] = await sql`select count(*)::int as n from flows.versions where flow_id = ${flowId}`;
    expect(versions).toBe(0);
    const [{ n: watched }] = await sql`select count(*)::int as n from flows.watches where table_name = ${table}`;
    expect(watched).toBe(0);
    const [{ n: triggers }] = await sql`select count(*)::int as n from pg_trigger where tgrelid = ${table}::regclass and not tgisinternal`;
    expect(triggers).toBe(0);
  });

  it("the engine and SQL measure the 512 KiB limit the same way: both accept or both refuse, at the edge", async () => {
    // Many small entries: jsonb's text form adds a space after every ':' and ',', so a compact-JSON measure would
    // accept what SQL refuses. Around the edge, both sides must decide alike.
    for (const count of [40_000, 44_000, 44_500, 46_000]) {
      const variables: Record<string, number> = {};
      for (let index = 0; index < count; index++) variables[`v${index}`] = index % 10;
      const definition = { trigger: { type: "manual" }, variables, steps: [{ id: "a", type: "log", config: { message: "m" } }] };
      const engine = validateFlowDefinition(definition);
      const outcome = await attempt(definition);
      expect({ count, sql: outcome.published }).toEqual({ count, sql: engine.success });
    }
  });
});
