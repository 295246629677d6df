/**
 * Outbound HTTP shared by the http and tabular runners: SSRF checks on every hop, manual redirects,
 * a response size cap, and mapping of transport failures into the error taxonomy. Status codes are
 * classified by the runners, because a 200 can be a failure (Bitrix24) and a 404 can be fine.
 */
import { FlowError, isFlowError } from "../errors.ts";
import type { Clock, HttpPort } from "../ports.ts";
import { assertDestinationAllowed } from "./net-guard.ts";

/** Most redirects followed before giving up. */
export const MAX_REDIRECTS = 5;

/** A request as the runners build it. */
export interface OutboundRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  maxResponseBytes: number;
}

/** A fully read response. */
export interface InboundResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** The final URL after redirects. */
  url: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const CREDENTIAL_HEADERS = ["authorization", "cookie", "proxy-authorization"];

/** Sends a request under the port's network policy, following up to 5 redirects, reading at most `maxResponseBytes`. */
export async function sendRequest(http: HttpPort, request: OutboundRequest, signal: AbortSignal): Promise<InboundResponse> {
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    throw new FlowError("CONFIG_INVALID", "Invalid URL after rendering templates");
  }
  let method = request.method;
  let body = request.body;
  const headers = { ...request.headers };
  for (let hop = 0; ; hop++) {
    await assertDestinationAllowed(url, http);
    const response = await fetchOnce(http, url, { method, headers, body, signal });
    const location = response.headers.get("location");
    if (!REDIRECTS.has(response.status) || location === null) return await readResponse(response, url, request.maxResponseBytes, signal);
    await response.body?.cancel().catch(() => undefined);
    if (hop >= MAX_REDIRECTS) {
      throw new FlowError("TOO_MANY_REDIRECTS", `More than ${MAX_REDIRECTS} redirects starting at ${new URL(request.url).host}`);
    }
    const next = new URL(location, url);
    // Same rules as browsers: 303 (and 301/302 after POST) continue as GET without a body.
    if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === "POST")) {
      method = "GET";
      body = undefined;
      for (const name of Object.keys(headers)) if (name.toLowerCase() === "content-type") delete headers[name];
    }
    // Credentials were meant for the first origin only.
    if (next.origin !== url.origin) {
      for (const name of Object.keys(headers)) if (CREDENTIAL_HEADERS.includes(name.toLowerCase())) delete headers[name];
    }
    url = next;
  }
}

async function fetchOnce(
  http: HttpPort,
  url: URL,
  init: { method: string; headers: Record<string, string>; body: string | undefined; signal: AbortSignal },
): Promise<Response> {
  try {
    const response = await http.fetch(url.href, { ...init, redirect: "manual" });
    if (response.type === "opaqueredirect") {
      // Browsers hide redirect targets; without the Location header the guard cannot check the next hop.
      throw new FlowError("DESTINATION_BLOCKED", "This runtime hides redirect targets, so redirects cannot be checked");
    }
    return response;
  } catch (error) {
    throw transportError(error, init.signal, url);
  }
}

function transportError(error: unknown, signal: AbortSignal, url: URL): FlowError {
  if (signal.aborted) {
    return isFlowError(signal.reason) ? (signal.reason as FlowError) : new FlowError("CANCELLED", "Request aborted");
  }
  if (isFlowError(error)) return error as FlowError;
  // fetch reports every transport failure (DNS, refused, reset, TLS) as a TypeError.
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message ?? (error as Error).message;
  return new FlowError("NETWORK_ERROR", `Request to ${url.host} failed: ${detail}`, { cause: error });
}

async function readResponse(response: Response, url: URL, maxBytes: number, signal: AbortSignal): Promise<InboundResponse> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const tooLarge = () =>
    new FlowError("RESPONSE_TOO_LARGE", `Response from ${url.host} is larger than ${maxBytes} bytes`, {
      details: { status: response.status, maxBytes },
    });
  const declared = Number(headers["content-length"] ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (response.body === null) return { status: response.status, headers, text: "", url: url.href };
  if (/^\s*\d+\s*$/.test(headers["content-length"] ?? "") && framedByLength(headers)) {
    // The body is exactly the declared length, checked above: read it whole. Deno reads such a body in one call,
    // where a reader allocates a 64 KiB buffer for every chunk, however small (about 50 us more per small response,
    // and tens of MiB of garbage buffers under load: docs/performance.md).
    try {
      return { status: response.status, headers, text: await response.text(), url: url.href };
    } catch (error) {
      throw transportError(error, signal, url);
    }
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge();
      }
      chunks.push(value);
    }
  } catch (error) {
    if (isFlowError(error)) throw error;
    throw transportError(error, signal, url);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { status: response.status, headers, text: new TextDecoder().decode(bytes), url: url.href };
}

/**
 * Whether the body's length is its Content-Length: not when a transfer coding frames it (Content-Length is then
 * ignored, and a runtime still reports it), nor when a content coding is decoded on the way (Content-Length counts
 * the compressed bytes, and gzip expands a thousandfold).
 */
function framedByLength(headers: Record<string, string>): boolean {
  const coding = headers["content-encoding"];
  return headers["transfer-encoding"] === undefined && (coding === undefined || coding.trim().toLowerCase() === "identity");
}

/** Parses Retry-After (seconds or an HTTP date) into milliseconds from now; undefined when absent or invalid. */
export function parseRetryAfter(value: string | undefined, clock: Clock): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  // Only an HTTP-date (it names a weekday and month) is parsed; Date.parse accepts too much else.
  if (!/[A-Za-z]/.test(value)) return undefined;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - clock.now().getTime());
}

/** Parses a body by content type: JSON when it says JSON (falling back to text if it is not), text otherwise. */
export function parseBody(response: InboundResponse): unknown {
  const type = response.headers["content-type"] ?? "";
  if (/[/+]json\b/i.test(type) && response.text !== "") {
    try {
      return JSON.parse(response.text);
    } catch {
      return response.text;
    }
  }
  return response.text;
}

/** First characters of a body, for error details. */
export function excerpt(text: string, length = 500): string {
  return text.length > length ? `${text.slice(0, length)}...` : text;
}

/** SHA-256 hex digest (Web Crypto), used for idempotency keys. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
