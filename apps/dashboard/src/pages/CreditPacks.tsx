import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { describeSync, useCatalog, useCatalogEdit } from '../api/hooks.ts';
import { slugify, upsert, type SyncCreditPack } from '../api/catalog.ts';
import { ErrorNote, Field, Notice, Select, Table, fmtMoney } from '../components/ui.tsx';

export function AddonsPage() {
  return (
    <>
      <h1>Add-ons</h1>
      <p>What customers buy on top of their plan.</p>
      <ul className="cards">
        <li className="card">
          <h2><Link to="/addons/credit-packs">Credit Packs</Link></h2>
          <p>Prepaid credits of one credit system, sold through a payment provider.</p>
        </li>
      </ul>
    </>
  );
}

/** The guide's fields, labelled exactly Name, Credits, Price, Credit System and Provider. */
export function CreditPacksPage() {
  const catalog = useCatalog();
  const edit = useCatalogEdit();
  const [name, setName] = useState('');
  const [credits, setCredits] = useState('');
  const [price, setPrice] = useState('');
  const [creditSystem, setCreditSystem] = useState('');
  const [provider, setProvider] = useState('sandbox');
  const [currency, setCurrency] = useState('USD');
  const systems = catalog.data?.creditSystems ?? [];
  const systemName = (slug: string) => systems.find((s) => s.slug === slug)?.name ?? slug;

  function submit(e: FormEvent) {
    e.preventDefault();
    const pack: SyncCreditPack = {
      slug: slugify(name), name: name.trim(), credits: Number(credits), price: Number(price), currency,
      creditSystem: creditSystem || systems[0]?.slug || '', provider,
    };
    edit.mutate((c) => ({ ...c, creditPacks: upsert(c.creditPacks, pack) }), {
      onSuccess: () => { setName(''); setCredits(''); setPrice(''); },
    });
  }

  function archive(slug: string) {
    if (!window.confirm(`Archive the pack ${slug}? It is no longer listed or sold; past purchases keep their credits.`)) return;
    edit.mutate((c) => ({ ...c, creditPacks: c.creditPacks.filter((p) => p.slug !== slug) }));
  }

  return (
    <>
      <h1>Credit Packs</h1>
      <p>Packs for sale. A customer buys one with <code>POST /v1/addon</code>; its credits arrive when the provider confirms payment.</p>
      <ErrorNote error={catalog.error} />
      {catalog.data && (
        <Table caption="Credit packs" rows={catalog.data.creditPacks} rowKey={(p) => p.slug} columns={[
          { header: 'Name', cell: (p) => p.name },
          { header: 'Slug', cell: (p) => <code>{p.slug}</code> },
          { header: 'Credits', cell: (p) => p.credits },
          { header: 'Price', cell: (p) => fmtMoney(p.price, p.currency) },
          { header: 'Credit system', cell: (p) => systemName(p.creditSystem) },
          { header: 'Provider', cell: (p) => p.provider ?? catalog.data.defaultProvider ?? 'default' },
          { header: 'Actions', cell: (p) => <button type="button" className="secondary" aria-label={`Archive ${p.name}`} onClick={() => archive(p.slug)}>Archive</button> },
        ]} />
      )}
      <form className="card" onSubmit={submit} aria-labelledby="pack-form">
        <h2 id="pack-form">New credit pack</h2>
        <Field label="Name" value={name} onChange={setName} required placeholder="500 AI Credits" />
        <Field label="Credits" type="number" min={0} step="any" value={credits} onChange={setCredits} required />
        <Field label="Price" type="number" min={0} value={price} onChange={setPrice} required hint="In minor currency units (1000 = 10.00 USD)." />
        <Select label="Credit System" value={creditSystem || systems[0]?.slug || ''} onChange={setCreditSystem} required
          options={systems.length ? systems.map((s) => ({ value: s.slug, label: s.name })) : [{ value: '', label: 'create a credit system first' }]} />
        <Select label="Provider" value={provider} onChange={setProvider} options={['sandbox', 'stripe']} />
        <details>
          <summary>More options</summary>
          <Field label="Currency" value={currency} onChange={setCurrency} required />
        </details>
        <button type="submit" disabled={edit.isPending || !name.trim() || systems.length === 0}>Create credit pack</button>
        <ErrorNote error={edit.error} />
        {edit.data && <Notice>{describeSync(edit.data)}</Notice>}
      </form>
    </>
  );
}
