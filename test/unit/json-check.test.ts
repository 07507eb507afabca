import { describe, expect, test } from "bun:test";
import { checkJsonObject, JsonObjectChecker } from "../../src/reporter/json-check.ts";

/** JSON.parse's verdict for "one JSON object", the reference the streaming check must match. */
function reference(text: string): boolean {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === "object" && !Array.isArray(v);
  } catch {
    return false;
  }
}

const CASES = [
  "{}",
  " \n{ } \r\n\t",
  '{"a":1}',
  '{"a":[1,2,{"b":null}],"c":true,"d":false,"e":"x\\n\\u00e9\\"\\\\\\/"}',
  '{"n":[0,-0,1.5,-2e10,3E+2,4e-3,10,0.0]}',
  '{"a":{"b":{"c":[[[]]]}}}',
  '{"é":"ü€😀"}',
  "[]",
  "[1]",
  '"x"',
  "12",
  "null",
  "",
  "   ",
  "{",
  '{"a"}',
  '{"a":}',
  '{"a":1,}',
  '{"a":[1,]}',
  '{"a":01}',
  '{"a":1.}',
  '{"a":.5}',
  '{"a":-}',
  '{"a":1e}',
  '{"a":+1}',
  '{"a":tru}',
  '{"a":truex}',
  '{"a":"\\x"}',
  '{"a":"\\u12g4"}',
  '{"a":"tab\there"}',
  '{"a":1}{"b":2}',
  '{"a":1} x',
  '{"a":[1}',
  '{"a":{1:2}}',
  "{'a':1}",
  '{"a":NaN}',
  '{"a":1 2}',
  '{,"a":1}',
];

describe("the streaming JSON object check", () => {
  test.each(CASES)("agrees with JSON.parse on %p", (text) => {
    const r = checkJsonObject(text);
    expect(r.ok).toBe(reference(text));
    if (!r.ok) expect(r.why.length).toBeGreaterThan(0);
  });

  test("the verdict does not depend on how the text is cut into chunks", () => {
    for (const text of CASES) {
      for (const size of [1, 2, 3, 7]) {
        const c = new JsonObjectChecker();
        for (let i = 0; i < text.length; i += size) c.push(text.slice(i, i + size));
        expect({ text, ok: c.end().ok }).toEqual({ text, ok: reference(text) });
      }
    }
  });

  test.each([
    ['{"jobid":12,"x":1}', "12"],
    ['{"x":{"jobid":5},"jobid": -7 }', "-7"],
    ['{"jobid":"abc"}', "abc"],
    ['{"jobid":9007199254740993}', "9007199254740993"],
    ['{"jobid":null}', undefined],
    ['{"jobid":{"a":1}}', undefined],
    ['{"a":[{"jobid":3}]}', undefined],
    ['{"jobidx":3}', undefined],
  ])("keeps the top-level jobid of %p", (text, jobid) => {
    const r = checkJsonObject(text);
    expect(r).toEqual({ ok: true, jobid, session: undefined });
  });

  test("keeps the top-level session, not a nested one", () => {
    expect(checkJsonObject('{"a":{"session":"x"},"session":"0193-ab","jobid":4}')).toEqual({ ok: true, jobid: "4", session: "0193-ab" });
    expect(checkJsonObject('{"a":{"session":"x"}}')).toEqual({ ok: true, jobid: undefined, session: undefined });
  });

  test("the error names where the text went wrong", () => {
    expect(checkJsonObject('{"a":1,}')).toEqual({ ok: false, why: 'not valid JSON (unexpected "}" at character 8)' });
    expect(checkJsonObject('{"a":[1,2')).toMatchObject({ ok: false, why: expect.stringContaining("ends inside an open object or array") });
    expect(checkJsonObject("[1]")).toMatchObject({ ok: false, why: expect.stringContaining("a report is one JSON object") });
  });
});
