/**
 * Is a report one JSON object? Checked as the text streams by, in constant memory (a
 * stack of open brackets aside), so a report of any size is checked without loading it:
 * the same grammar as JSON.parse (RFC 8259), fed in chunks of decoded text. It also keeps
 * the top-level `jobid` and `session` (as written, at most MAX_CAPTURE characters): the
 * first orders the reports of one job (see pass.ts), the second names a run; so a large
 * report never has to be parsed whole.
 */

const MAX_CAPTURE = 64;
const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

const enum S {
  Start, // before the top-level value: only "{" (or white space)
  Value, // a value is expected
  ArrayFirst, // after "[": a value or "]"
  KeyFirst, // after "{": a key or "}"
  Key, // after "," in an object: a key
  Colon,
  After, // after a value: "," or a closing bracket (or the end at the top)
  Done, // the top-level object is closed: white space only
  Str,
  Esc,
  Hex,
  Num,
  Lit,
}

const enum N {
  Minus,
  Zero,
  Int,
  Dot,
  Frac,
  E,
  ESign,
  Exp,
}

/** Top-level keys whose (number or string) value is kept. */
const CAPTURED = ["jobid", "session"] as const;
type Captured = (typeof CAPTURED)[number];

export type JsonCheck = { readonly ok: true; readonly jobid: string | undefined; readonly session: string | undefined } | { readonly ok: false; readonly why: string };

export class JsonObjectChecker {
  private state = S.Start;
  private readonly stack: number[] = []; // 0x7b "{" or 0x5b "["
  private pos = 0;
  private error: string | undefined;
  private num = N.Minus;
  private hex = 0;
  private lit = "";
  private litAt = 0;
  private strIsKey = false;
  /** Text of the current top-level key, and of the value after a top-level "jobid". */
  private key = "";
  private capturing: "key" | "value" | undefined;
  private readonly values: Partial<Record<Captured, string>> = {};
  /** The captured key whose value comes next. */
  private pending: Captured | undefined;
  private valueKey: Captured | undefined;
  private valueText = "";

  /** Check the next piece of text; stops looking after the first error. */
  push(text: string): void {
    for (let i = 0; i < text.length && this.error === undefined; i++, this.pos++) this.step(text.charCodeAt(i), text[i]!);
  }

  /** The first error found so far, if any. */
  get failure(): string | undefined {
    return this.error;
  }

  /** The verdict once all text was pushed. */
  end(): JsonCheck {
    if (this.error === undefined && this.state === S.Num) this.endNumber();
    if (this.error !== undefined) return { ok: false, why: this.error };
    if (this.state === S.Start) return { ok: false, why: "the file holds only white space" };
    if (this.state !== S.Done) return { ok: false, why: `not valid JSON (the text ends inside ${this.stack.length > 0 ? "an open object or array" : "a value"}, after ${this.pos} characters)` };
    return { ok: true, jobid: this.values.jobid, session: this.values.session };
  }

  private fail(what: string): void {
    this.error = `not valid JSON (${what} at character ${this.pos + 1})`;
  }

  private unexpected(ch: string): void {
    this.fail(`unexpected ${JSON.stringify(ch)}`);
  }

  private step(c: number, ch: string): void {
    switch (this.state) {
      case S.Str:
        return this.inString(c, ch);
      case S.Esc:
        if (c === 0x75) {
          this.state = S.Hex;
          this.hex = 0;
        } else if ('"\\/bfnrt'.includes(ch)) this.state = S.Str;
        else return this.fail(`bad escape \\${ch}`);
        return this.capture(ch);
      case S.Hex:
        if (!/[0-9a-fA-F]/.test(ch)) return this.fail("bad \\u escape");
        if (++this.hex === 4) this.state = S.Str;
        return this.capture(ch);
      case S.Num:
        if (this.numberStep(c)) return this.capture(ch);
        this.endNumber();
        if (this.error !== undefined) return;
        return this.step(c, ch);
      case S.Lit:
        if (ch !== this.lit[this.litAt]) return this.fail(`expected "${this.lit}"`);
        if (++this.litAt === this.lit.length) this.valueEnded();
        return;
    }
    if (WS.has(c)) return;
    switch (this.state) {
      case S.Start:
        if (c !== 0x7b) return this.fail(`the text starts with ${JSON.stringify(ch)}: a report is one JSON object {...}`);
        return this.open(c);
      case S.Value:
      case S.ArrayFirst:
        if (this.state === S.ArrayFirst && c === 0x5d) return this.close(c);
        return this.startValue(c, ch);
      case S.KeyFirst:
      case S.Key:
        if (this.state === S.KeyFirst && c === 0x7d) return this.close(c);
        if (c !== 0x22) return this.unexpected(ch);
        this.strIsKey = true;
        this.state = S.Str;
        if (this.stack.length === 1) {
          this.key = "";
          this.capturing = "key";
        }
        return;
      case S.Colon:
        if (c !== 0x3a) return this.unexpected(ch);
        this.state = S.Value;
        this.pending = this.stack.length === 1 ? CAPTURED.find((k) => k === this.key) : undefined;
        return;
      case S.After:
        if (c === 0x2c) {
          this.state = this.stack[this.stack.length - 1] === 0x7b ? S.Key : S.Value;
          return;
        }
        if (c === 0x7d || c === 0x5d) return this.close(c);
        return this.unexpected(ch);
      case S.Done:
        return this.fail(`text after the end of the object: ${JSON.stringify(ch)}`);
    }
  }

  private startValue(c: number, ch: string): void {
    const top = this.pending;
    this.pending = undefined;
    if (top && (c === 0x22 || c === 0x2d || (c >= 0x30 && c <= 0x39))) {
      this.capturing = "value";
      this.valueKey = top;
      this.valueText = "";
    }
    if (c === 0x7b || c === 0x5b) return this.open(c);
    if (c === 0x22) {
      this.strIsKey = false;
      this.state = S.Str;
      return;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      this.state = S.Num;
      this.num = c === 0x2d ? N.Minus : c === 0x30 ? N.Zero : N.Int;
      return this.capture(ch);
    }
    const lit = ch === "t" ? "true" : ch === "f" ? "false" : ch === "n" ? "null" : undefined;
    if (!lit) return this.unexpected(ch);
    this.lit = lit;
    this.litAt = 1;
    this.state = S.Lit;
  }

  private inString(c: number, ch: string): void {
    if (c === 0x22) {
      if (this.strIsKey) {
        if (this.capturing === "key") this.capturing = undefined;
        this.state = S.Colon;
      } else this.valueEnded();
      return;
    }
    if (c < 0x20) return this.fail("a control character inside a string");
    if (c === 0x5c) this.state = S.Esc;
    this.capture(ch);
  }

  private capture(ch: string): void {
    if (this.capturing === "key") {
      if (this.key.length <= MAX_CAPTURE) this.key += ch;
    } else if (this.capturing === "value" && this.valueText.length < MAX_CAPTURE) this.valueText += ch;
  }

  /** Does `c` continue the number? */
  private numberStep(c: number): boolean {
    const digit = c >= 0x30 && c <= 0x39;
    switch (this.num) {
      case N.Minus:
        if (!digit) return false;
        this.num = c === 0x30 ? N.Zero : N.Int;
        return true;
      case N.Zero:
      case N.Int:
        if (digit && this.num === N.Int) return true;
        if (c === 0x2e) this.num = N.Dot;
        else if (c === 0x65 || c === 0x45) this.num = N.E;
        else return false;
        return true;
      case N.Dot:
      case N.Frac:
        if (digit) this.num = N.Frac;
        else if (this.num === N.Frac && (c === 0x65 || c === 0x45)) this.num = N.E;
        else return false;
        return true;
      case N.E:
        if (c === 0x2b || c === 0x2d) this.num = N.ESign;
        else if (digit) this.num = N.Exp;
        else return false;
        return true;
      case N.ESign:
      case N.Exp:
        if (!digit) return false;
        this.num = N.Exp;
        return true;
    }
  }

  private endNumber(): void {
    if (this.num !== N.Zero && this.num !== N.Int && this.num !== N.Frac && this.num !== N.Exp) return this.fail("an incomplete number");
    this.valueEnded();
  }

  private open(c: number): void {
    this.stack.push(c);
    this.state = c === 0x7b ? S.KeyFirst : S.ArrayFirst;
  }

  private close(c: number): void {
    const want = this.stack.pop() === 0x7b ? 0x7d : 0x5d;
    if (c !== want) return this.unexpected(String.fromCharCode(c));
    this.valueEnded();
  }

  private valueEnded(): void {
    if (this.capturing === "value" && this.valueKey) {
      this.values[this.valueKey] = this.valueText;
      this.capturing = undefined;
    }
    this.state = this.stack.length === 0 ? S.Done : S.After;
  }
}

/** Check a whole text at once (tests, small reports). */
export function checkJsonObject(text: string): JsonCheck {
  const c = new JsonObjectChecker();
  c.push(text);
  return c.end();
}
