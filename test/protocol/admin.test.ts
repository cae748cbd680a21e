// Admin text commands (README, Pointing existing clients at it): parsing, byte-exact error
// replies, reply shapes, and every admin line recorded from gearmand replayed through the parser.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { changesState, err, listing, OK, okValue, parseAdminLine, type AdminCommand } from '../../src/protocol/admin.js';
import { Decoder } from '../../src/protocol/decoder.js';
import { isText, loadVectors, streamsOf, textLines, type VectorPacket } from '../helpers/vectors.js';

const unknown = (word: string): AdminCommand => ({
  kind: 'invalid',
  reply: `ERR UNKNOWN_COMMAND Unknown+server+command${word}\r\n`,
});
const incomplete = (word: string): AdminCommand => ({
  kind: 'invalid',
  reply: `ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+${word}\r\n`,
});
const UNKNOWN_SHOW: AdminCommand = { kind: 'invalid', reply: 'ERR UNKNOWN_SHOW_ARGUMENTS\r\n' };
const UNKNOWN_ERROR: AdminCommand = { kind: 'invalid', reply: 'ERR UNKNOWN_ERROR\r\n' };

function table(cases: ReadonlyArray<readonly [string, AdminCommand]>): void {
  for (const [line, want] of cases) assert.deepEqual(parseAdminLine(line), want, JSON.stringify(line));
}

/** The line as the Decoder hands it over, from the bytes a client sends. */
function lineOf(wire: string): string {
  const frames = new Decoder({ maxFrameBytes: 1024, maxLineBytes: 1024 }).push(Buffer.from(wire));
  const [frame] = frames;
  assert.ok(frames.length === 1 && frame !== undefined && frame.magic === 'TEXT', JSON.stringify(wire));
  return frame.line;
}

describe('admin: parseAdminLine', () => {
  it('listing and value commands; command words ignore case; extra words are ignored', () => {
    table([
      ['status', { kind: 'status' }],
      ['STATUS', { kind: 'status' }],
      ['Status', { kind: 'status' }],
      ['status extra-arg', { kind: 'status' }],
      ['prioritystatus', { kind: 'prioritystatus' }],
      ['PriorityStatus x y', { kind: 'prioritystatus' }],
      ['workers', { kind: 'workers' }],
      ['WORKERS please', { kind: 'workers' }],
      ['version', { kind: 'version' }],
      ['VERSION 2', { kind: 'version' }],
      ['verbose', { kind: 'verbose' }],
      ['verbose DEBUG', { kind: 'verbose' }],
      ['getpid', { kind: 'getpid' }],
      ['GETPID now', { kind: 'getpid' }],
    ]);
  });

  it('the CR/LF variants a client may send reach the parser as the same line', () => {
    assert.deepEqual(parseAdminLine(lineOf('status\r\n')), { kind: 'status' });
    assert.deepEqual(parseAdminLine(lineOf('status\n')), { kind: 'status' });
    assert.deepEqual(parseAdminLine(lineOf('\r\n')), unknown(''));
  });

  it('show jobs / show unique jobs, and the show errors', () => {
    table([
      ['show jobs', { kind: 'showJobs' }],
      ['SHOW JOBS', { kind: 'showJobs' }],
      ['show unique jobs', { kind: 'showUniqueJobs' }],
      ['Show Unique Jobs', { kind: 'showUniqueJobs' }],
      ['show', unknown('show')],
      ['SHOW', unknown('SHOW')],
      ['show foo', UNKNOWN_SHOW],
      ['show jobs extra', UNKNOWN_SHOW],
      ['show unique', UNKNOWN_SHOW],
      ['show unique jobs extra', UNKNOWN_SHOW],
      ['show jobs unique', UNKNOWN_SHOW],
    ]);
  });

  it('cancel job HANDLE, and its three error forms', () => {
    table([
      ['cancel job H:vm:3', { kind: 'cancelJob', handle: 'H:vm:3' }],
      ['CANCEL JOB H:vm:3', { kind: 'cancelJob', handle: 'H:vm:3' }],
      ['cancel job h:VM:3', { kind: 'cancelJob', handle: 'h:VM:3' }],
      ['cancel   job   H:vm:4', { kind: 'cancelJob', handle: 'H:vm:4' }],
      // Fewer than three words falls through to "unknown command".
      ['cancel', unknown('cancel')],
      ['cancel job', unknown('cancel')],
      ['Cancel job', unknown('Cancel')],
      // Three or more words that are not exactly `cancel job HANDLE`.
      ['cancel foo bar', UNKNOWN_ERROR],
      ['cancel job H:vm:3 extra', UNKNOWN_ERROR],
    ]);
  });

  it("create function NAME, without gearmand's bare-LF truncation", () => {
    table([
      ['create function newfn', { kind: 'createFunction', name: 'newfn' }],
      ['CREATE FUNCTION NewFn', { kind: 'createFunction', name: 'NewFn' }],
      ['create', incomplete('create')],
      ['CREATE', incomplete('CREATE')],
      ['create function', incomplete('create')],
      ['create foo bar', incomplete('create')],
      ['create function a b', incomplete('create')],
    ]);
    // gearmand 1.1.20 creates `abcde` here [admin_commands]; Lazaret keeps the whole name.
    assert.deepEqual(parseAdminLine(lineOf('create function abcdef\n')), { kind: 'createFunction', name: 'abcdef' });
    assert.deepEqual(parseAdminLine(lineOf('create function abcdef\r\n')), { kind: 'createFunction', name: 'abcdef' });
  });

  it('drop function NAME', () => {
    table([
      ['drop function NEWFN', { kind: 'dropFunction', name: 'NEWFN' }],
      ['DROP Function aw', { kind: 'dropFunction', name: 'aw' }],
      ['drop', incomplete('drop')],
      ['drop function', incomplete('drop')],
      ['drop thing aw', incomplete('drop')],
      ['drop function aw extra', incomplete('drop')],
    ]);
  });

  it('maxqueue NAME [SIZE | HIGH NORMAL LOW], numbers read like atoi, negative meaning unlimited', () => {
    const mq = (h: number, n: number, l: number): AdminCommand => ({ kind: 'maxqueue', name: 'mq', limits: [h, n, l] });
    table([
      ['maxqueue', incomplete('maxqueue')],
      ['MAXQUEUE', incomplete('MAXQUEUE')],
      ['maxqueue mq', mq(0, 0, 0)],
      ['maxqueue mq 2', mq(2, 2, 2)],
      ['maxqueue mq 1', mq(1, 1, 1)],
      ['maxqueue mq 4 3 1', mq(4, 3, 1)],
      ['maxqueue mq -5', mq(0, 0, 0)],
      ['maxqueue mq 4 -3 1', mq(4, 0, 1)],
      // Two numbers: gearmand 1.1.20 text.cc copies only a lone number to every priority.
      ['maxqueue mq 1 0', mq(1, 0, 0)],
      ['maxqueue mq 5 7', mq(5, 7, 0)],
      ['maxqueue mq 4 3 1 9', mq(4, 3, 1)],
      ['maxqueue mq abc', mq(0, 0, 0)],
      ['maxqueue mq 12abc', mq(12, 12, 12)],
      ['maxqueue mq +3', mq(3, 3, 3)],
      ['maxqueue mq 99999999999', mq(0x7fffffff, 0x7fffffff, 0x7fffffff)],
      ['MaxQueue mq 2', mq(2, 2, 2)],
      ['maxqueue   mq   2', mq(2, 2, 2)],
    ]);
    // The name is taken as sent: matching it exactly is the server's business.
    assert.deepEqual(parseAdminLine('maxqueue MQ 3'), { kind: 'maxqueue', name: 'MQ', limits: [3, 3, 3] });
  });

  it('shutdown, shutdown graceful and auth TOKEN (Lazaret additions)', () => {
    table([
      ['shutdown', { kind: 'shutdown', graceful: false }],
      ['SHUTDOWN', { kind: 'shutdown', graceful: false }],
      ['shutdown graceful', { kind: 'shutdown', graceful: true }],
      ['Shutdown GRACEFUL', { kind: 'shutdown', graceful: true }],
      ['shutdown now', { kind: 'invalid', reply: 'ERR UNKNOWN_ARGS\r\n' }],
      ['shutdown graceful now', { kind: 'invalid', reply: 'ERR UNKNOWN_ARGS\r\n' }],
      ['auth s3cret', { kind: 'auth', token: 's3cret' }],
      ['AUTH MiXeD-Case', { kind: 'auth', token: 'MiXeD-Case' }],
      ['auth', incomplete('auth')],
      ['auth a b', incomplete('auth')],
    ]);
  });

  it('unknown commands: the first word glued to the text, empty for an empty line or a leading space', () => {
    table([
      ['bogus', unknown('bogus')],
      ['BoGuS with args', unknown('BoGuS')],
      ['', unknown('')],
      [' status', unknown('')],
      ['  status', unknown('')],
      // Tabs are not separators; echoed control characters are escaped.
      ['status\tx', unknown('status\\x09x')],
      ['jobs', unknown('jobs')],
    ]);
    const bogus = parseAdminLine('bogus');
    assert.ok(bogus.kind === 'invalid');
    assert.equal(bogus.reply, 'ERR UNKNOWN_COMMAND Unknown+server+commandbogus\r\n');
  });

  it('changesState: exactly the commands that need loopback or the admin token', () => {
    const state = ['cancel job H:1', 'create function f', 'drop function f', 'maxqueue f 1', 'shutdown'];
    state.push('shutdown graceful');
    const readOnly = ['status', 'prioritystatus', 'workers', 'version', 'verbose', 'getpid', 'show jobs'];
    readOnly.push('show unique jobs', 'auth t', 'bogus', 'maxqueue');
    for (const line of state) assert.equal(changesState(parseAdminLine(line)), true, line);
    for (const line of readOnly) assert.equal(changesState(parseAdminLine(line)), false, line);
  });
});

describe('admin: reply shapes', () => {
  it("OK, OK <value>, ERR <code> [text] with gearmand's mix of CRLF and LF", () => {
    assert.equal(OK, 'OK\r\n');
    assert.equal(okValue('1.1.20+ds'), 'OK 1.1.20+ds\n');
    assert.equal(okValue(8669), 'OK 8669\n');
    assert.equal(okValue('INFO'), 'OK INFO\n');
    assert.equal(err('UNKNOWN_JOB'), 'ERR UNKNOWN_JOB\r\n');
    assert.equal(err('UNKNOWN_SHOW_ARGUMENTS'), 'ERR UNKNOWN_SHOW_ARGUMENTS\r\n');
    assert.equal(err('there', 'are still connected workers or executing clients'), 'ERR there are still connected workers or executing clients\r\n');
    assert.equal(err('function', 'not found'), 'ERR function not found\r\n');
  });

  it('listing: LF after each line, then `.` and LF; empty lines kept', () => {
    assert.equal(listing([]), '.\n');
    assert.equal(listing(['reverse\t3\t1\t1', 'aw\t1\t0\t1']), 'reverse\t3\t1\t1\naw\t1\t0\t1\n.\n');
    assert.equal(listing(['', 'u-1', 'u-3', 'u-2']), '\nu-1\nu-3\nu-2\n.\n');
    assert.equal(listing(['']), '\n.\n');
  });

  it('rebuilds every recorded OK / OK <value> / listing reply byte for byte', () => {
    let checked = 0;
    for (const vf of loadVectors()) {
      for (const p of vf.packets.filter((q) => isText(q) && q.dir === 's2c')) {
        const text = Buffer.from(p.hex, 'hex').toString('utf8');
        const lines = textLines(p);
        let rebuilt: string;
        if (text === 'OK\r\n') rebuilt = OK;
        else if (text.startsWith('ERR ') && text.endsWith('\r\n')) {
          const body = text.slice(4, -2);
          const space = body.indexOf(' ');
          rebuilt = space === -1 ? err(body) : err(body.slice(0, space), body.slice(space + 1));
        } else if (lines.length === 1 && text.startsWith('OK ')) rebuilt = okValue(text.slice(3, -1));
        else {
          assert.equal(lines.at(-1), '.', `${vf.file} seq ${p.seq}: a listing ends with .`);
          rebuilt = listing(lines.slice(0, -1));
        }
        assert.equal(rebuilt, text, `${vf.file} seq ${p.seq}`);
        checked++;
      }
    }
    assert.ok(checked >= 80, `only ${checked} replies`);
  });
});

const LISTING_KINDS = new Set(['status', 'prioritystatus', 'workers', 'showJobs', 'showUniqueJobs']);
const STATIC_ERRORS = ['ERR UNKNOWN_COMMAND ', 'ERR UNKNOWN_SHOW_ARGUMENTS', 'ERR UNKNOWN_ERROR', 'ERR INVALID_ARGUMENTS '];

describe('admin: every recorded admin request', () => {
  it("parses to what gearmand answered (byte-exact for the parser's own errors)", () => {
    let checked = 0;
    for (const vf of loadVectors()) {
      for (const s of streamsOf(vf).filter((st) => st.dir === 'c2s')) {
        const requests = s.packets.filter(isText);
        if (requests.length === 0) continue;
        const replies = vf.packets.filter((p: VectorPacket) => isText(p) && p.dir === 's2c' && p.conn === s.conn);
        assert.equal(replies.length, requests.length, `${vf.file} conn ${s.conn}: one reply per request`);
        requests.forEach((req, i) => {
          const [line] = textLines(req);
          assert.ok(line !== undefined);
          const reply = Buffer.from(replies[i]!.hex, 'hex').toString('utf8');
          const at = `${vf.file} seq ${req.seq} ${JSON.stringify(line)} -> ${JSON.stringify(reply)}`;
          const cmd = parseAdminLine(line);
          if ((line.split(' ')[0] ?? '').toLowerCase() === 'shutdown') {
            // gearmand 1.1.20 has no shutdown command; Lazaret does.
            assert.equal(cmd.kind, 'shutdown', at);
          } else if (STATIC_ERRORS.some((e) => reply.startsWith(e))) {
            assert.deepEqual(cmd, { kind: 'invalid', reply }, at);
          } else {
            assert.notEqual(cmd.kind, 'invalid', at);
            assert.equal(LISTING_KINDS.has(cmd.kind), reply.endsWith('\n.\n') || reply === '.\n', `${at}: listing or not`);
          }
          checked++;
        });
      }
    }
    assert.ok(checked >= 60, `only ${checked} requests`);
  });
});
