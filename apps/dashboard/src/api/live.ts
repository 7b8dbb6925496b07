import { useEffect, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';

export interface LiveBalance { customer: string; creditSystem: string; balance: number }

/**
 * GET /v1/customers/:id/balance-stream (server-sent events, cookie-authenticated): the latest balance
 * per credit system as the server announces it; the customer's queries are refreshed at each event
 * so the split (plan / purchased), grants and events follow. EventSource reconnects by itself.
 */
export function useLiveBalances(customer: string): { live: Record<string, number>; connected: boolean } {
  const qc = useQueryClient();
  const [live, setLive] = useState<Record<string, number>>({});
  const [connected, setConnected] = useState(false);

  useEffect(() => {
    setLive({});
    const source = new EventSource(`/v1/customers/${encodeURIComponent(customer)}/balance-stream`);
    source.onopen = () => setConnected(true);
    source.onerror = () => setConnected(false);
    source.addEventListener('balance', (e: MessageEvent<string>) => {
      try {
        const ev = JSON.parse(e.data) as LiveBalance;
        setLive((l) => ({ ...l, [ev.creditSystem]: ev.balance }));
      } catch {
        return;
      }
      void qc.invalidateQueries({ queryKey: ['customer', customer] });
    });
    return () => source.close();
  }, [customer, qc]);

  return { live, connected };
}
