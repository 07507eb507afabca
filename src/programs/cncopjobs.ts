import { notImplemented } from "../core/program.ts";

export const main = notImplemented("cncopjobs");
