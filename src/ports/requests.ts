import type { ApprovalRequest, RequestStatus, SlackMessageRef } from "../domain/request.js";

export type MessageKind = "approval" | "monitoring";

export interface RequestStore {
  /** Creates the request; returns false (and changes nothing) when the id already exists. */
  create(request: ApprovalRequest): Promise<boolean>;
  get(requestId: string): Promise<ApprovalRequest | undefined>;
  /**
   * Saves `next` only if the stored request is still `from`'s status and version (one
   * conditional write). Throws ConflictError when another writer got there first, NotFoundError
   * for an unknown id. Slack refs and post claims are not touched.
   */
  transition(
    from: Pick<ApprovalRequest, "status" | "version">,
    next: ApprovalRequest,
  ): Promise<void>;
  /**
   * Claims the right to post one or more of the request's messages, all or none: true when this
   * caller may post them now (none is recorded and no other claim younger than `staleBefore`
   * stands on any), false otherwise.
   */
  claimPost(
    requestId: string,
    kinds: MessageKind | readonly MessageKind[],
    at: string,
    staleBefore: string,
  ): Promise<boolean>;
  /** Gives a claim up after a failed post, so that a retry may post at once. */
  releasePost(requestId: string, kind: MessageKind): Promise<void>;
  /**
   * Records where the request's Slack messages are, for later updates, and clears their claims;
   * `due` is the request's next job time with these messages (undefined: none).
   */
  setSlackRefs(
    requestId: string,
    refs: { approval?: SlackMessageRef; monitoring?: SlackMessageRef },
    due: string | undefined,
  ): Promise<void>;
  /** Requests in a status, oldest first. */
  listByStatus(status: RequestStatus, limit?: number): Promise<ApprovalRequest[]>;
  /** Requests whose job time has come (`due <= now`), earliest first, from a sparse index. */
  listDue(now: string, limit: number): Promise<ApprovalRequest[]>;
}
