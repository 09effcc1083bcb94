export { DynamoBaselines, DynamoEventLedger } from "./baselines.js";
export { documentClient } from "./client.js";
export { DynamoDbError } from "./errors.js";
export { DynamoRequestStore } from "./request-store.js";
export {
  BASELINES_TABLE,
  createTableInput,
  DEFAULT_TABLE_NAMES,
  ensureTables,
  REQUESTS_TABLE,
  type TableDefinition,
  type TableNames,
} from "./tables.js";
