/**
 * Redaction of secret values. Secrets are needed in the real request, but persisted step input,
 * outputs, errors and logs must never contain them.
 */

/** What a secret value is replaced with. */
export const REDACTED = "[redacted]";

/**
 * Secrets shorter than this are only redacted where a `{{secrets.X}}` placeholder put them, not
 * searched for inside other text: replacing every "abc" in a response would destroy unrelated data.
 */
export const MIN_SCRUB_LENGTH = 4;

/** Returns a copy of a value with secret strings replaced. */
export type Redactor = <T>(value: T) => T;

/** Builds a redactor that replaces every occurrence of the given secret values inside any string. */
export function createRedactor(secretValues: Iterable<string>): Redactor {
  const needles = [...new Set(secretValues)].filter((secret) => secret.length >= MIN_SCRUB_LENGTH);
  // Longest first, so a secret that contains another is replaced whole.
  needles.sort((a, b) => b.length - a.length);
  if (needles.length === 0) return (value) => value;
  const scrubText = (text: string): string => {
    let result = text;
    for (const needle of needles) if (result.includes(needle)) result = result.split(needle).join(REDACTED);
    return result;
  };
  const scrub = (value: unknown): unknown => {
    if (typeof value === "string") return scrubText(value);
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      value.forEach((item, index) => {
        const next = scrub(item);
        if (next !== item) (copy ??= [...value])[index] = next;
      });
      return copy ?? value;
    }
    if (typeof value === "object" && value !== null && !(value instanceof Date)) {
      let copy: Record<string, unknown> | undefined;
      for (const [key, item] of Object.entries(value)) {
        const next = scrub(item);
        if (next !== item) (copy ??= { ...(value as Record<string, unknown>) })[key] = next;
      }
      return copy ?? value;
    }
    return value;
  };
  return <T>(value: T) => scrub(value) as T;
}
