import { describe, expect, it } from "vitest";
import { FlowDefinitionSchema } from "../../engine/src/index.ts";
import { matchEvents } from "../src/matching.ts";
import type { ClaimedEvent, ListeningVersion } from "../src/ports.ts";

function version(id: string, table: string, events: string[], when?: unknown): ListeningVersion {
  return {
    versionId: id,
    flowId: `flow-${id}`,
    tenantId: "t1",
    table,
    events,
    definition: FlowDefinitionSchema.parse({
      trigger: { type: "row_change", table, events },
      ...(when ? { when } : {}),
      steps: [{ id: "log", type: "log", config: { message: "hi" } }],
    }),
  };
}

function event(id: string, operation: ClaimedEvent["operation"], newRow: Record<string, unknown> | null, oldRow: Record<string, unknown> | null = null, depth = 0): ClaimedEvent {
  return { eventId: id, table: "public.leads", operation, newRow, oldRow, rowKey: String(newRow?.id ?? oldRow?.id), causationDepth: depth };
}

describe("matchEvents", () => {
  it("creates one execution per event × version whose table, operation and rules match", () => {
    const versions = [
      version("v-high", "public.leads", ["INSERT"], { field: "priority", op: "eq", value: "high" }),
      version("v-all", "public.leads", ["INSERT", "UPDATE"]),
      version("v-other", "public.tasks", ["INSERT"]),
      version("v-delete", "public.leads", ["DELETE"]),
    ];
    const result = matchEvents([event("1", "INSERT", { id: 1, priority: "high" }), event("2", "INSERT", { id: 2, priority: "low" })], versions, 5);
    expect(result.executions.map((e) => `${e.eventId}:${e.versionId}`)).toEqual(["1:v-high", "1:v-all", "2:v-all"]);
    expect(result.executions[0].subject).toBe("1");
    expect(result.processedEventIds).toEqual(["1", "2"]);
    expect(result.skipped).toEqual([]);
  });

  it("evaluates changed_to against the old row of an UPDATE", () => {
    const versions = [version("v", "public.leads", ["UPDATE"], { field: "status", op: "changed_to", value: "won" })];
    const changed = matchEvents([event("1", "UPDATE", { id: 1, status: "won" }, { id: 1, status: "new" })], versions, 5);
    const unchanged = matchEvents([event("2", "UPDATE", { id: 1, status: "won" }, { id: 1, status: "won" })], versions, 5);
    expect(changed.executions).toHaveLength(1);
    expect(unchanged.executions).toHaveLength(0);
  });

  it("records events past the causation depth limit as skipped, not run", () => {
    const result = matchEvents([event("9", "INSERT", { id: 9 }, null, 6)], [version("v", "public.leads", ["INSERT"])], 5);
    expect(result.executions).toEqual([]);
    expect(result.processedEventIds).toEqual(["9"]);
    expect(result.skipped[0].reason).toMatch(/causation depth 6 exceeds the limit of 5/);
  });

  it("rules see the old row on DELETE", () => {
    const versions = [version("v", "public.leads", ["DELETE"], { field: "status", op: "eq", value: "spam" })];
    const result = matchEvents([event("3", "DELETE", null, { id: 3, status: "spam" })], versions, 5);
    expect(result.executions.map((e) => e.subject)).toEqual(["3"]);
  });
});
