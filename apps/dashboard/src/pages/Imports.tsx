import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ApiError, get, post, withQuery, writeHeaders } from '../api/http.ts';
import type { ImportStatus, Page } from '../api/types.ts';
import { ErrorNote, Select, Table, fmtTime } from '../components/ui.tsx';

/** XMLHttpRequest, not fetch: only it reports upload progress. Cookie and CSRF header as for every write. */
function upload(file: File, mode: string, onProgress: (fraction: number) => void): Promise<ImportStatus> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const gzip = file.name.endsWith('.gz');
    xhr.open('POST', withQuery('/v1/imports', { mode, compression: gzip ? 'gzip' : undefined }));
    const type = gzip ? 'application/gzip' : file.name.endsWith('.csv') ? 'text/csv' : 'application/x-ndjson';
    for (const [k, v] of Object.entries(writeHeaders({ 'Content-Type': type, Accept: 'application/json' }))) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      let body: { error?: { code: string; message: string } } & Partial<ImportStatus> = {};
      try { body = JSON.parse(xhr.responseText); } catch { /* keep empty */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body as ImportStatus);
      else reject(new ApiError(xhr.status, body.error?.code ?? `http_${xhr.status}`, body.error?.message ?? xhr.statusText));
    };
    xhr.onerror = () => reject(new Error('network error during upload'));
    xhr.send(file);
  });
}

const running = (s: string) => !['completed', 'failed', 'cancelled', 'reverted'].includes(s);

export function ImportsPage() {
  const qc = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const [mode, setMode] = useState('report');
  const [progress, setProgress] = useState<number | null>(null);
  const [rejectedOf, setRejectedOf] = useState<string | null>(null);
  const list = useQuery({
    queryKey: ['imports'],
    queryFn: () => get<Page<ImportStatus>>('/v1/imports', { limit: 25 }),
    refetchInterval: (q) => (q.state.data?.data.some((i) => running(i.state)) ? 2000 : false),
  });
  const rejected = useQuery({
    queryKey: ['imports', rejectedOf, 'rejected'],
    queryFn: () => get<string>(`/v1/imports/${rejectedOf}/rejected`, { format: 'ndjson' }),
    enabled: !!rejectedOf,
  });
  const start = useMutation({
    mutationFn: (f: File) => upload(f, mode, setProgress),
    onSettled: () => qc.invalidateQueries({ queryKey: ['imports'] }),
  });
  const revert = useMutation({ mutationFn: (id: string) => post(`/v1/imports/${id}/revert`), onSettled: () => qc.invalidateQueries({ queryKey: ['imports'] }) });

  function submit(e: FormEvent) {
    e.preventDefault();
    if (file) { setProgress(0); start.mutate(file); }
  }

  const rows = typeof rejected.data === 'string' ? rejected.data.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { line: number; reason: string; content: string }) : [];

  return (
    <>
      <h1>Imports</h1>
      <p>Backfill usage from an NDJSON or CSV file (gzip allowed). <code>report</code> writes its events to analytics only; <code>apply</code> also debits the customers' balances. Revert takes an import out again (and, for apply, gives the credits back).</p>
      <form className="card" onSubmit={submit} aria-labelledby="imp-form">
        <h2 id="imp-form">Upload</h2>
        <div className="field">
          <label htmlFor="import-file">Usage file</label>
          <input id="import-file" type="file" accept=".ndjson,.jsonl,.csv,.gz" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        </div>
        <Select label="Mode" value={mode} onChange={setMode} options={['report', 'apply']} />
        <button type="submit" disabled={!file || start.isPending}>Upload</button>
        {progress !== null && (
          <div className="field">
            <label htmlFor="import-progress">Upload progress</label>
            <progress id="import-progress" max={1} value={progress}>{Math.round(progress * 100)}%</progress>
          </div>
        )}
        <ErrorNote error={start.error} />
      </form>
      <ErrorNote error={list.error ?? revert.error} />
      {list.data && (
        <Table caption="Imports" rows={list.data.data} rowKey={(i) => i.id} columns={[
          { header: 'Created', cell: (i) => fmtTime(i.createdAt) },
          { header: 'Mode', cell: (i) => `${i.mode} (${i.format})` },
          { header: 'State', cell: (i) => i.state + (i.chunksTotal ? ` ${i.chunksDone}/${i.chunksTotal}` : '') },
          { header: 'Rows', cell: (i) => `${i.rowsRead} read, ${i.accepted} accepted, ${i.duplicates} duplicates, ${i.rejected} rejected` },
          { header: 'Error', cell: (i) => i.error ?? '—' },
          { header: 'Actions', cell: (i) => (
            <div className="actions">
              {i.rejected > 0 && <button type="button" className="secondary" aria-label={`Rejected rows of import ${i.id}`} onClick={() => setRejectedOf(i.id)}>Rejected rows</button>}
              {i.state === 'completed' && !i.revertedAt && (
                <button type="button" className="danger" aria-label={`Revert import ${i.id}`} onClick={() => { if (window.confirm('Take this import\'s events out of analytics (and give back what apply debited)?')) revert.mutate(i.id); }}>Revert</button>
              )}
            </div>
          ) },
        ]} />
      )}
      {rejectedOf && (
        <section aria-labelledby="rej-h">
          <h2 id="rej-h">Rejected rows</h2>
          <ErrorNote error={rejected.error} />
          <Table caption="Rejected rows" rows={rows} rowKey={(r) => String(r.line)} empty="No rejected rows." columns={[
            { header: 'Line', cell: (r) => r.line },
            { header: 'Reason', cell: (r) => r.reason },
            { header: 'Content', cell: (r) => <code>{r.content}</code> },
          ]} />
        </section>
      )}
    </>
  );
}
