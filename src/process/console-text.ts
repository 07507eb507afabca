/**
 * Windows: a child's output as text. Console programs (cmd.exe, robocopy, sqlcmd) write in
 * the console's code page (the OEM one: 437, 850, 866, ... by the system's language), not
 * in UTF-8, and end lines with CRLF. So on Windows a child's bytes are decoded from that
 * code page, CRLF becomes LF, and the result goes on as UTF-8: the CA log, the JE excerpt
 * and the email are readable on a non-English server.
 *
 * Programs built on modern runtimes (the suite's own agents among them) write UTF-8
 * instead. Each stream is therefore judged by its first bytes outside ASCII: when they are
 * valid UTF-8 the stream is read as UTF-8 (code page text almost never is), else in the
 * console's code page.
 */
import type { OutputSink } from "./output-capture.ts";
import { OEM_UPPER_HALVES } from "./oem-code-pages.ts";

/** Code pages TextDecoder knows, by the label it knows them under. */
const DECODER_LABELS: Readonly<Record<number, string>> = {
  866: "ibm866",
  874: "windows-874",
  932: "shift_jis",
  936: "gbk",
  949: "euc-kr",
  950: "big5",
  1250: "windows-1250",
  1251: "windows-1251",
  1252: "windows-1252",
  1253: "windows-1253",
  1254: "windows-1254",
  1255: "windows-1255",
  1256: "windows-1256",
  1257: "windows-1257",
  1258: "windows-1258",
  20866: "koi8-r",
  21866: "koi8-u",
  28591: "iso-8859-1",
  28592: "iso-8859-2",
  28595: "iso-8859-5",
  28597: "iso-8859-7",
  28605: "iso-8859-15",
  54936: "gb18030",
  65001: "utf-8",
};

/** Turns chunks of bytes into text; `stream` keeps a character split between chunks. */
export interface ChunkDecoder {
  decode(bytes: Uint8Array, stream: boolean): string;
}

/** A decoder for a Windows code page; UTF-8 for one that is unknown. */
export function codePageDecoder(codePage: number | undefined): { decoder: ChunkDecoder; name: string } {
  const table = codePage === undefined ? undefined : OEM_UPPER_HALVES[codePage];
  if (table !== undefined) {
    return {
      name: `cp${codePage}`,
      decoder: {
        decode(bytes) {
          let s = "";
          for (const b of bytes) s += b < 0x80 ? String.fromCharCode(b) : table[b - 0x80];
          return s;
        },
      },
    };
  }
  const label = (codePage !== undefined && DECODER_LABELS[codePage]) || "utf-8";
  const td = new TextDecoder(label as ConstructorParameters<typeof TextDecoder>[0]);
  return { name: label, decoder: { decode: (bytes, stream) => td.decode(bytes, { stream }) } };
}

/** UTF-8 or the code page, decided by the first chunk that holds a byte outside ASCII. */
export function sniffingDecoder(codePage: number | undefined): ChunkDecoder & { readonly chosen: string | undefined } {
  let chosen: ChunkDecoder | undefined;
  let name: string | undefined;
  return {
    get chosen() {
      return name;
    },
    decode(bytes, stream) {
      if (!chosen) {
        if (bytes.every((b) => b < 0x80)) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
        let utf8 = true;
        try {
          new TextDecoder("utf-8", { fatal: true }).decode(bytes, { stream: true });
        } catch {
          utf8 = false;
        }
        const d = utf8 ? codePageDecoder(65001) : codePageDecoder(codePage);
        chosen = d.decoder;
        name = d.name;
      }
      return chosen.decode(bytes, stream);
    },
  };
}

/**
 * A sink that decodes from `codePage` (or UTF-8, see above) and normalises CRLF to LF before `sink` gets the
 * bytes (UTF-8). A CR at the end of a chunk waits for the next one: it may be half a CRLF.
 */
export function consoleTextSink(sink: OutputSink, codePage: number | undefined): OutputSink {
  const decoder = sniffingDecoder(codePage);
  const encoder = new TextEncoder();
  let pendingCr = false;
  const emit = (text: string) => {
    if (text !== "") sink.write(encoder.encode(text));
  };
  const normalise = (text: string, final: boolean): string => {
    let t = (pendingCr ? "\r" : "") + text;
    pendingCr = false;
    if (!final && t.endsWith("\r")) {
      pendingCr = true;
      t = t.slice(0, -1);
    }
    return t.replace(/\r\n/g, "\n");
  };
  return {
    write(chunk: Uint8Array) {
      emit(normalise(decoder.decode(chunk, true), false));
    },
    end() {
      emit(normalise(decoder.decode(new Uint8Array(0), false), true));
      sink.end();
    },
  } as OutputSink;
}
