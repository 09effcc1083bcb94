/**
 * A Terraform plan as `terraform show -json plan.out` prints it (the "JSON Output Format" of the
 * Terraform docs): `format_version`, `resource_changes[]` of `{address, mode, type, change:
 * {actions, before, after, after_unknown}}`, and the `configuration` the references come from.
 * Validated with zod; keys this module does not read are kept and ignored, as the format asks
 * ("ignore any object properties with unrecognized names"). Pure.
 *
 * How the format shows values known only after apply (Terraform's jsonplan): `after` omits an
 * unknown object attribute and writes an unknown list element as null; `after_unknown` mirrors
 * `after` with `true` for each unknown value (a whole attribute, or one element of a list).
 */
import * as z from "zod";
import { formatJsonPath, type JsonPath } from "../policy/json-position.js";

export class PlanError extends Error {
  override readonly name = "PlanError";
  constructor(
    readonly source: string,
    readonly path: JsonPath,
    readonly reason: string,
  ) {
    super(`${source}: ${path.length > 0 ? `${formatJsonPath(path)}: ` : ""}${reason}`);
  }
}

/** The actions Terraform plans for a resource instance (tfjson's Action). */
export const PLAN_ACTIONS = ["no-op", "create", "read", "update", "delete", "forget"] as const;
export type PlanAction = (typeof PLAN_ACTIONS)[number];

const ACTION = z.enum(PLAN_ACTIONS, {
  error: `expected one of ${PLAN_ACTIONS.map((a) => `"${a}"`).join(", ")}`,
});

const OBJECT = z.record(z.string(), z.unknown(), { error: "expected an object" });

const changeSchema = z.looseObject({
  actions: z.array(ACTION, { error: "expected a list of actions" }).min(1, "no actions"),
  before: OBJECT.nullable().optional(),
  after: OBJECT.nullable().optional(),
  after_unknown: z.unknown().optional(),
});

const resourceChangeSchema = z.looseObject({
  address: z.string({ error: "expected the resource address (a string)" }).min(1),
  mode: z.enum(["managed", "data"], { error: 'expected "managed" or "data"' }).optional(),
  type: z.string({ error: "expected the resource type (a string)" }).min(1),
  name: z.string().optional(),
  module_address: z.string().optional(),
  deposed: z.string().optional(),
  change: changeSchema,
});

const planSchema = z.looseObject({
  format_version: z
    .string({
      error: 'expected format_version, e.g. "1.2": is this `terraform show -json` output?',
    })
    .regex(/^\d+\.\d+$/, 'expected a version such as "1.2"'),
  terraform_version: z.string().optional(),
  timestamp: z.string().optional(),
  resource_changes: z.array(resourceChangeSchema, { error: "expected a list" }).optional(),
  prior_state: z.unknown().optional(),
  configuration: z.unknown().optional(),
});

export type ResourceChange = z.infer<typeof resourceChangeSchema>;

export interface TerraformPlan {
  formatVersion: string;
  terraformVersion?: string;
  /** When the plan was made (Terraform 1.5 and later). */
  timestamp?: string;
  resourceChanges: ResourceChange[];
  /** `prior_state` as given: the state before the plan (groups' names, VPCs, tags). */
  priorState?: unknown;
  /** `configuration` as given: where the expressions' references come from. */
  configuration?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * A parsed `terraform show -json` document as a plan. Throws PlanError naming the path of the
 * first problem, e.g. `plan.json: resource_changes[2].change.actions[0]: expected one of …`.
 */
export function parsePlan(json: unknown, source = "plan"): TerraformPlan {
  if (!isObject(json)) throw new PlanError(source, [], "expected a JSON object (a Terraform plan)");
  if (!Object.hasOwn(json, "resource_changes") && isObject(json.values)) {
    throw new PlanError(
      source,
      [],
      "this is a state, not a plan: run `terraform plan -out plan.out` then `terraform show -json plan.out`",
    );
  }
  const parsed = planSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    throw new PlanError(source, issue.path as JsonPath, issue.message);
  }
  const plan = parsed.data;
  const major = Number(plan.format_version.split(".")[0]);
  if (major > 1) {
    throw new PlanError(
      source,
      ["format_version"],
      `format ${plan.format_version} is not supported (this reads 0.x and 1.x)`,
    );
  }
  return {
    formatVersion: plan.format_version,
    ...(plan.terraform_version !== undefined ? { terraformVersion: plan.terraform_version } : {}),
    ...(plan.timestamp !== undefined ? { timestamp: plan.timestamp } : {}),
    resourceChanges: plan.resource_changes ?? [],
    ...(plan.prior_state !== undefined ? { priorState: plan.prior_state } : {}),
    ...(plan.configuration !== undefined ? { configuration: plan.configuration } : {}),
  };
}

/** JSON text as a plan; a syntax error is a PlanError too. */
export function parsePlanText(text: string, source = "plan"): TerraformPlan {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new PlanError(source, [], `not valid JSON: ${(err as Error).message}`);
  }
  return parsePlan(json, source);
}

/**
 * Whether the value at `path` is known only after apply: `after_unknown` holds `true` at the path
 * or at any of its prefixes (a whole list or block unknown).
 */
export function isUnknownAt(afterUnknown: unknown, path: JsonPath): boolean {
  let node: unknown = afterUnknown;
  for (const key of path) {
    if (node === true) return true;
    if (Array.isArray(node) && typeof key === "number") node = node[key];
    else if (isObject(node) && typeof key === "string") node = node[key];
    else return false;
  }
  return node === true;
}
