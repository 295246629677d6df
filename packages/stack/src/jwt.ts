/**
 * HS256 JSON Web Tokens, as the platform issues them for `anon` and `service_role` and as GoTrue issues them for
 * signed-in users. Web Crypto only, so the gateway and the tools share it.
 */

const encoder = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  const binary = atob(padded);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

async function hmacKey(secret: string): Promise<CryptoKey> {
  return await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
}

/** Signs `claims` with HS256. */
export async function signJwt(claims: Record<string, unknown>, secret: string): Promise<string> {
  const header = base64url(encoder.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
  const payload = base64url(encoder.encode(JSON.stringify(claims)));
  const signature = await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(`${header}.${payload}`));
  return `${header}.${payload}.${base64url(new Uint8Array(signature))}`;
}

/** Why a token was refused. */
export type JwtFailure = "malformed" | "bad_algorithm" | "bad_signature" | "expired";

/** Verifies an HS256 token; returns its claims or the reason it was refused. */
export async function verifyJwt(
  token: string,
  secret: string,
  nowSeconds: number = Math.floor(Date.now() / 1000),
): Promise<{ ok: true; claims: Record<string, unknown> } | { ok: false; reason: JwtFailure }> {
  const parts = token.split(".");
  if (parts.length !== 3) return { ok: false, reason: "malformed" };
  let header: { alg?: string };
  let claims: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(fromBase64url(parts[0])));
    claims = JSON.parse(new TextDecoder().decode(fromBase64url(parts[1])));
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (header.alg !== "HS256") return { ok: false, reason: "bad_algorithm" };
  const valid = await crypto.subtle.verify(
    "HMAC",
    await hmacKey(secret),
    fromBase64url(parts[2]),
    encoder.encode(`${parts[0]}.${parts[1]}`),
  );
  if (!valid) return { ok: false, reason: "bad_signature" };
  if (typeof claims.exp === "number" && claims.exp < nowSeconds) return { ok: false, reason: "expired" };
  return { ok: true, claims };
}

/** The `anon` and `service_role` keys of a local stack, long-lived like the platform's. */
export async function localApiKeys(secret: string): Promise<{ anonKey: string; serviceRoleKey: string }> {
  const iat = 1_700_000_000;
  const exp = iat + 20 * 365 * 24 * 3600;
  return {
    anonKey: await signJwt({ iss: "supabase-local", role: "anon", iat, exp }, secret),
    serviceRoleKey: await signJwt({ iss: "supabase-local", role: "service_role", iat, exp }, secret),
  };
}
