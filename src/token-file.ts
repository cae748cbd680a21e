// Secrets read from a file (--token-file, LAZARET_*_FILE) rather than given on the command line, where
// every user of the host can read them in `ps`.

import { readFileSync } from 'node:fs';
import { ErrorCode, LazaretError } from './errors.js';

/** The file's content without the trailing newline an editor or `echo` leaves. */
export function readSecretFile(path: string, what = 'token'): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new LazaretError(ErrorCode.CONFIG_INVALID, `Cannot read the ${what} file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      hint: `the file holds the ${what} alone, on one line; readable by this user only (chmod 600)`,
    });
  }
  const value = text.replace(/[\r\n]+$/, '');
  if (value === '' || /[\r\n]/.test(value)) {
    throw new LazaretError(ErrorCode.CONFIG_INVALID, `The ${what} file ${path} must hold one non-empty line`);
  }
  return value;
}
