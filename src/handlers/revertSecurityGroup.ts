/** Member account, EventBridge (CloudTrail): revert a governed change and file it with the hub. */
import type { Context } from "aws-lambda";
import { adoptCreatedGroup, type CreateGroupOutcome } from "../app/member/create-group.js";
import { LEFT_BY_POLICY } from "../app/member/decide.js";
import { memberPolicy } from "../app/member/deps.js";
import { type MemberDeps, revertChange } from "../app/member/index.js";
import { revertPrefixListChange } from "../app/member/prefix-list.js";
import { governedEventRoute } from "../domain/cloudtrail.js";
import { logger } from "./logging.js";
import { memberDeps } from "./member-runtime.js";

/** Each event by its own reader: a prefix list's, a group's creation, or the seven rule calls. */
function handle(deps: MemberDeps, event: unknown): Promise<CreateGroupOutcome> {
  switch (governedEventRoute(event)) {
    case "prefixList":
      return revertPrefixListChange(deps, event);
    case "createGroup":
      // The deployment's policy (switches and POLICY file): a `kind: create` rule may revoke the egress.
      return adoptCreatedGroup(deps, event, memberPolicy(deps));
    case "rules":
      return revertChange(deps, event);
  }
}

export function createRevertHandler(getDeps: () => MemberDeps | Promise<MemberDeps>) {
  return async (event: unknown, context?: Context): Promise<CreateGroupOutcome["status"]> => {
    if (context) logger.addContext(context);
    const deps = await getDeps();
    const outcome = await handle(deps, event);
    const { status } = outcome;
    if (status === "reverted" || status === "revert_failed") {
      const { change, revertMs, revertError } = outcome.message;
      // Left live by policy (a late event, notify mode) is a person's to decide, not a failure:
      // only a revert that failed is an error an operator's alarm should see.
      const failed = revertError !== undefined && !LEFT_BY_POLICY.has(revertError.code);
      deps.log[failed ? "error" : "info"](failed || !revertError ? status : "left_live", {
        eventId: change.eventId,
        groupId: change.groupId,
        revertMs,
        calls: outcome.calls,
        revertError,
      });
    } else {
      deps.log.info(status, { ...outcome });
    }
    return status;
  };
}

export const handler = createRevertHandler(memberDeps);
