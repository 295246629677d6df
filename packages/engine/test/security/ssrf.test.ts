/**
 * SSRF: under the default network policy (no allowPrivateNetworks, no allowed hosts) the http and tabular runners
 * refuse loopback, private, link-local, metadata and other internal destinations, including through redirects and
 * through DNS names that resolve to them. Each case proves the refusal (DESTINATION_BLOCKED, not retried) and that
 * nothing reached the internal server. A real server on 127.0.0.1 plays the internal service.
 *
 * DNS is simulated with the port's `resolveHost`: `public.test` resolves to a public address and is routed by a
 * custom fetch to the local server, so a redirect from it to 127.0.0.1 can be followed hop by hop.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  builtInRunners,
  createRegistry,
  type FetchLike,
  type HttpPort,
  httpRunner,
  runExecution,
  tabularRunner,
  validateFlowDefinition,
} from "../../src/index.ts";
import { createTestPorts } from "../../src/testing/index.ts";
import { rejectionOf, stepContext } from "../helpers/context.ts";
import { sendJson, startServer, type TestServer } from "../helpers/server.ts";

let internal: TestServer;
let port: number;

// Destination tables are built before the server listens; PORT stands for its port.
const at = (url: string) => url.replace("PORT", String(port));

beforeAll(async () => {
  internal = await startServer((request, response) => {
    const path = request.path.split("?")[0];
    if (path === "/to-loopback") {
      response.writeHead(302, { location: `http://127.0.0.1:${port}/secret` });
      return void response.end();
    }
    if (path === "/to-metadata") {
      response.writeHead(307, { location: "http://169.254.169.254/latest/meta-data/iam/" });
      return void response.end();
    }
    if (path === "/to-internal-name") {
      response.writeHead(301, { location: `http://internal.test:${port}/secret` });
      return void response.end();
    }
    if (path === "/to-decimal-ip") {
      response.writeHead(308, { location: `http://2130706433:${port}/secret` });
      return void response.end();
    }
    sendJson(response, 200, { secret: "internal data", result: true });
  });
  port = Number(new URL(internal.url).port);
});
afterAll(() => internal.close());

// Simulated DNS: names a test may use, and what they resolve to.
const dns: Record<string, string[]> = {
  "public.test": ["93.184.216.34"],
  "internal.test": ["10.0.0.7"],
  "rebind.test": ["93.184.216.34", "127.0.0.1"],
  "metadata.test": ["169.254.169.254"],
  "v6-loopback.test": ["::1"],
  "mapped.test": ["::ffff:127.0.0.1"],
};

// Routes every request to the local server, as if the name had resolved to it; records the URLs it was asked for.
function routedFetch(seen: string[]): FetchLike {
  return (url, init) => {
    seen.push(url);
    const target = new URL(url);
    return fetch(`${internal.origin}${target.pathname}${target.search}`, init);
  };
}

/** The strict default policy with simulated DNS: nothing private is allowed. */
function strictHttp(seen: string[] = []): Partial<HttpPort> {
  return {
    fetch: routedFetch(seen),
    allowPrivateNetworks: false,
    allowedHosts: [],
    async resolveHost(hostname) {
      const addresses = dns[hostname];
      if (addresses === undefined) throw new Error(`NXDOMAIN ${hostname}`);
      return addresses;
    },
  };
}

const literalDestinations = (): Array<[string, string]> => [
  ["loopback IPv4", "http://127.0.0.1:PORT/secret"],
  ["loopback, another address of 127/8", "http://127.5.6.7:PORT/secret"],
  ["loopback, short form 127.1", "http://127.1:PORT/secret"],
  ["loopback, decimal integer", "http://2130706433:PORT/secret"],
  ["loopback, hex octets", "http://0x7f.0.0.1:PORT/secret"],
  ["localhost", "http://localhost:PORT/secret"],
  ["a subdomain of localhost", "http://api.localhost:PORT/secret"],
  ["localhost with a trailing dot", "http://localhost.:PORT/secret"],
  ["loopback IPv6", "http://[::1]:PORT/secret"],
  ["IPv4-mapped IPv6 loopback", "http://[::ffff:127.0.0.1]:PORT/secret"],
  ["unspecified 0.0.0.0", "http://0.0.0.0:PORT/secret"],
  ["private 10/8", "http://10.1.2.3/secret"],
  ["private 172.16/12", "http://172.31.255.1/secret"],
  ["private 192.168/16", "http://192.168.1.1/admin"],
  ["carrier-grade NAT", "http://100.64.0.1/"],
  ["link-local / cloud metadata", "http://169.254.169.254/latest/meta-data/"],
  ["metadata, IPv4-mapped IPv6", "http://[::ffff:169.254.169.254]/latest/meta-data/"],
  ["metadata, NAT64", "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/"],
  ["metadata.google.internal", "http://metadata.google.internal/computeMetadata/v1/"],
  ["unique local IPv6", "http://[fd00::1]/"],
  ["link-local IPv6", "http://[fe80::1]/"],
  ["6to4 of 127.0.0.1", "http://[2002:7f00:1::]/"],
];

const resolvedDestinations = (): Array<[string, string]> => [
  ["a name resolving to a private address", "http://internal.test:PORT/secret"],
  ["a name resolving to public and loopback addresses", "http://rebind.test:PORT/secret"],
  ["a name resolving to the metadata address", "http://metadata.test/latest/meta-data/"],
  ["a name resolving to ::1", "http://v6-loopback.test:PORT/secret"],
  ["a name resolving to ::ffff:127.0.0.1", "http://mapped.test:PORT/secret"],
];

const redirectDestinations = (): Array<[string, string, string]> => [
  ["an allowed public host redirecting to 127.0.0.1", "http://public.test:PORT/to-loopback", "127.0.0.1"],
  ["an allowed public host redirecting to the metadata address", "http://public.test:PORT/to-metadata", "169.254.169.254"],
  ["an allowed public host redirecting to a name that resolves privately", "http://public.test:PORT/to-internal-name", "internal.test"],
  ["an allowed public host redirecting to a decimal loopback address", "http://public.test:PORT/to-decimal-ip", "127.0.0.1"],
];

describe("SSRF: the http runner under the default policy", () => {
  it("reaches a public-looking host (the harness really sends requests)", async () => {
    const seen: string[] = [];
    const result = await httpRunner.execute({ url: `http://public.test:${port}/ok` }, stepContext({ http: strictHttp(seen) }));
    expect(result.status).toBe("completed");
    expect(seen).toEqual([`http://public.test:${port}/ok`]);
  });

  it.each(literalDestinations())("refuses %s", async (_label, template) => {
    const url = at(template);
    const before = internal.requests.length;
    const seen: string[] = [];
    const error = await rejectionOf(httpRunner.execute({ url }, stepContext({ http: strictHttp(seen) })));
    expect(error.code).toBe("DESTINATION_BLOCKED");
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/is not allowed/);
    expect(seen).toEqual([]);
    expect(internal.requests.length).toBe(before);
  });

  it.each(resolvedDestinations())("refuses %s", async (_label, template) => {
    const url = at(template);
    const before = internal.requests.length;
    const seen: string[] = [];
    const error = await rejectionOf(httpRunner.execute({ url }, stepContext({ http: strictHttp(seen) })));
    expect(error.code).toBe("DESTINATION_BLOCKED");
    expect(error.message).toMatch(/resolves to/);
    expect(seen).toEqual([]);
    expect(internal.requests.length).toBe(before);
  });

  it.each(redirectDestinations())("refuses %s at the second hop", async (_label, template, host) => {
    const url = at(template);
    const before = internal.requests.length;
    const seen: string[] = [];
    const error = await rejectionOf(httpRunner.execute({ url, method: "POST", body: { a: 1 } }, stepContext({ http: strictHttp(seen) })));
    expect(error.code).toBe("DESTINATION_BLOCKED");
    expect(error.message).toContain(host);
    // Only the first, allowed hop was sent; the internal target never saw a request.
    expect(seen).toEqual([url]);
    expect(internal.requests.length).toBe(before + 1);
    expect(internal.requests.at(-1)!.path).not.toBe("/secret");
  });

  it("refuses non-http schemes and credentials in the URL", async () => {
    for (const url of ["file:///etc/passwd", "ftp://public.test/", "gopher://public.test:70/", `http://user:pw@public.test:${port}/`]) {
      const seen: string[] = [];
      const error = await rejectionOf(httpRunner.execute({ url }, stepContext({ http: strictHttp(seen) })));
      expect(error.code, url).toBe("DESTINATION_BLOCKED");
      expect(seen, url).toEqual([]);
    }
  });

  it("refuses at validation the schemes it would refuse at run time", () => {
    for (const url of ["file:///etc/passwd", "javascript:alert(1)", "gopher://x/"]) {
      const result = validateFlowDefinition({ trigger: { type: "manual" }, steps: [{ id: "a", type: "http", config: { url } }] });
      expect(result.success, url).toBe(false);
      if (!result.success) expect(result.errors[0]!.path).toBe("steps[0].config.url");
    }
  });
});

describe("SSRF: the tabular runner under the default policy", () => {
  it.each([...literalDestinations().slice(0, 6), ...resolvedDestinations().slice(0, 2)])("refuses %s", async (_label, template) => {
    const url = at(template);
    const before = internal.requests.length;
    const seen: string[] = [];
    const error = await rejectionOf(
      tabularRunner.execute({ webhook_url: url, id: 1, field: "STATUS_ID", value: "X" }, stepContext({ http: strictHttp(seen) })),
    );
    expect(error.code).toBe("DESTINATION_BLOCKED");
    expect(seen).toEqual([]);
    expect(internal.requests.length).toBe(before);
  });

  it("refuses a webhook that redirects to loopback", async () => {
    const seen: string[] = [];
    const error = await rejectionOf(
      tabularRunner.execute(
        { webhook_url: `http://public.test:${port}/to-loopback?`, id: 1, field: "STATUS_ID", value: "X" },
        stepContext({ http: strictHttp(seen) }),
      ),
    );
    expect(error.code).toBe("DESTINATION_BLOCKED");
    expect(seen.length).toBe(1);
  });
});

describe("SSRF: a whole execution", () => {
  it("fails with DESTINATION_BLOCKED after one attempt, records it and sends nothing", async () => {
    const ports = createTestPorts({ http: strictHttp() as HttpPort });
    const parsed = validateFlowDefinition({
      trigger: { type: "manual" },
      steps: [
        { id: "peek", type: "http", retry: { max_attempts: 5, delay: 10 }, config: { url: "{{input.url}}" } },
        { id: "after", type: "log", config: { message: "must not run" } },
      ],
    });
    if (!parsed.success) throw new Error(JSON.stringify(parsed.errors));
    const before = internal.requests.length;
    const outcome = await runExecution({
      execution: { id: "ssrf-1", input: { url: `http://169.254.169.254/latest/meta-data/` } },
      definition: parsed.data,
      registry: createRegistry(builtInRunners()),
      ports,
    });
    expect(outcome.status).toBe("failed");
    if (outcome.status === "failed") {
      expect(outcome.error.code).toBe("DESTINATION_BLOCKED");
      expect(outcome.stepId).toBe("peek");
    }
    const attempts = ports.store.attemptsOf("ssrf-1");
    expect(attempts.map((attempt) => `${attempt.stepId}#${attempt.attempt}:${attempt.status}`)).toEqual(["peek#1:failed"]);
    expect(internal.requests.length).toBe(before);
  });

  it("lets the deployment opt in: allowPrivateNetworks reaches the local server (the local stack's setting)", async () => {
    const result = await httpRunner.execute(
      { url: `${internal.origin}/ok` },
      stepContext({ http: { fetch: (url, init) => fetch(url, init), allowPrivateNetworks: true, allowedHosts: [] } }),
    );
    expect(result.status).toBe("completed");
  });
});
