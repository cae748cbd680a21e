// The nodes sharing this node's store (several on PostgreSQL, this one alone on SQLite): where each
// listens, since when, how fresh its lease is, its workers and the jobs it holds. A node whose lease ran
// out and whose jobs no peer has rescued yet comes first, in red. Each cell holds one element: on a
// phone a row becomes a card whose cells are grids of label and value.

import { count, duration, since, time } from '../format.js';
import type { NodeInfo, NodeList } from '../types.js';
import { MIN_POLL_MS, useApi } from '../use-api.js';
import { Problem } from '../components/Problem.js';

function order(a: NodeInfo, b: NodeInfo): number {
  return Number(b.expired) - Number(a.expired) || a.name.localeCompare(b.name);
}

function Lease({ node }: { node: NodeInfo }) {
  if (node.expiresInMs === null) return <span class="muted">none: the store is this node's alone</span>;
  if (node.expired) {
    return (
      <div>
        <span class="bad">lease expired, jobs not yet rescued</span>
        <div class="muted small">
          renewed {duration(node.leaseAgeMs)} ago, expired {duration(-node.expiresInMs)} ago
        </div>
      </div>
    );
  }
  return (
    <div>
      renewed {duration(node.leaseAgeMs)} ago
      <div class="muted small">expires in {duration(node.expiresInMs)}</div>
    </div>
  );
}

/** The connected workers, each once, then per function (a worker of several functions counts in each). */
function Workers({ node }: { node: NodeInfo }) {
  const fns = Object.entries(node.workers).sort(([a], [b]) => a.localeCompare(b));
  return (
    <div>
      {count(node.workersTotal)}
      {fns.length > 0 ? <div class="muted small">{fns.map(([fn, n]) => `${fn} ${count(n)}`).join(' · ')}</div> : null}
    </div>
  );
}

function NodeTable({ list }: { list: NodeList }) {
  const expired = list.nodes.filter((n) => n.expired).length;
  return (
    <>
      <p data-testid="store">
        Store <code>{list.store}</code>, schema version <span class="num">{list.schemaVersion}</span>; {list.nodes.length} node
        {list.nodes.length === 1 ? '' : 's'}.
      </p>
      {expired > 0 ? (
        <p class="notice error" role="alert">
          {expired} node{expired === 1 ? "'s lease has" : "s' leases have"} expired: the jobs {expired === 1 ? 'it holds' : 'they hold'} wait for a peer to
          rescue them.
        </p>
      ) : null}
      <div class="table-wrap">
        <table class="list stack">
          <thead>
            <tr>
              <th scope="col">Node</th>
              <th scope="col">Addresses</th>
              <th scope="col">Version</th>
              <th scope="col">Up since</th>
              <th scope="col">Lease</th>
              <th scope="col" class="n">
                Workers
              </th>
              <th scope="col" class="n">
                Jobs held
              </th>
            </tr>
          </thead>
          <tbody>
            {[...list.nodes].sort(order).map((n) => (
              <tr key={n.name} class={n.expired ? 'row-bad' : ''} data-testid="node">
                <td data-label="Node">
                  <div>
                    {n.name}
                    {n.self ? <span class="muted small"> (this node)</span> : null}
                    <div class="muted small num">epoch {n.epoch}</div>
                  </div>
                </td>
                <td class="num" data-label="Addresses">
                  <div>
                    {n.gearman.map((g) => (
                      <div key={g}>gearman {g}</div>
                    ))}
                    {n.http ? (
                      <div>
                        <a href={n.http}>{n.http}</a>
                      </div>
                    ) : null}
                  </div>
                </td>
                <td class="num" data-label="Version">
                  {n.version}
                </td>
                <td class="num" data-label="Up since" title={time(n.startedAt)}>
                  {since(n.startedAt)}
                </td>
                <td data-label="Lease">
                  <Lease node={n} />
                </td>
                <td class="num n" data-label="Workers">
                  <Workers node={n} />
                </td>
                <td class="num n" data-label="Jobs held">
                  {count(n.jobsHeld)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

export function Nodes() {
  const nodes = useApi<NodeList>('/api/nodes', { everyMs: MIN_POLL_MS });
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Nodes</h1>
      <Problem error={nodes.error} what="The store's nodes" />
      {nodes.data ? <NodeTable list={nodes.data} /> : null}
    </section>
  );
}
