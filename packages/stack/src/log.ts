/** Prefixed, coloured log lines for each part of the stack, so interleaved output stays readable. */

const colours: Record<string, string> = {
  stack: "\x1b[1m",
  postgres: "\x1b[34m",
  net: "\x1b[35m",
  functions: "\x1b[32m",
  demo: "\x1b[33m",
  test: "\x1b[36m",
};
const reset = "\x1b[0m";
const useColour = Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");

/** Prints `message` with the part's prefix. */
export function logLine(part: string, message: string): void {
  const tag = part.padEnd(9);
  const prefix = useColour ? `${colours[part] ?? ""}${tag}${reset}` : tag;
  console.log(`${prefix}| ${message}`);
}

/** Forwards a child's byte stream line by line with the part's prefix; resolves when the stream ends. */
export async function pipeLines(part: string, stream: ReadableStream<Uint8Array>, sink?: (line: string) => void) {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      (sink ?? ((l: string) => logLine(part, l)))(line);
    }
  }
  if (pending) (sink ?? ((l: string) => logLine(part, l)))(pending);
}
