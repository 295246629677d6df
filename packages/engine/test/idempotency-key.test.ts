import { describe, expect, it } from "vitest";
import { sha256Hex } from "../src/index.ts";
import { idempotencyKey, sha256HexSync } from "../src/executor/idempotency-key.ts";

describe("sha256HexSync", () => {
  it("matches crypto.subtle across block boundaries and multi-byte text", async () => {
    const inputs = ["", "abc", "a".repeat(55), "a".repeat(56), "a".repeat(63), "a".repeat(64), "b".repeat(200), "ünïcödé ✓ 🚀"];
    for (const input of inputs) expect(sha256HexSync(input)).toBe(await sha256Hex(input));
  });

  it("matches the known digest of abc", () => {
    expect(sha256HexSync("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("keys a step by execution and step", async () => {
    expect(idempotencyKey("exec-1", "notify")).toBe(await sha256Hex("exec-1:notify"));
  });
});
