import { Suspense, lazy } from 'react';
import { NavLink, Navigate, Route, Routes } from 'react-router';
import { useSession } from './session.tsx';
import { SignInPage } from './pages/SignIn.tsx';
import { FeaturesPage } from './pages/Features.tsx';
import { CreditSystemsPage } from './pages/CreditSystems.tsx';
import { PlansPage } from './pages/Plans.tsx';
import { AddonsPage, CreditPacksPage } from './pages/CreditPacks.tsx';
import { CustomersPage } from './pages/Customers.tsx';
// The two pages with charts load recharts on first visit: the rest of the app does not wait for it.
const CustomerPage = lazy(() => import('./pages/Customer.tsx').then((m) => ({ default: m.CustomerPage })));
const UsagePage = lazy(() => import('./pages/Usage.tsx').then((m) => ({ default: m.UsagePage })));
import { PurchasesPage } from './pages/Purchases.tsx';
import { WebhooksPage } from './pages/Webhooks.tsx';
import { ImportsPage } from './pages/Imports.tsx';
import { ApiKeysPage } from './pages/ApiKeys.tsx';

const NAV: { to: string; label: string; children?: { to: string; label: string }[] }[] = [
  { to: '/features', label: 'Features' },
  { to: '/credit-systems', label: 'Credit Systems' },
  { to: '/plans', label: 'Plans' },
  { to: '/addons', label: 'Add-ons', children: [{ to: '/addons/credit-packs', label: 'Credit Packs' }] },
  { to: '/customers', label: 'Customers' },
  { to: '/purchases', label: 'Purchases' },
  { to: '/webhooks', label: 'Webhooks' },
  { to: '/imports', label: 'Imports' },
  { to: '/usage', label: 'Usage' },
  { to: '/api-keys', label: 'API keys' },
];

export function App() {
  const { session, loading, signOut } = useSession();
  if (loading) return <main className="centered"><p role="status">Loading…</p></main>;
  if (!session) return <SignInPage />;
  return (
    <div className="layout">
      <header className="topbar">
        <span className="brand">Tally</span>
        <span className="tenant">
          Tenant <code>{session.tenant.id}</code> <span className={`env env-${session.tenant.environment}`}>{session.tenant.environment}</span>
        </span>
        <button type="button" className="secondary" onClick={() => void signOut()}>Sign out</button>
      </header>
      <nav aria-label="Main" className="sidebar">
        <ul>
          {NAV.map((n) => (
            <li key={n.to}>
              <NavLink to={n.to} end={!!n.children}>{n.label}</NavLink>
              {n.children && (
                <ul>{n.children.map((c) => <li key={c.to}><NavLink to={c.to}>{c.label}</NavLink></li>)}</ul>
              )}
            </li>
          ))}
        </ul>
      </nav>
      <main className="content">
        <Suspense fallback={<p role="status">Loading…</p>}>
          <Routes>
            <Route path="/" element={<Navigate to="/customers" replace />} />
            <Route path="/features" element={<FeaturesPage />} />
            <Route path="/credit-systems" element={<CreditSystemsPage />} />
            <Route path="/plans" element={<PlansPage />} />
            <Route path="/addons" element={<AddonsPage />} />
            <Route path="/addons/credit-packs" element={<CreditPacksPage />} />
            <Route path="/customers" element={<CustomersPage />} />
            <Route path="/customers/:id" element={<CustomerPage />} />
            <Route path="/purchases" element={<PurchasesPage />} />
            <Route path="/webhooks" element={<WebhooksPage />} />
            <Route path="/imports" element={<ImportsPage />} />
            <Route path="/usage" element={<UsagePage />} />
            <Route path="/api-keys" element={<ApiKeysPage />} />
            <Route path="*" element={<><h1>Not found</h1><p>No such page.</p></>} />
          </Routes>
        </Suspense>
      </main>
    </div>
  );
}
