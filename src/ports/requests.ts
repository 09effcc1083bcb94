import type { ApprovalRequest, RequestStatus, SlackMessageRef } from "../domain/request.js";

export interface RequestStore {
  /** Creates the request; returns false (and changes nothing) when the id already exists. */
  create(request: ApprovalRequest): Promise<boolean>;
  get(requestId: string): Promise<ApprovalRequest | undefined>;
  /**
   * Saves `next` only if the stored status is still `from` (one conditional write).
   * Throws ConflictError when another writer got there first, NotFoundError for an unknown id.
   */
  transition(from: RequestStatus, next: ApprovalRequest): Promise<void>;
  /** Records where the request's Slack messages are, for later updates. */
  setSlackRefs(
    requestId: string,
    refs: { approval?: SlackMessageRef; monitoring?: SlackMessageRef },
  ): Promise<void>;
  /** Requests in a status, oldest first (e.g. pending ones for expiry). */
  listByStatus(status: RequestStatus, limit?: number): Promise<ApprovalRequest[]>;
}
