import { useState, type FormEvent } from 'react';
import { useSession } from '../session.tsx';
import { ErrorNote, Field } from '../components/ui.tsx';

/** The key goes once to POST /dashboard/api/session and is dropped: the page keeps no copy of it. */
export function SignInPage() {
  const { signIn } = useSession();
  const [apiKey, setApiKey] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(apiKey.trim());
      setApiKey('');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="centered">
      <form className="card signin" onSubmit={(e) => void submit(e)}>
        <h1>Sign in to Tally</h1>
        <p>Use a secret key of the tenant you operate (<code>sk_test_…</code> or <code>sk_live_…</code>). It is exchanged for a session and not kept.</p>
        <Field label="API key" type="password" value={apiKey} onChange={setApiKey} required autoComplete="off" />
        <ErrorNote error={error} />
        <button type="submit" disabled={busy || !apiKey.trim()}>Sign in</button>
      </form>
    </main>
  );
}
