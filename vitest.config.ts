import { defineConfig } from "vitest/config";

// Two projects: fast unit tests beside their packages, and end-to-end tests that need the running local stack
// (the test runner starts it and passes its URLs and keys through FLOWS_TEST_* variables).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["packages/*/test/**/*.test.ts"],
          exclude: ["packages/*/test/deno/**", "**/node_modules/**"],
        },
      },
      {
        test: {
          name: "e2e",
          include: ["tests/e2e/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // One stack for all e2e files: run them one after another so timings and counts stay readable.
          pool: "forks",
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
