import { describe, expect, it } from "vitest";
import {
  BITRIX24_RATE_LIMIT,
  bitrixPortalKey,
  type BucketState,
  bucketFor,
  builtInRunners,
  createRegistry,
  type ExecutionOutcome,
  type FetchLike,
  type FlowDefinition,
  httpRunner,
  LocalRateLimiter,
  originKey,
  runExecution,
  tabularRunner,
  takeFromBucket,
  validateFlowDefinition,
} from "../src/index.ts";
import { createTestPorts, FakeClock, type TestPorts } from "../src/testing/index.ts";

const WEBHOOK = "https://example.bitrix24.com/rest/1/s3cret/";
const PORTAL = "https://example.bitrix24.com/rest/1";

function definition(value: unknown): FlowDefinition {
  const result = validateFlowDefinition(value);
  if (!result.success) throw new Error(JSON.stringify(result.errors));
  return result.data;
}

function tabularFlow(config: Record<string, unknown> = {}, step: Record<string, unknown> = {}): FlowDefinition {
  return definition({
    trigger: { type: "row_change", table: "public.leads", events: ["INSERT"] },
    steps: [{ id: "crm", type: "tabular", config: { webhook_url: WEBHOOK, field: "STATUS_ID", value: "QUALIFIED", ...config }, ...step }],
  });
}

/**
 * A Bitrix24-like portal on the fake clock: its own bucket of exactly the published limit (2/s, burst 50), 503
 * QUERY_LIMIT_EXCEEDED when it is empty. It sees requests at the fake time they are sent.
 */
function fakePortal(clock: FakeClock, limit = BITRIX24_RATE_LIMIT) {
  let state: BucketState | undefined;
  const portal = { accepted: [] as number[], rejected: 0, script: [] as number[] };
  const fetch: FetchLike = (_url, init) => {
    const forced = portal.script.shift();
    const taken = takeFromBucket(state, clock.now().getTime(), { ratePerSecond: limit.perSecond, capacity: limit.burst });
    state = taken.state;
    if (forced === 503 || taken.waitMs > 0) {
      portal.rejected++;
      return Promise.resolve(Response.json({ error: "QUERY_LIMIT_EXCEEDED", error_description: "Too many requests" }, { status: 503 }));
    }
    portal.accepted.push(clock.now().getTime());
    return Promise.resolve(Response.json({ result: true, id: JSON.parse(String(init.body)).id }));
  };
  return { portal, fetch };
}

function run(def: FlowDefinition, ports: TestPorts, id: string, extra: { signal?: AbortSignal } = {}): Promise<ExecutionOutcome> {
  return runExecution({
    execution: { id, event: { op: "INSERT", table: "public.leads", row: { id: Number(id.replace(/\D/g, "")) || 1 } } },
    definition: def,
    registry: createRegistry(builtInRunners()),
    ports,
    ...extra,
  });
}

describe("token buckets", () => {
  it("start full, hand out one token per call, then say how long until the next", () => {
    const bucket = { ratePerSecond: 2, capacity: 3 };
    let state: BucketState | undefined;
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      const taken = takeFromBucket(state, 1_000, bucket);
      state = taken.state;
      waits.push(taken.waitMs);
    }
    expect(waits).toEqual([0, 0, 0, 500]);
    // A refused call takes nothing: after the 500 ms it named, the token is there.
    expect(takeFromBucket(state, 1_499, bucket).waitMs).toBe(1);
    expect(takeFromBucket(state, 1_500, bucket).waitMs).toBe(0);
  });

  it("refill at the rate, never beyond the capacity, and ignore a clock that goes back", () => {
    const bucket = { ratePerSecond: 2, capacity: 3 };
    expect(takeFromBucket({ tokens: 0, refilledAtMs: 0 }, 60_000, bucket).state).toEqual({ tokens: 2, refilledAtMs: 60_000 });
    expect(takeFromBucket({ tokens: 0.5, refilledAtMs: 10_000 }, 9_000, bucket)).toEqual({ state: { tokens: 0.5, refilledAtMs: 10_000 }, waitMs: 250 });
  });

  it("keep a second of refill below the destination's burst, never less than one token", () => {
    expect(bucketFor(BITRIX24_RATE_LIMIT)).toEqual({ ratePerSecond: 2, capacity: 48 });
    expect(bucketFor({ perSecond: 1, burst: 1 })).toEqual({ ratePerSecond: 1, capacity: 1 });
    expect(bucketFor({ perSecond: 100, burst: 10 })).toEqual({ ratePerSecond: 100, capacity: 1 });
  });

  it("the local limiter shares buckets per destination", async () => {
    const clock = new FakeClock();
    const limiter = new LocalRateLimiter(clock);
    const bucket = { ratePerSecond: 1, capacity: 1 };
    expect(await limiter.takeToken("a", bucket)).toEqual({ waitMs: 0 });
    expect(await limiter.takeToken("a", bucket)).toEqual({ waitMs: 1000 });
    expect(await limiter.takeToken("b", bucket)).toEqual({ waitMs: 0 });
  });
});

describe("destinations", () => {
  it("a Bitrix24 webhook is keyed by portal and user, never by its secret token", () => {
    expect(bitrixPortalKey(WEBHOOK)).toBe(PORTAL);
    expect(bitrixPortalKey("https://example.bitrix24.com/rest/7/other/crm.lead.update")).toBe("https://example.bitrix24.com/rest/7");
    expect(bitrixPortalKey("https://crm.example.com:8443/hooks/x")).toBe("https://crm.example.com:8443");
    expect(originKey("https://api.example.com/v1/items?x=1")).toBe("https://api.example.com");
    expect(() => originKey("not a url")).toThrow(expect.objectContaining({ code: "CONFIG_INVALID" }));
  });

  it("tabular defaults to Bitrix24's limit per portal; rate_limit overrides or turns it off", () => {
    const base = { webhook_url: WEBHOOK, field: "F", value: 1 };
    expect(tabularRunner.rateLimit!(base)).toEqual({ destination: PORTAL, limit: { perSecond: 2, burst: 50 } });
    expect(tabularRunner.rateLimit!({ ...base, rate_limit: { per_second: 0.5, burst: 5 } })).toEqual({
      destination: PORTAL,
      limit: { perSecond: 0.5, burst: 5 },
    });
    expect(tabularRunner.rateLimit!({ ...base, rate_limit: false })).toBeNull();
    expect(tabularRunner.validateConfig({ ...base, rate_limit: { per_second: 0, burst: 5 } }).valid).toBe(false);
    expect(tabularRunner.validateConfig({ ...base, rate_limit: { per_second: 1, burst: 1.5 } }).valid).toBe(false);
    expect(tabularRunner.validateConfig({ ...base, rate_limit: true }).valid).toBe(false);
  });

  it("http is limited only when it says so, keyed by the URL's origin", () => {
    expect(httpRunner.rateLimit!({ url: "https://api.example.com/a" })).toBeNull();
    expect(httpRunner.rateLimit!({ url: "https://api.example.com/a", rate_limit: { per_second: 10, burst: 20 } })).toEqual({
      destination: "https://api.example.com",
      limit: { perSecond: 10, burst: 20 },
    });
    expect(httpRunner.validateConfig({ url: "https://api.example.com", rate_limit: false }).valid).toBe(false);
  });
});

describe("the executor takes a token before each attempt", () => {
  it("a burst of 100 Bitrix updates never exceeds the portal's bucket, and no attempt is spent waiting", async () => {
    const clock = new FakeClock({ autoAdvance: true });
    const { portal, fetch } = fakePortal(clock);
    const ports = createTestPorts({ clock, http: { fetch } });
    const def = tabularFlow();
    const start = clock.now().getTime();
    for (let i = 1; i <= 100; i++) expect(await run(def, ports, `exec-${i}`)).toMatchObject({ status: "completed" });
    expect(portal.rejected).toBe(0);
    expect(portal.accepted).toHaveLength(100);
    expect(ports.store.attempts.every((attempt) => attempt.attempt === 1 && attempt.status === "completed")).toBe(true);
    // 48 at once (48 tokens), then one every 500 ms.
    expect(portal.accepted.slice(47, 50).map((at) => at - start)).toEqual([0, 500, 1_000]);
    expect(portal.accepted.at(-1)! - start).toBe(26_000);
    expect(ports.rateLimiter.grantedAt(PORTAL)).toHaveLength(100);
    expect(Math.max(...clock.sleeps)).toBeLessThanOrEqual(500);
  });

  it("short waits are slept on the clock; long ones suspend the execution without recording an attempt", async () => {
    const clock = new FakeClock({ autoAdvance: true, start: new Date("2025-01-01T00:00:00Z") });
    const { fetch } = fakePortal(clock);
    const ports = createTestPorts({ clock, http: { fetch } });
    const def = tabularFlow({ rate_limit: { per_second: 0.1, burst: 1 } });
    expect(await run(def, ports, "exec-1")).toMatchObject({ status: "completed" });
    const outcome = await run(def, ports, "exec-2");
    expect(outcome).toEqual({
      status: "waiting",
      resumeAt: new Date("2025-01-01T00:00:10Z"),
      reason: "rate_limit",
      stepId: "crm",
      attempt: 1,
    });
    expect(ports.store.attemptsOf("exec-2")).toEqual([]);
    expect(ports.logger.entries.some((entry) => entry.message.includes("rate-limit token; suspending"))).toBe(true);

    // Resumed too early, it suspends again; resumed on time, its first attempt runs.
    clock.advance(5_000);
    expect(await run(def, ports, "exec-2")).toMatchObject({ status: "waiting", reason: "rate_limit", resumeAt: new Date("2025-01-01T00:00:10Z") });
    clock.advance(5_000);
    expect(await run(def, ports, "exec-2")).toMatchObject({ status: "completed" });
    expect(ports.store.attemptsOf("exec-2").map((a) => [a.attempt, a.status])).toEqual([[1, "completed"]]);

    // 1.5 s until the next token: under the 2 s threshold, so the executor sleeps it in place.
    clock.advance(8_500);
    const sleepsBefore = clock.sleeps.length;
    expect(await run(def, ports, "exec-3")).toMatchObject({ status: "completed" });
    expect(clock.sleeps.slice(sleepsBefore)).toEqual([1_500]);
  });

  it("waits in place add up to the suspend threshold at most", async () => {
    const clock = new FakeClock({ autoAdvance: true });
    const { fetch } = fakePortal(clock);
    const ports = createTestPorts({ clock, http: { fetch } });
    // Another worker keeps winning the token: every ask answers 800 ms.
    ports.rateLimiter.takeToken = () => Promise.resolve({ waitMs: 800 });
    expect(await run(tabularFlow(), ports, "exec-1")).toMatchObject({ status: "waiting", reason: "rate_limit" });
    expect(clock.sleeps).toEqual([800, 800]);
  });

  it("rate_limit: false sends at once", async () => {
    const clock = new FakeClock({ autoAdvance: true });
    const { portal, fetch } = fakePortal(clock, { perSecond: 1000, burst: 1000 });
    const ports = createTestPorts({ clock, http: { fetch } });
    const def = tabularFlow({ rate_limit: false });
    for (let i = 1; i <= 60; i++) await run(def, ports, `exec-${i}`);
    expect(portal.accepted).toHaveLength(60);
    expect(ports.rateLimiter.takes).toEqual([]);
    expect(clock.sleeps).toEqual([]);
  });

  it("without a rateLimiter port, executions on one clock share process-local buckets", async () => {
    const clock = new FakeClock({ autoAdvance: true });
    const { fetch } = fakePortal(clock);
    const { rateLimiter: _unused, ...ports } = createTestPorts({ clock, http: { fetch } });
    const def = tabularFlow({ rate_limit: { per_second: 0.1, burst: 1 } });
    expect(await run(def, ports as TestPorts, "exec-1")).toMatchObject({ status: "completed" });
    expect(await run(def, ports as TestPorts, "exec-2")).toMatchObject({ status: "waiting", reason: "rate_limit" });
    // Another clock, another process as far as buckets go.
    const other = createTestPorts({ http: { fetch } });
    const { rateLimiter: _other, ...otherPorts } = other;
    expect(await run(def, otherPorts as TestPorts, "exec-3")).toMatchObject({ status: "completed" });
  });

  it("QUERY_LIMIT_EXCEEDED is retried by the retry policy, and each attempt takes a token", async () => {
    const clock = new FakeClock({ autoAdvance: true });
    const { portal, fetch } = fakePortal(clock);
    portal.script.push(503);
    const ports = createTestPorts({ clock, http: { fetch } });
    expect(await run(tabularFlow({}, { retry: { max_attempts: 2 } }), ports, "exec-1")).toMatchObject({ status: "completed" });
    const attempts = ports.store.attemptsOf("exec-1");
    expect(attempts.map((a) => [a.attempt, a.status, a.error?.code ?? null])).toEqual([[1, "failed", "RATE_LIMITED"], [2, "completed", null]]);
    expect(clock.sleeps).toEqual([1_000]);
    expect(ports.rateLimiter.grantedAt(PORTAL)).toHaveLength(2);
  });

  it("cancelling during a wait for a token cancels the execution", async () => {
    const clock = new FakeClock();
    const ports = createTestPorts({ clock, http: { fetch: () => Promise.reject(new Error("must not be called")) } });
    ports.rateLimiter.takeToken = () => Promise.resolve({ waitMs: 1_000 });
    const controller = new AbortController();
    const outcome = run(tabularFlow(), ports, "exec-1", { signal: controller.signal });
    while (clock.pendingTimers === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    controller.abort(new Error("cancelled"));
    expect(await outcome).toEqual({ status: "cancelled", stepId: "crm" });
    expect(ports.store.attemptsOf("exec-1")).toEqual([]);
  });

  it("a limiter that fails fails the attempt with its error, under the retry policy", async () => {
    const ports = createTestPorts({ http: { fetch: () => Promise.reject(new Error("must not be called")) } });
    ports.rateLimiter.takeToken = () => Promise.reject(Object.assign(new Error("connection refused"), { code: "08006" }));
    const outcome = await run(tabularFlow({}, { retry: { max_attempts: 2 } }), ports, "exec-1");
    expect(outcome).toMatchObject({ status: "failed", stepId: "crm", error: { code: "NETWORK_ERROR" } });
    expect(ports.store.attemptsOf("exec-1").map((a) => [a.attempt, a.error?.code])).toEqual([[1, "NETWORK_ERROR"], [2, "NETWORK_ERROR"]]);
  });
});
