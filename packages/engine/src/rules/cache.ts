/**
 * Memo helpers for compiled rules. Compiling is cheap but not free; a version's rules never change,
 * so callers compile once per version id and reuse the function for every row change.
 */
import type { Rule } from "../definition/rule-schema.ts";
import { type CompiledRule, compileRules } from "./compile.ts";

/** A small LRU cache keyed by string (typically a version id). */
export interface CompiledCache<T> {
  /** Returns the cached value for `key`, building and storing it on a miss. */
  get(key: string, build: () => T): T;
  /** Number of entries held. */
  readonly size: number;
}

/** Creates a {@link CompiledCache} holding at most `maxEntries` values. */
export function createCompiledCache<T>(maxEntries = 256): CompiledCache<T> {
  const entries = new Map<string, T>();
  return {
    get(key, build) {
      if (entries.has(key)) {
        const value = entries.get(key) as T;
        // Re-insert to mark as most recently used; Map keeps insertion order.
        entries.delete(key);
        entries.set(key, value);
        return value;
      }
      const value = build();
      entries.set(key, value);
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
      return value;
    },
    get size() {
      return entries.size;
    },
  };
}

const byIdentity = new WeakMap<object, CompiledRule>();

/**
 * Compiles a rule once per rule object. Works when the caller keeps the parsed definition of a
 * version in memory (the same object yields the same function).
 */
export function compileRulesCached(rule: Rule): CompiledRule {
  let compiled = byIdentity.get(rule);
  if (compiled === undefined) {
    compiled = compileRules(rule);
    byIdentity.set(rule, compiled);
  }
  return compiled;
}
