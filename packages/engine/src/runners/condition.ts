/** The `condition` runner: evaluates rules and tells the executor where to continue. */
import { type ConditionConfig, ConditionConfigSchema } from "../definition/step-configs.ts";
import { compileRulesCached } from "../rules/cache.ts";
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
  validateConfig: configValidator(ConditionConfigSchema),
  async execute(config, context) {
    // `rules` is never rendered, so it is the definition's own object and the compiled function is reused.
    const evaluate = compileRulesCached(config.rules);
    const event = context.event;
    const usesSubject = config.subject !== undefined;
    const matched = evaluate({
      row: usesSubject ? config.subject : event.row ?? event.input,
      old: usesSubject ? undefined : event.old,
      op: event.op,
    });
    const target = matched ? config.then : config.else;
    const output = { matched };
    if (target === undefined) return { status: "completed", output };
    return { status: "branch", next: target, output };
  },
};
