/** The `condition` runner: evaluates rules and tells the executor where to continue. */
import { type ConditionConfig, ConditionConfigSchema } from "../definition/step-configs.ts";
import { createCompiledCache } from "../rules/cache.ts";
import { type CompiledRule, compileRules } from "../rules/compile.ts";

// Keyed by the rule's JSON: validated configs are fresh objects on every attempt, so identity would never hit.
const compiledRules = createCompiledCache<CompiledRule>(512);
import { configValidator, type StepRunner } from "./types.ts";

/**
 * The condition runner. Rules see the triggering row (or the run input for manual and webhook
 * flows), unless `subject` names another object, e.g. `{{steps.lookup.output.body}}`.
 * A missing `then`/`else` continues with the next step in order; `null` ends the execution.
 */
export const conditionRunner: StepRunner<ConditionConfig> = {
  stepType: "condition",
  configSchema: ConditionConfigSchema,
  rawConfigKeys: ["rules"],
  instant: true,
  validateConfig: configValidator(ConditionConfigSchema),
  execute(config, context) {
    // `rules` is never rendered, so its JSON is the same on every run of the version.
    const evaluate = compiledRules.get(JSON.stringify(config.rules), () => compileRules(config.rules));
    const event = context.event;
    const usesSubject = config.subject !== undefined;
    const matched = evaluate({
      row: usesSubject ? config.subject : event.row ?? event.input,
      old: usesSubject ? undefined : event.old,
      op: event.op,
    });
    const target = matched ? config.then : config.else;
    const output = { matched };
    if (target === undefined) return Promise.resolve({ status: "completed", output });
    return Promise.resolve({ status: "branch", next: target, output });
  },
};
