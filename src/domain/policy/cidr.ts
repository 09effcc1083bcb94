/**
 * CIDR arithmetic for the peer matchers: IPv4 and IPv6 ranges as (version, network, prefix), and
 * which ranges are private. An IPv4 range and an IPv6 range never nest (an IPv4-mapped IPv6 range
 * is an IPv6 range like any other).
 */

export interface Cidr {
  version: 4 | 6;
  /** The network address, host bits cleared. */
  network: bigint;
  prefix: number;
}

const BITS = { 4: 32, 6: 128 } as const;

function parseIpv4(s: string): bigint | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function parseIpv6(raw: string): bigint | undefined {
  let s = raw.toLowerCase();
  // An IPv4 tail (::ffff:192.0.2.1) is two 16-bit groups.
  if (s.includes(".")) {
    const at = s.lastIndexOf(":");
    const v4 = parseIpv4(s.slice(at + 1));
    if (at < 0 || v4 === undefined) return undefined;
    s = `${s.slice(0, at + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groups = (h: string | undefined) => (h === undefined || h === "" ? [] : h.split(":"));
  const left = groups(halves[0]);
  const right = groups(halves[1]);
  const count = left.length + right.length;
  if (halves.length === 1 ? count !== 8 : count > 7) return undefined;
  const all = [...left, ...Array<string>(8 - count).fill("0"), ...right];
  let value = 0n;
  for (const g of all) {
    if (!/^[0-9a-f]{1,4}$/.test(g)) return undefined;
    value = (value << 16n) | BigInt(Number.parseInt(g, 16));
  }
  return value;
}

const mask = (version: 4 | 6, prefix: number): bigint => {
  const bits = BigInt(BITS[version]);
  const host = bits - BigInt(prefix);
  return ((1n << bits) - 1n) ^ ((1n << host) - 1n);
};

/**
 * "10.0.0.0/8", "2001:db8::/32", or a bare address (a range of one). Host bits are cleared:
 * "10.1.2.3/8" is 10.0.0.0/8, as EC2 itself would refuse it but a policy may mean it.
 * Undefined when the text is neither.
 */
export function parseCidr(text: string): Cidr | undefined {
  const [address = "", prefixText, ...rest] = text.trim().split("/");
  if (rest.length > 0) return undefined;
  const version: 4 | 6 = address.includes(":") ? 6 : 4;
  const value = version === 4 ? parseIpv4(address) : parseIpv6(address);
  if (value === undefined) return undefined;
  let prefix: number = BITS[version];
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText)) return undefined;
    prefix = Number(prefixText);
    if (prefix > BITS[version]) return undefined;
  }
  return { version, network: value & mask(version, prefix), prefix };
}

/** Whether every address of `inner` is in `outer`. */
export function cidrWithin(inner: Cidr, outer: Cidr): boolean {
  return (
    inner.version === outer.version &&
    inner.prefix >= outer.prefix &&
    (inner.network & mask(outer.version, outer.prefix)) === outer.network
  );
}

/**
 * Ranges that are not the internet: RFC 1918, CGNAT (RFC 6598), link-local, loopback; for IPv6
 * unique local (RFC 4193), link-local and loopback.
 */
export const PRIVATE_RANGES: readonly string[] = [
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "100.64.0.0/10",
  "169.254.0.0/16",
  "127.0.0.0/8",
  "fc00::/7",
  "fe80::/10",
  "::1/128",
];

const PRIVATE = PRIVATE_RANGES.map((r) => parseCidr(r) as Cidr);

/**
 * A range is public unless it lies wholly within one private range: 0.0.0.0/0, ::/0, and
 * 10.0.0.0/7 (which spills past 10.0.0.0/8) are public. Text that is not a CIDR counts as public:
 * the safe side for a restrictive rule and for a permissive one alike.
 */
export function isPublicCidr(text: string): boolean {
  const cidr = parseCidr(text);
  if (!cidr) return true;
  return !PRIVATE.some((p) => cidrWithin(cidr, p));
}
