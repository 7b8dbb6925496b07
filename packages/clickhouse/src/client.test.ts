import { describe, expect, it } from 'vitest';
import { createClient } from '@clickhouse/client';
import { DependencyUnavailableError } from '@tally/runtime';
import { withDependencyErrors } from './client.ts';

const unreachable = () => createClient({ url: 'http://127.0.0.1:1', request_timeout: 2_000 });

describe('the ClickHouse client wrapper', () => {
  it('leaves the client object as it is', async () => {
    const client = unreachable();
    const own = Object.getOwnPropertyNames(client).sort();
    const wrapped = withDependencyErrors(client);
    expect(wrapped).not.toBe(client);
    expect(Object.getOwnPropertyNames(client).sort()).toEqual(own);
    expect(Object.prototype.hasOwnProperty.call(client, 'query')).toBe(false);
    await expect(client.query({ query: 'SELECT 1' })).rejects.not.toBeInstanceOf(DependencyUnavailableError);
    await wrapped.close();
  });

  it('turns "cannot reach the server" into DependencyUnavailableError for query, command, insert and exec', async () => {
    const wrapped = withDependencyErrors(unreachable());
    await expect(wrapped.query({ query: 'SELECT 1' })).rejects.toBeInstanceOf(DependencyUnavailableError);
    await expect(wrapped.command({ query: 'SELECT 1' })).rejects.toBeInstanceOf(DependencyUnavailableError);
    await expect(wrapped.insert({ table: 't', values: [{ a: 1 }], format: 'JSONEachRow' })).rejects.toBeInstanceOf(DependencyUnavailableError);
    await expect(wrapped.exec({ query: 'SELECT 1' })).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect((await wrapped.ping()).success).toBe(false); // the client's own members still work through the wrapper
    await wrapped.close();
  });
});
