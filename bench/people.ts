/**
 * The people who make the benchmark's changes, in a thread of their own: like the people and
 * pipelines of a real account, their SDK calls do not share the sandbox's CPU thread. Both the
 * burst and moto's own rate are driven from here, so the two are measured alike.
 */
import { Worker } from "node:worker_threads";
import {
  AuthorizeSecurityGroupIngressCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
} from "@aws-sdk/client-ec2";

/** One change: a rule on `port` added to `groupId` by the person of member `member`. */
export interface Pair {
  member: number;
  groupId: string;
  port: number;
}

/** `changes` pairs spread over the members' groups, each with its own port. */
export function pairs(groups: string[][], changes: number): Pair[] {
  return Array.from({ length: changes }, (_, i) => {
    const member = i % groups.length;
    const own = groups[member] ?? [];
    return {
      member,
      groupId: own[Math.floor(i / groups.length) % own.length] ?? "",
      port: 2000 + i,
    };
  });
}

export const permission = (port: number) => ({
  IpProtocol: "tcp",
  FromPort: port,
  ToPort: port,
  IpRanges: [{ CidrIp: `10.${(port >> 8) & 255}.${port & 255}.0/24`, Description: "bench" }],
});

/** Who calls where: an access key at an endpoint; `account` when straight to moto. */
export interface Caller {
  endpoint: string;
  key: string;
  region: string;
  account?: string;
}

export function ec2Client({ endpoint, key, region, account }: Caller): EC2Client {
  const client = new EC2Client({
    endpoint,
    region,
    credentials: { accessKeyId: key, secretAccessKey: "x" },
    maxAttempts: 5,
    cacheMiddleware: true,
  });
  if (account) {
    // Straight to moto: name the account, as the proxy's pinUpstreamAccount does.
    client.middlewareStack.add(
      (next) => (args) => {
        const request = args.request as { headers?: Record<string, string> };
        if (request.headers) request.headers["x-moto-account-id"] = account;
        return next(args);
      },
      { step: "build", name: "benchMotoAccount" },
    );
  }
  return client;
}

/** A job for the people's thread: each pair's authorize, all at once (and its revoke, if asked). */
export interface Job {
  callers: Caller[];
  work: Pair[];
  /** Revoke each new rule by its id once added, as the member's revert does. */
  revoke: boolean;
}

/**
 * Runs a job's calls, all at once, with one client per caller; resolves when every call has
 * been answered. Errors are counted, not thrown: a lost change shows in the figures.
 */
export async function runJob(
  job: Job,
  clients: Map<string, EC2Client>,
): Promise<{ failed: number }> {
  const clientOf = (c: Caller) => {
    const id = `${c.endpoint} ${c.key} ${c.account ?? ""}`;
    let client = clients.get(id);
    if (!client) {
      client = ec2Client(c);
      clients.set(id, client);
    }
    return client;
  };
  const results = await Promise.allSettled(
    job.work.map(async (p) => {
      const client = clientOf(job.callers[p.member] as Caller);
      const out = await client.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: p.groupId,
          IpPermissions: [permission(p.port)],
        }),
      );
      if (!job.revoke) return;
      const ids = (out.SecurityGroupRules ?? []).map((r) => r.SecurityGroupRuleId ?? "");
      await client.send(
        new RevokeSecurityGroupIngressCommand({ GroupId: p.groupId, SecurityGroupRuleIds: ids }),
      );
    }),
  );
  return { failed: results.filter((r) => r.status === "rejected").length };
}

/** The people's thread, as this thread sees it: `run` sends it a job and resolves with its end. */
export class People {
  private next = 0;
  private readonly waiting = new Map<
    number,
    { resolve: (r: { failed: number }) => void; reject: (e: unknown) => void }
  >();

  private constructor(private readonly worker: Worker) {
    worker.on("message", (m: { id: number; failed: number }) => {
      this.waiting.get(m.id)?.resolve({ failed: m.failed });
      this.waiting.delete(m.id);
    });
    worker.on("error", (err) => {
      for (const { reject } of this.waiting.values()) reject(err);
      this.waiting.clear();
    });
  }

  static start(): People {
    // The thread runs people-thread.ts through tsx (a worker does not inherit the loader).
    const worker = new Worker(new URL("../src/sandbox/thread-boot.mjs", import.meta.url), {
      workerData: { entry: new URL("./people-thread.ts", import.meta.url).href },
    });
    return new People(worker);
  }

  run(job: Job): Promise<{ failed: number }> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, job });
    });
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}
