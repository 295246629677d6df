import { describe, expect, it } from "vitest";
import { sha256Hex } from "../src/index.ts";
import { idempotencyKey, sha256HexSync } from "../src/executor/idempotency-key.ts";

describe("sha256HexSync", () => {
  it("matches crypto.subtle across block boundaries and multi-byte text", async () => {
    const inputs = ["", "abc", "a".repeat(55), "a".repeat(56), "a".repeat(63), "a".repeat(64), "b".repeat(200), "ünïcödé ✓ 🚀"];
    // Around the reused two-block buffer's limit, ASCII turning multi-byte late, and short input after long input
    // (the buffer keeps the longer input's bytes).
    inputs.push("c".repeat(118), "c".repeat(119), "c".repeat(120), `${"d".repeat(100)}é`, `${"e".repeat(118)}é`, "f".repeat(1000), "g");
    for (const input of inputs) expect(sha256HexSync(input)).toBe(await sha256Hex(input));
  });

  it("matches the known digest of abc", () => {
    expect(sha256HexSync("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("keys a step by execution and step", async () => {
    expect(idempotencyKey("exec-1", "notify")).toBe(await sha256Hex("exec-1:notify"));
  });
});
