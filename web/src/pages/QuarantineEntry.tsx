// One quarantined job: what it was, why it is here, every attempt with its evidence, and what to do.

import { useMemo, useState } from 'preact/hooks';
import { api } from '../api.js';
import { time } from '../format.js';
import { asText, decodeBase64, encodeBase64 } from '../payload.js';
import { href } from '../router.js';
import type { QuarantineEntry as Entry, Requeued } from '../types.js';
import { useApi } from '../use-api.js';
import { Attempts } from '../components/Attempts.js';
import { ConfirmButton } from '../components/ConfirmButton.js';
import { History } from '../components/History.js';
import { PayloadView } from '../components/PayloadView.js';
import { Problem } from '../components/Problem.js';

type Done = { kind: 'requeued'; handle: string } | { kind: 'purged' } | { kind: 'error'; text: string };

function EditAndRequeue({ entry, bytes, onDone }: { entry: Entry; bytes: Uint8Array; onDone: (d: Done) => void }) {
  const original = useMemo(() => asText(bytes), [bytes]);
  // Binary payloads are edited as base64, text as text.
  const asBase64 = original === null;
  const [value, setValue] = useState(() => original ?? encodeBase64(bytes));
  const [open, setOpen] = useState(false);
  const save = async (): Promise<void> => {
    try {
      const payloadBase64 = asBase64 ? value.replace(/\s+/g, '') : encodeBase64(new TextEncoder().encode(value));
      const res = await api<Requeued>(`/api/quarantine/${entry.id}/payload`, { method: 'PUT', body: { payloadBase64 } });
      onDone({ kind: 'requeued', handle: res.requeued[0]?.handle ?? entry.handle });
    } catch (e) {
      onDone({ kind: 'error', text: `Edit failed: ${(e as Error).message}` });
    }
  };
  if (!open) {
    return (
      <button type="button" onClick={() => setOpen(true)}>
        Edit payload and requeue…
      </button>
    );
  }
  return (
    <form
      class="edit"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <label>
        New payload {asBase64 ? '(binary: edit as base64)' : '(text)'}
        <textarea rows={8} value={value} onInput={(e) => setValue(e.currentTarget.value)} spellcheck={false} />
      </label>
      <div class="actions">
        <button type="button" onClick={() => setOpen(false)}>
          Cancel
        </button>
        <button type="submit" class="primary">
          Save and requeue
        </button>
      </div>
    </form>
  );
}

export function QuarantineEntry({ id }: { id: string }) {
  const entry = useApi<Entry>(`/api/quarantine/${encodeURIComponent(id)}`);
  const [done, setDone] = useState<Done | null>(null);
  const e = entry.data;
  const bytes = useMemo(() => (e ? decodeBase64(e.payloadBase64) : new Uint8Array()), [e]);

  const requeue = async (): Promise<void> => {
    try {
      const res = await api<Requeued>('/api/quarantine/requeue', { method: 'POST', body: { ids: [Number(id)] } });
      setDone(
        res.requeued.length
          ? { kind: 'requeued', handle: res.requeued[0]!.handle }
          : { kind: 'error', text: 'Nothing was requeued: the job has left quarantine.' },
      );
    } catch (err) {
      setDone({ kind: 'error', text: `Requeue failed: ${(err as Error).message}` });
    }
  };
  const purge = async (): Promise<void> => {
    try {
      await api(`/api/quarantine/${encodeURIComponent(id)}`, { method: 'DELETE' });
      setDone({ kind: 'purged' });
    } catch (err) {
      setDone({ kind: 'error', text: `Purge failed: ${(err as Error).message}` });
    }
  };

  return (
    <section aria-labelledby="page-title">
      <p class="crumbs">
        <a href={href('quarantine')}>← Quarantine</a>
      </p>
      <h1 id="page-title">
        Quarantined job {id} {e ? <span class="muted">· {e.function}</span> : null}
      </h1>
      {done?.kind === 'requeued' ? (
        <p class="notice success" role="status" data-testid="done">
          Requeued as <a href={href('jobs', [done.handle])}>{done.handle}</a> with a fresh attempt budget.
        </p>
      ) : null}
      {done?.kind === 'purged' ? (
        <p class="notice success" role="status" data-testid="done">
          Purged for good.
        </p>
      ) : null}
      {done?.kind === 'error' ? (
        <p class="notice error" role="alert">
          {done.text}
        </p>
      ) : null}
      <Problem error={entry.error} what="This quarantine entry" gone={`No job ${id} in quarantine: it was requeued or purged.`} />
      {e && !done ? (
        <>
          <dl class="facts">
            <dt>Reason</dt>
            <dd>
              <span class={`reason reason-${e.reason}`}>{e.reason}</span> {e.detail}
            </dd>
            <dt>Handle</dt>
            <dd class="num">{e.handle}</dd>
            <dt>Unique key</dt>
            <dd>{e.unique || '—'}</dd>
            <dt>Priority</dt>
            <dd>{e.priority}</dd>
            <dt>Submitted</dt>
            <dd class="num">{time(e.submittedAt)}</dd>
            <dt>Quarantined</dt>
            <dd class="num">{time(e.quarantinedAt)}</dd>
            <dt>Deadline</dt>
            <dd class="num">{time(e.deadline)}</dd>
          </dl>
          <div class="toolbar" role="group" aria-label="Actions">
            <ConfirmButton
              label="Requeue"
              question={
                <p>
                  Send job {e.id} back to {e.function} with a fresh attempt budget?
                </p>
              }
              onConfirm={requeue}
            />
            <EditAndRequeue entry={e} bytes={bytes} onDone={setDone} />
            <ConfirmButton label="Purge" danger question={<p>Delete job {e.id} and its attempts for good? This cannot be undone.</p>} onConfirm={purge} />
          </div>
          <h2>Payload</h2>
          <PayloadView bytes={bytes} />
          <Attempts list={e.attemptList} caption={e.lives.length > 0 ? 'Attempts of this life' : 'Attempts'} />
          <History lives={e.lives} audit={e.audit} />
        </>
      ) : null}
    </section>
  );
}
