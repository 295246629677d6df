/**
 * db_update writes structured values as the target column expects: an object or array into a json/jsonb column as
 * JSON, an array into an array column as an array, and either into any other column (text) as its JSON text, never
 * as "[object Object]".
 */
import { afterAll, expect, it } from "vitest";
import { connect } from "../helpers.ts";
import { publishFlow, terminalExecutions } from "../flows-helpers.ts";

const sql = connect();
afterAll(() => sql.end());
const suffix = Date.now().toString(36);

it("objects and arrays land in text, jsonb and text[] columns as those columns expect", async () => {
  const source = `public.dbu_source_${suffix}`;
  const target = `public.dbu_target_${suffix}`;
  await sql.unsafe(`create table ${source} (id bigint generated always as identity primary key, name text not null)`);
  await sql.unsafe(`create table ${target} (id bigint primary key, note text, listed text, meta jsonb, tags text[])`);
  await sql.unsafe(`insert into ${target} (id) values (1)`);
  const { flowId } = await publishFlow(sql, `dbu-values-${suffix}`, {
    trigger: { type: "row_change", table: source, events: ["INSERT"] },
    steps: [
      { id: "shape", type: "transform", config: { output: { obj: { a: 1, b: "two" }, list: ["x", "y"] } } },
      {
        id: "write",
        type: "db_update",
        config: {
          table: target,
          key: 1,
          set: {
            note: "{{steps.shape.output.obj}}",
            listed: "{{steps.shape.output.list}}",
            meta: "{{steps.shape.output.obj}}",
            tags: "{{steps.shape.output.list}}",
          },
        },
      },
    ],
  });
  await sql.unsafe(`insert into ${source} (name) values ('go')`);
  const [execution] = await terminalExecutions(sql, flowId, 1, 30_000);
  expect(execution!.status, String(execution!.error_message)).toBe("completed");
  const [row] = await sql.unsafe(`select note, listed, meta, tags from ${target} where id = 1`);
  expect(JSON.parse(row!.note as string)).toEqual({ a: 1, b: "two" });
  expect(JSON.parse(row!.listed as string)).toEqual(["x", "y"]);
  expect(row!.meta).toEqual({ a: 1, b: "two" });
  expect(row!.tags).toEqual(["x", "y"]);
});
