import { useState } from 'react';
import { Link } from 'react-router';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { get } from '../api/http.ts';
import type { CustomerView, Page } from '../api/types.ts';
import { ErrorNote, Pager, Table, fmtTime } from '../components/ui.tsx';

export function CustomersPage() {
  const [search, setSearch] = useState('');
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const list = useQuery({
    queryKey: ['customers', search, cursor],
    queryFn: () => get<Page<CustomerView>>('/v1/customers', { search: search.trim() || undefined, cursor, limit: 25 }),
    placeholderData: keepPreviousData,
  });

  return (
    <>
      <h1>Customers</h1>
      <div className="field">
        <label htmlFor="customer-search">Search customers</label>
        <input id="customer-search" type="search" value={search} placeholder="id, email or name" onChange={(e) => { setSearch(e.target.value); setCursors([]); }} />
      </div>
      <ErrorNote error={list.error} />
      {list.data && (
        <>
          <Table caption="Customers" rows={list.data.data} rowKey={(c) => c.id} empty="No customers match." columns={[
            { header: 'Customer', cell: (c) => <Link to={`/customers/${encodeURIComponent(c.id)}`}>{c.id}</Link> },
            { header: 'Email', cell: (c) => c.email ?? '—' },
            { header: 'Name', cell: (c) => c.name ?? '—' },
            { header: 'Created', cell: (c) => fmtTime(c.createdAt) },
          ]} />
          <Pager cursors={cursors} setCursors={setCursors} page={list.data} />
        </>
      )}
    </>
  );
}
