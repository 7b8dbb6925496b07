import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { ApiError, request, setCsrfToken } from './api/http.ts';
import type { SessionInfo } from './api/types.ts';

interface SessionState {
  session: SessionInfo | null;
  loading: boolean;
  signIn: (apiKey: string) => Promise<void>;
  signOut: () => Promise<void>;
}

const Ctx = createContext<SessionState | null>(null);

/** The session lives in an httpOnly cookie; the page keeps only the tenant and the CSRF token, in memory. */
export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<SessionInfo | null>(null);
  const [loading, setLoading] = useState(true);
  const queryClient = useQueryClient();

  const adopt = useCallback((s: SessionInfo | null) => {
    setCsrfToken(s?.csrfToken ?? null);
    setSession(s);
  }, []);

  useEffect(() => {
    request<SessionInfo>('GET', '/dashboard/api/session')
      .then(adopt, (e: unknown) => {
        if (!(e instanceof ApiError && e.status === 401)) console.error(e);
        adopt(null);
      })
      .finally(() => setLoading(false));
  }, [adopt]);

  const signIn = useCallback(async (apiKey: string) => {
    const s = await request<SessionInfo>('POST', '/dashboard/api/session', { apiKey });
    queryClient.clear();
    adopt(s);
  }, [adopt, queryClient]);

  const signOut = useCallback(async () => {
    try {
      await request<void>('DELETE', '/dashboard/api/session');
    } finally {
      queryClient.clear();
      adopt(null);
    }
  }, [adopt, queryClient]);

  return <Ctx.Provider value={{ session, loading, signIn, signOut }}>{children}</Ctx.Provider>;
}

export function useSession(): SessionState {
  const s = useContext(Ctx);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}
