import { useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { get, post } from '../api/http.ts';
import { useLiveBalances } from '../api/live.ts';
import type { CustomerBalances, CustomerDetail, UsageResponse } from '../api/types.ts';
import { ErrorNote, Table, fmtCredits, fmtMoney, fmtTime } from '../components/ui.tsx';
import { UsageChart } from '../components/UsageChart.tsx';

const DAY = 86_400_000;

export function CustomerPage() {
  const id = useParams().id ?? '';
  const qc = useQueryClient();
  const path = `/v1/customers/${encodeURIComponent(id)}`;
  const detail = useQuery({ queryKey: ['customer', id, 'detail'], queryFn: () => get<CustomerDetail>(path) });
  const balances = useQuery({ queryKey: ['customer', id, 'balances'], queryFn: () => get<CustomerBalances>(`${path}/balances`, { events: 20 }) });
  // The last 30 UTC days, today included: [from, to) on day boundaries, every day drawn even when empty.
  const to = Math.floor(Date.now() / DAY) * DAY + DAY;
  const days = Array.from({ length: 30 }, (_, i) => new Date(to - (30 - i) * DAY).toISOString());
  const usage = useQuery({
    queryKey: ['customer', id, 'usage', to],
    queryFn: () => get<UsageResponse>('/v1/usage', {
      customers: id, groupBy: 'feature', window: 'day', from: days[0], to: new Date(to).toISOString(), aggregations: 'sum_value,sum_credits',
    }),
  });
  const { live, connected } = useLiveBalances(id);
  const refund = useMutation({
    mutationFn: (reference: string) => post(`/v1/purchases/${reference}/refund`),
    onSettled: () => qc.invalidateQueries({ queryKey: ['customer', id] }),
  });

  const sub = detail.data?.subscription;
  const b = balances.data;

  return (
    <>
      <h1>Customer {id}</h1>
      <ErrorNote error={detail.error ?? balances.error} />
      {detail.data && (
        <section aria-labelledby="plan-h">
          <h2 id="plan-h">Plan and period</h2>
          {sub ? (
            <dl className="facts">
              <dt>Plan</dt><dd>{sub.plan}</dd>
              <dt>Status</dt><dd>{sub.status}</dd>
              <dt>Current period</dt><dd>{sub.currentPeriodStart ? `${fmtTime(sub.currentPeriodStart)} → ${fmtTime(sub.currentPeriodEnd)}` : 'one-off (no period)'}</dd>
              {sub.trialEndsAt && <><dt>Trial ends</dt><dd>{fmtTime(sub.trialEndsAt)}</dd></>}
            </dl>
          ) : <p>No plan attached.</p>}
          <p className="hint">Email: {detail.data.email ?? '—'} · Name: {detail.data.name ?? '—'}</p>
        </section>
      )}
      {b && (
        <>
          <section aria-labelledby="bal-h">
            <h2 id="bal-h">Balances <span className={`live ${connected ? 'on' : 'off'}`}>{connected ? 'live' : 'connecting…'}</span></h2>
            <Table caption="Balance per credit system" rows={b.balances} rowKey={(x) => x.creditSystem} empty="No credit system balances." columns={[
              { header: 'Credit system', cell: (x) => x.creditSystem },
              { header: 'Plan', cell: (x) => (x.unlimited ? 'unlimited' : fmtCredits(x.plan)) },
              { header: 'Purchased', cell: (x) => fmtCredits(x.purchased) },
              { header: 'Overage (this period)', cell: (x) => fmtCredits(x.overage) },
              { header: 'Total', cell: (x) => <output aria-label={`Balance of ${x.creditSystem}`} aria-live="polite">{x.unlimited ? 'unlimited' : fmtCredits(live[x.creditSystem] ?? x.total)}</output> },
            ]} />
          </section>
          <section aria-labelledby="grants-h">
            <h2 id="grants-h">Grants</h2>
            <Table caption="Grants" rows={b.grants} rowKey={(g) => g.id} columns={[
              { header: 'Credit system', cell: (g) => g.creditSystem },
              { header: 'Source', cell: (g) => g.source },
              { header: 'Granted', cell: (g) => fmtCredits(g.credits) },
              { header: 'Remaining', cell: (g) => fmtCredits(g.remaining) },
              { header: 'Granted at', cell: (g) => fmtTime(g.grantedAt) },
              { header: 'Expires', cell: (g) => fmtTime(g.expiresAt) },
            ]} />
          </section>
          <section aria-labelledby="purch-h">
            <h2 id="purch-h">Purchases</h2>
            <ErrorNote error={refund.error} />
            <Table caption="Purchases" rows={b.purchases} rowKey={(p) => p.id} columns={[
              { header: 'Pack', cell: (p) => p.pack },
              { header: 'Credits', cell: (p) => fmtCredits(p.credits) },
              { header: 'Amount', cell: (p) => fmtMoney(p.amount, p.currency) },
              { header: 'Status', cell: (p) => p.status },
              { header: 'Created', cell: (p) => fmtTime(p.createdAt) },
              { header: 'Actions', cell: (p) => p.status === 'completed' ? (
                <button type="button" className="danger" disabled={refund.isPending} aria-label={`Refund purchase ${p.id}`}
                  onClick={() => { if (window.confirm(`Refund ${p.pack}? Unspent credits are taken back.`)) refund.mutate(p.id); }}>Refund</button>
              ) : '—' },
            ]} />
          </section>
          <section aria-labelledby="ev-h">
            <h2 id="ev-h">Recent events</h2>
            <Table caption="Recent events" rows={b.recentEvents} rowKey={(e) => e.eventId} columns={[
              { header: 'Time', cell: (e) => fmtTime(e.eventTime) },
              { header: 'Feature', cell: (e) => e.feature },
              { header: 'Value', cell: (e) => fmtCredits(e.value) },
              { header: 'Credits', cell: (e) => fmtCredits(e.credits) },
              { header: 'From plan / purchased / overage', cell: (e) => `${fmtCredits(e.creditsPlan)} / ${fmtCredits(e.creditsPurchased)} / ${fmtCredits(e.creditsOverage)}` },
            ]} />
          </section>
        </>
      )}
      <section aria-labelledby="usage-h">
        <h2 id="usage-h">Usage per day and feature (last 30 days)</h2>
        <ErrorNote error={usage.error} />
        {usage.data && <UsageChart rows={usage.data.data} seriesOf={(r) => r.feature ?? 'all'} valueOf={(r) => r.sumValue ?? 0} fill={days} keyOf={(b) => b.slice(0, 10)} title={`Units used per day by ${id}, per feature`} />}
      </section>
    </>
  );
}
