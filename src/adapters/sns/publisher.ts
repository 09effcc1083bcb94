import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import type { Publisher } from "../../ports/publisher.js";

/** Publishes to SNS (cross-account topics included: the topic policy decides who may). */
export class SnsPublisher implements Publisher {
  constructor(private readonly client: SNSClient) {}

  async publish(
    topicArn: string,
    message: string,
    attributes: Record<string, string> = {},
  ): Promise<void> {
    await this.client.send(
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
