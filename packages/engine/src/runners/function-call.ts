/** The `function_call` runner: invokes another Supabase Edge Function through the functions port. */
import { type FunctionCallConfig, FunctionCallConfigSchema } from "../definition/step-configs.ts";
import { FlowError } from "../errors.ts";
import { configValidator, type StepRunner } from "./types.ts";

/** The function_call runner. */
export const functionCallRunner: StepRunner<FunctionCallConfig> = {
  stepType: "function_call",
  configSchema: FunctionCallConfigSchema,
  validateConfig: configValidator(FunctionCallConfigSchema),
  async execute(config, context) {
    if (context.functions === undefined) {
      throw new FlowError("CONFIG_INVALID", "function_call: no function invoker is configured in this deployment");
    }
    const output = await context.functions.invokeFunction(config.function_name, config.body ?? {}, context.signal);
    return { status: "completed", output: output ?? null };
  },
};
