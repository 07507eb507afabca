/**
 * cncopjobs: job administration and run history. Turns arguments into options, loads the
 * config, and hands over to the command modules in src/jobs-admin/.
 */
import { runCommand } from "citty";
import { type Command, HELP, type JobsOptions, jobsCommand } from "../jobs-admin/args.ts";
import type { AdminContext } from "../jobs-admin/context.ts";
import { exportCommand, historyCommand, listJobsCommand, showCommand, typesCommand } from "../jobs-admin/read-commands.ts";
import { addCommand, forEachJobCommand, importCommand, setCommand } from "../jobs-admin/write-commands.ts";
import { scheduleCommand } from "../jobs-admin/schedule/commands.ts";
import { loadConfig } from "../install/config.ts";
import { resolvePaths } from "../install/paths.ts";
import { answerHelpOrVersion, type ProgramMain } from "../cli/run-program.ts";
import { escapeControls } from "../format/escape.ts";
import { messages } from "../format/messages.ts";

const COMMANDS: Readonly<Record<Command, (ctx: AdminContext, opts: JobsOptions) => number | Promise<number>>> = {
  list: listJobsCommand,
  types: typesCommand,
  show: showCommand,
  add: addCommand,
  set: setCommand,
  remove: (ctx, opts) => forEachJobCommand(ctx, opts, "remove"),
  enable: (ctx, opts) => forEachJobCommand(ctx, opts, "enable"),
  disable: (ctx, opts) => forEachJobCommand(ctx, opts, "disable"),
  export: exportCommand,
  import: importCommand,
  history: historyCommand,
  schedule: (ctx, opts) => scheduleCommand(ctx, opts.schedule!),
};

async function runJobsCommand(opts: JobsOptions): Promise<number> {
  const early = answerHelpOrVersion("cncopjobs", opts, HELP);
  if (early !== undefined) return early;
  const paths = resolvePaths(opts.config);
  const config = loadConfig(paths.configFile);
  // Each note is one line that may quote a title, a path or a database error: shown escaped.
  const stderr = (t: string) => void process.stderr.write(`${escapeControls(t.replace(/\n$/, ""))}\n`);
  for (const w of config.warnings) messages.warn(w);
  const ctx: AdminContext = { paths, config, stdout: (t) => void process.stdout.write(t), stderr };
  return COMMANDS[opts.command](ctx, opts);
}

export const main: ProgramMain = async (raw) => {
  // citty does not hand back a subcommand's result (unjs/citty#273): the action keeps it.
  let status: number | undefined;
  await runCommand(jobsCommand(async (opts) => (status = await runJobsCommand(opts))), { rawArgs: [...raw] });
  if (status === undefined) throw new Error("no subcommand ran");
  return status;
};
