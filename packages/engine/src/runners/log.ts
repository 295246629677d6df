/** The `log` runner: writes a message into the attempt's logs. */
import { type LogConfig, LogConfigSchema, MAX_LOG_MESSAGE_LENGTH } from "../definition/step-configs.ts";
import { configValidator, type StepRunner } from "./types.ts";

/** The log runner. */
export const logRunner: StepRunner<LogConfig> = {
  stepType: "log",
  configSchema: LogConfigSchema,
  instant: true,
  validateConfig: configValidator(LogConfigSchema),
  execute(config, context) {
    const level = config.level ?? "info";
    // `"{{row.id}}"` renders to a number; people who write it expect the text of that number.
    const text = typeof config.message === "string" ? config.message : JSON.stringify(config.message);
    const message = text.length > MAX_LOG_MESSAGE_LENGTH ? `${text.slice(0, MAX_LOG_MESSAGE_LENGTH)}...` : text;
    const entry = {
      level,
      message,
      at: context.clock.now().toISOString(),
      ...(config.data === undefined ? {} : { data: config.data }),
    };
    return Promise.resolve({ status: "completed", output: { level, message }, logs: [entry] });
  },
};
