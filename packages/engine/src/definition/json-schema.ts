import { z } from "zod";
import { FlowDefinitionSchema } from "./schema.ts";

/**
 * Builds the JSON Schema of a flow definition for editors. Checks that need code (unique ids,
 * templates, regex validity, size) are not expressible here; `validateFlowDefinition` remains the
 * authority.
 */
export function buildFlowDefinitionJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(FlowDefinitionSchema, { target: "draft-2020-12" }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    $id: "https://flows.dev/schema/flow-definition.schema.json",
    title: "Flow definition",
    description: "A flows automation: trigger, optional rules, and the steps to run. See docs/flow-definition.md.",
    ...Object.fromEntries(Object.entries(schema).filter(([key]) => key !== "$schema")),
  };
}

/** The exact text of `schema/flow-definition.schema.json` (pretty-printed, trailing newline). */
export function flowDefinitionSchemaText(): string {
  return `${JSON.stringify(buildFlowDefinitionJsonSchema(), null, 2)}\n`;
}
