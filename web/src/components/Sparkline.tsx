// A small area chart in plain SVG: one series, fixed height so the page never jumps as data arrives.

interface Props {
  values: number[];
  label: string;
  /** Shown beside the label, e.g. the latest value formatted. */
  current: string;
  tone?: 'queue' | 'throughput';
}

const W = 120;
const H = 32;

export function Sparkline({ values: given, label, current, tone = 'queue' }: Props) {
  // A single value (no history yet) is drawn as a level line rather than "no samples".
  const values = given.length === 1 ? [given[0]!, given[0]!] : given;
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? W / (values.length - 1) : W;
  const pts = values.map((v, i) => `${(i * step).toFixed(1)},${(H - (v / max) * (H - 2) - 1).toFixed(1)}`);
  const line = pts.length > 1 ? `M${pts.join(' L')}` : '';
  const area = line ? `${line} L${W},${H} L0,${H} Z` : '';
  return (
    <figure class={`spark spark-${tone}`}>
      <figcaption>
        <span>{label}</span>
        <span class="num">{current}</span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label={`${label}, last hour, peak ${max}`}>
        {area ? <path class="area" d={area} /> : null}
        {line ? (
          <path class="line" d={line} vector-effect="non-scaling-stroke" />
        ) : (
          <text x="4" y={H / 2 + 4}>
            no samples yet
          </text>
        )}
      </svg>
    </figure>
  );
}
