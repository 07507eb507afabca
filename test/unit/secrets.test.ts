/**
 * The one masking rule for secrets (src/format/secrets.ts, docs/security.md "Masking"):
 * key names, URL user information and known password options, in free text, command
 * lines and JSON; the secrets a job holds; children's output cleaned of them; linear time.
 */
import { describe, expect, test } from "bun:test";
import { jobSecrets, maskText, maskUrl, restoreMaskedText, secretsIn } from "../../src/format/secrets.ts";
import { redactingSink } from "../../src/logs/redact-sink.ts";
import type { StreamSink } from "../../src/logs/log-file.ts";
import { jsonText } from "../../src/format/escape.ts";

describe("maskText: every secret the rules know is ***", () => {
  test.each([
    ["URL user information", "rsync://bob:PW@host/mod/", "rsync://bob:***@host/mod/"],
    ["a URL inside a sentence", "connect to https://u:PW@h:8443/api failed", "connect to https://u:***@h:8443/api failed"],
    ["sshpass -p, quoted", "run: sshpass -p 'my pw' ssh host", "run: sshpass -p *** ssh host"],
    ["sshpass -pPW", "sshpass -pPW ssh", "sshpass -p*** ssh"],
    ["sshpass after another option", "sshpass -e -p PW x", "sshpass -e -p *** x"],
    ["--password=PW", "mysqldump --password=PW db", "mysqldump --password=*** db"],
    ["--api-key PW", "tool --api-key PW --verbose", "tool --api-key *** --verbose"],
    ["curl -u user:PW", "curl -u bob:PW http://x", "curl -u bob:*** http://x"],
    ["smbclient -U user%PW", "smbclient -U bob%PW //h/s", "smbclient -U bob%*** //h/s"],
    ["NAME=PW", "MYSQL_PWD=PW cmd", "MYSQL_PWD=*** cmd"],
    ["an ini line", '[mail] mail_password = "PW" is bad', "[mail] mail_password = *** is bad"],
    ["JSON", '{"password":"PW","auth_header":"X","a":1}', '{"password":"***","auth_header":"***","a":1}'],
    ["Bearer", "Authorization: Bearer PW", "Authorization: Bearer ***"],
  ])("%s", (_what, text, want) => expect(maskText(text)).toBe(want));

  test.each([
    ["ordinary words", "nothing here, passed 3 keys"],
    ["an option without a value", "--no-auth --verbose"],
    ["a URL with a user and no password", "http://user@host/ ok"],
    ["other keys", "days_of_logs = 30"],
    ["an already masked value", "mail_password = ***"],
  ])("%s: unchanged", (_what, text) => expect(maskText(text)).toBe(text));

  test("maskUrl hides only URL passwords", () => {
    expect(maskUrl("rsync://a:b@h/m --password=x")).toBe("rsync://a:***@h/m --password=x");
  });

  test("linear time: 1 MB lines built to make backtracking regular expressions slow", () => {
    const MB = 1024 * 1024;
    const started = performance.now();
    for (const s of ["a".repeat(MB), "a=" + "b".repeat(MB), '"' + "p".repeat(MB), "--" + "x".repeat(MB), " -u " + "x".repeat(MB), "sshpass" + " -e".repeat(MB / 3), "a.b".repeat(MB / 3), '"pass":' + '"'.repeat(MB), "Bearer" + " ".repeat(MB), "x://".repeat(MB / 4)]) maskText(s);
    // Quadratic time would be hours; a generous bound that still catches it.
    expect(performance.now() - started).toBeLessThan(15_000);
  });
});

describe("the secrets of a job", () => {
  test("settings under secret keys at any depth, URL passwords (decoded too), secret options of commands", () => {
    const job = {
      settings: { user: "bob", password: "PW1", nested: { api_token: "PW2", list: [{ cookie: "PW3" }] }, port: 22, auth: 12345 },
      source: "rsync://bob:p%40ss@h/m",
      destination: "/data",
      prerun: "dump.sh --password=PW4 'sshpass -p PW5 ssh'",
      postsuccess: null,
      postfailure: undefined,
    };
    expect(jobSecrets(job).sort()).toEqual(["12345", "PW1", "PW2", "PW3", "PW4", "PW5", "p%40ss", "p@ss"].sort());
  });
  test("secretsIn takes the quotes off", () => {
    expect(secretsIn("x --password='a b' y")).toEqual(["a b"]);
  });
  test("a masked text given back is the stored text it was made from, else as given", () => {
    expect(restoreMaskedText("rsync://bob:***@h/m", "rsync://bob:PW@h/m")).toBe("rsync://bob:PW@h/m");
    expect(restoreMaskedText("rsync://bob:***@other/m", "rsync://bob:PW@h/m")).toBe("rsync://bob:***@other/m");
    expect(restoreMaskedText("/plain", "/old")).toBe("/plain");
  });
});

describe("settings: strings under any key are masked by the text rules too", () => {
  test("sshpass -p and a URL password inside an ordinary option; given back, the stored value", async () => {
    const { maskSecrets, restoreMaskedSecrets } = await import("../../src/format/secrets.ts");
    const stored = { ssh: "sshpass -p PW ssh -l bob", mirror: "https://u:PW2@m/x", n: 3 };
    const shown = maskSecrets(stored);
    expect(shown).toEqual({ ssh: "sshpass -p *** ssh -l bob", mirror: "https://u:***@m/x", n: 3 });
    expect(restoreMaskedSecrets(shown, stored)).toEqual({ ok: true, value: stored });
    expect(jobSecrets({ settings: stored })).toEqual(["PW", "PW2"].filter((x) => x.length >= 3));
  });
});

describe("redactingSink: a child's output cleaned of the job's secrets", () => {
  function collect(): StreamSink & { text: () => string; ended: boolean } {
    const parts: Uint8Array[] = [];
    const s = { ended: false, write: (c: Uint8Array) => void parts.push(new Uint8Array(c)), end: () => void (s.ended = true), bytes: 0, tail: () => [], text: () => Buffer.concat(parts).toString() };
    return s;
  }
  test("a secret split across reads is still found; lines pass whole; the end flushes", () => {
    const inner = collect();
    const sink = redactingSink(inner, ["s3cr3t", "longer-s3cr3t-value"]);
    for (const piece of ["user ok\nthe pass is s3", "cr3t and longer-s3cr", "3t-value\nlast without newline s3cr3t"]) sink.write(Buffer.from(piece));
    sink.end();
    expect(inner.text()).toBe("user ok\nthe pass is *** and ***\nlast without newline ***");
    expect(inner.ended).toBe(true);
  });
  test("without secrets the inner sink itself is used (the capture's fast path)", () => {
    const inner = collect();
    expect(redactingSink(inner, [])).toBe(inner);
    expect(redactingSink(inner, ["ab"])).toBe(inner); // too short to hide without hiding ordinary text
  });
});

describe("jsonText: JSON no string can drive a terminal with", () => {
  test("DEL, C1 and bidi overrides as \\u escapes; the value parses back the same", () => {
    const v = { t: "a\x7f\x9b\u202eb\x1b" };
    const text = jsonText(v);
    expect(text).toBe('{"t":"a\\u007f\\u009b\\u202eb\\u001b"}');
    expect(JSON.parse(text)).toEqual(v);
  });
});
