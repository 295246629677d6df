/** @flows/runtime: drains row-change events and runnable executions; the Postgres adapter is in ./postgres. */
export { drain, type DrainDeps, type DrainOptions, type DrainReport } from "./drain.ts";
export { matchEvents, type MatchResult } from "./matching.ts";
export type * from "./ports.ts";
