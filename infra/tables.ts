/**
 * The DynamoDB tables, built from the definitions the adapters and the sandbox use
 * (src/adapters/dynamodb/tables.ts): the same keys, indexes and TTL attribute, so what the code
 * queries is what CloudFormation creates.
 */
import { RemovalPolicy } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type { Construct } from "constructs";
import type { KeyAttribute, TableDefinition } from "../src/adapters/dynamodb/tables.js";

const attribute = (key: KeyAttribute): dynamodb.Attribute => ({
  name: key.name,
  // DynamoDB's letters ("S", "N", "B") are the values of CDK's AttributeType.
  type: key.type as dynamodb.AttributeType,
});

const PROJECTIONS: Record<
  TableDefinition["globalIndexes"][number]["projection"],
  dynamodb.ProjectionType
> = {
  ALL: dynamodb.ProjectionType.ALL,
  KEYS_ONLY: dynamodb.ProjectionType.KEYS_ONLY,
};

/**
 * A table as `definition` describes it, on demand, with point-in-time recovery, AWS-managed
 * encryption and TTL, kept when its stack is deleted (it is the audit trail and the baselines).
 */
export function tableFrom(
  scope: Construct,
  id: string,
  definition: TableDefinition,
  tableName: string = definition.defaultName,
): dynamodb.Table {
  const table = new dynamodb.Table(scope, id, {
    tableName,
    partitionKey: attribute(definition.partitionKey),
    ...(definition.sortKey ? { sortKey: attribute(definition.sortKey) } : {}),
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    timeToLiveAttribute: definition.ttlAttribute,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  for (const index of definition.globalIndexes) {
    table.addGlobalSecondaryIndex({
      indexName: index.name,
      partitionKey: attribute(index.partitionKey),
      ...(index.sortKey ? { sortKey: attribute(index.sortKey) } : {}),
      projectionType: PROJECTIONS[index.projection],
    });
  }
  return table;
}

/** The ARN of one of a table's indexes (a Query on it is authorised on this ARN). */
export const indexArn = (table: dynamodb.ITable, indexName: string) =>
  `${table.tableArn}/index/${indexName}`;
