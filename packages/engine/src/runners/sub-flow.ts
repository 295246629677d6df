/**
 * The `sub_flow` runner: starts an execution of another flow and, unless `wait` is false, suspends its own execution
 * until that one ends. Nothing waits inside the function: the parent is woken when the sub-flow's execution finishes
 * (the database does that) or when `timeout_seconds` has passed, and `resume` then reads how it ended.
 */
import { SUB_FLOW_DEFAULT_WAIT_SECONDS, type SubFlowConfig, SubFlowConfigSchema } from "../definition/step-configs.ts";
import { FlowError } from "../errors.ts";
import { isPlainObject } from "../json.ts";
import type { Store, SubFlowState } from "../ports.ts";
import { configValidator, type StepContext, type StepResult, type StepRunner } from "./types.ts";

/** A sub_flow step's output once the execution it started has completed. */
export interface SubFlowOutput {
  execution_id: string;
  flow: string;
  status: SubFlowState["status"];
  /** Outputs of the sub-flow's completed steps by step id (absent when the step did not wait). */
  outputs?: Record<string, unknown>;
}

/** What a suspended sub_flow attempt records, so the execution can be found again on resume. */
interface Waiting {
  execution_id: string;
  flow: string;
}

type SubFlowStore = Required<Pick<Store, "startSubFlow" | "getSubFlow" | "cancelSubFlow">>;

function subFlowStore(context: StepContext): SubFlowStore {
  const store = context.store;
  if (store.startSubFlow === undefined || store.getSubFlow === undefined || store.cancelSubFlow === undefined) {
    throw new FlowError("CONFIG_INVALID", "sub_flow: this deployment's store cannot start sub-flows");
  }
  return store as SubFlowStore;
}

// Completed and failed executions end the step; anything else is still going.
function settle(state: SubFlowState, flow: string): StepResult | null {
  if (state.status === "completed") {
    const result = isPlainObject(state.result) ? state.result : {};
    const outputs = isPlainObject(result.outputs) ? result.outputs : {};
    const output: SubFlowOutput = { execution_id: state.executionId, flow, status: "completed", outputs };
    return { status: "completed", output };
  }
  if (state.status === "failed" || state.status === "cancelled") {
    const why = state.error ? `${state.error.code}: ${state.error.message}` : "no error recorded";
    throw new FlowError("SUB_FLOW_FAILED", `sub_flow: execution ${state.executionId} of flow "${flow}" ${state.status} (${why})`, {
      details: { execution_id: state.executionId, flow, status: state.status, error: state.error ?? null },
    });
  }
  return null;
}

/** The sub_flow runner. */
export const subFlowRunner: StepRunner<SubFlowConfig> = {
  stepType: "sub_flow",
  configSchema: SubFlowConfigSchema,
  validateConfig: configValidator(SubFlowConfigSchema),
  async execute(config, context) {
    if (typeof config.timeout_seconds === "string") {
      throw new FlowError("CONFIG_INVALID", `sub_flow: "timeout_seconds" must render to a whole number of seconds`);
    }
    const store = subFlowStore(context);
    const started = await store.startSubFlow({
      parentExecutionId: context.executionId,
      parentStepId: context.stepId,
      attempt: context.attempt,
      flowKey: config.flow,
      input: config.input ?? {},
    });
    if (config.wait === false) {
      const output: SubFlowOutput = { execution_id: started.executionId, flow: config.flow, status: started.status };
      return { status: "completed", output };
    }
    const settled = settle(started, config.flow);
    if (settled !== null) return settled;
    const seconds = config.timeout_seconds ?? SUB_FLOW_DEFAULT_WAIT_SECONDS;
    const waiting: Waiting = { execution_id: started.executionId, flow: config.flow };
    return {
      status: "suspended",
      resumeAt: new Date(context.clock.now().getTime() + seconds * 1000),
      reason: `sub_flow ${config.flow}`,
      output: waiting,
    };
  },
  async resume(suspended, context) {
    const waiting = suspended.output as Partial<Waiting> | null;
    if (!isPlainObject(waiting) || typeof waiting.execution_id !== "string" || typeof waiting.flow !== "string") {
      throw new FlowError("STORE_ERROR", "sub_flow: the suspended attempt does not record which execution it waits for");
    }
    const store = subFlowStore(context);
    const state = await store.getSubFlow(context.executionId, waiting.execution_id);
    if (state === null) {
      throw new FlowError("SUB_FLOW_FAILED", `sub_flow: execution ${waiting.execution_id} of flow "${waiting.flow}" no longer exists`);
    }
    const settled = settle(state, waiting.flow);
    if (settled !== null) return settled;
    const deadline = suspended.resumeAt;
    if (deadline !== null && context.clock.now().getTime() >= deadline.getTime()) {
      await store.cancelSubFlow(context.executionId, waiting.execution_id);
      throw new FlowError("SUB_FLOW_TIMEOUT", `sub_flow: execution ${waiting.execution_id} of flow "${waiting.flow}" did not finish in time; it was asked to stop`, {
        details: { execution_id: waiting.execution_id, flow: waiting.flow },
      });
    }
    return { status: "suspended", resumeAt: deadline ?? context.clock.now(), reason: `sub_flow ${waiting.flow}`, output: waiting };
  },
};
