import { describe, expect, it } from 'vitest';
import type { CatalogSnapshot, PlanDef } from '@tally/core';
import { isAppError } from '@tally/runtime';
import type { CatalogService } from '../catalog/catalog-service.ts';
import type { ChangeBus, StateChange } from '../changes.ts';
import type { Tx } from '../store.ts';
import { CustomerService } from './customer-service.ts';
import type { CustomerRow, CustomerStore } from './customer-repo.ts';

/** Customers in memory; `calls` records what the service asked for, in order. */
function memoryStore(emailTaken = false) {
  const rows = new Map<string, CustomerRow>();
  const calls: string[] = [];
  const tx = {} as Tx;
  const store: CustomerStore = {
    transaction: async (fn) => fn(tx),
    context: async (_t, id) => {
      const r = rows.get(id);
      return r ? { customer: { id: r.id, email: r.email, name: r.name, metadata: r.metadata, createdAt: r.created_at, updatedAt: r.updated_at }, subscription: null, version: 1n } : null;
    },
    insert: async (_tx, _t, id, data) => {
      calls.push(`insert ${id}`);
      if (rows.has(id)) return false;
      rows.set(id, { id, email: data.email ?? null, name: data.name ?? null, metadata: data.metadata ?? {}, created_at: new Date(0), updated_at: new Date(0) });
      return true;
    },
    subscribe: async (_tx, _t, id, plan) => void calls.push(`subscribe ${id} ${plan.id} ${plan.status}`),
    lock: async (_tx, _t, by) => ('id' in by ? rows.get(by.id) ?? null : [...rows.values()].find((r) => r.email === by.email) ?? null),
    update: async (_tx, _t, id) => (emailTaken ? 'email_taken' : rows.get(id)!),
  };
  return { store, calls, rows };
}

const plan = (p: Partial<PlanDef>) => ({ id: 'p', slug: 'p', autoEnable: true, isAddon: false, priceMinor: 0n, trialDays: 0, ...p }) as PlanDef;
const catalogOf = (...plans: PlanDef[]) => ({ snapshot: async () => ({ plans: new Map(plans.map((p) => [p.slug, p])) }) as unknown as CatalogSnapshot }) as unknown as CatalogService;
const recordingBus = () => {
  const published: StateChange[] = [];
  const bus: ChangeBus = { publish: async (c) => void published.push(c), subscribe: () => {} };
  return { bus, published };
};

describe('CustomerService over its store', () => {
  it('a new customer starts on the auto-enabled free base plan (trialing with trial days); paid and add-on plans are skipped', async () => {
    const { store, calls } = memoryStore();
    const catalog = catalogOf(plan({ id: 'paid', slug: 'paid', priceMinor: 500n }), plan({ id: 'addon', slug: 'addon', isAddon: true }), plan({ id: 'free', slug: 'free', trialDays: 7 }));
    const customers = new CustomerService(store, catalog);
    await customers.ensure('t', 'u1');
    await customers.ensure('t', 'u1');
    expect(calls).toEqual(['insert u1', 'subscribe u1 free trialing']);
  });

  it('upsert updates a customer it finds (nothing inserted or subscribed) and creates one it does not', async () => {
    const { store, calls, rows } = memoryStore();
    rows.set('u1', { id: 'u1', email: null, name: null, metadata: {}, created_at: new Date(0), updated_at: new Date(0) });
    const customers = new CustomerService(store, catalogOf(plan({ id: 'free' })));
    expect((await customers.upsert('t', { id: 'u1', name: 'A' })).id).toBe('u1');
    expect(calls).toEqual([]);
    expect((await customers.upsert('t', { id: 'u2' })).id).toBe('u2');
    expect(calls).toEqual(['insert u2', 'subscribe u2 free active']);
  });

  it("upsert onto another customer's email is customer_email_taken (409) and announces no change", async () => {
    const { store, rows } = memoryStore(true);
    rows.set('u1', { id: 'u1', email: 'a@x', name: null, metadata: {}, created_at: new Date(0), updated_at: new Date(0) });
    const { bus, published } = recordingBus();
    const err = await new CustomerService(store, catalogOf(), { changes: bus }).upsert('t', { id: 'u1', email: 'b@x' }).catch((e: unknown) => e);
    expect(isAppError(err) && { code: err.code, status: err.status }).toEqual({ code: 'customer_email_taken', status: 409 });
    expect(published).toEqual([]);
  });
});
