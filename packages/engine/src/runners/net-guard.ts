/**
 * SSRF guard: the one place that decides whether an outbound request may go to a destination.
 *
 * Flows are authored by users but run with the backend's network position, so loopback, private,
 * link-local (including cloud metadata at 169.254.169.254), CGNAT and similar destinations are
 * refused unless the deployment explicitly allows them. Every redirect hop is checked again.
 * When a resolver is provided, resolved addresses are checked too; a resolver-less runtime still
 * refuses IP literals and well-known internal names.
 */
import { FlowError } from "../errors.ts";
import type { HttpPort } from "../ports.ts";

/** The network policy part of the HTTP port. */
export type NetPolicy = Pick<HttpPort, "allowPrivateNetworks" | "allowedHosts" | "resolveHost">;

const BLOCKED_HOSTNAMES = new Set(["localhost", "metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"]);

type Range = [base: number, prefix: number, label: string];

// IPv4 ranges that must not be reachable from user-authored flows.
const IPV4_BLOCKED: Range[] = [
  [ipv4("0.0.0.0"), 8, "unspecified address"],
  [ipv4("10.0.0.0"), 8, "private address"],
  [ipv4("100.64.0.0"), 10, "carrier-grade NAT address"],
  [ipv4("127.0.0.0"), 8, "loopback address"],
  [ipv4("169.254.0.0"), 16, "link-local address (cloud metadata)"],
  [ipv4("172.16.0.0"), 12, "private address"],
  [ipv4("192.0.0.0"), 24, "IETF protocol address"],
  [ipv4("192.0.2.0"), 24, "documentation address"],
  [ipv4("192.168.0.0"), 16, "private address"],
  [ipv4("198.18.0.0"), 15, "benchmarking address"],
  [ipv4("198.51.100.0"), 24, "documentation address"],
  [ipv4("203.0.113.0"), 24, "documentation address"],
  [ipv4("224.0.0.0"), 4, "multicast address"],
  [ipv4("240.0.0.0"), 4, "reserved address"],
];

function ipv4(text: string): number {
  return parseIPv4(text)!;
}

/** Parses a dotted-quad IPv4 address into an unsigned 32-bit number; null if it is not one. */
export function parseIPv4(text: string): number | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

/** Parses an IPv6 address (with optional embedded IPv4 tail) into 16 bytes; null if it is not one. */
export function parseIPv6(text: string): Uint8Array | null {
  let address = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const zone = address.indexOf("%");
  if (zone >= 0) address = address.slice(0, zone);
  if (!address.includes(":")) return null;
  const halves = address.split("::");
  if (halves.length > 2) return null;
  const parseGroups = (part: string): number[] | null => {
    if (part === "") return [];
    const groups: number[] = [];
    const pieces = part.split(":");
    for (let index = 0; index < pieces.length; index++) {
      const piece = pieces[index]!;
      if (index === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIPv4(piece);
        if (v4 === null) return null;
        groups.push(v4 >>> 16, v4 & 0xffff);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return null;
        groups.push(parseInt(piece, 16));
      }
    }
    return groups;
  };
  const head = parseGroups(halves[0]!);
  const tail = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.forEach((group, index) => {
    bytes[index * 2] = group >> 8;
    bytes[index * 2 + 1] = group & 0xff;
  });
  return bytes;
}

function classifyIPv4(address: number): string | undefined {
  for (const [base, prefix, label] of IPV4_BLOCKED) {
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    if (((address & mask) >>> 0) === ((base & mask) >>> 0)) return label;
  }
  return undefined;
}

function embeddedIPv4(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}

function classifyIPv6(bytes: Uint8Array): string | undefined {
  const zeroUpTo = (end: number) => bytes.subarray(0, end).every((byte) => byte === 0);
  if (zeroUpTo(15) && bytes[15] === 0) return "unspecified address";
  if (zeroUpTo(15) && bytes[15] === 1) return "loopback address";
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) addresses reach the IPv4 host.
  if (zeroUpTo(10) && bytes[10] === 0xff && bytes[11] === 0xff) return classifyIPv4(embeddedIPv4(bytes, 12));
  if (zeroUpTo(12)) return classifyIPv4(embeddedIPv4(bytes, 12));
  // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) embed an IPv4 destination.
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && bytes.subarray(4, 12).every((b) => b === 0)) {
    return classifyIPv4(embeddedIPv4(bytes, 12));
  }
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return classifyIPv4(embeddedIPv4(bytes, 2));
  if ((bytes[0]! & 0xfe) === 0xfc) return "unique local address";
  if (bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0x80) return "link-local address";
  if (bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0xc0) return "site-local address";
  if (bytes[0] === 0xff) return "multicast address";
  if (bytes[0] === 0x20 && bytes[1] === 0x01 && bytes[2] === 0x0d && bytes[3] === 0xb8) return "documentation address";
  return undefined;
}

/** Why an IP address is refused, or undefined when it is public. */
export function classifyAddress(address: string): string | undefined {
  const v4 = parseIPv4(address);
  if (v4 !== null) return classifyIPv4(v4);
  const v6 = parseIPv6(address);
  if (v6 !== null) return classifyIPv6(v6);
  return undefined;
}

function normaliseHost(hostname: string): string {
  let host = hostname.toLowerCase();
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  return host.endsWith(".") ? host.slice(0, -1) : host;
}

function blocked(url: URL, reason: string): FlowError {
  return new FlowError("DESTINATION_BLOCKED", `Destination ${url.hostname} is not allowed: ${reason}`, {
    details: { host: url.hostname, reason },
  });
}

/**
 * Throws DESTINATION_BLOCKED unless `url` may be requested under `policy`. Only http and https are
 * ever allowed; an allowed host or `allowPrivateNetworks` lifts the address checks.
 */
export async function assertDestinationAllowed(url: URL, policy: NetPolicy): Promise<void> {
  if (url.protocol !== "http:" && url.protocol !== "https:") throw blocked(url, `protocol ${url.protocol} is not http or https`);
  if (url.username !== "" || url.password !== "") throw blocked(url, "credentials in the URL are not allowed");
  if (policy.allowPrivateNetworks === true) return;
  const host = normaliseHost(url.hostname);
  if ((policy.allowedHosts ?? []).some((allowed) => normaliseHost(allowed) === host)) return;
  if (BLOCKED_HOSTNAMES.has(host) || host.endsWith(".localhost")) throw blocked(url, "internal host name");
  const literal = classifyAddress(host);
  if (literal !== undefined) throw blocked(url, literal);
  if (parseIPv4(host) !== null || parseIPv6(host) !== null || policy.resolveHost === undefined) return;
  let addresses: string[];
  try {
    addresses = await policy.resolveHost(host);
  } catch (error) {
    throw new FlowError("NETWORK_ERROR", `Could not resolve ${host}: ${(error as Error).message}`, { cause: error });
  }
  for (const address of addresses) {
    const reason = classifyAddress(address);
    if (reason !== undefined) throw blocked(url, `resolves to ${address}, a ${reason}`);
  }
}
