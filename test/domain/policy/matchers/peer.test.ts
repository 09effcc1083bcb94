import { describe, expect, it } from "vitest";
import { peer } from "../../../../src/domain/policy/matchers/peer.js";
import type { Peer } from "../../../../src/domain/rule.js";
import { ACCOUNT, add, refused, rule, run, v4, v6, view } from "../support.js";

const pl = (prefixListId: string): Peer => ({ kind: "prefixList", prefixListId });
const sg = (over: Partial<Extract<Peer, { kind: "group" }>> = {}): Peer => ({
  kind: "group",
  groupId: "sg-0aaaaaaaaaaaaaaaa",
  ...over,
});

describe("peer", () => {
  it.each<[string, unknown, Peer, boolean]>([
    // cidrWithin
    ["within", { cidrWithin: "10.0.0.0/8" }, v4("10.1.0.0/16"), true],
    ["the range itself", { cidrWithin: "10.0.0.0/8" }, v4("10.0.0.0/8"), true],
    ["wider", { cidrWithin: "10.0.0.0/8" }, v4("10.0.0.0/7"), false],
    ["outside", { cidrWithin: "10.0.0.0/8" }, v4("11.0.0.0/8"), false],
    ["the world", { cidrWithin: ["10.0.0.0/8", "172.16.0.0/12"] }, v4("0.0.0.0/0"), false],
    ["one of a list", { cidrWithin: ["10.0.0.0/8", "172.16.0.0/12"] }, v4("172.20.1.0/24"), true],
    ["IPv6 within", { cidrWithin: "fd00::/8" }, v6("fd12:3456::/48"), true],
    ["IPv4 never within IPv6", { cidrWithin: "::/0" }, v4("10.0.0.0/8"), false],
    ["a prefix list is no CIDR", { cidrWithin: "0.0.0.0/0" }, pl("pl-0abc"), false],
    ["a group is no CIDR", { cidrWithin: "0.0.0.0/0" }, sg(), false],
    // cidrContains
    ["contains an address", { cidrContains: "203.0.113.7" }, v4("203.0.113.0/24"), true],
    ["the world contains it", { cidrContains: "203.0.113.7" }, v4("0.0.0.0/0"), true],
    ["does not contain it", { cidrContains: "203.0.113.7" }, v4("198.51.100.0/24"), false],
    [
      "a narrower range does not contain a wider",
      { cidrContains: "10.0.0.0/8" },
      v4("10.1.0.0/16"),
      false,
    ],
    // public
    ["0.0.0.0/0 is public", { public: true }, v4("0.0.0.0/0"), true],
    ["::/0 is public", { public: true }, v6("::/0"), true],
    ["a public /32", { public: true }, v4("203.0.113.10/32"), true],
    ["RFC 1918", { public: true }, v4("192.168.1.0/24"), false],
    ["CGNAT", { public: true }, v4("100.64.0.0/10"), false],
    ["spilling past 10/8", { public: true }, v4("10.0.0.0/7"), true],
    ["ULA", { public: true }, v6("fd00::/8"), false],
    ["link-local v6", { public: false }, v6("fe80::/64"), true],
    ["a group is not public", { public: false }, sg(), true],
    ["a prefix list: unknown, not public", { public: true }, pl("pl-0abc"), false],
    ["a prefix list: unknown, not private", { public: false }, pl("pl-0abc"), false],
    // prefixList
    ["any prefix list", { prefixList: true }, pl("pl-0abc"), true],
    ["not a prefix list", { prefixList: true }, v4("10.0.0.0/8"), false],
    ["prefixList false", { prefixList: false }, v4("10.0.0.0/8"), true],
    ["a listed prefix list", { prefixList: ["pl-0abc", "pl-0def"] }, pl("pl-0def"), true],
    ["an unlisted prefix list", { prefixList: "pl-0abc" }, pl("pl-0fff"), false],
    // groupReference, sameVpc
    ["a group reference", { groupReference: true }, sg(), true],
    ["not a group reference", { groupReference: true }, v4("10.0.0.0/8"), false],
    ["groupReference false", { groupReference: false }, sg(), false],
    ["same VPC", { sameVpc: true }, sg(), true],
    ["same VPC, own account named", { sameVpc: true }, sg({ userId: ACCOUNT }), true],
    ["another account", { sameVpc: true }, sg({ userId: "444455556666" }), false],
    ["via peering", { sameVpc: true }, sg({ vpcPeeringConnectionId: "pcx-1" }), false],
    ["a CIDR is not a group", { sameVpc: true }, v4("10.0.0.0/8"), false],
    // every key must hold
    ["both hold", { cidrWithin: "10.0.0.0/8", public: false }, v4("10.2.0.0/16"), true],
    ["one fails", { cidrWithin: "0.0.0.0/0", public: false }, v4("8.8.8.8/32"), false],
  ])("%s: %j on %j -> %s", (_what, config, p, expected) => {
    expect(run(peer, config, view(rule({ peer: p })), undefined, add())).toBe(expected);
  });

  it("cidrContains is widening, the others are not", () => {
    expect(peer.widening?.({ cidrContains: "10.0.0.1" })).toMatch(/cidrWithin/);
    expect(peer.widening?.({ cidrWithin: "10.0.0.0/8", public: false })).toBeUndefined();
  });

  it.each([
    [{}],
    [{ cidrWithin: "10.0.0.0/33" }],
    [{ cidrWithin: [] }],
    [{ cidrContains: "banana" }],
    [{ public: "yes" }],
    [{ prefixList: "abc" }],
    [{ sameVpc: false }],
    [{ cidr: "10.0.0.0/8" }],
  ])("refuses %j", (config) => {
    expect(refused(peer, config)).toBe(true);
  });
});
