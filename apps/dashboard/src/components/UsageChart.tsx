import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { UsageRow } from '../api/types.ts';

const COLORS = ['#2563eb', '#db2777', '#059669', '#d97706', '#7c3aed', '#0891b2', '#dc2626', '#4b5563'];

const minuteKey = (bucket: string) => bucket.slice(0, 16).replace('T', ' ');

/**
 * Stacked bars: one bar per bucket, one segment per series (e.g. feature). `fill` lists buckets to show even
 * when empty (the days of a window), `keyOf` how a bucket is labelled (default: to the minute).
 */
export function UsageChart(props: {
  rows: UsageRow[]; seriesOf: (r: UsageRow) => string; valueOf: (r: UsageRow) => number; title: string;
  fill?: string[]; keyOf?: (bucket: string) => string;
}) {
  const keyOf = props.keyOf ?? minuteKey;
  const buckets = new Map<string, Record<string, number | string>>();
  const series = new Set<string>();
  if (props.rows.length > 0) for (const b of props.fill ?? []) buckets.set(keyOf(b), { bucket: keyOf(b) });
  for (const r of props.rows) {
    const bucket = r.bucket ? keyOf(r.bucket) : 'all';
    const s = props.seriesOf(r);
    series.add(s);
    const row = buckets.get(bucket) ?? { bucket };
    row[s] = ((row[s] as number | undefined) ?? 0) + props.valueOf(r);
    buckets.set(bucket, row);
  }
  const data = [...buckets.values()].sort((a, b) => String(a.bucket).localeCompare(String(b.bucket)));
  if (data.length === 0) return <p className="empty">No usage in this window.</p>;
  return (
    <figure className="chart" aria-label={props.title}>
      <ResponsiveContainer width="100%" height={260}>
        <BarChart data={data}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="bucket" fontSize={12} />
          <YAxis fontSize={12} />
          <Tooltip />
          <Legend />
          {[...series].map((s, i) => <Bar key={s} dataKey={s} stackId="a" fill={COLORS[i % COLORS.length]} isAnimationActive={false} />)}
        </BarChart>
      </ResponsiveContainer>
      <figcaption>{props.title}</figcaption>
    </figure>
  );
}
