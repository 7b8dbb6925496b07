import { useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { get } from '../api/http.ts';
import type { UsageResponse, UsageRow } from '../api/types.ts';
import { ErrorNote, Field, Select, Table, fmtCredits } from '../components/ui.tsx';
import { UsageChart } from '../components/UsageChart.tsx';

const GROUPS = ['feature', 'customer', 'creditSystem'] as const;
const METRICS = [
  { value: 'sumValue', agg: 'sum_value', label: 'units (sum of values)' },
  { value: 'sumCredits', agg: 'sum_credits', label: 'credits' },
  { value: 'count', agg: 'count', label: 'events' },
] as const;
type Metric = (typeof METRICS)[number]['value'];

interface Question { customers: string; features: string; from: string; to: string; window: string; groupBy: string[]; metric: Metric }

const isoDay = (d: Date) => d.toISOString().slice(0, 10);

function toCsv(rows: UsageRow[], groupBy: string[]): string {
  const cols = ['bucket', ...groupBy, 'sumValue', 'sumCredits', 'count'];
  const esc = (v: unknown) => { const s = v === undefined ? '' : String(v); return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; };
  return [cols.join(','), ...rows.map((r) => cols.map((c) => esc((r as Record<string, unknown>)[c])).join(','))].join('\n') + '\n';
}

export function UsagePage() {
  const today = new Date();
  const [form, setForm] = useState<Question>({
    customers: '', features: '', from: isoDay(new Date(today.getTime() - 7 * 86_400_000)), to: isoDay(new Date(today.getTime() + 86_400_000)),
    window: 'day', groupBy: ['feature'], metric: 'sumValue',
  });
  const [asked, setAsked] = useState<Question>(form);
  const qc = useQueryClient();
  const set = (p: Partial<Question>) => setForm((f) => ({ ...f, ...p }));
  const usage = useQuery({
    queryKey: ['usage', asked],
    queryFn: () => get<UsageResponse>('/v1/usage', {
      customers: asked.customers.trim() || undefined, features: asked.features.trim() || undefined,
      from: `${asked.from}T00:00:00Z`, to: `${asked.to}T00:00:00Z`, window: asked.window || undefined,
      groupBy: asked.groupBy.join(',') || undefined, aggregations: 'sum_value,sum_credits,count', limit: 10_000,
    }),
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    setAsked(form);
    void qc.invalidateQueries({ queryKey: ['usage'] }); // the same question asked again is answered afresh
  }

  function exportCsv() {
    const blob = new Blob([toCsv(usage.data?.data ?? [], asked.groupBy)], { type: 'text/csv' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `usage-${asked.from}-${asked.to}.csv`;
    a.click();
    URL.revokeObjectURL(a.href);
  }

  const series = (r: UsageRow) => asked.groupBy.map((g) => String((r as Record<string, unknown>)[g] ?? '')).join(' / ') || 'all';
  const metricOf = (r: UsageRow) => (r[asked.metric] as number | undefined) ?? 0;

  return (
    <>
      <h1>Usage explorer</h1>
      <form className="card" onSubmit={submit} aria-labelledby="usage-form">
        <h2 id="usage-form">Question</h2>
        <div className="row">
          <Field label="Customers (comma-separated)" value={form.customers} onChange={(customers) => set({ customers })} placeholder="all" />
          <Field label="Features (comma-separated)" value={form.features} onChange={(features) => set({ features })} placeholder="all" />
          <Field label="From" type="date" value={form.from} onChange={(from) => set({ from })} required />
          <Field label="To" type="date" value={form.to} onChange={(to) => set({ to })} required />
          <Select label="Window" value={form.window} onChange={(window) => set({ window })} options={[{ value: '', label: 'whole range' }, 'minute', 'hour', 'day', 'month']} />
          <Select label="Show" value={form.metric} onChange={(m) => set({ metric: m as Metric })} options={METRICS.map((m) => ({ value: m.value, label: m.label }))} />
        </div>
        <fieldset>
          <legend>Group by</legend>
          {GROUPS.map((g) => (
            <span className="check" key={g}>
              <input id={`group-${g}`} type="checkbox" checked={form.groupBy.includes(g)}
                onChange={(e) => set({ groupBy: e.target.checked ? [...form.groupBy, g] : form.groupBy.filter((x) => x !== g) })} />
              <label htmlFor={`group-${g}`}>{g}</label>
            </span>
          ))}
        </fieldset>
        <div className="actions">
          <button type="submit">Show usage</button>
          <button type="button" className="secondary" onClick={exportCsv} disabled={!usage.data?.data.length}>Export CSV</button>
        </div>
      </form>
      <ErrorNote error={usage.error} />
      {usage.data && (
        <>
          <UsageChart rows={usage.data.data} seriesOf={series} valueOf={metricOf} title={`Usage ${asked.from} to ${asked.to}${asked.window ? ` per ${asked.window}` : ''}`} />
          <Table caption="Usage rows" rows={usage.data.data} rowKey={(r) => `${r.bucket}|${series(r)}`} empty="No usage in this window." columns={[
            { header: 'Bucket', cell: (r) => r.bucket ?? 'whole range' },
            { header: 'Group', cell: series },
            { header: 'Units', cell: (r) => fmtCredits(r.sumValue ?? 0) },
            { header: 'Credits', cell: (r) => fmtCredits(r.sumCredits ?? 0) },
            { header: 'Events', cell: (r) => r.count ?? 0 },
          ]} />
          {usage.data.hasMore && <p className="hint">More rows than shown: narrow the question.</p>}
        </>
      )}
    </>
  );
}
