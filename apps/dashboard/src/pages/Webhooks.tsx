import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { del, get, post } from '../api/http.ts';
import type { DeliveryView, EndpointView, Page } from '../api/types.ts';
import { ErrorNote, Field, Notice, Table, fmtTime } from '../components/ui.tsx';

export function WebhooksPage() {
  const qc = useQueryClient();
  const [url, setUrl] = useState('');
  const [selected, setSelected] = useState<string | null>(null);
  const endpoints = useQuery({ queryKey: ['webhooks'], queryFn: () => get<{ endpoints: EndpointView[] }>('/v1/webhooks/endpoints') });
  const deliveries = useQuery({
    queryKey: ['webhooks', selected, 'deliveries'],
    queryFn: () => get<Page<DeliveryView>>(`/v1/webhooks/endpoints/${selected}/deliveries`, { limit: 50 }),
    enabled: !!selected,
  });
  const create = useMutation({
    mutationFn: (u: string) => post<EndpointView & { secret: string }>('/v1/webhooks/endpoints', { url: u }),
    onSuccess: () => { setUrl(''); void qc.invalidateQueries({ queryKey: ['webhooks'] }); },
  });
  const remove = useMutation({ mutationFn: (id: string) => del(`/v1/webhooks/endpoints/${id}`), onSettled: () => qc.invalidateQueries({ queryKey: ['webhooks'] }) });
  const redeliver = useMutation({
    mutationFn: (d: string) => post(`/v1/webhooks/endpoints/${selected}/deliveries/${d}/redeliver`),
    onSettled: () => qc.invalidateQueries({ queryKey: ['webhooks', selected, 'deliveries'] }),
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate(url.trim());
  }

  return (
    <>
      <h1>Webhooks</h1>
      <ErrorNote error={endpoints.error ?? remove.error} />
      {endpoints.data && (
        <Table caption="Endpoints" rows={endpoints.data.endpoints} rowKey={(e) => e.id} columns={[
          { header: 'URL', cell: (e) => <code>{e.url}</code> },
          { header: 'Events', cell: (e) => e.events.join(', ') },
          { header: 'Created', cell: (e) => fmtTime(e.createdAt) },
          { header: 'Actions', cell: (e) => (
            <div className="actions">
              <button type="button" className="secondary" aria-label={`Deliveries of ${e.url}`} onClick={() => setSelected(e.id)}>Deliveries</button>
              <button type="button" className="danger" aria-label={`Delete ${e.url}`} onClick={() => { if (window.confirm(`Delete ${e.url}?`)) remove.mutate(e.id); }}>Delete</button>
            </div>
          ) },
        ]} />
      )}
      <form className="card" onSubmit={submit} aria-labelledby="wh-form">
        <h2 id="wh-form">New endpoint</h2>
        <Field label="Endpoint URL" type="url" value={url} onChange={setUrl} required placeholder="https://example.com/tally" />
        <button type="submit" disabled={create.isPending || !url.trim()}>Add endpoint</button>
        <ErrorNote error={create.error} />
        {create.data && <Notice>Endpoint added. Its signing secret, shown once: <code>{create.data.secret}</code></Notice>}
      </form>
      {selected && (
        <section aria-labelledby="dl-h">
          <h2 id="dl-h">Delivery log</h2>
          <ErrorNote error={deliveries.error ?? redeliver.error} />
          {deliveries.data && (
            <Table caption="Deliveries" rows={deliveries.data.data} rowKey={(d) => d.id} empty="No deliveries yet." columns={[
              { header: 'Created', cell: (d) => fmtTime(d.createdAt) },
              { header: 'Event', cell: (d) => d.eventType },
              { header: 'Status', cell: (d) => `${d.status}${d.responseStatus ? ` (HTTP ${d.responseStatus})` : ''}` },
              { header: 'Attempts', cell: (d) => d.attempts },
              { header: 'Last error', cell: (d) => d.lastError ?? '—' },
              { header: 'Actions', cell: (d) => <button type="button" className="secondary" aria-label={`Redeliver ${d.id}`} onClick={() => redeliver.mutate(d.id)}>Redeliver</button> },
            ]} />
          )}
        </section>
      )}
    </>
  );
}
