/**
 * Writes schema/flow-definition.schema.json from the zod schema, for editors.
 * Run: npx vite-node packages/engine/scripts/export-schema.ts (or `npm run export-schema -w @flows/engine`).
 * test/schema-export.test.ts fails when the committed file drifts from the schema.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { flowDefinitionSchemaText } from "../src/definition/json-schema.ts";

const target = fileURLToPath(new URL("../schema/flow-definition.schema.json", import.meta.url));
writeFileSync(target, flowDefinitionSchemaText());
console.log(`wrote ${target}`);
