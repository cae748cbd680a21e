// Wrong HTTP bearer tokens are logged, as the Gearman admin `auth` failures are, so an operator sees who is
// guessing. A guesser controls how often it tries, so the log must not grow with its tries: per peer, the
// first wrong token of a window is logged at once and the rest are counted and summed up in one line when
// the window ends. Peers are held in a bounded map; past it, new peers share one summary.

import type { Logger } from 'pino';
import type { Clock, TimerRef } from '../core/clock.js';
import { peerGroup } from '../peer-group.js';

export const AUTH_FAILURE_WINDOW_MS = 10_000;
/** Peers tracked at once; beyond them, failures from new peers are only counted (one summary line). */
export const AUTH_FAILURE_MAX_PEERS = 1000;

interface Window {
  since: number;
  suppressed: number;
  lastRoute: string;
  timer: TimerRef | null;
}

export interface AuthFailure {
  peer: string;
  method: string;
  /** The matched route's pattern, never the raw URL: bounded, and not text the peer chose. */
  route: string;
  tokenConfigured: boolean;
}

export class AuthFailureLog {
  readonly #peers = new Map<string, Window>();
  #overflow = 0;
  #overflowTimer: TimerRef | null = null;
  #lastPrune = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly windowMs = AUTH_FAILURE_WINDOW_MS,
    private readonly maxPeers = AUTH_FAILURE_MAX_PEERS,
  ) {}

  record(f: AuthFailure): void {
    const now = this.clock.now();
    // One IPv6 host may use a whole /64: counted per address, it could write a line per address.
    const key = peerGroup(f.peer);
    const w = this.#peers.get(key);
    if (w !== undefined && now - w.since < this.windowMs) {
      w.suppressed++;
      w.lastRoute = `${f.method} ${f.route}`;
      w.timer ??= this.clock.setTimer(w.since + this.windowMs - now, () => this.#summarize(key));
      return;
    }
    if (w !== undefined) {
      // Its summary timer is due but has not run yet: the count is written before the window restarts.
      if (w.suppressed > 0) this.#summarize(key);
      this.#forget(key, w);
    }
    this.#prune(now);
    if (this.#peers.size >= this.maxPeers) {
      this.#overflow++;
      this.#overflowTimer ??= this.clock.setTimer(this.windowMs, () => this.#summarizeOverflow());
      return;
    }
    this.#peers.set(key, { since: now, suppressed: 0, lastRoute: '', timer: null });
    this.log.warn({ peer: f.peer, method: f.method, route: f.route, tokenConfigured: f.tokenConfigured }, 'HTTP request refused: wrong bearer token');
  }

  /** Cancels the pending summaries (the server is closing). */
  close(): void {
    for (const w of this.#peers.values()) w.timer?.cancel();
    this.#peers.clear();
    this.#overflowTimer?.cancel();
    this.#overflowTimer = null;
  }

  /** `peer` is the group key: an IPv4 address, or an IPv6 /64 prefix. */
  #summarize(peer: string): void {
    const w = this.#peers.get(peer);
    if (w === undefined) return;
    w.timer?.cancel();
    w.timer = null;
    this.log.warn(
      { peer, suppressed: w.suppressed, windowMs: this.windowMs, lastRoute: w.lastRoute },
      'HTTP requests refused: more wrong bearer tokens from this peer (counted, not logged one by one)',
    );
    // A guesser still at it stays in one window after another: one line per window, not one per try.
    w.since = this.clock.now();
    w.suppressed = 0;
  }

  #summarizeOverflow(): void {
    this.#overflowTimer = null;
    this.log.warn(
      { suppressed: this.#overflow, windowMs: this.windowMs, trackedPeers: this.maxPeers },
      'HTTP requests refused: wrong bearer tokens from more peers than are tracked (counted, not logged one by one)',
    );
    this.#overflow = 0;
  }

  /** Drops peers whose window ended with nothing left to sum up. */
  #prune(now: number): void {
    // At most one sweep per window: a flood from many new peers must not sweep the whole map on each try.
    if (this.#peers.size < this.maxPeers || now - this.#lastPrune < this.windowMs) return;
    this.#lastPrune = now;
    for (const [peer, w] of this.#peers) {
      if (w.timer === null && now - w.since >= this.windowMs) this.#forget(peer, w);
    }
  }

  #forget(peer: string, w: Window): void {
    w.timer?.cancel();
    this.#peers.delete(peer);
  }
}
