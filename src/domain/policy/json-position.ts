/**
 * JSON with positions: a strict JSON parser (RFC 8259, as JSON.parse reads it) that remembers
 * where each value and each object key starts, so that a schema error on a path such as
 * `rules[2].match.ports` can name its line and column in the file, and a syntax error names its
 * own. Lines and columns count from 1; a column counts UTF-16 code units, as editors mostly do.
 */

export type JsonPath = readonly (string | number)[];

export interface JsonPosition {
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** 0-based offset in the text. */
  offset: number;
}

export class JsonSyntaxError extends Error {
  override readonly name = "JsonSyntaxError";
  constructor(
    readonly reason: string,
    readonly position: JsonPosition,
  ) {
    super(`${reason} at line ${position.line} column ${position.column}`);
  }
}

export interface LocatedJson {
  value: unknown;
  /**
   * Where `path` is in the text: its value's first character, or with `at: "key"` its key's
   * opening quote (for a path ending in an object key). A path that is not in the text gives the
   * position of its deepest ancestor that is (a missing key: the object that lacks it).
   */
  locate(path: JsonPath, at?: "key" | "value"): JsonPosition;
}

/** Offset -> line and column. */
export function positionAt(text: string, offset: number): JsonPosition {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(Math.max(offset, 0), text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line += 1;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1, offset: end };
}

interface Span {
  value: number;
  key?: number;
}

const pathKey = (path: JsonPath) => JSON.stringify(path);

const ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

class Parser {
  private i = 0;
  readonly spans = new Map<string, Span>();

  constructor(private readonly text: string) {}

  parse(): unknown {
    const value = this.value([]);
    this.skipSpace();
    if (this.i < this.text.length) this.fail("unexpected text after the JSON value");
    return value;
  }

  private fail(reason: string, at = this.i): never {
    throw new JsonSyntaxError(reason, positionAt(this.text, at));
  }

  private unexpected(): never {
    if (this.i >= this.text.length) this.fail("unexpected end of the JSON text");
    this.fail(`unexpected character ${JSON.stringify(this.text[this.i])}`);
  }

  private skipSpace(): void {
    const t = this.text;
    while (this.i < t.length) {
      const c = t.charCodeAt(this.i);
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
      this.i += 1;
    }
  }

  private value(path: (string | number)[], keyAt?: number): unknown {
    this.skipSpace();
    this.spans.set(
      pathKey(path),
      keyAt === undefined ? { value: this.i } : { value: this.i, key: keyAt },
    );
    const c = this.text[this.i];
    if (c === "{") return this.object(path);
    if (c === "[") return this.array(path);
    if (c === '"') return this.string();
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return this.number();
    for (const [word, value] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ] as const) {
      if (this.text.startsWith(word, this.i)) {
        this.i += word.length;
        return value;
      }
    }
    return this.unexpected();
  }

  private object(path: (string | number)[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.i += 1;
    this.skipSpace();
    if (this.text[this.i] === "}") {
      this.i += 1;
      return out;
    }
    for (;;) {
      this.skipSpace();
      if (this.text[this.i] !== '"') {
        if (this.i >= this.text.length) this.unexpected();
        this.fail("expected a property name in double quotes");
      }
      const keyAt = this.i;
      const key = this.string();
      this.skipSpace();
      if (this.text[this.i] !== ":") this.fail("expected ':' after a property name");
      this.i += 1;
      const value = this.value([...path, key], keyAt);
      // defineProperty: a key "__proto__" is data, as JSON.parse makes it.
      Object.defineProperty(out, key, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      this.skipSpace();
      const c = this.text[this.i];
      this.i += 1;
      if (c === "}") return out;
      if (c !== ",") {
        this.i -= 1;
        if (c === undefined) this.unexpected();
        this.fail("expected ',' or '}' after a property value");
      }
    }
  }

  private array(path: (string | number)[]): unknown[] {
    const out: unknown[] = [];
    this.i += 1;
    this.skipSpace();
    if (this.text[this.i] === "]") {
      this.i += 1;
      return out;
    }
    for (;;) {
      out.push(this.value([...path, out.length]));
      this.skipSpace();
      const c = this.text[this.i];
      this.i += 1;
      if (c === "]") return out;
      if (c !== ",") {
        this.i -= 1;
        if (c === undefined) this.unexpected();
        this.fail("expected ',' or ']' after an array element");
      }
    }
  }

  private string(): string {
    const t = this.text;
    this.i += 1;
    let out = "";
    let from = this.i;
    for (;;) {
      if (this.i >= t.length) this.fail("unterminated string");
      const c = t.charCodeAt(this.i);
      if (c === 34) {
        out += t.slice(from, this.i);
        this.i += 1;
        return out;
      }
      if (c < 0x20) this.fail("control character in a string (escape it)");
      if (c !== 92) {
        this.i += 1;
        continue;
      }
      out += t.slice(from, this.i);
      const e = t[this.i + 1];
      if (e === "u") {
        const hex = t.slice(this.i + 2, this.i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("bad \\u escape");
        out += String.fromCharCode(Number.parseInt(hex, 16));
        this.i += 6;
      } else if (e !== undefined && Object.hasOwn(ESCAPES, e)) {
        out += ESCAPES[e];
        this.i += 2;
      } else {
        this.fail("bad escape in a string");
      }
      from = this.i;
    }
  }

  private number(): number {
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.text);
    if (!m) return this.unexpected();
    this.i += m[0].length;
    return Number(m[0]);
  }
}

/** Parses JSON text, keeping positions; throws JsonSyntaxError naming line and column. */
export function parseJsonLocated(text: string): LocatedJson {
  const parser = new Parser(text);
  const value = parser.parse();
  const spans = parser.spans;
  return {
    value,
    locate(path, at = "value") {
      for (let n = path.length; n >= 0; n--) {
        const span = spans.get(pathKey(path.slice(0, n)));
        if (!span) continue;
        const offset =
          at === "key" && n === path.length && span.key !== undefined ? span.key : span.value;
        return positionAt(text, offset);
      }
      return positionAt(text, 0);
    },
  };
}

/** The line and column of `path` in JSON `text` (see LocatedJson.locate). */
export function jsonPathPosition(text: string, path: JsonPath, at?: "key" | "value"): JsonPosition {
  return parseJsonLocated(text).locate(path, at);
}

/** `rules[2].match.ports`, as people read a path. */
export function formatJsonPath(path: JsonPath): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(p)) out += out === "" ? p : `.${p}`;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out === "" ? "(top level)" : out;
}
