// A job's history as the HTTP API shows it: its earlier lives with every attempt, and the audit trail of
// who requeued, edited or purged it (docs/quarantine.md).

import { attemptView, iso } from '../core/handoff.js';
import type { HistoryEntry } from '../core/records.js';
import type { AuditAnswer, LifeAnswer } from './schemas.js';

/** As `historyProperties` in http/schemas.ts serialises it. */
export interface HistoryView {
  /** Lives that ended, oldest first; the current one is the job's own. */
  lives: LifeAnswer[];
  audit: AuditAnswer[];
}

export function historyView(entries: readonly HistoryEntry[]): HistoryView {
  const lives: HistoryView['lives'] = [];
  const audit: HistoryView['audit'] = [];
  for (const e of entries) {
    if (e.life !== null) {
      lives.push({
        life: lives.length + 1,
        end: e.life.end,
        detail: e.life.detail,
        endedAt: iso(e.life.endedAt)!,
        endedBy: e.action,
        attempts: e.life.attempts.map(attemptView),
      });
    }
    if (e.action !== 'finished') audit.push({ at: iso(e.at)!, action: e.action, actor: e.actor, client: e.client, peer: e.peer });
  }
  return { lives, audit };
}
