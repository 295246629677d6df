// deno test: the outbound request limit of adapters.ts, with a fake fetch (no network).
import { limitInFlight } from "./adapters.ts";

function assertEquals(actual: unknown, expected: unknown, what: string) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

Deno.test("limitInFlight keeps at most max requests in flight and sends the rest in order", async () => {
  let inFlight = 0;
  let peak = 0;
  const order: string[] = [];
  const limited = limitInFlight(async (url) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    order.push(url);
    await new Promise((resolve) => setTimeout(resolve, 5));
    inFlight--;
    return new Response(url);
  }, 2);
  const texts = await Promise.all(["a", "b", "c", "d", "e"].map(async (url) => await (await limited(url, {})).text()));
  assertEquals(texts, ["a", "b", "c", "d", "e"], "responses");
  assertEquals(order, ["a", "b", "c", "d", "e"], "order sent");
  assertEquals(peak, 2, "peak in flight");
});

Deno.test("limitInFlight drops a waiting request whose signal aborts, and keeps the slot count", async () => {
  let release!: () => void;
  const limited = limitInFlight(async (url) => {
    if (url === "slow") await new Promise<void>((resolve) => (release = resolve));
    return new Response(url);
  }, 1);
  const slow = limited("slow", {});
  const controller = new AbortController();
  const waiting = limited("aborted", { signal: controller.signal });
  controller.abort(new Error("gone"));
  const outcome = await waiting.then(() => "sent", (error) => (error as Error).message);
  assertEquals(outcome, "gone", "aborted while waiting");
  release();
  assertEquals(await (await slow).text(), "slow", "first request");
  assertEquals(await (await limited("next", {})).text(), "next", "a later request still gets the slot");
});
