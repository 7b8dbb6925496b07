import { useState, type FormEvent } from 'react';
import { describeSync, useCatalog, useCatalogEdit } from '../api/hooks.ts';
import { slugify } from '../api/catalog.ts';
import { ErrorNote, Field, Notice, Select, Table } from '../components/ui.tsx';

export function FeaturesPage() {
  const catalog = useCatalog();
  const edit = useCatalogEdit();
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const [type, setType] = useState<'metered' | 'boolean'>('metered');

  function submit(e: FormEvent) {
    e.preventDefault();
    const feature = { slug: slug.trim() || slugify(name), name: name.trim(), type };
    edit.mutate((c) => ({ catalog: { ...c, features: [...c.features.filter((f) => f.slug !== feature.slug), feature] }, newFeatures: [feature] }), {
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
          {!catalog.data.featuresListed && <p className="hint">This API has no feature list yet: shown are the features that plans and credit systems name (a new feature appears here once one of them uses it).</p>}
          <Table caption="Features" rows={catalog.data.features} rowKey={(f) => f.slug} columns={[
            { header: 'Slug', cell: (f) => <code>{f.slug}</code> },
            { header: 'Name', cell: (f) => f.name },
            { header: 'Type', cell: (f) => f.type },
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
