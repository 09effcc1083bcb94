/** DynamoDB for the sandbox and the tests: dynalite, in process, on 127.0.0.1. */
import type { AddressInfo } from "node:net";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import dynalite from "dynalite";
import { documentClient } from "../adapters/dynamodb/client.js";

export interface DynaliteOptions {
  /** LevelDB folder, for data that outlives the process; in memory when absent. */
  path?: string;
  /** 0 or absent: a free port. */
  port?: number;
}

export interface RunningDynalite {
  endpoint: string;
  stop(): Promise<void>;
}

export async function startDynalite(options: DynaliteOptions = {}): Promise<RunningDynalite> {
  const server = dynalite(options.path ? { path: options.path } : {});
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const stop = () =>
    new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      server.closeIdleConnections();
    });
  return { endpoint: `http://127.0.0.1:${port}`, stop };
}

export interface DynamoClients {
  client: DynamoDBClient;
  doc: DynamoDBDocumentClient;
}

/** Clients for a local endpoint: us-east-1 and dummy credentials (dynalite checks neither). */
export function dynamoClients(endpoint: string): DynamoClients {
  const client = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  return { client, doc: documentClient(client) };
}
