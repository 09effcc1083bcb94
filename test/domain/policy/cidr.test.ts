import { describe, expect, it } from "vitest";
import { cidrWithin, isPublicCidr, parseCidr } from "../../../src/domain/policy/cidr.js";

describe("parseCidr", () => {
  it.each<[string, { version: 4 | 6; network: bigint; prefix: number } | undefined]>([
    ["10.0.0.0/8", { version: 4, network: 10n << 24n, prefix: 8 }],
    ["10.1.2.3/8", { version: 4, network: 10n << 24n, prefix: 8 }],
    ["192.0.2.1", { version: 4, network: (192n << 24n) | (2n << 8n) | 1n, prefix: 32 }],
    ["0.0.0.0/0", { version: 4, network: 0n, prefix: 0 }],
    ["::/0", { version: 6, network: 0n, prefix: 0 }],
    ["::1", { version: 6, network: 1n, prefix: 128 }],
    ["2001:db8::/32", { version: 6, network: 0x20010db8n << 96n, prefix: 32 }],
    ["::ffff:192.0.2.1/128", { version: 6, network: (0xffffn << 32n) | 0xc0000201n, prefix: 128 }],
    ["1:2:3:4:5:6:7:8", { version: 6, network: 0x00010002000300040005000600070008n, prefix: 128 }],
    ["10.0.0.0/33", undefined],
    ["10.0.0/8", undefined],
    ["256.0.0.0/8", undefined],
    ["::/129", undefined],
    ["1::2::3", undefined],
    ["1:2:3:4:5:6:7:8:9", undefined],
    ["10.0.0.0/8/8", undefined],
    ["", undefined],
    ["fe80::1%eth0", undefined],
  ])("%s", (text, expected) => {
    expect(parseCidr(text)).toStrictEqual(expected);
  });
});

describe("cidrWithin and isPublicCidr", () => {
  const c = (s: string) => parseCidr(s) as NonNullable<ReturnType<typeof parseCidr>>;
  it.each<[string, string, boolean]>([
    ["10.1.0.0/16", "10.0.0.0/8", true],
    ["10.0.0.0/8", "10.1.0.0/16", false],
    ["0.0.0.0/0", "0.0.0.0/0", true],
    ["::/0", "0.0.0.0/0", false],
    ["2001:db8:1::/48", "2001:db8::/32", true],
  ])("%s within %s -> %s", (inner, outer, expected) => {
    expect(cidrWithin(c(inner), c(outer))).toBe(expected);
  });

  it.each<[string, boolean]>([
    ["0.0.0.0/0", true],
    ["::/0", true],
    ["8.8.8.8/32", true],
    ["10.0.0.0/8", false],
    ["172.31.0.0/16", false],
    ["172.32.0.0/16", true],
    ["192.168.0.0/16", false],
    ["100.64.0.0/10", false],
    ["169.254.169.254/32", false],
    ["127.0.0.1/32", false],
    ["fc00::/7", false],
    ["fe80::/10", false],
    ["::1/128", false],
    ["2001:db8::/32", true],
    ["not a cidr", true],
  ])("%s public -> %s", (text, expected) => {
    expect(isPublicCidr(text)).toBe(expected);
  });
});
