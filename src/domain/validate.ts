/**
 * What AWS identifiers and addresses look like, checked strictly wherever they enter: a
 * CloudTrail event, a message between accounts, the CLI. Anything else is refused with the field
 * named, before it reaches EC2, a log line, a Slack message or a DynamoDB key.
 */

export const GROUP_ID = /^sg-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;
export const RULE_ID = /^sgr-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;
export const PREFIX_LIST_ID = /^pl-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;
export const VPC_ID = /^vpc-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;
export const VPC_PEERING_ID = /^pcx-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;
export const ACCOUNT_ID = /^\d{12}$/;
/** us-east-1, eu-central-2, us-gov-west-1, cn-north-1, us-isob-east-1, ap-southeast-7… */
export const REGION = /^[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;

function ipv4Octets(text: string): boolean {
  const parts = text.split(".");
  return (
    parts.length === 4 && parts.every((p) => /^(?:0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)
  );
}

/** An IPv6 address in any of its written forms (::, embedded IPv4, no zone). */
function ipv6Address(text: string): boolean {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return false;
  const halves = text.split("::");
  if (halves.length > 2) return false;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0] ?? "");
  const tail = halves.length === 2 ? groups(halves[1] ?? "") : [];
  const all = [...head, ...tail];
  let width = 0;
  for (let i = 0; i < all.length; i++) {
    const g = all[i] ?? "";
    const last = i === all.length - 1;
    if (last && g.includes(".")) {
      if (!ipv4Octets(g)) return false;
      width += 2;
    } else if (/^[0-9A-Fa-f]{1,4}$/.test(g)) width += 1;
    else return false;
  }
  return halves.length === 2 ? width < 8 : width === 8;
}

function prefix(text: string | undefined, max: number): boolean {
  return text !== undefined && /^(?:0|[1-9]\d{0,2})$/.test(text) && Number(text) <= max;
}

export function isIpv4Cidr(cidr: string): boolean {
  const [address, bits, ...rest] = cidr.split("/");
  return rest.length === 0 && address !== undefined && ipv4Octets(address) && prefix(bits, 32);
}

export function isIpv6Cidr(cidr: string): boolean {
  const [address, bits, ...rest] = cidr.split("/");
  return rest.length === 0 && address !== undefined && ipv6Address(address) && prefix(bits, 128);
}

/** A short, printable form of a refused value for an error message. */
export function quoted(value: unknown): string {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  const clean = text.replace(/[^\x20-\x7e]/g, "?");
  return JSON.stringify(clean.length > 80 ? `${clean.slice(0, 80)}…` : clean);
}
