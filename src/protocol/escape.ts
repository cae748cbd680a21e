// Text that came from peers (function names, client ids, unique keys, tags) shown to people and parsers:
// control characters become visible escapes, so such text can neither forge a line or a column nor drive
// the terminal that prints it.

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** C0 and C1 controls, DEL, line and paragraph separators and bidi overrides as `\xNN` / `\u{NNNN}`. */
export function escapeControls(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** True when `escapeControls` would change the text. */
export function hasControls(text: string): boolean {
  UNSAFE.lastIndex = 0;
  const found = UNSAFE.test(text);
  UNSAFE.lastIndex = 0;
  return found;
}
