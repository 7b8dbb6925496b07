import { useState, type FormEvent } from 'react';
import { describeSync, useCatalog, useCatalogEdit } from '../api/hooks.ts';
import { slugify, upsert, type SyncFeature } from '../api/catalog.ts';
import { ErrorNote, Field, Notice, Select, Table } from '../components/ui.tsx';

export function FeaturesPage() {
  const catalog = useCatalog();
  const edit = useCatalogEdit();
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const [type, setType] = useState<'metered' | 'boolean'>('metered');

  function submit(e: FormEvent) {
    e.preventDefault();
    const feature: SyncFeature = { slug: slug.trim() || slugify(name), name: name.trim(), type };
    edit.mutate((c) => ({ ...c, features: upsert(c.features, feature) }), {
      onSuccess: () => { setName(''); setSlug(''); },
    });
  }

  return (
    <>
      <h1>Features</h1>
      <p>What your product meters (<code>metered</code>) or switches on (<code>boolean</code>). Plans and credit systems refer to them by slug.</p>
      <ErrorNote error={catalog.error} />
      {catalog.data && (
        <>
          <Table caption="Features" rows={catalog.data.features} rowKey={(f) => f.slug} columns={[
            { header: 'Slug', cell: (f) => <code>{f.slug}</code> },
            { header: 'Name', cell: (f) => f.name ?? f.slug },
            { header: 'Type', cell: (f) => f.type },
            { header: 'Credit system', cell: (f) => {
              const s = catalog.data.creditSystems.find((cs) => cs.features.some((m) => m.feature === f.slug));
              const cost = s?.features.find((m) => m.feature === f.slug)?.creditCost;
              return s ? `${s.name} (${cost} credits per unit)` : '—';
            } },
          ]} />
        </>
      )}
      <form className="card" onSubmit={submit} aria-labelledby="new-feature">
        <h2 id="new-feature">New feature</h2>
        <Field label="Feature name" value={name} onChange={setName} required placeholder="gpt-4" />
        <Field label="Feature slug" value={slug} onChange={setSlug} placeholder={name ? slugify(name) : 'derived from the name'} />
        <Select label="Feature type" value={type} onChange={(v) => setType(v as 'metered' | 'boolean')} options={['metered', 'boolean']} />
        <button type="submit" disabled={edit.isPending || !name.trim()}>Create feature</button>
        <ErrorNote error={edit.error} />
        {edit.data && <Notice>{describeSync(edit.data)}</Notice>}
      </form>
    </>
  );
}
