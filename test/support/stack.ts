import { inject } from 'vitest';
import { createPool } from '@tally/postgres';
import { TenantService, type CreatedTenant } from '@tally/catalog';
import { parseConfig, sharedEnv } from '@tally/runtime';

export const config = parseConfig(sharedEnv);
export const apiUrl = () => inject('apiUrl');

let tenants: TenantService | undefined;

/** A fresh tenant with its first API key: every test makes its own, so tests never share state. */
export async function newTenant(name = 'e2e'): Promise<CreatedTenant> {
  tenants ??= new TenantService(createPool(config.DATABASE_URL, 2));
  return tenants.createTenant(`${name}-${Date.now()}`);
}

export interface Answer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** Raw HTTP against the running API, as an app (or Owostack's SDK) would call it. */
export function client(secret: string | null, base = apiUrl()) {
  const call = async <T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> => {
    const res = await fetch(base + path, {
      method,
      headers: {
        ...(secret ? { Authorization: `Bearer ${secret}` } : {}),
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON (HTML pages, metrics)
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  };
  return {
    get: <T = any>(path: string, headers?: Record<string, string>) => call<T>('GET', path, undefined, headers),
    post: <T = any>(path: string, body?: unknown, headers?: Record<string, string>) => call<T>('POST', path, body ?? {}, headers),
    put: <T = any>(path: string, body?: unknown) => call<T>('PUT', path, body ?? {}),
    del: <T = any>(path: string) => call<T>('DELETE', path),
  };
}

/** Polls `fn` until it returns a truthy value or the time is up (for eventually-consistent pipeline results). */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 20_000, stepMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
