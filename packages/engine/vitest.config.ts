import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The Deno smoke test uses Deno.test and runs under `deno test` only.
    exclude: ["test/deno/**", "node_modules/**"],
  },
});
