/**
 * Builds the flow-engine's adapters from the platform's environment: postgres.js on SUPABASE_DB_URL (pooler-safe),
 * Vault secrets, outbound HTTP with the network guard, and supabase-js for function_call steps.
 */
import postgres from "postgres";
import { createClient } from "@supabase/supabase-js";
import {
  builtInRunners,
  consoleLogger,
  createFetchHttp,
  createRegistry,
  FlowError,
  type FunctionInvoker,
  type HttpPort,
  systemClock,
  validateParameters,
  validationError,
} from "../../../packages/engine/src/index.ts";
import { drain, type DrainReport } from "../../../packages/runtime/src/index.ts";
import { absorbConnectionLossRejections, retryIfRefused } from "../../../packages/runtime/src/postgres/connection-loss.ts";
import { createPostgresRateLimiter } from "../../../packages/runtime/src/postgres/rate-limiter.ts";
import { createPostgresStore, createVaultSecrets, startManualRun } from "../../../packages/runtime/src/postgres/store.ts";
import type { HandlerDeps } from "./handler.ts";

/** The handler's dependencies for this process. */
export function createDeps(env: (name: string) => string | undefined): HandlerDeps {
  const dbUrl = env("SUPABASE_DB_URL");
  const waitUntil = (globalThis as { EdgeRuntime?: { waitUntil(p: Promise<unknown>): void } }).EdgeRuntime?.waitUntil;
  if (!dbUrl) return { env, waitUntil: waitUntil?.bind((globalThis as { EdgeRuntime?: unknown }).EdgeRuntime) };

  const sql = postgres(dbUrl, {
    prepare: false,
    max: Number(env("FLOWS_DB_POOL_SIZE") ?? 10),
    idle_timeout: 20,
    onnotice: () => {},
    connection: { application_name: "flow-engine" },
  });
  absorbConnectionLossRejections((line) => consoleLogger.log("warn", line));
  const store = createPostgresStore(sql);
  const registry = createRegistry(builtInRunners());
  const owner = `flow-engine:${crypto.randomUUID().slice(0, 8)}`;
  const supabase = env("SUPABASE_URL") && env("SUPABASE_SERVICE_ROLE_KEY")
    ? createClient(env("SUPABASE_URL")!, env("SUPABASE_SERVICE_ROLE_KEY")!, { auth: { persistSession: false } })
    : null;
  const functions: FunctionInvoker | undefined = supabase
    ? {
      async invokeFunction(name, body, signal) {
        const { data, error } = await supabase.functions.invoke(name, { body: body as Record<string, unknown>, signal } as never);
        if (error) {
          const status = (error as { context?: { status?: number } }).context?.status ?? 0;
          throw new FlowError("FUNCTION_ERROR", `function ${name} failed: ${error.message}`, { retryable: status >= 500 || status === 0 });
        }
        return data;
      },
    }
    : undefined;
  const unlimited = createFetchHttp({
    // Local development and tests call servers on this machine; hosted deployments keep the guard on.
    allowPrivateNetworks: env("FLOWS_ALLOW_PRIVATE_NETWORKS") === "true",
    async resolveHost(hostname) {
      const [v4, v6] = await Promise.allSettled([Deno.resolveDns(hostname, "A"), Deno.resolveDns(hostname, "AAAA")]);
      return [...(v4.status === "fulfilled" ? v4.value : []), ...(v6.status === "fulfilled" ? v6.value : [])];
    },
  });
  // Each request in flight holds a connection to its destination; the others wait for a slot.
  const http = { ...unlimited, fetch: limitInFlight(unlimited.fetch, Number(env("FLOWS_HTTP_CONCURRENCY") ?? 32)) };
  const budgetMs = Number(env("FLOWS_DRAIN_BUDGET_MS") ?? 90_000);
  // Token buckets live in Postgres so a destination's limit holds across concurrent invocations.
  const rateLimiter = createPostgresRateLimiter(sql);

  return {
    env,
    waitUntil: waitUntil?.bind((globalThis as { EdgeRuntime?: unknown }).EdgeRuntime),
    async drain(): Promise<DrainReport> {
      const report = await drain(
        { store, registry, ports: { clock: systemClock, http, secrets: createVaultSecrets(sql), logger: consoleLogger, functions, rateLimiter } },
        { owner, budgetMs, concurrency: Number(env("FLOWS_CONCURRENCY") ?? 256), leaseMs: Number(env("FLOWS_LEASE_MS") ?? 30_000) },
      );
      // Out of budget with work left: ask for a fresh invocation rather than run into the platform's limit.
      if (report.moreWork) await sql`select flows.request_drain(true)`;
      return report;
    },
    async requestDrain() {
      await retryIfRefused(() => sql`select flows.request_drain(true)`);
    },
    startRun: (request) =>
      startManualRun(sql, request, (definition, input) => {
        if (!definition.parameters) return;
        const issues = validateParameters(definition.parameters, input);
        if (issues.length > 0) throw validationError(issues, "PARAMETERS_INVALID");
      }),
  };
}

/**
 * Lets at most `max` requests be in flight; the others wait in order (a waiting request whose signal aborts leaves
 * the queue). A freed slot passes straight to the next waiter, so the limit holds exactly.
 */
export function limitInFlight(send: HttpPort["fetch"], max: number): HttpPort["fetch"] {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (url, init) => {
    if (active < max) active++;
    else {
      await new Promise<void>((resolve, reject) => {
        const signal = init.signal;
        if (signal?.aborted) return reject(signal.reason);
        const onAbort = () => {
          waiting.splice(waiting.indexOf(go), 1);
          reject(signal!.reason);
        };
        const go = () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        waiting.push(go);
      });
    }
    try {
      return await send(url, init);
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
