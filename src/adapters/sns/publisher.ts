import { PublishCommand, SNSClient, type SNSClientConfig } from "@aws-sdk/client-sns";
import type { Publisher } from "../../ports/publisher.js";

/** The region of a topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME). */
export function topicRegion(topicArn: string): string {
  const region = topicArn.split(":")[3];
  if (!topicArn.startsWith("arn:") || !region) throw new Error(`not an SNS topic ARN: ${topicArn}`);
  return region;
}

/**
 * Publishes to SNS, cross-account and cross-region: SNS takes a publish only in the topic's own
 * region, so there is one client per region, made on first use.
 */
export class SnsPublisher implements Publisher {
  private readonly clients = new Map<string, SNSClient>();

  constructor(
    private readonly clientFor: (region: string) => SNSClient = (region) =>
      new SNSClient({ region } satisfies SNSClientConfig),
  ) {}

  private client(region: string): SNSClient {
    let client = this.clients.get(region);
    if (!client) {
      client = this.clientFor(region);
      this.clients.set(region, client);
    }
    return client;
  }

  async publish(
    topicArn: string,
    message: string,
    attributes: Record<string, string> = {},
  ): Promise<void> {
    await this.client(topicRegion(topicArn)).send(
      new PublishCommand({
        TopicArn: topicArn,
        Message: message,
        MessageAttributes: Object.fromEntries(
          Object.entries(attributes).map(([k, v]) => [k, { DataType: "String", StringValue: v }]),
        ),
      }),
    );
  }
}
