import { useState, type FormEvent } from 'react';
import { describeSync, useCatalog, useCatalogEdit } from '../api/hooks.ts';
import { slugify, upsert, type SyncPlan } from '../api/catalog.ts';
import { EditActions, ErrorNote, Field, Notice, Select, Table, fmtMoney } from '../components/ui.tsx';

// RESET_INTERVALS of @tally/core (plans bill on one, allowances reset on one).
const RESETS = ['monthly', 'yearly', 'quarterly', 'semi_annual', 'weekly', 'daily', 'hourly', '30min', '15min', '5min', 'never', 'none'];
const INTERVALS = RESETS;
interface Entitlement { slug: string; limit: string; reset: string; overage: 'block' | 'charge' }
interface Draft { editing: string | null; name: string; slug: string; price: string; currency: string; interval: string; autoEnable: boolean; provider: string; features: Entitlement[] }

const blank = (): Draft => ({ editing: null, name: '', slug: '', price: '0', currency: 'USD', interval: 'monthly', autoEnable: false, provider: '', features: [{ slug: '', limit: '', reset: 'monthly', overage: 'block' }] });
const fromView = (p: SyncPlan): Draft => ({
  editing: p.slug, name: p.name, slug: p.slug, price: String(p.price), currency: p.currency, interval: p.interval, autoEnable: p.autoEnable ?? false, provider: p.provider ?? '',
  features: p.features.map((f) => ({ slug: f.slug, limit: f.limit == null ? '' : String(f.limit), reset: f.reset ?? 'monthly', overage: f.overage ?? 'block' })),
});

export function PlansPage() {
  const catalog = useCatalog();
  const edit = useCatalogEdit();
  const [draft, setDraft] = useState<Draft>(blank);
  const set = (p: Partial<Draft>) => setDraft((d) => ({ ...d, ...p }));
  const setEnt = (i: number, p: Partial<Entitlement>) => setDraft((d) => ({ ...d, features: d.features.map((x, j) => (j === i ? { ...x, ...p } : x)) }));
  const grantable = [
    ...(catalog.data?.creditSystems ?? []).map((s) => ({ value: s.slug, label: `${s.name} (credit system)` })),
    ...(catalog.data?.features ?? []).map((f) => ({ value: f.slug, label: `${!f.name || f.name === f.slug ? f.slug : `${f.name} (${f.slug})`} (feature)` })),
  ];

  function submit(e: FormEvent) {
    e.preventDefault();
    edit.mutate((c) => {
      // What the form does not show (billingType, metadata, trial, rollover, credit costs…) is kept from the plan as synced.
      const old = c.plans.find((p) => p.slug === draft.editing);
      const plan: SyncPlan = {
        ...old,
        slug: draft.editing ?? (draft.slug.trim() || slugify(draft.name)), name: draft.name.trim(), price: Number(draft.price), currency: draft.currency,
        interval: draft.interval, provider: draft.provider || null, autoEnable: draft.autoEnable,
        features: draft.features.filter((f) => f.slug).map((f) => ({
          ...old?.features.find((x) => x.slug === f.slug),
          slug: f.slug, limit: f.limit.trim() === '' ? null : Number(f.limit), reset: f.reset, overage: f.overage,
        })),
      };
      return { ...c, plans: upsert(c.plans, plan) };
    }, { onSuccess: () => setDraft(blank()) });
  }

  return (
    <>
      <h1>Plans</h1>
      <p>What a customer subscribes to: features and credit allowances with a limit per period, when it resets, and what happens past it.</p>
      <ErrorNote error={catalog.error} />
      {catalog.data && (
        <Table caption="Plans" rows={catalog.data.plans} rowKey={(p) => p.slug} columns={[
          { header: 'Name', cell: (p) => <>{p.name} {p.autoEnable && <span className="tag">default</span>}</> },
          { header: 'Slug', cell: (p) => <code>{p.slug}</code> },
          { header: 'Price', cell: (p) => `${fmtMoney(p.price, p.currency)} / ${p.interval}` },
          { header: 'Grants', cell: (p) => p.features.map((f) => `${f.slug}: ${f.limit ?? 'unlimited'} per ${f.reset ?? 'period'}, ${f.overage ?? 'block'}`).join('; ') || '—' },
          { header: 'Actions', cell: (p) => <button type="button" className="secondary" aria-label={`Edit ${p.name}`} onClick={() => setDraft(fromView(p))}>Edit</button> },
        ]} />
      )}
      <form className="card" onSubmit={submit} aria-labelledby="plan-form">
        <h2 id="plan-form">{draft.editing ? `Edit plan ${draft.editing}` : 'New plan'}</h2>
        <Field label="Plan name" value={draft.name} onChange={(name) => set({ name })} required placeholder="Starter" />
        {!draft.editing && <Field label="Plan slug" value={draft.slug} onChange={(slug) => set({ slug })} placeholder={draft.name ? slugify(draft.name) : 'derived from the name'} />}
        <div className="row">
          <Field label="Plan price (minor units)" type="number" min={0} value={draft.price} onChange={(price) => set({ price })} required />
          <Field label="Plan currency" value={draft.currency} onChange={(currency) => set({ currency })} required />
          <Select label="Billing interval" value={draft.interval} onChange={(interval) => set({ interval })} options={INTERVALS} />
          <Select label="Plan provider" value={draft.provider} onChange={(provider) => set({ provider })} options={[{ value: '', label: 'default' }, 'sandbox', 'stripe']} />
        </div>
        <div className="check">
          <input id="plan-auto" type="checkbox" checked={draft.autoEnable} onChange={(e) => set({ autoEnable: e.target.checked })} />
          <label htmlFor="plan-auto">Give this plan to new customers automatically</label>
        </div>
        <fieldset>
          <legend>Features and limits</legend>
          {draft.features.map((f, i) => (
            <div className="row" key={i}>
              <Select label={`Grant ${i + 1}`} value={f.slug} onChange={(slug) => setEnt(i, { slug })} options={[{ value: '', label: '— choose —' }, ...grantable]} />
              <Field label={`Limit ${i + 1}`} type="number" min={0} step="any" value={f.limit} onChange={(limit) => setEnt(i, { limit })} placeholder="unlimited" />
              <Select label={`Reset ${i + 1}`} value={f.reset} onChange={(reset) => setEnt(i, { reset })} options={RESETS} />
              <Select label={`Overage ${i + 1}`} value={f.overage} onChange={(o) => setEnt(i, { overage: o as 'block' | 'charge' })} options={['block', 'charge']} />
              <button type="button" className="secondary" aria-label={`Remove grant ${i + 1}`} onClick={() => set({ features: draft.features.filter((_, j) => j !== i) })}>Remove</button>
            </div>
          ))}
          <button type="button" className="secondary" onClick={() => set({ features: [...draft.features, { slug: '', limit: '', reset: 'monthly', overage: 'block' }] })}>Add grant</button>
        </fieldset>
        <EditActions what="plan" editing={!!draft.editing} disabled={edit.isPending || !draft.name.trim()} onCancel={() => setDraft(blank())} />
        <ErrorNote error={edit.error} />
        {edit.data && <Notice>{describeSync(edit.data)}</Notice>}
      </form>
    </>
  );
}
