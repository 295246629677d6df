/** The `wait` runner: suspends the execution; it never sleeps inside the function. */
import { type WaitConfig, WaitConfigSchema } from "../definition/step-configs.ts";
import { FlowError } from "../errors.ts";
import { configValidator, type StepRunner } from "./types.ts";

/** Options for {@link createWaitRunner}. */
export interface WaitRunnerOptions {
  /** Longest wait accepted, in seconds. Default 3600. */
  maxSeconds?: number;
}

/** Default longest wait, as in the seed. */
export const DEFAULT_MAX_WAIT_SECONDS = 3600;

/** Creates a wait runner with its own maximum. */
export function createWaitRunner(options: WaitRunnerOptions = {}): StepRunner<WaitConfig> {
  const maxSeconds = options.maxSeconds ?? DEFAULT_MAX_WAIT_SECONDS;
  return {
    stepType: "wait",
    configSchema: WaitConfigSchema,
    validateConfig: configValidator(WaitConfigSchema, (config) => {
      // A placeholder is checked after rendering, when it has become a number.
      if (typeof config.seconds === "string") return [];
      return config.seconds > maxSeconds ? [{ path: "seconds", message: `Must be at most ${maxSeconds} seconds` }] : [];
    }),
    execute(config, context) {
      if (typeof config.seconds !== "number") {
        return Promise.reject(new FlowError("CONFIG_INVALID", `wait: "seconds" must render to a number`));
      }
      const seconds = config.seconds;
      const resumeAt = new Date(context.clock.now().getTime() + seconds * 1000);
      if (seconds === 0) return Promise.resolve({ status: "completed", output: { waited_seconds: 0 } });
      return Promise.resolve({ status: "suspended", resumeAt, reason: config.reason ?? `wait ${seconds}s` });
    },
  };
}

/** The wait runner with the default maximum (3600 s). */
export const waitRunner: StepRunner<WaitConfig> = createWaitRunner();
