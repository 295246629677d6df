/** Production implementations of the ports that need nothing but Web-standard APIs. */
import type { Clock, HttpPort, Logger } from "./ports.ts";

/** The real clock (setTimeout based). */
export const systemClock: Clock = {
  now: () => new Date(),
  sleep(ms, signal) {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  },
  timeout(ms, reason) {
    // Not AbortSignal.timeout: that timer cannot be cleared, and Deno's test sanitizer flags it as a leak.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(reason), ms);
    return { signal: controller.signal, clear: () => clearTimeout(timer) };
  },
};

/** An HTTP port over the global fetch, with the strict default network policy. */
export function createFetchHttp(policy: Omit<HttpPort, "fetch"> = {}): HttpPort {
  return { fetch: (url, init) => fetch(url, init), ...policy };
}

/** A logger writing JSON lines to the console (Supabase collects Edge Function console output). */
export const consoleLogger: Logger = {
  log(level, message, fields) {
    const line = JSON.stringify({ level, message, ...fields });
    if (level === "error") console.error(line);
    else if (level === "warn") console.warn(line);
    else console.log(line);
  },
};
