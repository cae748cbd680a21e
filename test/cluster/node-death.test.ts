// Three `lazaret serve` processes on one PostgreSQL schema (cluster.leaseMs 2 s), workers on all three,
// background jobs submitted to all three under load; then one node is killed with SIGKILL. Its lease
// runs out, a peer rescues its jobs: none acknowledged is lost, each ends once (completed, or in
// quarantine), the attempts that were running on the dead node are charged `crashed`, and the time from
// the kill to its jobs running elsewhere is measured.

import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import { RawPeer } from '../helpers/gearman-client.js';
import { freshPostgres } from '../helpers/postgres.js';
import { eventually } from '../helpers/wait.js';
import { clusterConfig, type Delivery, type NodeProcess, startNode, submitBackground, worker } from './nodes.js';

const LEASE_MS = 2000;
const JOBS = 240;
const RUN_MS = 40;

interface NodeAnswer {
  name: string;
  expired: boolean;
  workers: Record<string, number>;
  epoch: number;
}

test('SIGKILL one of three nodes under load: nothing acknowledged is lost, its running attempts end as crashed, its jobs run elsewhere', async (t) => {
  const db = freshPostgres();
  t.after(() => db.cleanup());
  const config = await clusterConfig(t, {
    cluster: { leaseMs: LEASE_MS },
    // A crashed attempt is tried again soon: the figure measured is the rescue's, not the backoff's.
    policies: [{ match: '*', backoff: { type: 'fixed', base: 50, jitter: false } }],
  });
  const nodes: NodeProcess[] = [];
  for (const name of ['n1', 'n2', 'n3']) nodes.push(await startNode(t, db.schema, name, config, db));
  const [victim, ...survivors] = nodes as [NodeProcess, NodeProcess, NodeProcess];

  // Workers on every node; what each delivery was, and what the store said of the job's attempts when
  // a survivor got a job the victim had been running.
  const deliveries: Delivery[] = [];
  const runningOnVictim = new Set<string>();
  let killedAt = 0;
  const afterKill: { handle: string; at: number; attempts: { n: number; outcome: string | null; error: string | null }[] }[] = [];
  const peers: RawPeer[] = [];
  for (const node of nodes) {
    for (let i = 0; i < 2; i++) {
      peers.push(
        await worker(node, 'cl_job', async (job) => {
          deliveries.push(job);
          if (killedAt === 0 && node === victim) runningOnVictim.add(job.handle);
          if (killedAt !== 0 && node !== victim && runningOnVictim.has(job.handle)) {
            const attempts = await db.sql<{ n: number; outcome: string | null; error: string | null }>(
              'SELECT a.n, a.outcome, a.error FROM attempts a JOIN jobs j ON j.id = a.job_id WHERE j.handle = $1 ORDER BY a.n',
              [job.handle],
            );
            afterKill.push({ handle: job.handle, at: Date.now(), attempts });
          }
          // The victim's workers keep their first jobs until it dies, so its window holds jobs waiting
          // behind them however the machine's load paces the rest (the rescue must requeue those).
          if (node === victim) await new Promise(() => {});
          await delay(RUN_MS);
          return `done ${job.payload}`;
        }),
      );
    }
  }
  t.after(() => {
    for (const p of peers) p.close();
  });

  // Every node lists all three, with their workers, by the store's clock.
  await eventually(async () => {
    const res = (await (await fetch(`${survivors[0].httpUrl}/api/nodes`)).json()) as { nodes: NodeAnswer[] };
    return res.nodes.length === 3 && res.nodes.every((n) => n.workers.cl_job === 2 && !n.expired);
  }, 'all three nodes in /api/nodes with their workers');

  // Submissions to all three nodes, paced so the kill finds jobs running and jobs waiting everywhere.
  const clients = await Promise.all(nodes.map((n) => RawPeer.connect(n.port)));
  t.after(() => {
    for (const c of clients) c.close();
  });
  const acknowledged = new Set<string>();
  const submitting = (async () => {
    for (let i = 0; i < JOBS; i++) {
      const k = i % 3;
      // The victim takes no more once killed: its submissions fail, and only acknowledged ones count.
      const client = killedAt !== 0 && k === 0 ? clients[1 + (i % 2)]! : clients[k]!;
      try {
        acknowledged.add(await submitBackground(client, 'cl_job', `p${i}`));
      } catch {
        if (client !== clients[0]) throw new Error(`a survivor refused job p${i}`);
      }
      if (i % 10 === 9) await delay(5);
    }
  })();

  // Killed while it runs jobs and holds others waiting in its window.
  await eventually(async () => {
    if (acknowledged.size < JOBS / 3 || runningOnVictim.size === 0) return false;
    const [waiting] = await db.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM jobs j WHERE j.state = 'held' AND j.owner = 'n1'
       AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.job_id = j.id AND a.ended_at IS NULL)`,
    );
    return (waiting?.n ?? 0) > 0;
  }, 'the victim running jobs and holding more under load');
  killedAt = Date.now();
  victim.child.kill('SIGKILL');
  assert.equal((await victim.exited).signal, 'SIGKILL');
  // What the dead node held (running or waiting in its window): the store is the record.
  const held = new Set((await db.sql<{ handle: string }>("SELECT handle FROM jobs WHERE owner = 'n1'")).map((r) => r.handle));
  await submitting;

  // Every acknowledged job ends: completed (in outcomes) or quarantined; none left in the store.
  await eventually(
    async () => {
      const [left] = await db.sql<{ n: number }>('SELECT count(*)::int AS n FROM jobs');
      return left?.n === 0;
    },
    'every job finished',
    60_000,
  );
  const outcomes = await db.sql<{ handle: string; state: string; attempts: number }>('SELECT handle, state, attempts FROM outcomes');
  const quarantined = await db.sql<{ handle: string; reason: string }>('SELECT handle, reason FROM quarantine');
  const ended = new Map<string, string>();
  for (const o of outcomes) ended.set(o.handle, o.state);
  for (const q of quarantined) {
    assert.ok(!ended.has(q.handle), `${q.handle} both completed and quarantined`);
    ended.set(q.handle, `quarantined ${q.reason}`);
  }
  const lost = [...acknowledged].filter((h) => !ended.has(h));
  assert.deepEqual(lost, [], 'acknowledged jobs lost');
  assert.ok([...ended.values()].every((s) => s === 'completed' || s.startsWith('quarantined')));

  // A job ran more than once only when the victim had it running: every other ran exactly once.
  const runs = new Map<string, Delivery[]>();
  for (const d of deliveries) runs.set(d.handle, [...(runs.get(d.handle) ?? []), d]);
  for (const [handle, list] of runs) {
    if (list.length > 1) assert.equal(list[0]?.node, victim.name, `${handle} ran ${list.length} times: ${JSON.stringify(list)}`);
  }

  // The attempts the victim was running when it died: charged `crashed`, naming it, before a survivor's.
  const interrupted = [...runningOnVictim].filter((h) => !outcomes.some((o) => o.handle === h && o.attempts === 1));
  assert.ok(interrupted.length > 0, 'the kill interrupted running jobs');
  for (const handle of interrupted) {
    const seen = afterKill.find((a) => a.handle === handle);
    assert.ok(seen !== undefined, `${handle}, interrupted on the victim, ran on a survivor`);
    const crashed = seen.attempts.filter((a) => a.outcome === 'crashed');
    assert.equal(crashed.length, 1, JSON.stringify(seen.attempts));
    assert.match(crashed[0]!.error ?? '', /node n1 that was running the job stopped renewing its lease/);
    assert.equal(seen.attempts.at(-1)?.outcome, null, 'the survivor runs it as a new attempt');
  }

  // The dead node is gone from the listing once rescued.
  const listed = (await (await fetch(`${survivors[1].httpUrl}/api/nodes`)).json()) as { nodes: NodeAnswer[] };
  assert.deepEqual(listed.nodes.map((n) => n.name).sort(), ['n2', 'n3']);

  const rescues = survivors.flatMap((n) =>
    n
      .output()
      .split('\n')
      .filter((l) => l.includes('rescued the jobs of n1') && (JSON.parse(l) as { time: number }).time >= killedAt),
  );
  assert.equal(rescues.length, 1, 'one survivor rescued the victim, once');
  const rescue = JSON.parse(rescues[0]!) as { requeued: number; running: number };
  assert.ok(rescue.requeued > 0, "jobs waiting in the victim's window went back to the queue");
  const resumed = deliveries.filter((d) => d.node !== victim.name && held.has(d.handle)).map((d) => d.at - killedAt);
  assert.equal(new Set(deliveries.filter((d) => d.node !== victim.name && held.has(d.handle)).map((d) => d.handle)).size, held.size);
  const firstElsewhere = Math.min(...resumed);
  const lastElsewhere = Math.max(...resumed);
  t.diagnostic(
    `lease ${LEASE_MS} ms: SIGKILL to the dead node's ${held.size} jobs running on survivors: first ${firstElsewhere} ms, last ${lastElsewhere} ms (${interrupted.length} interrupted, ${rescue.requeued} requeued from its window; ${acknowledged.size} acknowledged, ${outcomes.length} completed, ${quarantined.length} quarantined)`,
  );
  assert.ok(lastElsewhere < LEASE_MS + 5000, `the dead node's jobs ran elsewhere within lease + 5 s (${lastElsewhere} ms)`);
});
