// What the engine hands Postgres as jsonb: characters jsonb refuses are found by path, and replaced when recorded.
import { describe, expect, it } from "vitest";
import { inputStorageProblem, storableJsonText } from "../src/index.ts";

describe("storableJsonText", () => {
  it("leaves ordinary values as JSON.stringify writes them, paired surrogates and escaped backslashes included", () => {
    const value = { emoji: "😀", text: "line\nbreak", slash: "\\u0000 is text here", list: [1, null, true] };
    expect(storableJsonText(value)).toBe(JSON.stringify(value));
    expect(JSON.parse(storableJsonText(value))).toEqual(value);
  });

  it("replaces U+0000 and lone surrogates in values and keys with U+FFFD", () => {
    const value = { note: "a\u0000b", high: "x\ud800", low: "\udc00y", "k\u0000": { deep: ["\u0000"] } };
    expect(JSON.parse(storableJsonText(value))).toEqual({ note: "a\ufffdb", high: "x\ufffd", low: "\ufffdy", "k\ufffd": { deep: ["\ufffd"] } });
  });
});

describe("inputStorageProblem", () => {
  it("names the first string or key jsonb cannot hold", () => {
    expect(inputStorageProblem({ a: [1, { b: "\u0000" }] })).toEqual({ path: "input.a[1].b", message: expect.stringContaining("U+0000") });
    expect(inputStorageProblem({ "bad\ud800": 1 }, "body")?.path).toBe("body.bad\ud800");
  });

  it("names the place past 64 levels of nesting", () => {
    let deep: unknown = 1;
    for (let level = 0; level < 70; level++) deep = [deep];
    expect(inputStorageProblem({ deep })?.message).toBe("Nested deeper than 64 levels");
  });

  it("accepts ordinary input", () => {
    expect(inputStorageProblem({ a: "😀", b: [1, 2, { c: null }] })).toBeNull();
  });
});
