/** In-memory secrets, logger and function invoker for tests. */
import { FlowError } from "../errors.ts";
import type { FunctionInvoker, Logger, LogLevel, SecretsPort } from "../ports.ts";

/** Secrets from a plain object; records which names were requested. */
export class InMemorySecrets implements SecretsPort {
  /** Every list of names requested. */
  readonly requests: string[][] = [];
  constructor(private readonly values: Record<string, string> = {}) {}

  getSecrets(names: readonly string[]): Promise<Record<string, string>> {
    this.requests.push([...names]);
    const found: Record<string, string> = {};
    for (const name of names) if (Object.prototype.hasOwnProperty.call(this.values, name)) found[name] = this.values[name]!;
    return Promise.resolve(found);
  }
}

/** A logger that keeps entries in memory. */
export class MemoryLogger implements Logger {
  /** Every entry logged. */
  readonly entries: Array<{ level: LogLevel; message: string; fields?: Record<string, unknown> }> = [];

  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    this.entries.push(fields === undefined ? { level, message } : { level, message, fields });
  }
}

/** A function handler for {@link InMemoryFunctions}. */
export type FunctionHandler = (body: unknown, signal: AbortSignal) => unknown | Promise<unknown>;

/** Edge Functions as in-process handlers; unknown names fail like a 404 would. */
export class InMemoryFunctions implements FunctionInvoker {
  /** Every call made. */
  readonly calls: Array<{ name: string; body: unknown }> = [];
  constructor(private readonly handlers: Record<string, FunctionHandler> = {}) {}

  async invokeFunction(name: string, body: unknown, signal: AbortSignal): Promise<unknown> {
    this.calls.push({ name, body });
    const handler = this.handlers[name];
    if (handler === undefined) {
      throw new FlowError("FUNCTION_ERROR", `Function ${name} not found`, { retryable: false, details: { status: 404 } });
    }
    return await handler(body, signal);
  }
}
