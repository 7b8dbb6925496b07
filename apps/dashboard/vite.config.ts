import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Served by the API at /dashboard (apps/api/src/dashboard): same origin as /v1, so the session
// cookie and the CSRF header are all the client needs. `npm run dev -w apps/dashboard` proxies to a local API.
const api = process.env.TALLY_API_URL ?? 'http://127.0.0.1:3000';

export default defineConfig({
  base: '/dashboard/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  server: { proxy: { '/v1': api, '/dashboard/api': api } },
});
