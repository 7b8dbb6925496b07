import { useState } from 'react';
import { Link } from 'react-router';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { get, post } from '../api/http.ts';
import type { Page, PurchaseView } from '../api/types.ts';
import { ErrorNote, Field, Pager, Select, Table, fmtCredits, fmtMoney, fmtTime } from '../components/ui.tsx';

const STATUSES = ['', 'pending', 'charging', 'awaiting_payment', 'paid', 'completed', 'failed', 'refunded', 'expired'];

export function PurchasesPage() {
  const qc = useQueryClient();
  const [customer, setCustomer] = useState('');
  const [status, setStatus] = useState('');
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const list = useQuery({
    queryKey: ['purchases', customer, status, cursor],
    queryFn: () => get<Page<PurchaseView>>('/v1/purchases', { customer: customer.trim() || undefined, status: status || undefined, cursor, limit: 25 }),
    placeholderData: keepPreviousData,
  });
  const refund = useMutation({
    mutationFn: (reference: string) => post(`/v1/purchases/${reference}/refund`),
    onSettled: () => qc.invalidateQueries({ queryKey: ['purchases'] }),
  });

  return (
    <>
      <h1>Purchases</h1>
      <div className="row">
        <Field label="Customer" value={customer} onChange={(v) => { setCustomer(v); setCursors([]); }} placeholder="any" />
        <Select label="Status" value={status} onChange={(v) => { setStatus(v); setCursors([]); }} options={STATUSES.map((s) => ({ value: s, label: s || 'any' }))} />
      </div>
      <ErrorNote error={list.error ?? refund.error} />
      {list.data && (
        <>
          <Table caption="Purchases" rows={list.data.data} rowKey={(p) => p.reference} empty="No purchases match." columns={[
            { header: 'Created', cell: (p) => fmtTime(p.createdAt) },
            { header: 'Customer', cell: (p) => <Link to={`/customers/${encodeURIComponent(p.customer)}`}>{p.customer}</Link> },
            { header: 'Pack', cell: (p) => `${p.pack} × ${p.quantity}` },
            { header: 'Credits', cell: (p) => fmtCredits(p.credits) },
            { header: 'Amount', cell: (p) => fmtMoney(p.amount, p.currency) },
            { header: 'Provider', cell: (p) => p.provider },
            { header: 'Status', cell: (p) => p.status + (p.refund ? ` (${fmtMoney(p.refund.amount, p.currency)} back)` : '') },
            { header: 'Actions', cell: (p) => p.status === 'completed' ? (
              <button type="button" className="danger" disabled={refund.isPending} aria-label={`Refund purchase ${p.reference}`}
                onClick={() => { if (window.confirm(`Refund ${p.pack} of ${p.customer}?`)) refund.mutate(p.reference); }}>Refund</button>
            ) : '—' },
          ]} />
          <Pager cursors={cursors} setCursors={setCursors} page={list.data} />
        </>
      )}
    </>
  );
}
