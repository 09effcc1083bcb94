/** The people's thread (see people.ts): runs each job it is sent and answers with its id. */
import { parentPort } from "node:worker_threads";
import type { EC2Client } from "@aws-sdk/client-ec2";
import { type Job, runJob } from "./people.js";

const clients = new Map<string, EC2Client>();
parentPort?.on("message", async ({ id, job }: { id: number; job: Job }) => {
  const { failed } = await runJob(job, clients);
  parentPort?.postMessage({ id, failed });
});
