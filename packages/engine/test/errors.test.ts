import { describe, expect, it } from "vitest";
import { ERROR_CATALOG, FlowError, hasErrorCode, isFlowError, serializeError, toFlowError } from "../src/index.ts";

describe("error taxonomy", () => {
  it("every error has a code and a retryable flag taken from the catalog unless overridden", () => {
    expect(new FlowError("NETWORK_ERROR", "x")).toMatchObject({ code: "NETWORK_ERROR", retryable: true });
    expect(new FlowError("HTTP_CLIENT_ERROR", "x")).toMatchObject({ retryable: false });
    expect(new FlowError("FUNCTION_ERROR", "x", { retryable: true }).retryable).toBe(true);
    for (const entry of Object.values(ERROR_CATALOG)) expect(typeof entry.retryable).toBe("boolean");
  });

  it("identifies errors by shape, not by class, so errors from another runtime still match", () => {
    const foreign = { code: "RATE_LIMITED", retryable: true, message: "slow", retryAfterMs: 50 };
    expect(isFlowError(foreign)).toBe(true);
    expect(hasErrorCode(foreign, "RATE_LIMITED")).toBe(true);
    expect(toFlowError(foreign)).toMatchObject({ code: "RATE_LIMITED", retryable: true, retryAfterMs: 50 });
    expect(toFlowError({ code: "MADE_UP", retryable: true, message: "?" })).toMatchObject({
      code: "UNEXPECTED_ERROR",
      retryable: true,
      details: { originalCode: "MADE_UP" },
    });
  });

  it("coerces unknown throws in one place", () => {
    expect(toFlowError(new Error("kaboom"))).toMatchObject({ code: "UNEXPECTED_ERROR", retryable: false, message: "kaboom" });
    expect(toFlowError("plain string")).toMatchObject({ code: "UNEXPECTED_ERROR", message: "plain string" });
    expect(toFlowError(new DOMException("t", "TimeoutError"))).toMatchObject({ code: "TIMEOUT", retryable: true });
    expect(toFlowError(new DOMException("a", "AbortError"))).toMatchObject({ code: "CANCELLED", retryable: false });
    expect(toFlowError(Object.assign(new Error("could not serialize access"), { code: "40001" }))).toMatchObject({ code: "SERIALIZATION_FAILURE", retryable: true });
    expect(toFlowError(Object.assign(new Error("deadlock detected"), { code: "40P01" }))).toMatchObject({ code: "SERIALIZATION_FAILURE", retryable: true });
    expect(toFlowError(Object.assign(new Error("connection lost"), { code: "08006" }))).toMatchObject({ code: "NETWORK_ERROR", retryable: true });
    expect(toFlowError(Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" }))).toMatchObject({ code: "NETWORK_ERROR", retryable: true });
    expect(toFlowError(Object.assign(new Error("canceling statement due to statement timeout"), { code: "57014" }))).toMatchObject({ code: "TIMEOUT" });
    expect(toFlowError(Object.assign(new Error("dup"), { code: "23505" }))).toMatchObject({ code: "STORE_ERROR", retryable: false });
  });

  it("serializes to plain JSON without empty details", () => {
    expect(serializeError(new FlowError("TIMEOUT", "late"))).toEqual({ code: "TIMEOUT", message: "late", retryable: true });
    expect(JSON.parse(JSON.stringify(new FlowError("RATE_LIMITED", "slow", { retryAfterMs: 5, details: { status: 429 } })))).toEqual({
      code: "RATE_LIMITED",
      message: "slow",
      retryable: true,
      retryAfterMs: 5,
      details: { status: 429 },
    });
  });
});
