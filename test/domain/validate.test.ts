import { describe, expect, it } from "vitest";
import { GROUP_ID, isIpv4Cidr, isIpv6Cidr, REGION, RULE_ID } from "../../src/domain/validate.js";

describe("strict identifiers", () => {
  it.each([
    ["sg-0f3a9c2b7d1e4a5b6", true],
    ["sg-4e386e31", true],
    ["sg-1", false],
    ["sg-1; rm -rf /", false],
    ["sg-0F3A9C2B7D1E4A5B6", false],
    ["sg-0f3a9c2b7d1e4a5b", false],
  ])("group id %s: %s", (id, ok) => expect(GROUP_ID.test(id)).toBe(ok));

  it.each([
    ["sgr-0123456789abcdef0", true],
    ["sgr-01234567", true],
    ["sgr-xyz", false],
  ])("rule id %s: %s", (id, ok) => expect(RULE_ID.test(id)).toBe(ok));

  it.each([
    ["us-east-1", true],
    ["us-gov-west-1", true],
    ["ap-southeast-7", true],
    ["us-isob-east-1", true],
    ["../../etc", false],
    ["us-east-1; ls", false],
    ["US-EAST-1", false],
  ])("region %s: %s", (r, ok) => expect(REGION.test(r)).toBe(ok));
});

describe("CIDRs", () => {
  it.each([
    ["0.0.0.0/0", true],
    ["10.0.0.0/8", true],
    ["203.0.113.7/32", true],
    ["0.0.0.0/33", false],
    ["256.0.0.0/8", false],
    ["10.0.0/8", false],
    ["10.0.0.0", false],
    ["010.0.0.0/8", false],
    ["10.0.0.0/08", false],
    ["::/0", false],
  ])("IPv4 %s: %s", (c, ok) => expect(isIpv4Cidr(c)).toBe(ok));

  it.each([
    ["::/0", true],
    ["2001:db8::/32", true],
    ["2001:db8:0:0:0:0:0:1/128", true],
    ["::ffff:192.0.2.1/128", true],
    ["2001:db8::/129", false],
    ["2001:db8:::1/64", false],
    ["2001:db8::1::2/64", false],
    ["1:2:3:4:5:6:7:8:9/64", false],
    ["gggg::/16", false],
    ["10.0.0.0/8", false],
  ])("IPv6 %s: %s", (c, ok) => expect(isIpv6Cidr(c)).toBe(ok));
});
