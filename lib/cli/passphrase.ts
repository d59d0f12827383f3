// The CLI's export passphrase and export files. The passphrase is read from CONSENTRY_EXPORT_PASSPHRASE
// here rather than in lib/env: it is one command's input, not the installation's configuration, and no
// server process should ever hold it. Without it, a terminal is asked (no echo); anything else is refused.
import fs from "node:fs";
import { AppError } from "@/lib/errors";

export async function readPassphrase({ confirm }: { confirm: boolean }): Promise<string> {
  // eslint-disable-next-line no-restricted-properties -- one command's secret input, not configuration (see above)
  const fromEnv = process.env.CONSENTRY_EXPORT_PASSPHRASE;
  if (fromEnv) return fromEnv;
  if (!process.stdin.isTTY)
    throw new AppError(
      "validation",
      "Set CONSENTRY_EXPORT_PASSPHRASE, or run the command in a terminal to be asked for the passphrase.",
    );
  const first = await ask("Passphrase (at least 12 characters): ");
  if (confirm && (await ask("Passphrase again: ")) !== first)
    throw new AppError("validation", "The two passphrases differ.");
  return first;
}

/** One line from the terminal, not echoed (raw mode; backspace edits, Ctrl-C and Ctrl-D cancel). */
function ask(prompt: string): Promise<string> {
  const stdin = process.stdin;
  // echo off before the prompt appears: what is typed after it is never shown
  stdin.setRawMode(true);
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let chars: string[] = [];
    const done = (err?: Error) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      if (err) reject(err);
      else resolve(chars.join(""));
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003" || ch === "\u0004") return done(new AppError("bad-request", "Cancelled."));
        if (ch === "\u007f" || ch === "\b") chars = chars.slice(0, -1);
        else if (ch >= " ") chars.push(ch);
      }
    };
    stdin.setEncoding("utf8");
    stdin.on("data", onData);
    stdin.resume();
  });
}

/** Writes a file only its owner can read: mode 0600 before any byte lands, also when it already existed. */
export function writePrivateFile(file: string, text: string) {
  const fd = fs.openSync(file, "w", 0o600);
  try {
    fs.fchmodSync(fd, 0o600);
    fs.writeFileSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
