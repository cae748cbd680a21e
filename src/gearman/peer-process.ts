// Finds the process at the other end of a TCP connection from this same host, as `ss -p` does: the
// peer's socket inode from /proc/net/tcp{,6} (its local port is our peer port), then the process that
// holds socket:[inode] among /proc/*/fd. Linux only; elsewhere, and for processes of other users
// (their fd links cannot be read), the answer is null. Lookups that arrive together share one scan.

import { readdir, readFile, readlink } from 'node:fs/promises';

export interface PeerProcess {
  pid: number;
  /** Its process group: a supervised copy's pid when the worker is that copy's child. */
  pgid: number | null;
}

interface Want {
  key: string;
  resolve: (found: PeerProcess | null) => void;
}

/** TCP_ESTABLISHED in /proc/net/tcp's `st` column. */
const ESTABLISHED = '01';

let queue: Want[] = [];
/** A scan is scheduled or running: one at a time, however fast workers connect. */
let busy = false;

/** The process on this host whose socket is connected from peerPort to our localPort. */
export function findPeerProcess(peerPort: number, localPort: number): Promise<PeerProcess | null> {
  if (process.platform !== 'linux' || peerPort === 0 || localPort === 0) return Promise.resolve(null);
  return new Promise((resolve) => {
    queue.push({ key: `${peerPort}:${localPort}`, resolve });
    if (busy) return;
    busy = true;
    setImmediate(() => void scan());
  });
}

async function scan(): Promise<void> {
  const batch = queue;
  queue = [];
  const found = new Map<string, PeerProcess | null>();
  try {
    const inodes = await socketInodes();
    const wanted = new Map<string, string>();
    for (const w of batch) {
      const inode = inodes.get(w.key);
      if (inode !== undefined) wanted.set(inode, w.key);
    }
    if (wanted.size > 0) {
      for (const [inode, pid] of await owners(new Set(wanted.keys()))) found.set(wanted.get(inode)!, { pid, pgid: await pgidOf(pid) });
    }
  } catch {
    // No /proc, or it changed under us: the peer stays unidentified.
  }
  for (const w of batch) w.resolve(found.get(w.key) ?? null);
  // Lookups that arrived during this scan share the next one.
  if (queue.length > 0) setImmediate(() => void scan());
  else busy = false;
}

/** `localPort:remotePort` of every established TCP socket -> its inode. */
async function socketInodes(): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== ESTABLISHED || f[9] === '0') continue;
      map.set(`${port(f[1]!)}:${port(f[2]!)}`, f[9]!);
    }
  }
  return map;
}

function port(hexEndpoint: string): number {
  return Number.parseInt(hexEndpoint.slice(hexEndpoint.lastIndexOf(':') + 1), 16);
}

/**
 * inode -> the process holding it. The newest processes are read first (a worker has usually just
 * started), so a loaded host with thousands of processes answers after a few directories, not all of
 * them; from the holder found, the parents that hold the same socket are climbed (a forking worker's
 * parent, before its children).
 */
async function owners(inodes: Set<string>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const pids = (await readdir('/proc'))
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .sort((a, b) => b - a);
  for (const pid of pids) {
    for (const inode of await socketsOf(pid)) {
      if (!inodes.has(inode) || out.has(inode)) continue;
      let holder = pid;
      for (let parent = await parentOf(holder); parent !== null && (await socketsOf(parent)).includes(inode); parent = await parentOf(parent)) {
        holder = parent;
      }
      out.set(inode, holder);
    }
    if (out.size === inodes.size) break;
  }
  return out;
}

/** The socket inodes among pid's open files (none when they cannot be read). */
async function socketsOf(pid: number): Promise<string[]> {
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  const links = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
  return links.filter((link) => link.startsWith('socket:[')).map((link) => link.slice(8, -1));
}

/** Fields 4 and 5 of /proc/PID/stat (after the command in parentheses): parent and process group. */
async function statOf(pid: number): Promise<{ ppid: number; pgid: number } | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const [, ppid, pgid] = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    return { ppid: ppid ?? 0, pgid: pgid ?? 0 };
  } catch {
    return null;
  }
}

async function parentOf(pid: number): Promise<number | null> {
  const ppid = (await statOf(pid))?.ppid ?? 0;
  return Number.isInteger(ppid) && ppid > 1 ? ppid : null;
}

/** The process group of pid. */
async function pgidOf(pid: number): Promise<number | null> {
  const pgid = (await statOf(pid))?.pgid ?? 0;
  return Number.isInteger(pgid) && pgid > 0 ? pgid : null;
}
