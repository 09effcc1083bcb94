/** Publishes a message to a topic (SNS in AWS, an in-process bus in the sandbox). */
export interface Publisher {
  publish(topicArn: string, message: string, attributes?: Record<string, string>): Promise<void>;
}
