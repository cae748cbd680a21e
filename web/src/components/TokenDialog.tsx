// Asked for when the API answers 401. The token lives in sessionStorage only: gone with the tab.

import { useEffect, useRef, useState } from 'preact/hooks';
import { onTokenNeeded, saveToken } from '../api.js';
import { Dialog } from './Dialog.js';

export function TokenDialog() {
  const [asking, setAsking] = useState<{ reason: string; resolve: (t: string | null) => void } | null>(null);
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    onTokenNeeded((reason) => new Promise((resolve) => setAsking({ reason, resolve })));
    return () => onTokenNeeded(null);
  }, []);
  useEffect(() => {
    if (asking) input.current?.focus();
  }, [asking]);

  const finish = (token: string | null): void => {
    if (token !== null) saveToken(token);
    asking?.resolve(token);
    setAsking(null);
  };
  return (
    <Dialog open={asking !== null} title="Admin token needed" onClose={() => finish(null)}>
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          const value = input.current?.value.trim() ?? '';
          if (value) finish(value);
        }}
      >
        <p class="dialog-body">
          {asking?.reason ?? ''}. The server listens beyond loopback, so it needs its admin token (<code>adminToken</code>). It is kept for this browser tab
          only.
        </p>
        <label>
          Token
          <input ref={input} type="password" name="token" autocomplete="current-password" required />
        </label>
        <div class="actions">
          <button type="button" onClick={() => finish(null)}>
            Cancel
          </button>
          <button type="submit" class="primary">
            Use token
          </button>
        </div>
      </form>
    </Dialog>
  );
}
