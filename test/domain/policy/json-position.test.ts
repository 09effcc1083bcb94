import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  formatJsonPath,
  JsonSyntaxError,
  jsonPathPosition,
  parseJsonLocated,
  positionAt,
} from "../../../src/domain/policy/json-position.js";

const TEXT = `{
  "rules": [
    { "name": "a", "match": {} },
    {
      "name": "b",
      "match": { "ports": [22, "80-90"] }
    }
  ],
  "weird key": null
}`;

describe("jsonPathPosition", () => {
  it.each<[(string | number)[], "key" | "value" | undefined, [number, number]]>([
    [[], undefined, [1, 1]],
    [["rules"], undefined, [2, 12]],
    [["rules"], "key", [2, 3]],
    [["rules", 0], undefined, [3, 5]],
    [["rules", 0, "name"], undefined, [3, 15]],
    [["rules", 0, "name"], "key", [3, 7]],
    [["rules", 1, "match", "ports", 1], undefined, [6, 32]],
    [["weird key"], "key", [9, 3]],
    // Missing: the deepest ancestor that is there.
    [["rules", 1, "reason"], undefined, [4, 5]],
    [["rules", 7, "name"], undefined, [2, 12]],
    [["nope"], "key", [1, 1]],
  ])("%j (%s) at %j", (path, at, [line, column]) => {
    expect(jsonPathPosition(TEXT, path, at)).toMatchObject({ line, column });
  });

  it("positionAt counts lines from 1 and columns from 1", () => {
    expect(positionAt("ab\ncd", 0)).toStrictEqual({ line: 1, column: 1, offset: 0 });
    expect(positionAt("ab\ncd", 4)).toStrictEqual({ line: 2, column: 2, offset: 4 });
  });

  it("formats paths as people read them", () => {
    expect(formatJsonPath(["rules", 2, "match", "peer", "cidrWithin", 0])).toBe(
      "rules[2].match.peer.cidrWithin[0]",
    );
    expect(formatJsonPath(["accounts", "444455556666", "mode"])).toBe(
      'accounts["444455556666"].mode',
    );
    expect(formatJsonPath([])).toBe("(top level)");
  });
});

describe("parseJsonLocated reads JSON as JSON.parse does", () => {
  it("the same value for any JSON text", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 2, "\t"), (value, space) => {
        const text = JSON.stringify(value, null, space);
        expect(parseJsonLocated(text).value).toStrictEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  it("escapes, numbers and __proto__ like JSON.parse", () => {
    const text =
      '{"s": "a\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00", "n": [-0, 1e3, -1.5E-2, 0.5], "__proto__": {"x": 1}}';
    const located = parseJsonLocated(text).value as Record<string, unknown>;
    expect(located).toStrictEqual(JSON.parse(text));
    expect(Object.getPrototypeOf(located)).toBe(Object.prototype);
    expect(Object.keys(located)).toContain("__proto__");
  });

  it.each<[string, string, number, number]>([
    ['{"a": 1,}', "expected a property name in double quotes", 1, 9],
    ['{\n  "a": 1\n  "b": 2\n}', "expected ',' or '}' after a property value", 3, 3],
    ["[1, 2", "unexpected end of the JSON text", 1, 6],
    ["[1 2]", "expected ',' or ']' after an array element", 1, 4],
    ['{"a" 1}', "expected ':' after a property name", 1, 6],
    ["{'a': 1}", "expected a property name in double quotes", 1, 2],
    ['"abc', "unterminated string", 1, 5],
    ['"a\tb"', "control character in a string (escape it)", 1, 3],
    ['"\\x"', "bad escape in a string", 1, 2],
    ["01", "unexpected text after the JSON value", 1, 2],
    ["tru", 'unexpected character "t"', 1, 1],
    ["", "unexpected end of the JSON text", 1, 1],
    ["{} x", "unexpected text after the JSON value", 1, 4],
  ])("refuses %j: %s at %i:%i, as JSON.parse refuses it", (text, reason, line, column) => {
    expect(() => JSON.parse(text)).toThrow();
    try {
      parseJsonLocated(text);
      expect.fail("parsed");
    } catch (err) {
      expect(err).toBeInstanceOf(JsonSyntaxError);
      expect((err as JsonSyntaxError).reason).toBe(reason);
      expect((err as JsonSyntaxError).position).toMatchObject({ line, column });
      expect((err as Error).message).toBe(`${reason} at line ${line} column ${column}`);
    }
  });
});
