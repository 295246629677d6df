/** One call to get a full set of in-memory ports. */
import type { EnginePorts, FetchLike, HttpPort } from "../ports.ts";
import { FakeClock } from "./fake-clock.ts";
import { InMemoryRateLimiter } from "./in-memory-rate-limiter.ts";
import { InMemoryStore } from "./in-memory-store.ts";
import { type FunctionHandler, InMemoryFunctions, InMemorySecrets, MemoryLogger } from "./in-memory-ports.ts";

/** Options for {@link createTestPorts}. */
export interface TestPortsOptions {
  secrets?: Record<string, string>;
  functions?: Record<string, FunctionHandler>;
  /** HTTP port overrides; by default uses global fetch and allows private networks (local test servers). */
  http?: Partial<HttpPort>;
  clock?: FakeClock;
  random?: () => number;
}

/** Ports with concrete in-memory types, so tests can inspect them. */
export interface TestPorts extends EnginePorts {
  store: InMemoryStore;
  clock: FakeClock;
  secrets: InMemorySecrets;
  logger: MemoryLogger;
  functions: InMemoryFunctions;
  rateLimiter: InMemoryRateLimiter;
}

/** Creates in-memory ports with a fake clock that advances on sleep. */
export function createTestPorts(options: TestPortsOptions = {}): TestPorts {
  const fetchImpl: FetchLike = (url, init) => fetch(url, init);
  const clock = options.clock ?? new FakeClock({ autoAdvance: true });
  return {
    store: new InMemoryStore(),
    clock,
    http: { fetch: fetchImpl, allowPrivateNetworks: true, ...options.http },
    secrets: new InMemorySecrets(options.secrets ?? {}),
    logger: new MemoryLogger(),
    functions: new InMemoryFunctions(options.functions ?? {}),
    rateLimiter: new InMemoryRateLimiter(clock),
    random: options.random ?? (() => 0.5),
  };
}
