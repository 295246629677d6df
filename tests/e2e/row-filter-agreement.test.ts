/**
 * Capture filters rows with SQL translated from `when` rules (`flows.rule_row_filter`); the engine then evaluates the
 * rule itself. A row the engine would match must never be filtered out, and where the translation says it is exact it
 * must decide every row as the engine does. Random rules over random rows, against the real database, with a printed
 * seed (FLOWS_FILTER_SEED=<seed> repeats a run).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileRules, type Rule } from "../../packages/engine/src/index.ts";
import { createRandom } from "../../packages/engine/test/security/fuzz.ts";
import { connect } from "./helpers.ts";

const sql = connect();
afterAll(() => sql.end());

const seed = Number(process.env.FLOWS_FILTER_SEED ?? Date.now() % 1_000_000);
console.log(`row filter agreement: seed ${seed}`);

const random = createRandom(seed);
const pick = random.pick;

const table = "public.filter_agreement";
const texts = ["won", "lost", "Won", "won ", "5", "5.0", "007", "-3", "1e3", "true", "false", "", "ünïcode", "o'brien", "2024-01-01", "2024-01-01T00:00:00Z", " 5", "x\ty"];
const integers = [0, 1, 5, -3, 7, 1000, 9007199254740993n, -2147483648];
const values: unknown[] = [
  ...texts,
  0, 1, 5, -3, 7, 5.5, 1000, 1e3, 9007199254740992, -2147483648, 1e300,
  true, false, null, ["won"], { stage: "won" },
];
const fields = ["stage", "note", "amount", "big", "won", "data", "missing"];
const ops = ["eq", "ne", "=", "!=", "in", "not_in", "is_null", "is_not_null", "gt", "lte", "contains", "starts_with", "matches", "changed"];

function condition(): Rule {
  const op = pick(ops);
  const field = pick(fields);
  if (op === "is_null" || op === "is_not_null" || op === "changed") return { field, op } as Rule;
  if (op === "in" || op === "not_in") {
    return { field, op, value: Array.from({ length: 1 + Math.floor(random.next() * 3) }, () => pick(values)) } as Rule;
  }
  if (op === "matches") return { field, op, value: pick(["^w", "5$", "(?i)WON"]) } as Rule;
  if (op === "contains" || op === "starts_with") return { field, op, value: pick(["w", "5", "o"]) } as Rule;
  return { field, op, value: pick(values) } as Rule;
}

function rule(depth: number): Rule {
  const roll = random.next();
  if (depth >= 3 || roll < 0.5) return condition();
  const children = Array.from({ length: 1 + Math.floor(random.next() * 3) }, () => rule(depth + 1));
  if (roll < 0.7) return { all: children };
  if (roll < 0.9) return { any: children };
  return { not: children[0]! };
}

interface Row {
  id: number;
  json: Record<string, unknown>;
}
let rows: Row[] = [];

beforeAll(async () => {
  await sql.unsafe(`
    drop table if exists ${table};
    create table ${table} (id integer primary key, stage text, note varchar(40), amount integer, big bigint, won boolean, data jsonb)`);
  let id = 0;
  for (let index = 0; index < 120; index++) {
    const maybe = <T>(value: T) => (random.next() < 0.2 ? null : value);
    const data = maybe(pick<unknown>([{ stage: "won" }, "won", 5, ["won"]]));
    await sql.unsafe(`insert into ${table} (id, stage, note, amount, big, won, data) values ($1, $2, $3, $4, $5, $6, $7::jsonb)`, [
      ++id,
      maybe(pick(texts)),
      maybe(pick(texts)),
      maybe(pick(integers.filter((n) => typeof n === "number"))),
      maybe(String(pick(integers))),
      maybe(random.next() < 0.5),
      data,
    ] as never[]);
  }
  // The rows as the engine sees them: to_jsonb of the row, parsed as JSON.
  rows = (await sql.unsafe(`select id, to_jsonb(t) as json from ${table} t order by id`)).map(
    (row) => ({ id: row.id as number, json: row.json as Record<string, unknown> }),
  );
});

afterAll(async () => {
  await sql.unsafe(`drop table if exists ${table}`);
});

describe("row filters translated from when rules", () => {
  it("never filter out a row the engine matches, and decide as the engine does where they claim to be exact", async () => {
    let exactCount = 0;
    let narrowing = 0;
    for (let index = 0; index < 400; index++) {
      const candidate = rule(0);
      let matches: ReturnType<typeof compileRules>;
      try {
        matches = compileRules(candidate);
      } catch {
        continue; // a rule the engine refuses is refused at publish too
      }
      const [translated] = await sql`
        select filter, exact from flows.rule_row_filter(${sql.json(candidate as never)}::jsonb, ${table}::regclass, 'new')`;
      const passing = new Set(
        (await sql.unsafe(`select id from ${table} as new where ${translated!.filter as string}`)).map((row) => row.id as number),
      );
      if (translated!.exact) exactCount++;
      if (passing.size < rows.length) narrowing++;
      for (const row of rows) {
        const engine = matches({ row: row.json, op: "INSERT" });
        const context = `seed ${seed}, rule ${JSON.stringify(candidate)}, filter ${translated!.filter}, row ${JSON.stringify(row.json)}`;
        if (engine) expect(passing.has(row.id), `the filter drops a row the engine matches: ${context}`).toBe(true);
        if (translated!.exact) expect(passing.has(row.id), `an exact filter disagrees with the engine: ${context}`).toBe(engine);
      }
    }
    // The run tested something: some filters were exact and some left rows out.
    expect(exactCount).toBeGreaterThan(20);
    expect(narrowing).toBeGreaterThan(20);
  });
});
