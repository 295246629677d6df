import { describe, expect, it } from "vitest";
import { assertDestinationAllowed, classifyAddress } from "../src/index.ts";
import { rejectionOf } from "./helpers/context.ts";

describe("classifyAddress", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["10.20.30.40", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "link-local"],
    ["100.64.0.1", "carrier-grade NAT"],
    ["0.0.0.0", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["255.255.255.255", "reserved"],
    ["::1", "loopback"],
    ["::", "unspecified"],
    ["fc00::1", "unique local"],
    ["fd12:3456::1", "unique local"],
    ["fe80::1", "link-local"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["::ffff:a9fe:a9fe", "link-local"],
    ["64:ff9b::a00:1", "private"],
    ["2002:c0a8:0101::1", "private"],
  ])("refuses %s (%s)", (address, label) => {
    expect(classifyAddress(address)).toContain(label);
  });

  it.each(["8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "93.184.215.14"])("allows public %s", (address) => {
    expect(classifyAddress(address)).toBeUndefined();
  });
});

describe("assertDestinationAllowed", () => {
  const refuse = async (url: string, policy = {}) => rejectionOf(assertDestinationAllowed(new URL(url), policy));

  it("refuses internal names, IP literals in any spelling, and non-http protocols", async () => {
    for (const url of [
      "http://localhost:8080/",
      "http://api.localhost/",
      "http://metadata.google.internal/computeMetadata/v1/",
      "http://169.254.169.254/latest/meta-data/",
      "http://2130706433/",
      "http://0x7f.0.0.1/",
      "http://[::1]/",
      "http://[::ffff:169.254.169.254]/",
      "http://LOCALHOST./",
      "file:///etc/passwd",
      "http://user:pass@example.com/",
    ]) {
      expect((await refuse(url)).code, url).toBe("DESTINATION_BLOCKED");
    }
  });

  it("allows public hosts, allow-listed hosts, and everything with allowPrivateNetworks", async () => {
    await expect(assertDestinationAllowed(new URL("https://example.com/"), {})).resolves.toBeUndefined();
    await expect(assertDestinationAllowed(new URL("http://127.0.0.1:9/"), { allowedHosts: ["127.0.0.1"] })).resolves.toBeUndefined();
    await expect(assertDestinationAllowed(new URL("http://localhost/"), { allowedHosts: ["LOCALHOST"] })).resolves.toBeUndefined();
    await expect(assertDestinationAllowed(new URL("http://10.0.0.1/"), { allowPrivateNetworks: true })).resolves.toBeUndefined();
    expect((await refuse("http://10.0.0.1/", { allowedHosts: ["127.0.0.1"] })).code).toBe("DESTINATION_BLOCKED");
  });

  it("checks every resolved address and maps resolver failures to NETWORK_ERROR", async () => {
    expect((await refuse("https://rebind.example/", { resolveHost: async () => ["93.184.215.14", "127.0.0.1"] })).message).toContain("resolves to 127.0.0.1");
    expect(await refuse("https://nxdomain.example/", { resolveHost: async () => { throw new Error("ENOTFOUND"); } })).toMatchObject({
      code: "NETWORK_ERROR",
      retryable: true,
    });
  });
});
