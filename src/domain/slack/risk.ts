/**
 * Risk flags for the rules a change would put in place: open to the world (a /0 CIDR), sensitive
 * ports (remote admin, databases, caches, cluster control planes), and the worst case of both.
 */
import { type Change, changedRules } from "../change.js";
import { hasPorts, type Peer, type Rule } from "../rule.js";

export interface SensitivePort {
  port: number;
  name: string;
}

/** Ports that should never face the internet. TCP or UDP: both count. */
export const SENSITIVE_PORTS: readonly SensitivePort[] = [
  { port: 22, name: "SSH" },
  { port: 23, name: "Telnet" },
  { port: 445, name: "SMB" },
  { port: 1433, name: "MSSQL" },
  { port: 1521, name: "Oracle" },
  { port: 2049, name: "NFS" },
  { port: 2375, name: "Docker API" },
  { port: 2379, name: "etcd" },
  { port: 3306, name: "MySQL" },
  { port: 3389, name: "RDP" },
  { port: 5432, name: "PostgreSQL" },
  { port: 5900, name: "VNC" },
  { port: 5984, name: "CouchDB" },
  { port: 6379, name: "Redis" },
  { port: 9042, name: "Cassandra" },
  { port: 9200, name: "Elasticsearch" },
  { port: 11211, name: "memcached" },
  { port: 27017, name: "MongoDB" },
];

/**
 * critical: ingress from the world to a sensitive port. high: ingress from the world.
 * medium: ingress to a sensitive port from a narrower peer, or egress to the world.
 */
export type RiskLevel = "critical" | "high" | "medium" | "none";

export const RISK_ORDER: Record<RiskLevel, number> = { critical: 3, high: 2, medium: 1, none: 0 };

export interface RuleRisk {
  level: RiskLevel;
  openToWorld: boolean;
  /** Sensitive ports the rule's range covers (all of them for protocol "all"). */
  sensitive: SensitivePort[];
  /** The rule allows every port (protocol "all", or tcp/udp 0-65535). */
  allPorts: boolean;
}

/** A /0 CIDR, IPv4 or IPv6, whatever its address part (0.0.0.0/0, ::/0, 0::/0). */
export function isOpenToWorld(peer: Peer): boolean {
  if (peer.kind !== "cidrIpv4" && peer.kind !== "cidrIpv6") return false;
  return /\/0+$/.test(peer.cidr.trim());
}

export function sensitivePortsOf(
  rule: Pick<Rule, "protocol" | "fromPort" | "toPort">,
): SensitivePort[] {
  if (rule.protocol === "all") return [...SENSITIVE_PORTS];
  if (!hasPorts(rule.protocol) || rule.fromPort === null || rule.toPort === null) return [];
  const from = rule.fromPort;
  const to = rule.toPort;
  return SENSITIVE_PORTS.filter((p) => p.port >= from && p.port <= to);
}

function coversAllPorts(rule: Pick<Rule, "protocol" | "fromPort" | "toPort">): boolean {
  if (rule.protocol === "all") return true;
  return hasPorts(rule.protocol) && rule.fromPort === 0 && rule.toPort === 65535;
}

export function assessRule(rule: Rule): RuleRisk {
  const openToWorld = isOpenToWorld(rule.peer);
  const sensitive = sensitivePortsOf(rule);
  const allPorts = coversAllPorts(rule);
  let level: RiskLevel = "none";
  if (rule.direction === "egress") {
    if (openToWorld) level = "medium";
  } else if (openToWorld && sensitive.length > 0) level = "critical";
  else if (openToWorld) level = "high";
  else if (sensitive.length > 0) level = "medium";
  return { level, openToWorld, sensitive, allPorts };
}

/** The rules a change would put in place: added rules, or the new content of modified ones. */
export function grantedRules(change: Change): Rule[] {
  return change.kind === "remove" ? [] : changedRules(change);
}

export interface ChangeRisk {
  worst: RiskLevel;
  counts: Record<RiskLevel, number>;
  /** Flagged rules, worst first, each with its position in the change (0-based). */
  flagged: { index: number; rule: Rule; risk: RuleRisk }[];
}

/**
 * The risk of a change: that of the rules it would put in place. A removal opens nothing, so it is
 * never flagged (its risk is to availability, which the approver judges from the rule list).
 */
export function assessChange(change: Change): ChangeRisk {
  const counts: Record<RiskLevel, number> = { critical: 0, high: 0, medium: 0, none: 0 };
  const flagged: ChangeRisk["flagged"] = [];
  grantedRules(change).forEach((rule, index) => {
    const risk = assessRule(rule);
    counts[risk.level] += 1;
    if (risk.level !== "none") flagged.push({ index, rule, risk });
  });
  flagged.sort((a, b) => RISK_ORDER[b.risk.level] - RISK_ORDER[a.risk.level] || a.index - b.index);
  return { worst: flagged[0]?.risk.level ?? "none", counts, flagged };
}

/** "SSH (22), RDP (3389) +2 more", or "all ports". */
export function sensitiveNames(risk: RuleRisk, max = 3): string {
  if (risk.allPorts) return "all ports";
  const named = risk.sensitive.slice(0, max).map((p) => `${p.name} (${p.port})`);
  const more = risk.sensitive.length - named.length;
  return more > 0 ? `${named.join(", ")} +${more} more` : named.join(", ");
}
