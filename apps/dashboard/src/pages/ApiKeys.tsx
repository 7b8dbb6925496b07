import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { del, get, post } from '../api/http.ts';
import type { ApiKeyView } from '../api/types.ts';
import { ErrorNote, Field, Table, fmtTime } from '../components/ui.tsx';

export function ApiKeysPage() {
  const qc = useQueryClient();
  const [name, setName] = useState('');
  const keys = useQuery({ queryKey: ['api-keys'], queryFn: () => get<{ apiKeys: ApiKeyView[] }>('/v1/api-keys') });
  const create = useMutation({
    mutationFn: (n: string) => post<{ apiKey: ApiKeyView & { secret: string } }>('/v1/api-keys', { name: n }),
    onSuccess: () => { setName(''); void qc.invalidateQueries({ queryKey: ['api-keys'] }); },
  });
  const revoke = useMutation({ mutationFn: (id: string) => del(`/v1/api-keys/${id}`), onSettled: () => qc.invalidateQueries({ queryKey: ['api-keys'] }) });

  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate(name.trim() || 'default');
  }

  return (
    <>
      <h1>API keys</h1>
      <p>Secret keys of this tenant. Revoking a key also ends the dashboard sessions it opened.</p>
      <ErrorNote error={keys.error ?? revoke.error} />
      {keys.data && (
        <Table caption="API keys" rows={keys.data.apiKeys} rowKey={(k) => k.id} columns={[
          { header: 'Name', cell: (k) => k.name },
          { header: 'Prefix', cell: (k) => <code>{k.prefix}…</code> },
          { header: 'Created', cell: (k) => fmtTime(k.createdAt) },
          { header: 'State', cell: (k) => (k.revokedAt ? `revoked ${fmtTime(k.revokedAt)}` : k.expiresAt ? `expires ${fmtTime(k.expiresAt)}` : 'active') },
          { header: 'Actions', cell: (k) => (k.revokedAt ? '—' : (
            <button type="button" className="danger" aria-label={`Revoke ${k.name} (${k.prefix})`}
              onClick={() => { if (window.confirm(`Revoke ${k.name}?${k.current ? ' It opened this session, which ends with it.' : ''}`)) revoke.mutate(k.id); }}>Revoke</button>
          )) },
        ]} />
      )}
      <form className="card" onSubmit={submit} aria-labelledby="key-form">
        <h2 id="key-form">New key</h2>
        <Field label="Key name" value={name} onChange={setName} placeholder="backend" />
        <button type="submit" disabled={create.isPending}>Create key</button>
        <ErrorNote error={create.error} />
        {create.data && (
          <div role="status" className="notice">
            <p>Copy this key now: it is shown once and never again.</p>
            <code className="secret" aria-label="New secret key">{create.data.apiKey.secret}</code>
          </div>
        )}
      </form>
    </>
  );
}
