/**
 * Every AWS region a stack can go to: the commercial partition (aws), China (aws-cn) and
 * GovCloud (aws-us-gov). Source: the AWS SDK's endpoint partitions, as pinned in
 * package-lock.json (node_modules/@aws-sdk/core/dist-es/submodules/client/util-endpoints/lib/aws/
 * partitions.js, @aws-sdk/core 3.981.0), which is the list AWS publishes at
 * https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html. The isolated
 * partitions (us-iso*, eu-isoe*) and the European Sovereign Cloud are left out: this app is not
 * built for them. When AWS opens a region, add it here (a config naming it is refused until then).
 */
export const AWS_REGIONS: Readonly<Record<string, string>> = {
  // aws
  "af-south-1": "Africa (Cape Town)",
  "ap-east-1": "Asia Pacific (Hong Kong)",
  "ap-east-2": "Asia Pacific (Taipei)",
  "ap-northeast-1": "Asia Pacific (Tokyo)",
  "ap-northeast-2": "Asia Pacific (Seoul)",
  "ap-northeast-3": "Asia Pacific (Osaka)",
  "ap-south-1": "Asia Pacific (Mumbai)",
  "ap-south-2": "Asia Pacific (Hyderabad)",
  "ap-southeast-1": "Asia Pacific (Singapore)",
  "ap-southeast-2": "Asia Pacific (Sydney)",
  "ap-southeast-3": "Asia Pacific (Jakarta)",
  "ap-southeast-4": "Asia Pacific (Melbourne)",
  "ap-southeast-5": "Asia Pacific (Malaysia)",
  "ap-southeast-6": "Asia Pacific (New Zealand)",
  "ap-southeast-7": "Asia Pacific (Thailand)",
  "ca-central-1": "Canada (Central)",
  "ca-west-1": "Canada West (Calgary)",
  "eu-central-1": "Europe (Frankfurt)",
  "eu-central-2": "Europe (Zurich)",
  "eu-north-1": "Europe (Stockholm)",
  "eu-south-1": "Europe (Milan)",
  "eu-south-2": "Europe (Spain)",
  "eu-west-1": "Europe (Ireland)",
  "eu-west-2": "Europe (London)",
  "eu-west-3": "Europe (Paris)",
  "il-central-1": "Israel (Tel Aviv)",
  "me-central-1": "Middle East (UAE)",
  "me-south-1": "Middle East (Bahrain)",
  "me-west-1": "Middle East (Saudi Arabia)",
  "mx-central-1": "Mexico (Central)",
  "sa-east-1": "South America (Sao Paulo)",
  "sa-west-1": "South America (Chile)",
  "us-east-1": "US East (N. Virginia)",
  "us-east-2": "US East (Ohio)",
  "us-west-1": "US West (N. California)",
  "us-west-2": "US West (Oregon)",
  // aws-cn
  "cn-north-1": "China (Beijing)",
  "cn-northwest-1": "China (Ningxia)",
  // aws-us-gov
  "us-gov-east-1": "AWS GovCloud (US-East)",
  "us-gov-west-1": "AWS GovCloud (US-West)",
};

export const isAwsRegion = (name: string): boolean => Object.hasOwn(AWS_REGIONS, name);

/** Edit distance (insertions, deletions, substitutions). */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(
        (row[j] ?? 0) + 1,
        (next[j - 1] ?? 0) + 1,
        (row[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    row = next;
  }
  return row[b.length] ?? 0;
}

/** The region closest to a mistyped name (us-east-9 -> us-east-1), if one is close at all. */
export function closestRegion(name: string): string | undefined {
  const given = name
    .trim()
    .toLowerCase()
    .replace(/[\s_]+/g, "-");
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const region of Object.keys(AWS_REGIONS)) {
    const d = distance(given, region);
    if (d < bestDistance) {
      best = region;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(3, Math.floor(given.length / 3)) ? best : undefined;
}
