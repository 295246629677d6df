/**
 * Rule evaluation benchmark (a program, not a test): prints evaluations per second of a compiled
 * 5-condition rule. Target: >= 1,000,000/s on one core.
 *
 * Run: npm run bench:rules   (deno run -A packages/engine/bench/rules.bench.ts)
 *  or: npx vite-node packages/engine/bench/rules.bench.ts
 */
import { compileRules, type Rule, type RuleContext } from "../src/index.ts";

const rule: Rule = {
  all: [
    { field: "status", op: "eq", value: "new" },
    { field: "priority", op: "in", value: ["High", "Critical"] },
    { field: "amount", op: "gt", value: 1000 },
    { field: "payload.customer.tier", op: "ne", value: "blocked" },
    { field: "email", op: "ends_with", value: "@acme.com" },
  ],
};

// Rows that stop at different conditions, so every operator is exercised, not only the first.
const contexts: RuleContext[] = [
  { row: { status: "new", priority: "High", amount: "1500", payload: { customer: { tier: "gold" } }, email: "ana@acme.com" }, op: "INSERT" },
  { row: { status: "new", priority: "Critical", amount: 2500, payload: { customer: { tier: "silver" } }, email: "bo@other.com" }, op: "INSERT" },
  { row: { status: "new", priority: "Low", amount: 10, payload: {}, email: "cy@acme.com" }, op: "INSERT" },
  { row: { status: "won", priority: "High", amount: 5000, payload: { customer: { tier: "gold" } }, email: "di@acme.com" }, op: "UPDATE" },
];

const evaluate = compileRules(rule);

function measure(iterations: number): { perSecond: number; matches: number } {
  let matches = 0;
  const start = performance.now();
  for (let index = 0; index < iterations; index++) if (evaluate(contexts[index & 3]!)) matches++;
  const seconds = (performance.now() - start) / 1000;
  return { perSecond: iterations / seconds, matches };
}

measure(200_000); // warm-up so the JIT has optimised the closures
const rounds = [1, 2, 3, 4, 5].map(() => measure(2_000_000));
const best = Math.max(...rounds.map((round) => round.perSecond));
const median = rounds.map((round) => round.perSecond).sort((a, b) => a - b)[2]!;
const format = (value: number) => Math.round(value).toLocaleString("en-US");

console.log(`rules: 5-condition rule, ${rounds.length} rounds x 2,000,000 evaluations`);
console.log(`median ${format(median)} evaluations/s, best ${format(best)} evaluations/s (target >= 1,000,000/s)`);
console.log(`matches per round: ${rounds[0]!.matches} (a quarter of the rows match)`);
