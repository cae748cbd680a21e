// Admin text protocol: line -> command, and the byte-exact reply shapes of gearmand 1.1
// (README, Pointing existing clients at it).

import { escapeControls } from './escape.js';

export type AdminCommand =
  | { kind: 'status' }
  | { kind: 'prioritystatus' }
  | { kind: 'workers' }
  | { kind: 'version' }
  | { kind: 'verbose' }
  | { kind: 'getpid' }
  | { kind: 'showJobs' }
  | { kind: 'showUniqueJobs' }
  | { kind: 'cancelJob'; handle: string }
  | { kind: 'createFunction'; name: string }
  | { kind: 'dropFunction'; name: string }
  | { kind: 'maxqueue'; name: string; limits: [number, number, number] }
  | { kind: 'shutdown'; graceful: boolean }
  | { kind: 'auth'; token: string }
  | { kind: 'invalid'; reply: string };

export const OK = 'OK\r\n';
export const okValue = (value: string | number): string => `OK ${value}\n`;
export const err = (code: string, text?: string): string => (text === undefined ? `ERR ${code}\r\n` : `ERR ${code} ${text}\r\n`);
/** A listing: each line ends in LF, then the line `.`. */
export const listing = (lines: readonly string[]): string => (lines.length === 0 ? '.\n' : `${lines.join('\n')}\n.\n`);

/** Free text in an ERR line: words joined by `+` as gearmand does, controls escaped. */
export const plusEncode = (text: string): string => escapeControls(text).replaceAll(' ', '+');

const unknownCommand = (word: string): string => err('UNKNOWN_COMMAND', `Unknown+server+command${plusEncode(word)}`);
const incomplete = (word: string): string => err('INVALID_ARGUMENTS', `An+incomplete+set+of+arguments+was+sent+to+this+command+${plusEncode(word)}`);

/** gearmand's atoi with negatives meaning "unlimited" (0). */
function limitNumber(text: string | undefined): number {
  const n = Number.parseInt(text ?? '0', 10);
  return Number.isFinite(n) && n > 0 ? Math.min(n, 0x7fffffff) : 0;
}

export function parseAdminLine(line: string): AdminCommand {
  // Runs of spaces are one separator, but a leading space makes an empty first word.
  const words = line.split(/ +/);
  while (words.length > 1 && words[words.length - 1] === '') words.pop();
  const word = words[0] ?? '';
  switch (word.toLowerCase()) {
    case 'status':
      return { kind: 'status' };
    case 'prioritystatus':
      return { kind: 'prioritystatus' };
    case 'workers':
      return { kind: 'workers' };
    case 'version':
      return { kind: 'version' };
    case 'verbose':
      return { kind: 'verbose' };
    case 'getpid':
      return { kind: 'getpid' };
    case 'show': {
      if (words.length === 1) return { kind: 'invalid', reply: unknownCommand(word) };
      const rest = words
        .slice(1)
        .map((w) => w.toLowerCase())
        .join(' ');
      if (rest === 'jobs') return { kind: 'showJobs' };
      if (rest === 'unique jobs') return { kind: 'showUniqueJobs' };
      return { kind: 'invalid', reply: err('UNKNOWN_SHOW_ARGUMENTS') };
    }
    case 'cancel':
      if (words.length < 3) return { kind: 'invalid', reply: unknownCommand(word) };
      if (words.length > 3 || words[1]!.toLowerCase() !== 'job') return { kind: 'invalid', reply: err('UNKNOWN_ERROR') };
      return { kind: 'cancelJob', handle: words[2]! };
    case 'create':
      if (words.length !== 3 || words[1]!.toLowerCase() !== 'function') return { kind: 'invalid', reply: incomplete(word) };
      return { kind: 'createFunction', name: words[2]! };
    case 'drop':
      if (words.length !== 3 || words[1]!.toLowerCase() !== 'function') return { kind: 'invalid', reply: incomplete(word) };
      return { kind: 'dropFunction', name: words[2]! };
    case 'maxqueue': {
      if (words.length < 2) return { kind: 'invalid', reply: incomplete(word) };
      const name = words[1]!;
      const nums = words.slice(2);
      // gearmand 1.1.20 text.cc copies the number to every priority only when there is at most one;
      // with two, the missing LOW stays 0 (`maxqueue mq 1 0` is HIGH 1, NORMAL 0, LOW 0).
      const limits: [number, number, number] =
        nums.length >= 2
          ? [limitNumber(nums[0]), limitNumber(nums[1]), limitNumber(nums[2])]
          : [limitNumber(nums[0]), limitNumber(nums[0]), limitNumber(nums[0])];
      return { kind: 'maxqueue', name, limits };
    }
    case 'shutdown':
      if (words.length > 2 || (words.length === 2 && words[1]!.toLowerCase() !== 'graceful')) {
        return { kind: 'invalid', reply: err('UNKNOWN_ARGS') };
      }
      return { kind: 'shutdown', graceful: words.length === 2 };
    case 'auth':
      if (words.length !== 2) return { kind: 'invalid', reply: incomplete(word) };
      return { kind: 'auth', token: words[1]! };
    default:
      return { kind: 'invalid', reply: unknownCommand(word) };
  }
}

/** Commands that change server state: loopback or the admin token only (docs/security.md, Who can connect). */
export function changesState(cmd: AdminCommand): boolean {
  switch (cmd.kind) {
    case 'cancelJob':
    case 'createFunction':
    case 'dropFunction':
    case 'maxqueue':
    case 'shutdown':
      return true;
    default:
      return false;
  }
}
