/** The `transform` runner: its output is its rendered `output` object. */
import { type TransformConfig, TransformConfigSchema } from "../definition/step-configs.ts";
import { configValidator, type StepRunner } from "./types.ts";

/** The transform runner; templates were rendered by the executor, so there is nothing left to do. */
export const transformRunner: StepRunner<TransformConfig> = {
  stepType: "transform",
  configSchema: TransformConfigSchema,
  instant: true,
  validateConfig: configValidator(TransformConfigSchema),
  execute(config) {
    return Promise.resolve({ status: "completed", output: config.output });
  },
};
