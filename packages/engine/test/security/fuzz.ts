/**
 * A seeded generator of flow definitions from the schema's neighbourhood, shared by the engine's unit fuzz test and
 * the end-to-end fuzz test of the SQL check. Cases start from valid definitions (every step type, every trigger) and
 * get one to four mutations: keys dropped or renamed, values of the wrong type, huge strings, deep nesting, unicode,
 * prototype keys (`__proto__`, `constructor`), too many steps, duplicate ids. A few cases are random JSON.
 *
 * Every run prints its seed; `FLOWS_FUZZ_SEED=<seed>` replays it exactly.
 */

/** A deterministic source of randomness. */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, max). */
  int(max: number): number;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
  /** True with probability `p`. */
  chance(p: number): boolean;
}

/** mulberry32: tiny, fast and good enough to spread cases; not for cryptography. */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (max) => Math.floor(next() * max),
    pick: (items) => items[Math.floor(next() * items.length)]!,
    chance: (p) => next() < p,
  };
}

/** The seed of this run: `FLOWS_FUZZ_SEED` when set (to replay a failure), otherwise a fresh one. */
export function fuzzSeed(env: Record<string, string | undefined>): number {
  const given = env.FLOWS_FUZZ_SEED;
  if (given !== undefined && given.trim() !== "") {
    const seed = Number(given);
    if (!Number.isInteger(seed)) throw new Error(`FLOWS_FUZZ_SEED must be an integer, got ${JSON.stringify(given)}`);
    return seed >>> 0;
  }
  return (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) >>> 0;
}

/** Valid definitions the mutations start from: every trigger and every step type appears at least once. */
export function baseDefinitions(table = "public.fuzz_leads"): Record<string, unknown>[] {
  return [
    {
      trigger: { type: "row_change", table, events: ["INSERT", "UPDATE"] },
      when: { all: [{ field: "status", op: "eq", value: "new" }, { not: { field: "score", op: "<", value: 10 } }] },
      secrets: { HOOK: "bitrix_webhook_url" },
      aliases: { leadId: "row.id" },
      steps: [
        { id: "crm", type: "tabular", config: { webhook_url: "{{secrets.HOOK}}", id: "{{leadId}}", field: "STATUS_ID", value: "QUALIFIED" } },
        { id: "mark", type: "db_update", config: { table, key: "{{row.id}}", set: { status: "qualified" } } },
        { id: "done", type: "log", config: { message: "lead {{row.id}} qualified", level: "info" } },
      ],
    },
    {
      trigger: { type: "manual" },
      parameters: { type: "object", required: ["leadId"], properties: { leadId: { type: "integer", minimum: 1 } } },
      env: { APP_URL: "https://app.example.com" },
      defaults: { retry: { max_attempts: 3, delay: 500, backoff: "exponential" }, timeout: 10_000 },
      steps: [
        {
          id: "call",
          type: "http",
          retry: { max_attempts: 2 },
          config: { method: "POST", url: "{{env.APP_URL}}/leads/{{input.leadId}}", headers: { "x-source": "flows" }, body: { id: "{{input.leadId}}" } },
        },
        { id: "pause", type: "wait", config: { seconds: 5, reason: "let it settle" } },
        { id: "branch", type: "condition", config: { rules: { field: "status", op: "in", value: [200, 201] }, subject: "{{steps.call.output}}", then: "shape", else: null } },
        { id: "shape", type: "transform", config: { output: { status: "{{steps.call.output.status}}", list: [1, "two", null] } } },
        { id: "notify", type: "function_call", continue_on_error: true, config: { function_name: "send-email", body: { to: "pm@example.com" } } },
      ],
    },
    {
      trigger: { type: "schedule", cron: "*/5 * * * *", timezone: "UTC" },
      variables: { greeting: "hello", nested: { list: [1, 2, 3] } },
      steps: [{ id: "tick", type: "log", config: { message: "{{variables.greeting}}", data: { at: "{{execution.id}}" } } }],
    },
    {
      trigger: { type: "webhook" },
      name: "Webhook relay",
      description: "Relays a webhook body",
      steps: [
        { id: "relay", type: "http", timeout: 5000, config: { url: "https://hooks.example.com/in", method: "PUT", body: "{{input.text | default: \"\"}}" } },
      ],
    },
  ];
}

// Keys worth trying: prototype keys, near-misses of real keys, unicode, empties.
const HOSTILE_KEYS = [
  "__proto__",
  "constructor",
  "prototype",
  "hasOwnProperty",
  "toString",
  "valueOf",
  "",
  " ",
  "trigger ",
  "Steps",
  "step",
  "conf1g",
  "continue_on_eror",
  "ïd",
  "𝔦𝔡",
  "id\u200b",
  "$schema",
  "type",
  "config",
  "\u202e\u0074\u0078\u0065\u0074",
  "a.b",
  "[0]",
];

const HOSTILE_STRINGS = [
  "",
  " ",
  "leads; drop table x",
  "public.leads; --",
  "\"leads\"",
  "Leads",
  "public.\"leads\"",
  "'; select pg_sleep(10); --",
  "{{row.__proto__}}",
  "{{row.constructor.name}}",
  "{{ secrets.__proto__ }}",
  "{{",
  "}}{{",
  "{{row.a | default: }}",
  "{{row.a | default: {\"x\": 1}}}",
  "{{steps.__proto__.output}}",
  "{{execution.__proto__}}",
  "http://127.0.0.1/",
  "http://169.254.169.254/latest/meta-data/",
  "file:///etc/passwd",
  "javascript:alert(1)",
  "INSERT",
  "row_change",
  "tabular",
  "😀🚀 عربى עברית 中文",
  "\u202eevil",
  "a\u0000b",
  "\ud800",
  "\udfff\ud800",
  "e\u0301",
  "NaN",
  "-0",
  "1e309",
  "*/5 * * * *",
  "Mars/Olympus_Mons",
];

const HOSTILE_NUMBERS = [0, -0, -1, 1.5, 2 ** 31, 2 ** 53 + 2, -(2 ** 53), 1e308, -1e308, 5e-324, 600_001, 86_400_001, 101];

type Container = Record<string, unknown> | unknown[];

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

// Defines `key` as an own, enumerable property even when it is `__proto__`.
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

// Every container in the value with the path to it.
function containers(value: unknown, into: Container[] = []): Container[] {
  if (Array.isArray(value)) {
    into.push(value);
    for (const item of value) containers(item, into);
  } else if (typeof value === "object" && value !== null) {
    into.push(value as Record<string, unknown>);
    for (const item of Object.values(value)) containers(item, into);
  }
  return into;
}

function hugeString(random: Random): string {
  const size = random.pick([1_000, 10_000, 100_000, 600_000]);
  const unit = random.pick(["x", "é", "😀", "{{", "\\", "\"", "a b "]);
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
}

function deepValue(random: Random): unknown {
  const depth = random.pick([20, 200, 1_000, 1_500]);
  let value: unknown = random.pick(["leaf", 1, null, true]);
  for (let level = 0; level < depth; level++) value = random.chance(0.5) ? [value] : { [random.pick(["a", "__proto__", "field"])]: value };
  // A `__proto__` key built through an object literal sets the prototype instead; round-trip through JSON text so
  // the result is exactly what a client would send.
  return JSON.parse(JSON.stringify(value));
}

/** A random JSON value of bounded size, with hostile keys and strings mixed in. */
export function randomJson(random: Random, depth = 0): unknown {
  const kind = random.int(depth > 4 ? 5 : 7);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return random.chance(0.5);
    case 2:
      return random.chance(0.5) ? random.pick(HOSTILE_NUMBERS) : random.int(1000);
    case 3:
    case 4:
      return random.pick(HOSTILE_STRINGS);
    case 5: {
      const list: unknown[] = [];
      for (let index = random.int(5); index > 0; index--) list.push(randomJson(random, depth + 1));
      return list;
    }
    default: {
      const object: Record<string, unknown> = {};
      for (let index = random.int(5); index > 0; index--) {
        setOwn(object, random.chance(0.5) ? random.pick(HOSTILE_KEYS) : random.pick(["trigger", "steps", "id", "type", "config", "when", "table", "events"]), randomJson(random, depth + 1));
      }
      return object;
    }
  }
}

function wrongType(random: Random, current: unknown): unknown {
  const candidates: unknown[] = [null, true, 0, 1.5, "", random.pick(HOSTILE_STRINGS), [], {}, [current], { value: current }];
  return random.pick(candidates);
}

/** Applies one mutation somewhere in `root` (in place) and says what it did. */
function mutateOnce(random: Random, root: Record<string, unknown>): string {
  const all = containers(root);
  const target = random.pick(all);
  const keys = Array.isArray(target) ? target.map((_, index) => String(index)) : Object.keys(target);
  const key = keys.length > 0 ? random.pick(keys) : undefined;
  const read = (k: string) => (target as Record<string, unknown>)[k];
  const write = (k: string, value: unknown) => {
    if (Array.isArray(target)) target[Number(k)] = value;
    else setOwn(target, k, value);
  };
  switch (random.int(12)) {
    case 0: // drop a key or an element
      if (key === undefined) return "nothing to drop";
      if (Array.isArray(target)) target.splice(Number(key), 1);
      else delete target[key];
      return `dropped ${key}`;
    case 1: { // rename a key
      if (key === undefined || Array.isArray(target)) return "nothing to rename";
      const renamed = random.chance(0.5) ? random.pick(HOSTILE_KEYS) : `${key}${random.pick(["_", "s", "X", " "])}`;
      const value = target[key];
      delete target[key];
      setOwn(target, renamed, value);
      return `renamed ${key} to ${JSON.stringify(renamed)}`;
    }
    case 2: // wrong type
      if (key === undefined) return "no value to retype";
      write(key, wrongType(random, read(key)));
      return `retyped ${key}`;
    case 3: // huge string
      write(key ?? "huge", hugeString(random));
      return `huge string at ${key ?? "huge"}`;
    case 4: // deep nesting
      write(key ?? "deep", deepValue(random));
      return `deep nesting at ${key ?? "deep"}`;
    case 5: // hostile string
      write(key ?? "text", random.pick(HOSTILE_STRINGS));
      return `hostile string at ${key ?? "text"}`;
    case 6: { // prototype key added
      if (Array.isArray(target)) return "array: no key to add";
      const name = random.pick(["__proto__", "constructor", "prototype"]);
      setOwn(target, name, random.chance(0.5) ? { polluted: true, type: "log" } : randomJson(random));
      return `added ${name}`;
    }
    case 7: // hostile number
      if (key === undefined) return "no value for a number";
      write(key, random.pick(HOSTILE_NUMBERS));
      return `number at ${key}`;
    case 8: { // too many steps, or duplicate ids
      const steps = root.steps;
      if (!Array.isArray(steps) || steps.length === 0) return "no steps";
      if (random.chance(0.5)) {
        const extra = 100 - steps.length + random.int(3);
        for (let index = 0; index < extra; index++) steps.push({ id: `s${index}`, type: "log", config: { message: "m" } });
        return `${steps.length} steps`;
      }
      steps.push(clone(steps[0]));
      return "duplicate step id";
    }
    case 9: // random JSON
      write(key ?? "random", randomJson(random));
      return `random JSON at ${key ?? "random"}`;
    case 10: { // swap a string for a template that points somewhere odd
      write(key ?? "t", random.pick(["{{row.__proto__.polluted}}", "{{input.constructor}}", "{{variables.__proto__}}", "{{steps.crm.output.__proto__}}", "{{leadId.__proto__}}"]));
      return `odd template at ${key ?? "t"}`;
    }
    default: { // unicode in a key and a value
      if (Array.isArray(target)) {
        target.push(random.pick(HOSTILE_STRINGS));
        return "unicode element";
      }
      setOwn(target, random.pick(HOSTILE_KEYS.slice(13)), random.pick(HOSTILE_STRINGS.slice(24)));
      return "unicode key";
    }
  }
}

/** One generated case. */
export interface FuzzCase {
  index: number;
  /** What was done, for the failure message. */
  mutations: string[];
  definition: unknown;
}

/** Generates `count` cases from `seed`. The same seed always gives the same cases. */
export function generateCases(seed: number, count: number, table?: string): FuzzCase[] {
  const random = createRandom(seed);
  const bases = baseDefinitions(table);
  const cases: FuzzCase[] = [];
  for (let index = 0; index < count; index++) {
    if (random.chance(0.05)) {
      cases.push({ index, mutations: ["random JSON"], definition: randomJson(random) });
      continue;
    }
    const definition = clone(random.pick(bases));
    const mutations: string[] = [];
    // Some cases stay valid (zero mutations), so acceptance is exercised too.
    const rounds = random.chance(0.08) ? 0 : 1 + random.int(4);
    for (let round = 0; round < rounds; round++) mutations.push(mutateOnce(random, definition));
    cases.push({ index, mutations, definition });
  }
  return cases;
}

/** Short description of a case for failure messages (the definition itself can be megabytes). */
export function describeCase(seed: number, fuzzCase: FuzzCase): string {
  const text = JSON.stringify(fuzzCase.definition) ?? String(fuzzCase.definition);
  const shown = text.length > 400 ? `${text.slice(0, 400)}... (${text.length} chars)` : text;
  return `seed ${seed}, case ${fuzzCase.index} [${fuzzCase.mutations.join("; ")}]: ${shown}`;
}

/** Splits an engine path such as `steps[2].config["a b"].url` into segments. */
export function parseIssuePath(path: string): string[] {
  if (path === "(root)") return [];
  const segments: string[] = [];
  const pattern = /\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\.?([^.[\]]+)/g;
  for (const match of path.matchAll(pattern)) {
    if (match[1] !== undefined) segments.push(match[1]);
    else if (match[2] !== undefined) segments.push(JSON.parse(match[2]) as string);
    else if (match[3] !== undefined) segments.push(match[3]);
  }
  return segments;
}

/**
 * True when a path names a place in `value`: every segment but the last exists (the last may be a required key
 * that is missing). This is what "the error names where" means.
 */
export function pathNamesAPlace(value: unknown, path: string): boolean {
  const segments = parseIssuePath(path);
  let current: unknown = value;
  for (let index = 0; index < segments.length - 1; index++) {
    const segment = segments[index]!;
    if (typeof current !== "object" || current === null || !Object.prototype.hasOwnProperty.call(current, segment)) return false;
    current = (current as Record<string, unknown>)[segment];
  }
  return true;
}
