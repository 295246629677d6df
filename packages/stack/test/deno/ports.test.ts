// Where a throwaway stack (`npm test`, the fault suite) puts its ports: the usual ones when free, free ones when
// something else listens there, and exactly `FLOWS_PORT_BASE`'s when that is set.
// Run: npx deno test -A packages/stack/test/deno/
import { availableProfile, profile } from "../../src/config.ts";

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

function isFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

/** Runs `body` with `FLOWS_PORT_BASE` set to `value` (or unset), restoring it afterwards. */
function withPortBase<T>(value: string | undefined, body: () => T): T {
  const saved = Deno.env.get("FLOWS_PORT_BASE");
  if (value === undefined) Deno.env.delete("FLOWS_PORT_BASE");
  else Deno.env.set("FLOWS_PORT_BASE", value);
  try {
    return body();
  } finally {
    if (saved === undefined) Deno.env.delete("FLOWS_PORT_BASE");
    else Deno.env.set("FLOWS_PORT_BASE", saved);
  }
}

/** Listens on `port` (if nothing does yet) for the duration of `body`. */
function occupying<T>(port: number, body: () => T): T {
  let listener: Deno.Listener | undefined;
  try {
    listener = Deno.listen({ hostname: "127.0.0.1", port });
  } catch {
    // Already busy: just as good for the test.
  }
  try {
    return body();
  } finally {
    listener?.close();
  }
}

Deno.test("a busy database port moves the test stack to free ports, and says which port was busy", () => {
  const usual = withPortBase(undefined, () => profile("test"));
  const { profile: chosen, moved } = withPortBase(undefined, () => occupying(usual.dbPort, () => availableProfile("test")));
  check(chosen.dbPort !== usual.dbPort, `expected a port other than the busy ${usual.dbPort}, got ${chosen.dbPort}`);
  check(moved !== undefined && moved.includes(String(usual.dbPort)), `expected a message naming port ${usual.dbPort}, got ${moved}`);
  check(chosen.stateDir !== usual.stateDir, `expected a data folder of its own, got ${chosen.stateDir}`);
  for (const port of [chosen.apiPort, chosen.dbPort, chosen.demoPort]) check(isFree(port), `port ${port} was chosen but is busy`);
});

Deno.test("a busy port of the preferred base moves the fault suite's stack too", () => {
  const { profile: chosen, moved } = withPortBase(undefined, () => occupying(63_001, () => availableProfile("bench", 63_000)));
  check(chosen.apiPort !== 63_001 && moved !== undefined, `expected the stack to leave busy port 63001, got ${chosen.apiPort}`);
});

Deno.test("free ports of the preferred base are used as they are", () => {
  const { profile: chosen, moved } = withPortBase(undefined, () => availableProfile("bench", 63_100));
  check(chosen.apiPort === 63_101 && chosen.dbPort === 63_102 && moved === undefined, `got ${JSON.stringify({ chosen, moved })}`);
});

Deno.test("FLOWS_PORT_BASE is taken as given, even when its port is busy", () => {
  const { profile: chosen, moved } = withPortBase("63200", () => occupying(63_202, () => availableProfile("test")));
  check(chosen.dbPort === 63_202 && moved === undefined, `expected port 63202 unmoved, got ${chosen.dbPort} (${moved})`);
});
