// A payload shown as JSON, text or hex; the operator can switch, the best fit is chosen first.

import { useMemo, useState } from 'preact/hooks';
import { asJson, asText, bestView, hexDump, type PayloadView as View } from '../payload.js';

export function PayloadView({ bytes, label = 'Payload' }: { bytes: Uint8Array; label?: string }) {
  const text = useMemo(() => asText(bytes), [bytes]);
  const json = useMemo(() => asJson(text), [text]);
  const [view, setView] = useState<View>(() => bestView(bytes));
  const shown = view === 'json' ? json : view === 'text' ? text : hexDump(bytes);
  const views: [View, string, boolean][] = [
    ['json', 'JSON', json !== null],
    ['text', 'Text', text !== null],
    ['hex', 'Hex', true],
  ];
  return (
    <div class="payload">
      <div class="tabs" role="radiogroup" aria-label={`${label} view`}>
        {views.map(([v, name, ok]) => (
          <label key={v} class={view === v ? 'on' : ''}>
            <input type="radio" name={`${label}-view`} value={v} checked={view === v} disabled={!ok} onChange={() => setView(v)} />
            {name}
          </label>
        ))}
        <span class="muted num">{bytes.length} bytes</span>
      </div>
      <pre class={`payload-body ${view === 'hex' ? 'payload-hex' : ''}`} data-testid="payload" tabIndex={0} aria-label={label}>
        {shown ?? ''}
      </pre>
    </div>
  );
}
