// Destructive or bulk actions ask first, saying exactly what will happen.

import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { Dialog } from './Dialog.js';

interface Props {
  label: string;
  question: ComponentChildren;
  confirmLabel?: string;
  danger?: boolean;
  disabled?: boolean;
  onConfirm: () => void | Promise<void>;
}

export function ConfirmButton({ label, question, confirmLabel = label, danger = false, disabled = false, onConfirm }: Props) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const confirm = async (): Promise<void> => {
    setBusy(true);
    try {
      await onConfirm();
    } finally {
      setBusy(false);
      setOpen(false);
    }
  };
  return (
    <>
      <button type="button" class={danger ? 'danger' : ''} disabled={disabled} onClick={() => setOpen(true)}>
        {label}
      </button>
      <Dialog open={open} title={`${label}?`} onClose={() => setOpen(false)}>
        <div class="dialog-body">{question}</div>
        <div class="actions">
          <button type="button" onClick={() => setOpen(false)} disabled={busy}>
            Cancel
          </button>
          <button type="button" class={danger ? 'danger primary' : 'primary'} onClick={() => void confirm()} disabled={busy} autofocus>
            {busy ? 'Working…' : confirmLabel}
          </button>
        </div>
      </Dialog>
    </>
  );
}
