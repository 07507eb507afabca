/**
 * cncopreporter over HTTPS: a private CA made here with openssl, a Bun.serve TLS server on
 * 127.0.0.1 with a certificate it signed, and `[network] ca_file` naming the CA.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { type Tree } from "../helpers/tree.ts";
import { makeScratch } from "../helpers/scratch.ts";
import { networkConfig, putReport, startReportServer } from "../helpers/report-server.ts";

let pki: string;
const scratch = makeScratch();

function openssl(args: string[]): void {
  const r = Bun.spawnSync(["openssl", ...args], { cwd: pki, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr.toString()}`);
}

beforeAll(() => {
  pki = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-pki-"));
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=cncop test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
  openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"]);
  writeFileSync(nodePath.join(pki, "ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
  openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf"]);
});
afterAll(() => rmSync(pki, { recursive: true, force: true }));

function setup(extra: string) {
  const server = startReportServer({ tls: { cert: readFileSync(nodePath.join(pki, "server.pem"), "utf8"), key: readFileSync(nodePath.join(pki, "server.key"), "utf8") } });
  scratch.defer(() => server.stop());
  const tree = scratch.tree({ config: networkConfig(server.url, extra) });
  putReport(tree.root, "JF-1.json", { type: "jobfinished", jobid: 1 });
  putReport(tree.root, "VIRUS-1.json", { type: "virus" });
  return { server, tree };
}
const spool = (t: Tree) => readdirSync(nodePath.join(t.root, "Spool", "Messages")).filter((n) => n.endsWith(".json")).sort();
const rpLog = (t: Tree) => {
  const dir = nodePath.join(t.root, "Spool", "Logs");
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith("RP-")).map((n) => readFileSync(nodePath.join(dir, n), "utf8")).join("") : "";
};

describe("cncopreporter over HTTPS", () => {
  test("ca_file (relative to the root) names a private CA: reports are delivered", async () => {
    const { server, tree } = setup("ca_file = Config/network-ca.pem\n");
    copyFileSync(nodePath.join(pki, "ca.pem"), nodePath.join(tree.root, "Config", "network-ca.pem"));
    expect(server.url.startsWith("https://")).toBe(true);
    const r = await tree.run("cncopreporter", []);
    expect(r.exitCode).toBe(0);
    expect(server.received.map((x) => `${x.path} ${x.headers.authorization}`)).toEqual(["/submit_jobresults Bearer test-key-123", "/submit_virus_alerts Bearer test-key-123"]);
    expect(spool(tree)).toEqual([]);
  });

  test("an inherited NODE_TLS_REJECT_UNAUTHORIZED=0 does not switch the certificate check off", async () => {
    const { server, tree } = setup("");
    const r = await tree.run("cncopreporter", [], { env: { NODE_TLS_REJECT_UNAUTHORIZED: "0" } });
    expect(r.exitCode).toBe(0);
    expect(server.received).toHaveLength(0);
    expect(spool(tree)).toEqual(["JF-1.json", "VIRUS-1.json"]);
    expect(rpLog(tree)).toMatch(/not delivered JF-1\.json .*(certificate|CERT|verify)/i);
  });

  test("without ca_file the private CA is not trusted: not delivered, nothing lost, exit 0", async () => {
    const { server, tree } = setup("");
    const r = await tree.run("cncopreporter", []);
    expect(r.exitCode).toBe(0);
    expect(server.received).toHaveLength(0);
    expect(spool(tree)).toEqual(["JF-1.json", "VIRUS-1.json"]);
    expect(rpLog(tree)).toMatch(/not delivered JF-1\.json to https:\/\/127\.0\.0\.1:\d+\/submit_jobresults: .*(certificate|CERT|verify)/i);
  });

  test("a ca_file that is missing or not PEM is a configuration error (exit 2) naming the file", async () => {
    const { server, tree } = setup("ca_file = Config/missing-ca.pem\n");
    const r = await tree.run("cncopreporter", []);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("ca_file");
    expect(r.stderr).toContain("missing-ca.pem");
    writeFileSync(nodePath.join(tree.root, "Config", "missing-ca.pem"), "not a certificate\n");
    const r2 = await tree.run("cncopreporter", []);
    expect(r2.exitCode).toBe(2);
    expect(r2.stderr).toContain("holds no PEM certificate");
    expect(server.received).toHaveLength(0);
    expect(spool(tree)).toEqual(["JF-1.json", "VIRUS-1.json"]);
  });
});
