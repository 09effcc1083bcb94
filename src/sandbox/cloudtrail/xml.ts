/**
 * A small, dependency-free XML reader: enough for EC2 Query API responses (elements, text,
 * attributes, self-closing tags, the five named entities and numeric character references,
 * CDATA, comments and the XML declaration). Not a validating parser.
 */

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (CDATA included), entities decoded; "" when it has none. */
  text: string;
}

export class XmlParseError extends Error {
  override readonly name = "XmlParseError";
}

const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-zA-Z]+);/g, (whole, ref: string) => {
    if (ref.startsWith("#x")) return String.fromCodePoint(Number.parseInt(ref.slice(2), 16));
    if (ref.startsWith("#")) return String.fromCodePoint(Number.parseInt(ref.slice(1), 10));
    return NAMED[ref] ?? whole;
  });
}

const TOKEN =
  /<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!\[CDATA\[([\s\S]*?)\]\]>|<!DOCTYPE[^>]*>|<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g;
const ATTRIBUTE = /([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

function parseAttributes(raw: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const m of raw.matchAll(ATTRIBUTE)) {
    const name = m[1];
    if (name) attributes[name] = decodeEntities(m[2] ?? m[3] ?? "");
  }
  return attributes;
}

/** Parses a document and returns its root element. Throws XmlParseError on broken nesting. */
export function parseXml(xml: string): XmlElement {
  const root: XmlElement = { name: "#document", attributes: {}, children: [], text: "" };
  const stack: XmlElement[] = [root];
  let last = 0;
  const top = (): XmlElement => stack[stack.length - 1] ?? root;
  const addText = (raw: string) => {
    if (raw.trim() !== "") top().text += decodeEntities(raw);
  };

  for (const m of xml.matchAll(TOKEN)) {
    addText(xml.slice(last, m.index));
    last = m.index + m[0].length;
    const [token, cdata, closing, name, rawAttributes, selfClosing] = m;
    if (cdata !== undefined) {
      top().text += cdata;
    } else if (name === undefined || token.startsWith("<?") || token.startsWith("<!")) {
      // declaration, comment or doctype
    } else if (closing) {
      const open = stack.pop();
      if (!open || open === root || open.name !== name) {
        throw new XmlParseError(`unexpected </${name}>`);
      }
    } else {
      const element: XmlElement = {
        name,
        attributes: parseAttributes(rawAttributes ?? ""),
        children: [],
        text: "",
      };
      top().children.push(element);
      if (!selfClosing) stack.push(element);
    }
  }
  addText(xml.slice(last));
  if (stack.length !== 1) throw new XmlParseError(`<${top().name}> is not closed`);
  const [document] = root.children;
  if (!document || root.children.length !== 1) {
    throw new XmlParseError("the document must have exactly one root element");
  }
  return document;
}

/** The first child element called `name`. */
export function child(element: XmlElement | undefined, name: string): XmlElement | undefined {
  return element?.children.find((c) => c.name === name);
}

/** The text of the first child called `name`, or undefined when there is no such child. */
export function childText(element: XmlElement | undefined, name: string): string | undefined {
  return child(element, name)?.text;
}

/** The `<item>` children of the child set called `name` (EC2 writes every list that way). */
export function setItems(element: XmlElement | undefined, name: string): XmlElement[] {
  return child(element, name)?.children.filter((c) => c.name === "item") ?? [];
}
