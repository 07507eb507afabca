/** SPEC §3: parse, coerce and validate Config/cncop3.ini. */
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { loadConfig, parseConfigText } from "../../src/install/config.ts";
import { usageErrorOf } from "../helpers/errors.ts";

const FILE = "/srv/cncop/Config/cncop3.ini";
const parse = (text: string) => parseConfigText(text, FILE, "backup01");

const errorOf = (fn: () => unknown) => usageErrorOf(fn, "a configuration error");

describe("defaults", () => {
  test("an empty file gives every default of the SPEC table", () => {
    const c = parse("");
    expect(c.daysOfLogs).toBe(90);
    expect(c.role).toBe("LOCAL");
    expect(c.commandTimeoutSec).toBe(3600);
    expect(c.agents).toEqual({});
    expect(c.mail.server).toBeUndefined();
    expect(c.mail.port).toBe(25);
    expect(c.mail.security).toBeUndefined();
    expect(c.mail.user).toBeUndefined();
    expect(c.mail.password).toBeUndefined();
    expect(c.mail.from).toBe("cncopagent@backup01");
    expect(c.network.url).toBeUndefined();
    expect(c.network.apiKey).toBeUndefined();
    expect(c.warnings).toEqual([]);
    expect(c.file).toBe(FILE);
  });

  test("the result is frozen", () => {
    const c = parse("[defaults]\nrole = REMOTE\n");
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.mail)).toBe(true);
    expect(Object.isFrozen(c.agents)).toBe(true);
  });

  test("mail_port defaults to 465 with mail_security = tls", () => {
    expect(parse("[mail]\nmail_security = tls\n").mail.port).toBe(465);
    expect(parse("[mail]\nmail_security = starttls\n").mail.port).toBe(25);
    expect(parse("[mail]\nmail_security = tls\nmail_port = 2465\n").mail.port).toBe(2465);
  });
});

describe("coercion of valid values", () => {
  const cases: [string, string, (c: ReturnType<typeof parse>) => unknown, unknown][] = [
    ["days_of_logs 0 disables pruning", "[defaults]\ndays_of_logs = 0", (c) => c.daysOfLogs, 0],
    ["days_of_logs 365", "[defaults]\ndays_of_logs = 365", (c) => c.daysOfLogs, 365],
    ["days_of_logs with spaces around", "[defaults]\n  days_of_logs   =   7  ", (c) => c.daysOfLogs, 7],
    ["role REMOTE", "[defaults]\nrole = REMOTE", (c) => c.role, "REMOTE"],
    ["role is case-insensitive", "[defaults]\nrole = remote", (c) => c.role, "REMOTE"],
    ["role LOCAL", "[defaults]\nrole = Local", (c) => c.role, "LOCAL"],
    ["command_timeout", "[defaults]\ncommand_timeout = 60", (c) => c.commandTimeoutSec, 60],
    ["mail_security none", "[mail]\nmail_security = none", (c) => c.mail.security, "none"],
    ["mail_security is case-insensitive", "[mail]\nmail_security = STARTTLS", (c) => c.mail.security, "starttls"],
    ["mail_server", "[mail]\nmail_server = smtp.example.com", (c) => c.mail.server, "smtp.example.com"],
    ["mail_from", "[mail]\nmail_from = backup@example.com", (c) => c.mail.from, "backup@example.com"],
    ["mail_port", "[mail]\nmail_port = 587", (c) => c.mail.port, 587],
    ["quoted password keeps # and ;", '[mail]\nmail_user = u\nmail_password = "p#ss;word"', (c) => c.mail.password, "p#ss;word"],
    ["url", "[network]\nurl = https://reports.example.com/api", (c) => c.network.url, "https://reports.example.com/api"],
    ["api_key", "[network]\napi_key = abc123", (c) => c.network.apiKey, "abc123"],
    ["section names are case-insensitive", "[DEFAULTS]\ndays_of_logs = 3", (c) => c.daysOfLogs, 3],
    ["CRLF line ends", "[defaults]\r\ndays_of_logs = 4\r\nrole = REMOTE\r\n", (c) => [c.daysOfLogs, c.role], [4, "REMOTE"]],
    ["a UTF-8 byte order mark", "\uFEFF[defaults]\ndays_of_logs = 5\n", (c) => c.daysOfLogs, 5],
    ["comments with ; and #, and blank lines", "; comment\n# comment\n\n[defaults]\n  ; indented\nrole = REMOTE\n", (c) => c.role, "REMOTE"],
    ["an empty value takes the default", "[defaults]\ndays_of_logs =\n", (c) => c.daysOfLogs, 90],
  ];
  for (const [name, text, get, want] of cases) {
    test(name, () => {
      expect(get(parse(text))).toEqual(want);
    });
  }
});

describe("[agents]", () => {
  test("adds a type and overrides a built-in one, keyed upper-case", () => {
    const c = parse("[agents]\nrsync = myrsync\nBACKUPX = agentx\n");
    expect(c.agents).toEqual({ RSYNC: ["myrsync"], BACKUPX: ["agentx"] });
  });

  test("a comma-separated list names several agents", () => {
    expect(parse("[agents]\nPAIR = one, two\n").agents).toEqual({ PAIR: ["one", "two"] });
  });

  const bad: [string, string][] = [
    ["a path", "[agents]\nRSYNC = /usr/bin/rsync"],
    ["a parent folder", "[agents]\nRSYNC = ../x"],
    ["a backslash path", "[agents]\nRSYNC = ..\\\\x"],
    ["a name with a space", "[agents]\nRSYNC = my agent"],
    ["a type name with a dot", "[agents]\nmy.type = agent"],
  ];
  for (const [name, text] of bad) {
    test(`refuses ${name}`, () => {
      const e = errorOf(() => parse(text));
      expect(e.message).toContain(FILE);
      expect(e.message).toContain("[agents]");
    });
  }
});

describe("invalid values: file, section, key, value and what is allowed", () => {
  const cases: [string, string, string, string, string][] = [
    ["[defaults]\ndays_of_logs = -1", "defaults", "days_of_logs", "-1", "whole number"],
    ["[defaults]\ndays_of_logs = ten", "defaults", "days_of_logs", "ten", "whole number"],
    ["[defaults]\ndays_of_logs = 1.5", "defaults", "days_of_logs", "1.5", "whole number"],
    ["[defaults]\ndays_of_logs = 99999999", "defaults", "days_of_logs", "99999999", "whole number"],
    ["[defaults]\nrole = HEALTHY", "defaults", "role", "HEALTHY", "LOCAL, REMOTE"],
    ["[defaults]\ncommand_timeout = 0", "defaults", "command_timeout", "0", "whole number"],
    ["[defaults]\ncommand_timeout = 1h", "defaults", "command_timeout", "1h", "whole number"],
    ["[mail]\nmail_port = 0", "mail", "mail_port", "0", "1 to 65535"],
    ["[mail]\nmail_port = 70000", "mail", "mail_port", "70000", "1 to 65535"],
    ["[mail]\nmail_security = ssl", "mail", "mail_security", "ssl", "none, starttls, tls"],
    ["[mail]\nmail_from = not-an-address", "mail", "mail_from", "not-an-address", "email address"],
    ["[mail]\nmail_server = smtp server", "mail", "mail_server", "smtp server", "host name"],
    ["[network]\nurl = ftp://example.com", "network", "url", "ftp://example.com", "http"],
    ["[network]\nurl = reports", "network", "url", "reports", "http"],
  ];
  for (const [text, section, key, value, allowed] of cases) {
    test(`${section} ${key} = ${value}`, () => {
      const e = errorOf(() => parse(text));
      expect(e.message).toContain(FILE);
      expect(e.message).toContain(`[${section}]`);
      expect(e.message).toContain(key);
      expect(e.message).toContain(value);
      expect(e.message).toContain(allowed);
    });
  }

  test("a password without a user is refused", () => {
    const e = errorOf(() => parse("[mail]\nmail_password = secret\n"));
    expect(e.message).toContain("mail_user");
    expect(e.message).not.toContain("secret");
  });
});

describe("malformed lines are errors, with the file and line number", () => {
  const cases: [string, string, number][] = [
    ["a section header without its ]", "[defaults]\nrole = LOCAL\n[mail\nmail_server = x\n", 3],
    ["a line without =", "[defaults]\ndays_of_logs 30\n", 2],
    ["a bare word", "[defaults]\nrole = LOCAL\ngarbage\n", 3],
    ["a line starting with =", "[defaults]\n= 5\n", 2],
    ["an empty section header", "[]\n", 1],
    ["an array key", "[defaults]\nrole[] = LOCAL\n", 2],
  ];
  for (const [name, text, line] of cases) {
    test(name, () => {
      const e = errorOf(() => parse(text));
      expect(e.message).toContain(FILE);
      expect(e.message).toContain(`line ${line}`);
    });
  }

  test("a key before any section is an error", () => {
    const e = errorOf(() => parse("days_of_logs = 3\n[defaults]\n"));
    expect(e.message).toContain("days_of_logs");
    expect(e.message).toContain(FILE);
  });
});

describe("unknown keys and sections are warnings", () => {
  test("unknown key", () => {
    const c = parse("[defaults]\ndays_of_log = 30\n");
    expect(c.daysOfLogs).toBe(90);
    expect(c.warnings.length).toBe(1);
    expect(c.warnings[0]).toContain("days_of_log");
    expect(c.warnings[0]).toContain("[defaults]");
  });

  test("unknown section", () => {
    const c = parse("[maill]\nmail_server = x\n");
    expect(c.mail.server).toBeUndefined();
    expect(c.warnings.length).toBe(1);
    expect(c.warnings[0]).toContain("[maill]");
  });
});

describe("quotes and comments (SPEC §3: values holding # or ; are quoted; a comment may follow)", () => {
  const cases: [string, string, string][] = [
    ["a quoted value followed by a comment", '[network]\nurl = https://r.example\napi_key = "k#Ey;42xyz" ; key from the portal\n', "k#Ey;42xyz"],
    ["the SPEC's own example", '[network]\nurl = https://r.example\napi_key = "k#1" ; from the portal\n', "k#1"],
    ["a # comment after a quoted value", "[network]\nurl = https://r.example\napi_key = 'a;b' # note\n", "a;b"],
    ["single quotes keep # and ;", "[network]\nurl = https://r.example\napi_key = 'a;b#c'\n", "a;b#c"],
    ["an escaped double quote inside double quotes", '[network]\nurl = https://r.example\napi_key = "a\\"b;c"\n', 'a"b;c'],
    ["an unquoted value and a comment after a blank", "[network]\nurl = https://r.example\napi_key = plain ; comment\n", "plain"],
  ];
  test.each(cases)("%s", (_name, text, want) => {
    expect(parse(text).network.apiKey).toBe(want);
  });

  const errors: [string, string, RegExp][] = [
    ["a # inside an unquoted value", "[mail]\nmail_user = u\nmail_password = p#ss\n", /line 3: the value of mail_password holds "#", which starts a comment: put the value in quotes/],
    ["a ; inside an unquoted value", "[mail]\nmail_user = u\nmail_password = p;ss\n", /line 3: .*holds ";"/],
    ["text after the closing quote", '[mail]\nmail_user = u\nmail_password = "p" ss\n', /line 3: the value of mail_password has text after its closing quote/],
    ["a quote never closed", '[mail]\nmail_user = u\nmail_password = "pss\n', /line 3: the value of mail_password opens a quote \(\"\) that is never closed/],
  ];
  test.each(errors)("%s is an error naming the line", (_name, text, want) => {
    const e = errorOf(() => parse(text));
    expect(e.message).toContain(FILE);
    expect(e.message).toMatch(want);
  });
});

describe("duplicates are errors naming both lines (like Python's strict configparser)", () => {
  test("a key given twice in one section", () => {
    const e = errorOf(() => parse("[defaults]\ndays_of_logs = 30\nrole = LOCAL\ndays_of_logs = 0\n"));
    expect(e.message).toBe(`${FILE}, line 4: [defaults] days_of_logs is given twice in this section (first on line 2). Keep one.`);
  });
  test("keys compare without case", () => {
    expect(errorOf(() => parse("[mail]\nmail_server = a\nMAIL_SERVER = b\n")).message).toMatch(/line 3: \[mail\] MAIL_SERVER is given twice .*first on line 2/);
  });
  test("a section given twice, in any case", () => {
    const e = errorOf(() => parse("[defaults]\nrole = LOCAL\n\n[mail]\nmail_server = x\n[Defaults]\ndays_of_logs = 0\n"));
    expect(e.message).toBe(`${FILE}, line 6: section [defaults] is given twice (first on line 1). Merge the two into one.`);
  });
  test("the same key in two sections is fine", () => {
    expect(parse("[network]\ntimeout = 5\n[mail]\nmail_timeout = 5\n").network.timeoutSec).toBe(5);
  });
});

describe("size: values quoted in messages are cut; files over 1 MiB are refused", () => {
  test("a 100 kB bad value is quoted cut to 120 characters, with its length", () => {
    const e = errorOf(() => parse(`[defaults]\nrole = ${"x".repeat(100_000)}\n`));
    expect(e.message.length).toBeLessThan(600);
    expect(e.message).toContain(`"${"x".repeat(120)}... (100000 characters)"`);
  });
  test("a long malformed line is quoted cut", () => {
    const e = errorOf(() => parse(`[defaults]\n${"y".repeat(50_000)}\n`));
    expect(e.message.length).toBeLessThan(600);
    expect(e.message).toContain("(50000 characters)");
  });
});

describe("loadConfig", () => {
  const dir = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-cfg-"));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });

  test("a file over 1 MiB is refused before it is read; 1 MiB exactly is read", () => {
    const big = nodePath.join(dir, "big.ini");
    const head = "[defaults]\nrole = LOCAL\n; ";
    writeFileSync(big, head + "c".repeat(1024 * 1024 - head.length + 1));
    expect(errorOf(() => loadConfig(big)).message).toBe(`Configuration file ${big} is 1048577 bytes: a configuration file over 1 MiB (1048576 bytes) is refused.`);
    writeFileSync(big, head + "c".repeat(1024 * 1024 - head.length));
    expect(loadConfig(big).role).toBe("LOCAL");
  });

  test("a missing file names the path and how to create it", () => {
    const file = nodePath.join(dir, "missing.ini");
    const e = errorOf(() => loadConfig(file));
    expect(e.message).toContain(file);
    expect(e.message).toMatch(/create/i);
  });

  test("a folder in place of the file", () => {
    const file = nodePath.join(dir, "folder.ini");
    mkdirSync(file);
    expect(errorOf(() => loadConfig(file)).message).toContain(file);
  });

  test("a binary file", () => {
    const file = nodePath.join(dir, "binary.ini");
    writeFileSync(file, Buffer.from([0x5b, 0x00, 0x01, 0x02, 0x5d]));
    expect(errorOf(() => loadConfig(file)).message).toContain(file);
  });

  test("a valid file is read", () => {
    const file = nodePath.join(dir, "ok.ini");
    writeFileSync(file, "[defaults]\ndays_of_logs = 12\n");
    expect(loadConfig(file, "h").daysOfLogs).toBe(12);
    cleanup();
  });
});

describe("warnings when a secret would travel in clear text", () => {
  test("an api_key with a plain http:// url", () => {
    const c = parse("[network]\nurl = http://bob:pw@reports.example/api\napi_key = k1\n");
    expect(c.warnings).toEqual([`${FILE}: [network] url is plain http:// (http://bob:***@reports.example/api): the api_key travels in clear text with every report. Use an https:// URL.`]);
  });
  test("https, or http without a key: no warning", () => {
    expect(parse("[network]\nurl = https://r.example\napi_key = k1\n").warnings).toEqual([]);
    expect(parse("[network]\nurl = http://r.example\n").warnings).toEqual([]);
  });
  test("SMTP authentication with mail_security = none, or unset", () => {
    expect(parse("[mail]\nmail_server = m\nmail_user = u\nmail_password = p\nmail_security = none\n").warnings).toEqual([`${FILE}: [mail] mail_security = none with mail_user set: the SMTP password travels in clear text. Use starttls or tls.`]);
    expect(parse("[mail]\nmail_server = m\nmail_user = u\nmail_password = p\n").warnings[0]).toMatch(/mail_security is not: a server that does not offer STARTTLS gets the password in clear text/);
  });
  test("SMTP authentication over starttls or tls, or no authentication: no warning", () => {
    expect(parse("[mail]\nmail_server = m\nmail_user = u\nmail_password = p\nmail_security = starttls\n").warnings).toEqual([]);
    expect(parse("[mail]\nmail_server = m\nmail_user = u\nmail_password = p\nmail_security = tls\n").warnings).toEqual([]);
    expect(parse("[mail]\nmail_server = m\nmail_security = none\n").warnings).toEqual([]);
  });
});

test("unknown key and section names are quoted cut too", () => {
  const w = parse(`[${"s".repeat(5000)}]\nx = 1\n[defaults]\n${"k".repeat(5000)} = 1\n`).warnings;
  expect(w).toHaveLength(2);
  for (const line of w) expect(line.length).toBeLessThan(400);
  expect(w[1]).toContain("(5000 characters)");
});
