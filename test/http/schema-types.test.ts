// The types the dashboard and the CLI read are produced by the server's JSON schemas (http/shape.ts):
// checked at compile time (`npm run typecheck`), and here by running the file.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { QuarantineReason } from '../../src/domain.js';
import type { ExitReport, ProgramReport, SupervisorReport } from '../../src/supervisor/report.js';
import type {
  AttemptAnswer,
  FunctionAnswer,
  ImpactRowAnswer,
  JobAnswer,
  QuarantineEntryAnswer,
  QuarantineHistoryAnswer,
  QuarantineListAnswer,
  QuarantineSummaryAnswer,
  SupervisorAnswer,
  WorkerAnswer,
} from '../../src/http/schemas.js';
import type { FunctionStats, JobInfo, QuarantineEntry, QuarantineList, SupervisorInfo } from '../../web/src/types.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

const checks: true[] = [
  true satisfies Equal<JobAnswer['priority'], 'high' | 'normal' | 'low'>,
  true satisfies Equal<JobAnswer['state'], 'queued' | 'scheduled' | 'running' | 'completed' | 'failed' | 'expired' | 'quarantined'>,
  true satisfies Equal<JobAnswer['runAt'], string | null>,
  true satisfies Equal<
    JobAnswer['lives'],
    { life: number; end: string; detail: string | null; endedAt: string; endedBy: string; attempts: AttemptAnswer[] }[] | undefined
  >,
  true satisfies Equal<
    AttemptAnswer['evidence'],
    { pid?: number; exitCode?: number; signal?: string; stderr?: string; errorClass?: string; message?: string } | null
  >,
  true satisfies Equal<FunctionAnswer['queued'], { high: number; normal: number; low: number; total: number }>,
  true satisfies Equal<WorkerAnswer['pid'], number | null>,
  true satisfies Equal<ImpactRowAnswer['worstWaitMs'], number>,
  true satisfies Equal<QuarantineSummaryAnswer['reason'], QuarantineReason>,
  true satisfies Equal<QuarantineSummaryAnswer['detail'], string | null>,
  true satisfies Equal<QuarantineListAnswer['nextBeforeId'], number | null>,
  true satisfies Equal<QuarantineEntryAnswer['attemptList'], AttemptAnswer[]>,
  true satisfies Equal<QuarantineEntryAnswer['lives'], QuarantineHistoryAnswer['lives']>,
  true satisfies Equal<
    SupervisorAnswer['programs'][number]['lastExits'][number],
    { at: string; code: number | null; signal: string | null; pid?: number | null; stderr?: string; message?: string }
  >,
  true satisfies Equal<SupervisorAnswer['programs'][number]['recycled'], number>,
  true satisfies Equal<SupervisorAnswer['programs'][number]['pids'], number[] | undefined>,
  // What a supervisor sends (supervisor/report.ts) is what GET /api/supervisors answers, plus two fields.
  true satisfies Equal<ExitReport, SupervisorAnswer['programs'][number]['lastExits'][number]>,
  true satisfies Equal<ProgramReport, SupervisorAnswer['programs'][number]>,
  true satisfies Equal<SupervisorReport, Omit<SupervisorAnswer, 'reportedAt' | 'stale'>>,
  // The dashboard reads these very types.
  true satisfies Equal<JobInfo, JobAnswer>,
  true satisfies Equal<FunctionStats, FunctionAnswer>,
  true satisfies Equal<QuarantineEntry, QuarantineEntryAnswer>,
  true satisfies Equal<QuarantineList, QuarantineListAnswer>,
  true satisfies Equal<SupervisorInfo, SupervisorAnswer>,
];

test("the answers' types come from the JSON schemas, and the dashboard reads them", () => {
  assert.equal(checks.length, 24);
});
