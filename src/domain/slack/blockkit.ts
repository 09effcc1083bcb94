/**
 * The few Block Kit shapes our messages use, Slack's limits on them, and a pure validator. Defined
 * here rather than imported from @slack/* so that src/domain stays free of SDKs; the shapes are
 * structurally what chat.postMessage / chat.update accept.
 */

export interface PlainText {
  type: "plain_text";
  text: string;
  emoji?: boolean;
}

export interface Mrkdwn {
  type: "mrkdwn";
  text: string;
  /** true: Slack does not auto-link URLs, channel names or mentions; `<@U…>` written by us still works. */
  verbatim?: boolean;
}

export type TextObject = PlainText | Mrkdwn;

export interface ConfirmDialog {
  title: PlainText;
  text: PlainText;
  confirm: PlainText;
  deny: PlainText;
  style?: "primary" | "danger";
}

export interface ButtonElement {
  type: "button";
  action_id: string;
  text: PlainText;
  value: string;
  style?: "primary" | "danger";
  confirm?: ConfirmDialog;
}

export interface HeaderBlock {
  type: "header";
  block_id?: string;
  text: PlainText;
}

export interface SectionBlock {
  type: "section";
  block_id?: string;
  text?: TextObject;
  fields?: TextObject[];
  accessory?: ButtonElement;
}

export interface ContextBlock {
  type: "context";
  block_id?: string;
  elements: TextObject[];
}

export interface DividerBlock {
  type: "divider";
  block_id?: string;
}

export interface ActionsBlock {
  type: "actions";
  block_id?: string;
  elements: ButtonElement[];
}

export type Block = HeaderBlock | SectionBlock | ContextBlock | DividerBlock | ActionsBlock;

export interface SlackMessage {
  /** Fallback and notification text (mrkdwn). */
  text: string;
  blocks: Block[];
}

/** Slack's documented limits (docs.slack.dev, Block Kit reference), plus one of our own. */
export const LIMITS = {
  blocksPerMessage: 50,
  /** chat.postMessage advises at most 4,000 characters of `text`. */
  messageText: 4000,
  sectionText: 3000,
  sectionFields: 10,
  fieldText: 2000,
  headerText: 150,
  contextElements: 10,
  contextText: 3000,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  blockId: 255,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  /**
   * Not a documented per-field limit: Slack rejects messages whose blocks hold about 12,000-13,000
   * characters in total (msg_blocks_too_long, slackapi/bolt-js#2509). We stay well below it.
   */
  totalBlockText: 10000,
} as const;

export interface Violation {
  /** Where, as a property path: "blocks[3].fields[10]". */
  path: string;
  message: string;
}

type Check = (path: string, out: Violation[]) => void;

function maxLength(text: string, max: number, what: string): Check {
  return (path, out) => {
    if (text.length > max) out.push({ path, message: `${what} is ${text.length} > ${max} chars` });
  };
}

function nonEmpty(text: string, what: string): Check {
  return (path, out) => {
    if (text.length === 0) out.push({ path, message: `${what} is empty` });
  };
}

function checkText(obj: TextObject, max: number, what: string, path: string, out: Violation[]) {
  nonEmpty(obj.text, what)(`${path}.text`, out);
  maxLength(obj.text, max, what)(`${path}.text`, out);
}

function checkPlain(obj: PlainText, max: number, what: string, path: string, out: Violation[]) {
  if (obj.type !== "plain_text") out.push({ path, message: `${what} must be plain_text` });
  checkText(obj, max, what, path, out);
}

function checkButton(button: ButtonElement, path: string, out: Violation[]): void {
  checkPlain(button.text, LIMITS.buttonText, "button text", `${path}.text`, out);
  maxLength(button.value, LIMITS.buttonValue, "button value")(`${path}.value`, out);
  nonEmpty(button.action_id, "action_id")(`${path}.action_id`, out);
  maxLength(button.action_id, LIMITS.actionId, "action_id")(`${path}.action_id`, out);
  const c = button.confirm;
  if (!c) return;
  checkPlain(c.title, LIMITS.confirmTitle, "confirm title", `${path}.confirm.title`, out);
  checkPlain(c.text, LIMITS.confirmText, "confirm text", `${path}.confirm.text`, out);
  checkPlain(c.confirm, LIMITS.confirmButton, "confirm button", `${path}.confirm.confirm`, out);
  checkPlain(c.deny, LIMITS.confirmButton, "deny button", `${path}.confirm.deny`, out);
}

function checkSection(block: SectionBlock, path: string, out: Violation[]): void {
  if (!block.text && !block.fields?.length) {
    out.push({ path, message: "a section needs text or fields" });
  }
  if (block.text) checkText(block.text, LIMITS.sectionText, "section text", `${path}.text`, out);
  const fields = block.fields ?? [];
  if (fields.length > LIMITS.sectionFields) {
    out.push({
      path: `${path}.fields`,
      message: `${fields.length} fields > ${LIMITS.sectionFields}`,
    });
  }
  fields.forEach((f, i) => {
    checkText(f, LIMITS.fieldText, "field text", `${path}.fields[${i}]`, out);
  });
  if (block.accessory) checkButton(block.accessory, `${path}.accessory`, out);
}

function checkBlock(block: Block, path: string, out: Violation[]): void {
  if (block.block_id !== undefined) {
    nonEmpty(block.block_id, "block_id")(`${path}.block_id`, out);
    maxLength(block.block_id, LIMITS.blockId, "block_id")(`${path}.block_id`, out);
  }
  switch (block.type) {
    case "header":
      checkPlain(block.text, LIMITS.headerText, "header text", `${path}.text`, out);
      break;
    case "section":
      checkSection(block, path, out);
      break;
    case "context":
      if (block.elements.length === 0 || block.elements.length > LIMITS.contextElements) {
        out.push({
          path: `${path}.elements`,
          message: `${block.elements.length} context elements, want 1..${LIMITS.contextElements}`,
        });
      }
      block.elements.forEach((e, i) => {
        checkText(e, LIMITS.contextText, "context text", `${path}.elements[${i}]`, out);
      });
      break;
    case "actions": {
      if (block.elements.length === 0 || block.elements.length > LIMITS.actionsElements) {
        out.push({
          path: `${path}.elements`,
          message: `${block.elements.length} actions elements, want 1..${LIMITS.actionsElements}`,
        });
      }
      const ids = new Set<string>();
      block.elements.forEach((b, i) => {
        if (ids.has(b.action_id)) {
          out.push({
            path: `${path}.elements[${i}].action_id`,
            message: `duplicate action_id ${b.action_id}`,
          });
        }
        ids.add(b.action_id);
        checkButton(b, `${path}.elements[${i}]`, out);
      });
      break;
    }
    case "divider":
      break;
  }
}

/** Every string Slack counts as block text: text objects, plus button values. */
export function blockTextLength(blocks: readonly Block[]): number {
  const texts = (objs: readonly TextObject[] | undefined) =>
    (objs ?? []).reduce((n, t) => n + t.text.length, 0);
  const button = (b: ButtonElement | undefined) => (b ? b.text.text.length + b.value.length : 0);
  let total = 0;
  for (const block of blocks) {
    switch (block.type) {
      case "header":
        total += block.text.text.length;
        break;
      case "section":
        total += texts(block.text ? [block.text] : []) + texts(block.fields);
        total += button(block.accessory);
        break;
      case "context":
        total += texts(block.elements);
        break;
      case "actions":
        total += block.elements.reduce((n, b) => n + button(b), 0);
        break;
      case "divider":
        break;
    }
  }
  return total;
}

/** Checks a message against Slack's limits. Pure; an empty list means the message is valid. */
export function validateMessage(msg: SlackMessage): Violation[] {
  const out: Violation[] = [];
  nonEmpty(msg.text, "message text")("text", out);
  maxLength(msg.text, LIMITS.messageText, "message text")("text", out);
  if (msg.blocks.length > LIMITS.blocksPerMessage) {
    out.push({
      path: "blocks",
      message: `${msg.blocks.length} blocks > ${LIMITS.blocksPerMessage}`,
    });
  }
  const blockIds = new Set<string>();
  msg.blocks.forEach((block, i) => {
    const path = `blocks[${i}]`;
    if (block.block_id !== undefined) {
      if (blockIds.has(block.block_id)) {
        out.push({ path: `${path}.block_id`, message: `duplicate block_id ${block.block_id}` });
      }
      blockIds.add(block.block_id);
    }
    checkBlock(block, path, out);
  });
  const total = blockTextLength(msg.blocks);
  if (total > LIMITS.totalBlockText) {
    out.push({
      path: "blocks",
      message: `blocks hold ${total} chars of text > ${LIMITS.totalBlockText}`,
    });
  }
  return out;
}
