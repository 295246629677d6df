/**
 * One invocation's work: claim events, turn matches into executions, run runnable executions with bounded
 * concurrency, until nothing is left or the wall-clock budget is spent. Several invocations may drain at once:
 * every claim skips what another holds, so nothing runs twice.
 */
import {
  type EnginePorts,
  type ExecutionOutcome,
  runExecution,
  type RunnerRegistry,
  toFlowError,
} from "../../engine/src/index.ts";
import { matchEvents } from "./matching.ts";
import type { ClaimedExecution, RuntimeStore } from "./ports.ts";

/** Settings of a drain; defaults suit an Edge Function (150 s platform limit). */
export interface DrainOptions {
  /** Identifies this invocation in claims and leases. */
  owner: string;
  /** Stop claiming new work after this long. Default 60 s. */
  budgetMs?: number;
  /**
   * Executions run at once. Default 256: their writes are batched, so more in flight means larger batches, not more
   * statements (128 is 20-30 % slower and saves about 10 MiB at peak: docs/performance.md).
   */
  concurrency?: number;
  /** Events claimed per batch. Default 200. */
  eventBatchSize?: number;
  /** How long a claimed execution stays ours without renewal. Default 30 s. */
  leaseMs?: number;
  /** Waits due within this long are awaited in-process instead of by the tick. Default 5 s. */
  shortWaitMs?: number;
  /** How long to wait for writers that skipped their kick before stopping anyway. Default 5 s. */
  writerGraceMs?: number;
  /** How often running executions are checked for cancellation requests. Default 500 ms. */
  cancelPollMs?: number;
  /**
   * How long to keep looking after the work runs out before stopping. A trickle of single-row writes then lands on
   * a draining invocation (whose writers send no kick) instead of costing an invocation every few rows. Default 1 s.
   */
  idleLingerMs?: number;
}

/** What a drain did. */
export interface DrainReport {
  eventsProcessed: number;
  executionsCreated: number;
  executionsRun: number;
  outcomes: Record<ExecutionOutcome["status"], number>;
  /** True when the budget ran out with work left (the caller asks for another invocation). */
  moreWork: boolean;
}

/** How long an empty claim is trusted while events keep coming (see takeWork). */
const CLAIM_PAUSE_MS = 100;

/** Dependencies of a drain. */
export interface DrainDeps {
  store: RuntimeStore;
  registry: RunnerRegistry;
  /** Executor ports except the store, which is per execution. */
  ports: Omit<EnginePorts, "store">;
  /** Aborts in-flight work (the platform is shutting the invocation down). */
  signal?: AbortSignal;
}

/** Drains until no work is left or the budget is spent. */
export async function drain(deps: DrainDeps, options: DrainOptions): Promise<DrainReport> {
  const { store, ports } = deps;
  const clock = ports.clock;
  const budgetMs = options.budgetMs ?? 60_000;
  const concurrency = options.concurrency ?? 256;
  const eventBatchSize = options.eventBatchSize ?? 200;
  const leaseMs = options.leaseMs ?? 30_000;
  const shortWaitMs = options.shortWaitMs ?? 5_000;
  const writerGraceMs = options.writerGraceMs ?? 5_000;
  const started = clock.now().getTime();
  const elapsed = () => clock.now().getTime() - started;
  const report: DrainReport = {
    eventsProcessed: 0,
    executionsCreated: 0,
    executionsRun: 0,
    outcomes: { completed: 0, failed: 0, waiting: 0, cancelled: 0 },
    moreWork: false,
  };
  const maxDepth = await store.maxCausationDepth();
  const running = new Map<string, Promise<void>>();
  // Resolved whenever an execution finishes: the loop waits on it instead of racing every running promise.
  let slotFreed: { promise: Promise<void>; resolve: () => void } = signal();
  // One abort controller per running execution: a cancellation request aborts its in-flight request at once.
  const controllers = new Map<string, AbortController>();
  const cancelPoll = setInterval(() => {
    if (controllers.size === 0) return;
    store.cancelRequested([...controllers.keys()]).then((ids) => {
      for (const id of ids) controllers.get(id)?.abort(new DOMException("cancelled on request", "AbortError"));
    }).catch((error) => ports.logger.log("warn", "cancellation check failed", { error: String(error) }));
  }, options.cancelPollMs ?? 500);

  // Leases of long-running executions are renewed so no other invocation takes them over.
  const renewal = setInterval(() => {
    if (running.size > 0) {
      const ids = [...running.keys()];
      store.renewLeases(options.owner, ids, leaseMs).then((held) => {
        // A lease another invocation took over: stop that execution's in-flight work here, it runs there now.
        const kept = new Set(held);
        for (const id of ids) {
          if (!kept.has(id)) controllers.get(id)?.abort(new DOMException("lease lost", "AbortError"));
        }
      }).catch((error) => ports.logger.log("warn", "lease renewal failed", { error: String(error) }));
    }
  }, Math.max(1_000, Math.floor(leaseMs / 3)));

  async function runOne(execution: ClaimedExecution): Promise<void> {
    const controller = new AbortController();
    if (execution.cancelRequested) controller.abort(new DOMException("cancelled on request", "AbortError"));
    controllers.set(execution.executionId, controller);
    const onShutdown = () => controller.abort(deps.signal?.reason);
    deps.signal?.addEventListener("abort", onShutdown, { once: true });
    let outcome: ExecutionOutcome;
    try {
      if (!execution.definition) {
        outcome = { status: "failed", error: { code: "VALIDATION_FAILED", message: execution.error ?? "invalid definition", retryable: false } };
      } else outcome = await runExecution({
        execution: {
          id: execution.executionId,
          flowId: execution.flowId,
          versionId: execution.versionId,
          event: execution.event ?? undefined,
          input: execution.input,
        },
        definition: execution.definition,
        registry: deps.registry,
        ports: { ...ports, store: store.storeFor(execution, () => controller.signal.aborted) },
        signal: controller.signal,
        options: { yieldAfterMs: Math.max(1_000, budgetMs - elapsed()) },
      });
    } catch (error) {
      // The store failed outside an attempt: leave the execution to its lease; another invocation resumes it.
      ports.logger.log("error", "execution interrupted by a store failure", {
        executionId: execution.executionId,
        error: toFlowError(error).message,
      });
      return;
    } finally {
      controllers.delete(execution.executionId);
      deps.signal?.removeEventListener("abort", onShutdown);
    }
    if (outcome.status === "cancelled" && deps.signal?.aborted) {
      // The invocation is shutting down, not the user cancelling: leave the execution to its lease.
      return;
    }
    try {
      await store.saveOutcome(options.owner, execution.executionId, outcome);
    } catch (error) {
      // Unsaved, the execution stays leased and another invocation resumes it from its recorded attempts.
      ports.logger.log("error", "could not save an execution's outcome", {
        executionId: execution.executionId,
        error: toFlowError(error).message,
      });
      return;
    }
    report.executionsRun++;
    report.outcomes[outcome.status]++;
  }

  function start(execution: ClaimedExecution): void {
    const task = runOne(execution).finally(() => {
      running.delete(execution.executionId);
      store.releaseExecution(execution.executionId);
      slotFreed.resolve();
    });
    running.set(execution.executionId, task);
  }

  // A claim per freed slot would cost a statement per execution: new work is taken once a quarter of the slots are
  // free (or when nothing runs).
  const freeSlots = () => {
    const free = concurrency - running.size;
    return running.size > 0 && free < Math.ceil(concurrency / 4) ? 0 : free;
  };

  // Events are taken only while slots are free: the outbox is the queue, and an execution created while a slot is
  // free starts at once, leased as it is created, instead of waiting as pending for a claim.
  async function claimAndMatchEvents(startLimit: number): Promise<{ processed: number; left: number }> {
    const free = freeSlots();
    if (free <= 0) return { processed: 0, left: 0 };
    const processed = await store.processEvents(
      options.owner,
      // At most half the slots per batch, so one batch is being created while the one before it runs and is written.
      Math.min(eventBatchSize, free, Math.ceil(concurrency / 2)),
      (events, versions) => matchEvents(events, versions, maxDepth),
      { limit: Math.min(free, startLimit), leaseMs },
    );
    report.eventsProcessed += processed.events;
    report.executionsCreated += processed.executionsCreated;
    for (const execution of processed.started) start(execution);
    // Executions created pending (no free slot, a paused or limited flow) are for the claim to take.
    return { processed: processed.events, left: processed.executionsCreated - processed.started.length };
  }

  /** Claims runnable executions into the free slots; returns how many it claimed and how many it asked for. */
  async function claimAndStartExecutions(): Promise<{ started: number; asked: number }> {
    const free = freeSlots();
    if (free <= 0) return { started: 0, asked: 0 };
    const claimed = await store.claimExecutions(options.owner, free, leaseMs);
    for (const execution of claimed) start(execution);
    return { started: claimed.length, asked: free };
  }

  // Claims runnable work first (due waits, expired leases, pending executions: they are older than any unprocessed
  // event's), then events; only when the claim found less than it asked for do new executions start as created.
  // While events keep coming and leave nothing pending, an empty claim is not repeated before every batch: other
  // runnable work (a manual run, a due wait, an expired lease) then waits at most CLAIM_PAUSE_MS.
  let claimNotBefore = -Infinity;
  async function takeWork(): Promise<number> {
    const queueEmpty = clock.now().getTime() < claimNotBefore;
    const claimed = queueEmpty ? { started: 0, asked: 0 } : await claimAndStartExecutions();
    const events = await claimAndMatchEvents(queueEmpty || claimed.started < claimed.asked ? Infinity : 0);
    if (events.left > 0 || events.processed === 0) claimNotBefore = -Infinity;
    else if (!queueEmpty && claimed.started < claimed.asked) claimNotBefore = clock.now().getTime() + CLAIM_PAUSE_MS;
    return claimed.started + events.processed;
  }

  let lastHeartbeat = -Infinity;
  let idleSince: number | null = null;
  const idleLingerMs = options.idleLingerMs ?? 1_000;
  try {
    while (!deps.signal?.aborted) {
      if (elapsed() >= budgetMs) {
        report.moreWork = true;
        break;
      }
      // Once a second is enough for a mark that lasts ten: each heartbeat rewrites the row every writer reads.
      if (clock.now().getTime() - lastHeartbeat >= 1_000) {
        await store.heartbeat(Math.min(leaseMs, 10_000));
        lastHeartbeat = clock.now().getTime();
      }
      if ((await takeWork()) > 0) {
        idleSince = null;
        continue;
      }
      if (running.size > 0) {
        // Wait for executions to finish before claiming more.
        slotFreed = signal();
        await slotFreed.promise;
        continue;
      }
      idleSince ??= clock.now().getTime();
      if (clock.now().getTime() - idleSince < idleLingerMs && elapsed() < budgetMs) {
        await clock.sleep(25);
        continue;
      }
      const due = await store.nextResumeAt();
      const untilDue = due ? due.getTime() - clock.now().getTime() : Infinity;
      if (untilDue <= Math.min(shortWaitMs, budgetMs - elapsed())) {
        await clock.sleep(Math.max(0, untilDue) + 5);
        continue;
      }
      // Nothing to do: stop, unless a writer that skipped its kick (because we were draining) is still committing.
      const check = await store.stopDraining();
      if (check === "writers-pending") {
        lastHeartbeat = -Infinity;
        const committed = await store.waitForSkippedWriters(Math.min(writerGraceMs, Math.max(0, budgetMs - elapsed())));
        // A writer still open after the grace period (a long transaction) is left to the tick, as documented.
        if (committed) continue;
      }
      // Events committed just before the mark was cleared are ours to take: one last look.
      lastHeartbeat = -Infinity;
      if ((await takeWork()) > 0) continue;
      break;
    }
  } finally {
    // Even when a claim or a heartbeat failed, executions already running finish under renewed leases.
    await Promise.allSettled(running.values());
    clearInterval(renewal);
    clearInterval(cancelPoll);
  }
  return report;
}

/** A promise with its resolve function. */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
