/** Small builders the domain tests share: peers, and the fields every change carries. */
import type { ChangeBase } from "../../src/domain/change.js";
import type { Peer, Rule } from "../../src/domain/rule.js";

export const v4 = (cidr: string): Peer => ({ kind: "cidrIpv4", cidr });
export const v6 = (cidr: string): Peer => ({ kind: "cidrIpv6", cidr });

/** An ingress TCP rule on one port from an IPv4 CIDR; `extra` adds an id, a description… */
export const tcpIn = (port: number, cidr: string, extra: Partial<Rule> = {}): Rule => ({
  direction: "ingress",
  protocol: "tcp",
  fromPort: port,
  toPort: port,
  peer: v4(cidr),
  ...extra,
});

/** The group every hand-built change in the plan and baseline tests is made on. */
export const GROUP = "sg-0f3a9c2b7d1e4a5b6";

/** A change's identity fields (eventName is the caller's): alice's IAM user in us-east-1. */
export const CHANGE_BASE: Omit<ChangeBase, "eventName"> = {
  eventId: "e-1",
  eventTime: "2025-02-11T09:01:44Z",
  account: "111122223333",
  region: "us-east-1",
  groupId: GROUP,
  requester: { arn: "arn:aws:iam::111122223333:user/alice", type: "IAMUser", name: "alice" },
};
