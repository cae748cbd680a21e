// The alert outbox: alertsAdd(), alertsList(), alertsUpdate(), alertsDelete().

import type { Database } from 'better-sqlite3';
import type { AlertRow, AlertUpdate, NewAlert } from '../types.js';
import { toAlert, type AlertRecord as Row } from '../narrow.js';

export interface AlertOperations {
  alertsAdd: (alerts: readonly NewAlert[]) => AlertRow[];
  alertsList: () => AlertRow[];
  alertsUpdate: (update: AlertUpdate) => boolean;
  alertsDelete: (ids: readonly number[]) => number;
}

export function prepareAlerts(db: Database): AlertOperations {
  const insert = db.prepare<[string, string, string, string, number, number], Row>(
    'INSERT INTO alerts (hook, event, delivery, body, created_at, next_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING *',
  );
  const list = db.prepare<[], Row>('SELECT * FROM alerts ORDER BY id');
  const update = db.prepare<[number, number, number | null, string | null, number]>(
    'UPDATE alerts SET attempts = ?, next_at = ?, failing_since = ?, last_error = ? WHERE id = ?',
  );
  const remove = db.prepare<[number]>('DELETE FROM alerts WHERE id = ?');
  const addAll = db.transaction((alerts: readonly NewAlert[]) =>
    alerts.map((a) => toAlert(insert.get(a.hook, a.event, a.delivery, a.body, a.createdAt, a.nextAt)!)),
  );
  const deleteAll = db.transaction((ids: readonly number[]) => ids.reduce((n, id) => n + remove.run(id).changes, 0));
  return {
    alertsAdd: (alerts) => (alerts.length === 0 ? [] : addAll.immediate(alerts)),
    alertsList: () => list.all().map(toAlert),
    alertsUpdate: (u) => update.run(u.attempts, u.nextAt, u.failingSince, u.lastError, u.id).changes > 0,
    alertsDelete: (ids) => (ids.length === 0 ? 0 : deleteAll.immediate(ids)),
  };
}
