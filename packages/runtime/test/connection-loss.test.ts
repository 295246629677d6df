import { describe, expect, it } from "vitest";
import { FlowError } from "../../engine/src/index.ts";
import { connectionLost, retryIfRefused } from "../src/postgres/connection-loss.ts";

/** An error as postgres.js reports it: a `code`, and the server's `severity` when the server sent it. */
function failure(code: string, severity?: string): Error {
  return Object.assign(new Error(code), { code, ...(severity ? { severity } : {}) });
}

// What the driver and the server report when a session ends, against errors that leave the connection usable.
describe("connectionLost", () => {
  it.each([
    ["postgres.js: the connection closed", failure("CONNECTION_CLOSED")],
    ["postgres.js: the connection was destroyed", failure("CONNECTION_DESTROYED")],
    ["postgres.js: the pool was ended", failure("CONNECTION_ENDED")],
    ["postgres.js: connecting timed out", failure("CONNECT_TIMEOUT")],
    ["a socket reset", failure("ECONNRESET")],
    ["a broken pipe", failure("EPIPE")],
    ["the session terminated by an administrator", failure("57P01", "FATAL")],
    ["a server crash shutdown", failure("57P02")],
    ["a connection failure the server reports as FATAL", failure("08006", "FATAL")],
    ["a socket closed (node:net)", failure("ERR_SOCKET_CLOSED")],
    ["any FATAL error", failure("XX000", "FATAL")],
  ])("%s", (_, error) => {
    expect(connectionLost(error)).toBe(true);
  });

  it.each([
    ["a statement timeout or cancel (the session goes on)", failure("57014", "ERROR")],
    ["a unique violation", failure("23505", "ERROR")],
    ["dblink or postgres_fdw failing to connect (the session goes on)", failure("08001", "ERROR")],
    ["a file not found", failure("ENOENT")],
    ["a serialization failure", failure("40001", "ERROR")],
    ["a flow error", new FlowError("ROW_NOT_FOUND", "no such row")],
    ["an error without a code", new Error("the body failed")],
    ["a thrown string", "boom"],
    ["null", null],
  ])("%s is not", (_, error) => {
    expect(connectionLost(error)).toBe(false);
  });
});

describe("retryIfRefused", () => {
  /** A statement that fails with `errors` in turn, then answers "ok"; counts its runs. */
  function statement(...errors: unknown[]) {
    const runs = { count: 0 };
    return { runs, run: () => (runs.count++ < errors.length ? Promise.reject(errors[runs.count - 1]) : Promise.resolve("ok")) };
  }

  it("sends a statement refused with a FATAL error once more", async () => {
    const { runs, run } = statement(failure("57P01", "FATAL"));
    expect(await retryIfRefused(run)).toBe("ok");
    expect(runs.count).toBe(2);
  });

  it("gives up after the second refusal", async () => {
    const { runs, run } = statement(failure("57P03", "FATAL"), failure("57P03", "FATAL"));
    await expect(retryIfRefused(run)).rejects.toMatchObject({ code: "57P03" });
    expect(runs.count).toBe(2);
  });

  it("never repeats a statement that may have run: a connection closed under it, or any other error", async () => {
    for (const error of [failure("CONNECTION_CLOSED"), failure("23505", "ERROR"), new Error("the statement failed")]) {
      const { runs, run } = statement(error);
      await expect(retryIfRefused(run)).rejects.toBe(error);
      expect(runs.count).toBe(1);
    }
  });
});

