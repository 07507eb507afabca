/** A paint that shows where the colour scheme is applied and with which style: `<warn>x</warn>`. */
import type { Paint } from "../../src/format/terminal.ts";

export const markedPaint: Paint = (style, text) => (style === "plain" ? text : `<${style}>${text}</${style}>`);
