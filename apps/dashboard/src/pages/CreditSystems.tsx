import { useState, type FormEvent } from 'react';
import { describeSync, useCatalog, useCatalogEdit } from '../api/hooks.ts';
import { slugify, upsert, type SyncCreditSystem } from '../api/catalog.ts';
import { EditActions, ErrorNote, Field, Notice, Table } from '../components/ui.tsx';

interface Member { feature: string; creditCost: string }
interface Draft { editing: string | null; name: string; slug: string; description: string; members: Member[] }

const blank = (): Draft => ({ editing: null, name: '', slug: '', description: '', members: [{ feature: '', creditCost: '' }] });
const fromView = (s: SyncCreditSystem): Draft => ({
  editing: s.slug, name: s.name, slug: s.slug, description: s.description ?? '',
  members: s.features.map((m) => ({ feature: m.feature, creditCost: String(m.creditCost) })),
});

export function CreditSystemsPage() {
  const catalog = useCatalog();
  const edit = useCatalogEdit();
  const [draft, setDraft] = useState<Draft>(blank);
  const features = catalog.data?.features ?? [];
  const setMember = (i: number, m: Partial<Member>) => setDraft((d) => ({ ...d, members: d.members.map((x, j) => (j === i ? { ...x, ...m } : x)) }));

  function submit(e: FormEvent) {
    e.preventDefault();
    const system: SyncCreditSystem = {
      slug: draft.editing ?? (draft.slug.trim() || slugify(draft.name)), name: draft.name.trim(), description: draft.description.trim() || null,
      features: draft.members.filter((m) => m.feature).map((m) => ({ feature: m.feature, creditCost: Number(m.creditCost) })),
    };
    edit.mutate((c) => ({ ...c, creditSystems: upsert(c.creditSystems, system) }), {
      onSuccess: () => setDraft(blank()),
    });
  }

  return (
    <>
      <h1>Credit Systems</h1>
      <p>A credit system is a shared balance: each member feature spends a number of credits per unit.</p>
      <ErrorNote error={catalog.error} />
      {catalog.data && (
        <Table caption="Credit systems" rows={catalog.data.creditSystems} rowKey={(s) => s.slug} columns={[
          { header: 'Name', cell: (s) => s.name },
          { header: 'Slug', cell: (s) => <code>{s.slug}</code> },
          { header: 'Members (credits per unit)', cell: (s) => s.features.map((m) => `${m.feature}: ${m.creditCost}`).join(', ') || '—' },
          { header: 'Actions', cell: (s) => <button type="button" className="secondary" onClick={() => setDraft(fromView(s))} aria-label={`Edit ${s.name}`}>Edit</button> },
        ]} />
      )}
      <form className="card" onSubmit={submit} aria-labelledby="cs-form">
        <h2 id="cs-form">{draft.editing ? `Edit credit system ${draft.editing}` : 'New credit system'}</h2>
        <Field label="Name" value={draft.name} onChange={(name) => setDraft((d) => ({ ...d, name }))} required placeholder="AI Credits" />
        {!draft.editing && <Field label="Slug" value={draft.slug} onChange={(slug) => setDraft((d) => ({ ...d, slug }))} placeholder={draft.name ? slugify(draft.name) : 'derived from the name'} />}
        <Field label="Description" value={draft.description} onChange={(description) => setDraft((d) => ({ ...d, description }))} />
        <fieldset>
          <legend>Member features</legend>
          <datalist id="known-features">{features.map((f) => <option key={f.slug} value={f.slug}>{f.name ?? f.slug}</option>)}</datalist>
          {draft.members.map((m, i) => (
            <div className="row" key={i}>
              <Field label={`Member feature ${i + 1}`} value={m.feature} onChange={(feature) => setMember(i, { feature: feature.trim() })} list="known-features" placeholder="feature slug" />
              <Field label={`Credit cost ${i + 1}`} type="number" min={0} step="any" value={m.creditCost} onChange={(creditCost) => setMember(i, { creditCost })} required={!!m.feature} />
              <button type="button" className="secondary" aria-label={`Remove member ${i + 1}`} onClick={() => setDraft((d) => ({ ...d, members: d.members.filter((_, j) => j !== i) }))}>Remove</button>
            </div>
          ))}
          <button type="button" className="secondary" onClick={() => setDraft((d) => ({ ...d, members: [...d.members, { feature: '', creditCost: '' }] }))}>Add member</button>
        </fieldset>
        <EditActions what="credit system" editing={!!draft.editing} disabled={edit.isPending || !draft.name.trim()} onCancel={() => setDraft(blank())} />
        <ErrorNote error={edit.error} />
        {edit.data && <Notice>{describeSync(edit.data)}</Notice>}
      </form>
    </>
  );
}
