/** The `log` runner: writes a message into the attempt's logs. */
import { type LogConfig, LogConfigSchema } from "../definition/step-configs.ts";
import { configValidator, type StepRunner } from "./types.ts";

/** The log runner. */
export const logRunner: StepRunner<LogConfig> = {
  stepType: "log",
  configSchema: LogConfigSchema,
  validateConfig: configValidator(LogConfigSchema),
  execute(config, context) {
    const level = config.level ?? "info";
    const entry = {
      level,
      message: config.message,
      at: context.clock.now().toISOString(),
      ...(config.data === undefined ? {} : { data: config.data }),
    };
    return Promise.resolve({ status: "completed", output: { level, message: config.message }, logs: [entry] });
  },
};
