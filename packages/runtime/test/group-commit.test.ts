import { describe, expect, it } from "vitest";
import { GroupCommit } from "../src/group-commit.ts";

describe("GroupCommit", () => {
  it("writes what arrives during a flush as the next batch, and settles each caller with its own result", async () => {
    const batches: number[][] = [];
    const commit = new GroupCommit<number, number>(async (writes) => {
      batches.push(writes);
      await new Promise((resolve) => setTimeout(resolve, 5));
      return writes.map((w) => w * 10);
    }, { maxInFlight: 1 });
    const first = commit.submit(1);
    await new Promise((resolve) => setTimeout(resolve, 1));
    const rest = [2, 3, 4].map((w) => commit.submit(w));
    expect(await Promise.all([first, ...rest])).toEqual([10, 20, 30, 40]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it("keeps batches within maxBatch", async () => {
    const sizes: number[] = [];
    const commit = new GroupCommit<number, number>(async (writes) => {
      sizes.push(writes.length);
      return writes;
    }, { maxBatch: 2, maxInFlight: 1 });
    await Promise.all([1, 2, 3, 4, 5].map((w) => commit.submit(w)));
    expect(sizes).toEqual([2, 2, 1]);
  });

  it("fails only the write that fails, when a batch fails", async () => {
    const commit = new GroupCommit<number, number>(async (writes) => {
      if (writes.includes(2)) throw new Error("bad write");
      return writes;
    });
    const results = await Promise.allSettled([1, 2, 3].map((w) => commit.submit(w)));
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
  });
});
