/** Test doubles for the engine's ports, usable by any package's tests. */
export { FakeClock, type FakeClockOptions } from "./fake-clock.ts";
export { InMemoryStore, type RecordedUpdate, type StoredAttempt } from "./in-memory-store.ts";
export { type FunctionHandler, InMemoryFunctions, InMemorySecrets, MemoryLogger } from "./in-memory-ports.ts";
export { InMemoryRateLimiter, type RateTake } from "./in-memory-rate-limiter.ts";
export { createTestPorts, type TestPorts, type TestPortsOptions } from "./test-ports.ts";
