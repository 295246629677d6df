/**
 * @flows/engine: flow definitions, rules, templates, step runners and the executor.
 * Pure TypeScript over Web-standard APIs and zod; runs under Deno and Node.
 */

// Errors
export {
  ERROR_CATALOG,
  FlowError,
  type FlowErrorCode,
  type FlowErrorOptions,
  hasErrorCode,
  isFlowError,
  type SerializedFlowError,
  serializeError,
  toFlowError,
} from "./errors.ts";

// Definition
export {
  BranchStepSchema,
  COMPOSITE_STEP_TYPES,
  type FlowDefinition,
  FlowDefinitionSchema,
  type FlowStep,
  FlowStepSchema,
  type FlowTrigger,
  type LeafStep,
  listSteps,
  MAX_BRANCHES,
  MAX_DEFINITION_BYTES,
  MAX_DEFINITION_DEPTH,
  MAX_STEPS,
  ParallelConfigSchema,
  type ParallelStep,
  ROW_EVENTS,
  type RowEventType,
  STEP_ID_PATTERN,
  type StepPlace,
  STEP_TYPES,
  type StepType,
  TRIGGER_TYPES,
  TriggerSchema,
} from "./definition/schema.ts";
export {
  type ConfigValidatorLookup,
  formatIssue,
  formatPath,
  issuesFromZod,
  prefixIssue,
  type ValidateDefinitionOptions,
  validateFlowDefinition,
  validateFlowStep,
  validateOrThrow,
  validateWith,
  validationError,
  type ValidationIssue,
  type ValidationResult,
} from "./definition/validate.ts";
export {
  inputStorageProblem,
  MAX_INPUT_DEPTH,
  type ParameterIssue,
  type ParameterSchema,
  ParameterSchemaSchema,
  validateParameters,
} from "./definition/parameters.ts";
export {
  canonicalOp,
  MAX_PATTERN_LENGTH,
  type Rule,
  type RuleCondition,
  RULE_OP_ALIASES,
  RULE_OPS,
  type RuleOp,
  type RuleOpInput,
  RuleSchema,
} from "./definition/rule-schema.ts";
export * from "./definition/step-configs.ts";
export { buildFlowDefinitionJsonSchema, flowDefinitionSchemaText } from "./definition/json-schema.ts";

// Rules
export { type CompiledRule, compileRules, compileWhen, type RuleContext } from "./rules/compile.ts";
export { type CompiledCache, compileRulesCached, createCompiledCache } from "./rules/cache.ts";
export { compareValues, looseEquals, prepareValue, toDateMs, toNumber } from "./rules/coerce.ts";

// Templates
export { hasPlaceholder, parseTemplate, type ParsedTemplate, type Placeholder, TEMPLATE_ROOTS } from "./templates/parse.ts";
export {
  DEFAULT_MAX_RENDER_BYTES,
  type RenderOptions,
  type Rendered,
  renderTemplates,
  type StepState,
  type TemplateScope,
} from "./templates/render.ts";
export { createRedactor, REDACTED, type Redactor } from "./templates/redact.ts";

// Runners
export type {
  BranchResult,
  CompletedResult,
  ConfigCheck,
  StepContext,
  StepEvent,
  StepResult,
  StepRunner,
  SuspendedAttempt,
  SuspendedResult,
} from "./runners/types.ts";
export { configValidator } from "./runners/types.ts";
export { type BuiltInRunnerOptions, builtInRunners, createRegistry, type RunnerRegistry } from "./runners/registry.ts";
export { httpRunner, type HttpOutput } from "./runners/http.ts";
export { tabularRunner, type TabularOutput } from "./runners/tabular.ts";
export { createWaitRunner, DEFAULT_MAX_WAIT_SECONDS, waitRunner, type WaitRunnerOptions } from "./runners/wait.ts";
export { dbUpdateRunner } from "./runners/db-update.ts";
export { functionCallRunner } from "./runners/function-call.ts";
export { conditionRunner } from "./runners/condition.ts";
export { transformRunner } from "./runners/transform.ts";
export { logRunner } from "./runners/log.ts";
export { subFlowRunner, type SubFlowOutput } from "./runners/sub-flow.ts";
export { assertDestinationAllowed, classifyAddress, type NetPolicy } from "./runners/net-guard.ts";
export { MAX_REDIRECTS, sha256Hex } from "./runners/http-client.ts";

// Flow control
export {
  BITRIX24_RATE_LIMIT,
  bitrixPortalKey,
  type BucketState,
  bucketFor,
  LocalRateLimiter,
  localRateLimiterFor,
  originKey,
  RATE_HEADROOM_MS,
  type RateLimit,
  rateLimitFromConfig,
  type RateLimitRequest,
  takeFromBucket,
} from "./flow-control/rate-limit.ts";

// Executor
export {
  type ExecutionOutcome,
  type ExecutionRequest,
  type ExecutorOptions,
  runExecution,
  type RunExecutionParams,
} from "./executor/run-execution.ts";
export {
  computeBackoffMs,
  decideRetry,
  DEFAULT_RETRY,
  DEFAULT_TIMEOUT_MS,
  resolveRetrySettings,
  resolveTimeoutMs,
  type RetryDecision,
  type RetrySettings,
} from "./executor/retry-policy.ts";

// Ports and their Web-standard implementations
export type * from "./ports.ts";
export { consoleLogger, createFetchHttp, systemClock } from "./system.ts";

// JSON helpers
export { deepEqual, isPlainObject, type JsonObject, type JsonValue, storableJsonText } from "./json.ts";
