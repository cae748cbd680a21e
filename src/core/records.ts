// The records the engine hands out (jobs kept after they finished, quarantine entries, their history):
// the store's row types, re-exported so that the doors (gearman/, http/) read them from the engine's
// layer and never import storage/ (docs/architecture.md, "Layers").

export type { AttemptRow, HistoryEntry, OutcomeRow, QuarantineFilter, QuarantineRow, QuarantineSummary, StoredJob } from '../storage/types.js';
