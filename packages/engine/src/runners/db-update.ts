/** The `db_update` runner: sets columns of one row by key through the store port. */
import { type DbUpdateConfig, DbUpdateConfigSchema } from "../definition/step-configs.ts";
import { FlowError } from "../errors.ts";
import { configValidator, type StepRunner } from "./types.ts";

/** The db_update runner. Values travel as data; identifiers are validated here and quoted by the adapter. */
export const dbUpdateRunner: StepRunner<DbUpdateConfig> = {
  stepType: "db_update",
  configSchema: DbUpdateConfigSchema,
  validateConfig: configValidator(DbUpdateConfigSchema),
  async execute(config, context) {
    const keyColumn = config.key_column ?? "id";
    const table = config.table.includes(".") ? config.table : `public.${config.table}`;
    const { updatedCount } = await context.store.updateRow(table, keyColumn, config.key, config.set, context.causation);
    if (updatedCount === 0) {
      throw new FlowError("ROW_NOT_FOUND", `No row in ${table} where ${keyColumn} = ${JSON.stringify(config.key)}`, {
        details: { table, keyColumn },
      });
    }
    return { status: "completed", output: { table, key_column: keyColumn, key: config.key, updated_count: updatedCount } };
  },
};
