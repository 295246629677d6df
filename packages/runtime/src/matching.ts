/** Decides which events start which versions: table and operation, the loop guard, then the version's rules. */
import { compileRulesCached, type CompiledRule } from "../../engine/src/index.ts";
import type { ClaimedEvent, ListeningVersion, NewExecution, SkippedEvent } from "./ports.ts";

/** The result of matching a batch of events. */
export interface MatchResult {
  executions: NewExecution[];
  processedEventIds: string[];
  skipped: SkippedEvent[];
}

const always: CompiledRule = () => true;

/** Matches events against listening versions; pure, so it is unit-tested without a database. */
export function matchEvents(events: ClaimedEvent[], versions: ListeningVersion[], maxCausationDepth: number): MatchResult {
  const byTable = new Map<string, ListeningVersion[]>();
  for (const version of versions) {
    const list = byTable.get(version.table) ?? [];
    list.push(version);
    byTable.set(version.table, list);
  }
  const result: MatchResult = { executions: [], processedEventIds: [], skipped: [] };
  for (const event of events) {
    result.processedEventIds.push(event.eventId);
    if (event.causationDepth > maxCausationDepth) {
      result.skipped.push({
        eventId: event.eventId,
        reason: `causation depth ${event.causationDepth} exceeds the limit of ${maxCausationDepth}: a flow's own changes triggered flows too many times in a row; not run`,
      });
      continue;
    }
    for (const version of byTable.get(event.table) ?? []) {
      if (!version.events.includes(event.operation)) continue;
      // A version the engine cannot run still gets its executions, which fail with the reason: nothing is dropped.
      const when = version.definition?.when ? compileRulesCached(version.definition.when) : always;
      const matches = when({ row: event.newRow ?? event.oldRow, old: event.oldRow ?? undefined, op: event.operation });
      if (!matches) continue;
      result.executions.push({
        tenantId: version.tenantId,
        flowId: version.flowId,
        versionId: version.versionId,
        eventId: event.eventId,
        subject: event.rowKey,
      });
    }
  }
  return result;
}
