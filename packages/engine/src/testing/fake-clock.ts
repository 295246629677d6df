/** A controllable clock for tests: time moves only when the test says so. */
import type { Clock } from "../ports.ts";

interface Timer {
  at: number;
  fire: () => void;
}

/** Options for {@link FakeClock}. */
export interface FakeClockOptions {
  /** Start time. Default 2025-01-01T00:00:00Z. */
  start?: Date;
  /** When true, `sleep` advances time by itself and resolves at once (so retries need no driving). */
  autoAdvance?: boolean;
}

/** A fake {@link Clock}. */
export class FakeClock implements Clock {
  private current: number;
  private readonly timers = new Set<Timer>();
  private readonly autoAdvance: boolean;
  /** Every duration passed to `sleep`, for assertions on backoff. */
  readonly sleeps: number[] = [];

  constructor(options: FakeClockOptions = {}) {
    this.current = (options.start ?? new Date("2025-01-01T00:00:00Z")).getTime();
    this.autoAdvance = options.autoAdvance ?? false;
  }

  /** The fake current time. */
  now(): Date {
    return new Date(this.current);
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const due = [...this.timers].filter((timer) => timer.at <= target).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.timers.delete(due);
      this.current = Math.max(this.current, due.at);
      due.fire();
    }
    this.current = target;
  }

  /** Sets the time (forward only), firing due timers. */
  set(date: Date): void {
    this.advance(Math.max(0, date.getTime() - this.current));
  }

  /** Number of pending timers (sleeps and timeouts). */
  get pendingTimers(): number {
    return this.timers.size;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.autoAdvance) {
      this.advance(ms);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const timer: Timer = { at: this.current + ms, fire: () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      } };
      const onAbort = () => {
        this.timers.delete(timer);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.timers.add(timer);
    });
  }

  timeout(ms: number, reason: unknown): { signal: AbortSignal; clear(): void } {
    const controller = new AbortController();
    const timer: Timer = { at: this.current + ms, fire: () => controller.abort(reason) };
    this.timers.add(timer);
    return { signal: controller.signal, clear: () => this.timers.delete(timer) };
  }
}
