/**
 * `cncopjobs -t x`: every job type (the built-in table plus `[agents]`) with its agent(s),
 * their log prefixes in `Spool/Logs/`, and whether each agent is in `Bin/` (looked up as
 * cncopagent looks it up) and can be started there (as cncopagent would start it).
 */
import { startProblem } from "../dispatcher/agent-launch.ts";
import { findInBin, isRegularFile } from "../dispatcher/plan.ts";
import { usageError } from "../cli/errors.ts";
import { agentLogPrefix, jobTypeTable } from "../install/job-types.ts";
import { renderTable } from "./render.ts";

export interface AgentView {
  readonly name: string;
  readonly logPrefix: string;
  /** Resolved program in Bin/, or null when missing. */
  readonly program: string | null;
  readonly present: boolean;
  /** Only for an agent present but impossible to start: why (the JSON of other agents is unchanged). */
  readonly problem?: string;
}

export interface TypeView {
  readonly type: string;
  readonly description: string;
  /** built-in, [agents] (added), or built-in overridden in [agents]. */
  readonly origin: "built-in" | "[agents]" | "built-in, overridden in [agents]";
  readonly agents: readonly AgentView[];
}

export interface TypeListContext {
  readonly bin: string;
  readonly platform?: NodeJS.Platform;
  readonly isFile?: (p: string) => boolean;
  /** The config path agents get (`-c`): a batch agent needs it cmd-safe. Without it, only presence is checked. */
  readonly configFile?: string;
  readonly comspec?: string;
}

/** All types, or the one named by `filter` (`x` or `all` mean all; case-insensitive). */
export function listJobTypes(overrides: Readonly<Record<string, readonly string[]>>, filter: string, ctx: TypeListContext): TypeView[] {
  const table = jobTypeTable(overrides);
  const f = filter.trim().toUpperCase();
  const chosen = f === "X" || f === "ALL" || f === "" ? table : table.filter((t) => t.type === f);
  if (chosen.length === 0) throw usageError(`unknown job type "${filter}". Known types: ${table.map((t) => t.type).join(", ")} (or -t x for all of them)`);
  return chosen.map((t) => ({
    type: t.type,
    description: t.description,
    origin: !t.overridden ? "built-in" : t.builtIn ? "built-in, overridden in [agents]" : "[agents]",
    agents: t.agents.map((name) => {
      const platform = ctx.platform ?? process.platform;
      const program = findInBin(ctx.bin, name, platform, ctx.isFile ?? isRegularFile) ?? null;
      const problem = program !== null && ctx.configFile !== undefined ? startProblem(program, { bin: ctx.bin, platform, args: ["-c", ctx.configFile, "1"], comspec: ctx.comspec }) : undefined;
      const view = { name, logPrefix: agentLogPrefix(name), program, present: program !== null };
      return problem === undefined ? view : { ...view, problem };
    }),
  }));
}

export function missingAgents(types: readonly TypeView[]): string[] {
  return [...new Set(types.flatMap((t) => t.agents.filter((a) => !a.present).map((a) => a.name)))];
}

/** Agents present in Bin/ that cannot be started, each with why (once per agent). */
export function unstartableAgents(types: readonly TypeView[]): { name: string; problem: string }[] {
  const seen = new Map<string, string>();
  for (const a of types.flatMap((t) => t.agents)) if (a.problem !== undefined && !seen.has(a.name)) seen.set(a.name, a.problem);
  return [...seen].map(([name, problem]) => ({ name, problem }));
}

/** One line per agent; the type's columns only on its first line. */
export function renderTypesTable(types: readonly TypeView[]): string {
  const rows: string[][] = [];
  for (const t of types) {
    t.agents.forEach((a, i) => {
      rows.push([i === 0 ? t.type : "", i === 0 ? t.description : "", a.name, a.logPrefix, !a.present ? "MISSING" : a.problem === undefined ? "yes" : "CANNOT START", i === 0 ? t.origin : ""]);
    });
  }
  return renderTable(["TYPE", "DESCRIPTION", "AGENT", "LOG PREFIX", "IN Bin/", "FROM"], rows);
}
