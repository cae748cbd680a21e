// The dead-letter queue: filter, pick, requeue or purge — one job or many, always after a confirmation.

import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { bytes, parseSpan, since as ago } from '../format.js';
import { href, replaceParams } from '../router.js';
import { REASONS, type FunctionStats, type Purged, type QuarantineList, type QuarantineSummary, type Requeued } from '../types.js';
import { useApi } from '../use-api.js';
import { ConfirmButton } from '../components/ConfirmButton.js';
import { Problem } from '../components/Problem.js';

const SPANS = ['', '15m', '1h', '6h', '24h', '7d', '30d'];
const PAGE = 100;

interface Filter {
  function?: string;
  reason?: string;
  since?: string;
}

function filterFrom(params: URLSearchParams, now: number): Filter {
  const span = parseSpan(params.get('since') ?? '');
  const f: Filter = {};
  if (params.get('function')) f.function = params.get('function')!;
  if (params.get('reason')) f.reason = params.get('reason')!;
  if (span !== null) f.since = new Date(now - span).toISOString();
  return f;
}

function Filters({ params, functions }: { params: URLSearchParams; functions: string[] }) {
  const set = (key: string, value: string): void => {
    const next = Object.fromEntries(params);
    next[key] = value;
    replaceParams(next);
  };
  return (
    <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
      <label>
        Function
        <input list="fn-names" value={params.get('function') ?? ''} onChange={(e) => set('function', e.currentTarget.value.trim())} placeholder="any" />
        <datalist id="fn-names">
          {functions.map((n) => (
            <option key={n} value={n} />
          ))}
        </datalist>
      </label>
      <label>
        Reason
        <select value={params.get('reason') ?? ''} onChange={(e) => set('reason', e.currentTarget.value)}>
          <option value="">any</option>
          {REASONS.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </label>
      <label>
        Quarantined in the last
        <select value={params.get('since') ?? ''} onChange={(e) => set('since', e.currentTarget.value)}>
          {SPANS.map((s) => (
            <option key={s} value={s}>
              {s || 'any time'}
            </option>
          ))}
        </select>
      </label>
    </form>
  );
}

function describe(filter: Filter): string {
  const parts = [
    filter.function && `function ${filter.function}`,
    filter.reason && `reason ${filter.reason}`,
    filter.since && `since ${new Date(filter.since).toLocaleString()}`,
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'no filter: the whole quarantine';
}

export function Quarantine({ params }: { params: URLSearchParams }) {
  const [tick, setTick] = useState(0);
  const key = params.toString();
  const filter = useMemo(() => filterFrom(params, Date.now()), [key, tick]);
  const list = useApi<QuarantineList>(`/api/quarantine${query({ ...filter, limit: PAGE })}`);
  const fns = useApi<{ functions: FunctionStats[] }>('/api/functions');
  const [more, setMore] = useState<QuarantineSummary[]>([]);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [message, setMessage] = useState<{ text: string; error?: boolean } | null>(null);

  useEffect(() => {
    setMore([]);
    setSelected(new Set());
  }, [key]);

  const entries = [...(list.data?.entries ?? []), ...more];
  const nextBeforeId = more.length ? (more.length % PAGE === 0 ? more.at(-1)!.id : null) : (list.data?.nextBeforeId ?? null);
  const total = list.data?.total ?? 0;
  const refresh = (): void => {
    setMore([]);
    setSelected(new Set());
    // A new tick moves a relative "since" up to now; reload covers an unchanged query.
    setTick((n) => n + 1);
    list.reload();
  };
  const loadMore = async (): Promise<void> => {
    if (nextBeforeId === null) return;
    const page = await api<QuarantineList>(`/api/quarantine${query({ ...filter, limit: PAGE, beforeId: nextBeforeId })}`);
    setMore((m) => [...m, ...page.entries]);
  };
  const act = async (what: 'requeue' | 'purge', body: object): Promise<void> => {
    try {
      const res = await api<Partial<Requeued & Purged>>(`/api/quarantine/${what}`, { method: 'POST', body });
      const n = what === 'requeue' ? (res.requeued?.length ?? 0) : (res.purged ?? 0);
      setMessage({ text: `${what === 'requeue' ? 'Requeued' : 'Purged'} ${n} job${n === 1 ? '' : 's'}.` });
    } catch (e) {
      setMessage({ text: `${what} failed: ${(e as Error).message}`, error: true });
    }
    refresh();
  };
  const toggle = (id: number): void => {
    const s = new Set(selected);
    if (s.has(id)) s.delete(id);
    else s.add(id);
    setSelected(s);
  };
  const allFilter = Object.keys(filter).length ? filter : { all: true };
  const ids = [...selected];

  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Quarantine</h1>
      <Filters params={params} functions={fns.data?.functions.map((f) => f.name) ?? []} />
      <div class="toolbar" role="group" aria-label="Actions">
        <span class="num" aria-live="polite">
          {list.data ? `${entries.length} of ${total} shown, ${ids.length} selected` : '\u00a0'}
        </span>
        <button type="button" onClick={refresh}>
          Refresh
        </button>
        <ConfirmButton
          label="Requeue selected"
          disabled={!ids.length}
          question={<p>Requeue {ids.length} selected job(s) with a fresh attempt budget?</p>}
          onConfirm={() => act('requeue', { ids })}
        />
        <ConfirmButton
          label="Purge selected"
          danger
          disabled={!ids.length}
          question={<p>Delete {ids.length} selected job(s) for good? This cannot be undone.</p>}
          onConfirm={() => act('purge', { ids })}
        />
        <ConfirmButton
          label={`Requeue all ${total}`}
          disabled={!total}
          question={
            <p>
              Requeue every job matching {describe(filter)} ({total} now)?
            </p>
          }
          onConfirm={() => act('requeue', allFilter)}
        />
        <ConfirmButton
          label={`Purge all ${total}`}
          danger
          disabled={!total}
          question={
            <p>
              Delete every job matching {describe(filter)} ({total} now) for good? This cannot be undone.
            </p>
          }
          onConfirm={() => act('purge', allFilter)}
        />
      </div>
      {message ? (
        <p class={`notice ${message.error ? 'error' : 'success'}`} role="status">
          {message.text}
        </p>
      ) : null}
      <Problem error={list.error} what="Quarantine" />
      <div class="table-wrap">
        <table class="list stack">
          <thead>
            <tr>
              <th scope="col">
                <input
                  type="checkbox"
                  aria-label="Select all shown"
                  checked={entries.length > 0 && selected.size === entries.length}
                  onChange={(e) => setSelected(e.currentTarget.checked ? new Set(entries.map((x) => x.id)) : new Set())}
                />
              </th>
              <th scope="col">Id</th>
              <th scope="col">Function</th>
              <th scope="col">Reason</th>
              <th scope="col">Detail</th>
              <th scope="col" class="n">
                Attempts
              </th>
              <th scope="col" class="n">
                Payload
              </th>
              <th scope="col">Quarantined</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.id} data-testid="quarantine-row">
                <td data-label="Select">
                  <input type="checkbox" aria-label={`Select job ${e.id}`} checked={selected.has(e.id)} onChange={() => toggle(e.id)} />
                </td>
                <td class="num" data-label="Id">
                  <a href={href('quarantine', [e.id])}>{e.id}</a>
                </td>
                <td data-label="Function">{e.function}</td>
                <td data-label="Reason">
                  <span class={`reason reason-${e.reason}`}>{e.reason}</span>
                </td>
                <td class="detail" data-label="Detail">
                  {e.detail}
                </td>
                <td class="num n" data-label="Attempts">
                  {e.attempts}
                </td>
                <td class="num n" data-label="Payload">
                  {bytes(e.payloadBytes)}
                </td>
                <td class="num" data-label="Quarantined" title={e.quarantinedAt}>
                  {ago(e.quarantinedAt)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {list.data && entries.length === 0 ? <p class="muted">Nothing in quarantine{Object.keys(filter).length ? ' matches these filters' : ''}.</p> : null}
      {nextBeforeId !== null ? (
        <button type="button" onClick={() => void loadMore()}>
          Load {PAGE} more
        </button>
      ) : null}
    </section>
  );
}
