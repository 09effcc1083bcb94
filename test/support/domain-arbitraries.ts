/**
 * fast-check arbitraries for the rule model: peers, protocol + port combinations and whole rules,
 * already in the normalised form the domain keeps (lower-case names, numbers, null for no ports,
 * no `undefined`-valued keys, descriptions absent or non-empty).
 */
import fc from "fast-check";
import type { Direction, Peer, Rule, RuleBody } from "../../src/domain/rule.js";

const HEX = "0123456789abcdef".split("");

export const hexArb = (length: number): fc.Arbitrary<string> =>
  fc
    .array(fc.constantFrom(...HEX), { minLength: length, maxLength: length })
    .map((a) => a.join(""));

/** Small pools on purpose: collisions between generated rules must happen now and then. */
const ipv4Arb: fc.Arbitrary<Peer> = fc
  .tuple(
    fc.constantFrom(0, 10, 172, 192, 203),
    fc.integer({ min: 0, max: 3 }),
    fc.integer({ min: 0, max: 255 }),
    fc.constantFrom(0, 8, 16, 24, 32),
  )
  .map(([a, b, c, prefix]) => ({ kind: "cidrIpv4", cidr: `${a}.${b}.${c}.0/${prefix}` }));

const ipv6Arb: fc.Arbitrary<Peer> = fc.oneof(
  fc.constant<Peer>({ kind: "cidrIpv6", cidr: "::/0" }),
  fc
    .tuple(hexArb(2), fc.constantFrom(32, 48, 64, 128))
    .map(([h, prefix]): Peer => ({ kind: "cidrIpv6", cidr: `2001:db8:${h}::/${prefix}` })),
);

const prefixListArb: fc.Arbitrary<Peer> = hexArb(2).map(
  (h): Peer => ({ kind: "prefixList", prefixListId: `pl-0c2d4e6f8a0b1c3${h}` }),
);

const groupArb: fc.Arbitrary<Peer> = fc
  .tuple(
    hexArb(3),
    fc.option(fc.constantFrom("111122223333", "444455556666"), { nil: undefined }),
    fc.option(hexArb(4), { nil: undefined }),
  )
  .map(([h, userId, pcx]) => {
    const peer: Peer = { kind: "group", groupId: `sg-0d9c8b7a6f5e4d${h}` };
    if (userId !== undefined) peer.userId = userId;
    if (pcx !== undefined) peer.vpcPeeringConnectionId = `pcx-0a1b2c3d4e5f6${pcx}`;
    return peer;
  });

export const peerArb: fc.Arbitrary<Peer> = fc.oneof(ipv4Arb, ipv6Arb, prefixListArb, groupArb);

type ProtocolPorts = Pick<Rule, "protocol" | "fromPort" | "toPort">;

const portArb = fc.oneof(
  fc.constantFrom(0, 22, 53, 80, 443, 3389, 5432, 65535),
  fc.integer({ min: 0, max: 65535 }),
);

export const protocolPortsArb: fc.Arbitrary<ProtocolPorts> = fc.oneof(
  fc
    .tuple(fc.constantFrom("tcp", "udp"), portArb, portArb)
    .map(([protocol, a, b]) => ({ protocol, fromPort: Math.min(a, b), toPort: Math.max(a, b) })),
  fc
    .tuple(
      fc.constantFrom("icmp", "icmpv6"),
      fc.integer({ min: -1, max: 255 }),
      fc.integer({ min: -1, max: 255 }),
    )
    .map(([protocol, fromPort, toPort]) => ({ protocol, fromPort, toPort })),
  fc.constant({ protocol: "all", fromPort: null, toPort: null }),
  fc
    .constantFrom("47", "50", "51", "132")
    .map((protocol) => ({ protocol, fromPort: null, toPort: null })),
);

export const descriptionArb: fc.Arbitrary<string | undefined> = fc.option(
  fc.string({ minLength: 1, maxLength: 24 }),
  { nil: undefined },
);

export const ruleBodyArb: fc.Arbitrary<RuleBody> = fc
  .tuple(protocolPortsArb, peerArb, descriptionArb)
  .map(([pp, peer, description]) => {
    const body: RuleBody = { ...pp, peer };
    if (description !== undefined) body.description = description;
    return body;
  });

export const directionArb: fc.Arbitrary<Direction> = fc.constantFrom("ingress", "egress");

/** A rule without an id, of the given direction or of either. */
export function ruleArb(direction?: Direction): fc.Arbitrary<Rule> {
  return fc
    .tuple(direction ? fc.constant(direction) : directionArb, ruleBodyArb)
    .map(([d, body]) => ({ direction: d, ...body }));
}

/** JSON with object keys sorted at every level, so equal values give equal strings. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** A list as a sorted list of canonical strings: compares lists as multisets. */
export function asMultiset<T>(items: readonly T[], key: (item: T) => unknown = (i) => i): string[] {
  return items.map((i) => canonicalJson(key(i))).sort();
}
