/** The runner registry, always built explicitly from a list (no registration by import side effect). */
import { FlowError } from "../errors.ts";
import { conditionRunner } from "./condition.ts";
import { dbUpdateRunner } from "./db-update.ts";
import { functionCallRunner } from "./function-call.ts";
import { httpRunner } from "./http.ts";
import { logRunner } from "./log.ts";
import { subFlowRunner } from "./sub-flow.ts";
import { tabularRunner } from "./tabular.ts";
import { transformRunner } from "./transform.ts";
import type { StepRunner } from "./types.ts";
import { createWaitRunner, type WaitRunnerOptions } from "./wait.ts";

/** Runners by step type. */
export interface RunnerRegistry {
  /** The runner for a step type, or undefined. */
  get(stepType: string): StepRunner | undefined;
  /** The runner for a step type; throws UNKNOWN_STEP_TYPE. */
  require(stepType: string): StepRunner;
  /** Registered step types. */
  stepTypes(): string[];
}

/** Builds a registry; throws when two runners claim the same step type. */
export function createRegistry(runners: ReadonlyArray<StepRunner<unknown>>): RunnerRegistry {
  const byType = new Map<string, StepRunner>();
  for (const runner of runners) {
    if (byType.has(runner.stepType)) throw new Error(`Two runners registered for step type "${runner.stepType}"`);
    byType.set(runner.stepType, runner);
  }
  return {
    get: (stepType) => byType.get(stepType),
    require(stepType) {
      const runner = byType.get(stepType);
      if (runner === undefined) throw new FlowError("UNKNOWN_STEP_TYPE", `No runner registered for step type "${stepType}"`);
      return runner;
    },
    stepTypes: () => [...byType.keys()],
  };
}

/** Options for {@link builtInRunners}. */
export interface BuiltInRunnerOptions {
  wait?: WaitRunnerOptions;
}

/** A fresh list of every built-in runner, for `createRegistry(builtInRunners())`. */
export function builtInRunners(options: BuiltInRunnerOptions = {}): StepRunner<unknown>[] {
  return [
    tabularRunner,
    httpRunner,
    createWaitRunner(options.wait),
    dbUpdateRunner,
    functionCallRunner,
    conditionRunner,
    transformRunner,
    logRunner,
    subFlowRunner,
  ];
}
