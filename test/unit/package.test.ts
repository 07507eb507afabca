/**
 * `npm install` on the Node 20 the README targets prints no warning (issue 18): no locked
 * package asks for a newer Node (EBADENGINE), and every install script is allowed in
 * package.json (npm 11 warns about scripts not covered by allowScripts). The real
 * `npm install` in a fresh clone is in docs/testing.md; this checks the files it reads.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import nodePath from "node:path";

const REPO = nodePath.resolve(import.meta.dir, "..", "..");
const pkg = JSON.parse(readFileSync(nodePath.join(REPO, "package.json"), "utf8"));
const lock = JSON.parse(readFileSync(nodePath.join(REPO, "package-lock.json"), "utf8"));
const NODE_20 = ["20.5.0", "20.19.0"];

type Locked = { version?: string; engines?: { node?: string }; hasInstallScript?: boolean; optional?: boolean };
const locked = Object.entries(lock.packages as Record<string, Locked>).filter(([path]) => path.startsWith("node_modules/"));

describe("npm install on Node 20", () => {
  test("every locked package accepts Node 20 (no EBADENGINE)", () => {
    const refusing = locked.filter(([, p]) => p.engines?.node && NODE_20.some((v) => !Bun.semver.satisfies(v, p.engines!.node!))).map(([path, p]) => `${path}@${p.version}: ${p.engines!.node}`);
    expect(refusing).toEqual([]);
  });

  test("ini is pinned to a version with the API config.ts uses, for Node 20", () => {
    expect(pkg.dependencies.ini).toBe(lock.packages["node_modules/ini"].version);
    expect(Bun.semver.satisfies(pkg.dependencies.ini, "^5.0.0")).toBe(true);
  });

  test("every install script is decided: allowed (and trusted by bun) or denied", () => {
    const withScripts = locked.filter(([, p]) => p.hasInstallScript).map(([path]) => path.slice("node_modules/".length));
    expect(withScripts).toContain("bun");
    for (const name of withScripts) {
      expect(typeof pkg.allowScripts?.[name]).toBe("boolean");
      expect(pkg.trustedDependencies.includes(name)).toBe(pkg.allowScripts[name]);
    }
    // bun's script puts the real binary in place; ssh2's would only build an optional native speed-up.
    expect(pkg.allowScripts.bun).toBe(true);
  });

  test("package.json says which Node it needs", () => {
    for (const v of NODE_20) expect(Bun.semver.satisfies(v, pkg.engines.node)).toBe(true);
  });
});
