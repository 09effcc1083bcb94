/**
 * Account binding: a member speaks only for its own account. The hub learns where a message came
 * from from what AWS set (the EventBridge event's `account` and `region`, which PutEvents cannot
 * choose), and refuses a message whose body names another account or region, or an account or
 * region it does not govern.
 */

export interface Origin {
  account: string;
  region: string;
}

/**
 * Which accounts may speak to the hub. Accounts listed in the config speak for their listed
 * regions. With an organization-wide deployment, the bus's policy admits every account of the
 * organization (aws:PrincipalOrgID), accounts no config lists: they speak for `regions`.
 */
export interface Governance {
  accounts: Readonly<Record<string, readonly string[]>>;
  organization?: { id: string; regions: readonly string[] };
}

/** Why a message must be refused, or undefined when its origin may say what it says. */
export function refusal(
  claimed: { account: string; region: string },
  origin: Origin,
  governance: Governance,
): string | undefined {
  if (claimed.account !== origin.account) {
    return `sent by account ${origin.account} but names account ${claimed.account}`;
  }
  if (claimed.region !== origin.region) {
    return `sent from ${origin.region} but names region ${claimed.region}`;
  }
  const listed = governance.accounts[origin.account];
  if (listed) {
    return listed.includes(origin.region)
      ? undefined
      : `account ${origin.account} is not governed in ${origin.region}`;
  }
  if (governance.organization) {
    return governance.organization.regions.includes(origin.region)
      ? undefined
      : `region ${origin.region} is not governed`;
  }
  return `account ${origin.account} is not a governed member`;
}
