import type { SandboxSession } from './sandbox-store.ts';

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** 1234n minor units of USD -> "12.34 USD" (two decimals; display only). */
export function formatMoney(minor: bigint, currency: string): string {
  const negative = minor < 0n;
  const abs = negative ? -minor : minor;
  return `${negative ? '-' : ''}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')} ${currency.toUpperCase()}`;
}

/**
 * Headers of every HTML answer of the sandbox pages: never framed (no
 * clickjacking of the Pay button), never content-sniffed, never cached (card
 * forms and results), no Referer carrying the session URL away. No
 * `form-action`: browsers apply it to the redirect after paying, which goes
 * to the app's callbackUrl.
 */
export const PAGE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
};

const layout = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · Tally sandbox</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}
label{display:block;margin:.75rem 0 .25rem}input[type=text]{width:100%;padding:.4rem}
.error{color:#b00020}.muted{color:#666;font-size:.9rem}button{margin-top:1rem;padding:.5rem 1rem}</style>
</head><body><p class="muted">Tally sandbox payments — no real money moves.</p>${body}</body></html>`;

export function renderCheckoutPage(session: SandboxSession, error?: string): string {
  const summary =
    session.mode === 'payment'
      ? `<h1>${escapeHtml(session.description)}</h1>
<p>Quantity: <strong data-quantity>${session.quantity}</strong></p>
<p>Total: <strong data-total>${escapeHtml(formatMoney(session.amountMinor, session.currency))}</strong></p>`
      : `<h1>Save a card</h1><p>${escapeHtml(session.description)}</p>`;
  const saveOption =
    session.mode === 'payment'
      ? '<label><input type="checkbox" name="saveCard" value="true"> Save this card for future purchases</label>'
      : '';
  return layout(
    session.mode === 'payment' ? 'Checkout' : 'Save a card',
    `${summary}
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/v1/sandbox/checkout/${encodeURIComponent(session.id)}">
<label for="cardNumber">Card number</label><input type="text" id="cardNumber" name="cardNumber" autocomplete="cc-number" placeholder="4242 4242 4242 4242" required>
<label for="expiry">Expiry (MM/YY)</label><input type="text" id="expiry" name="expiry" placeholder="12/30">
<label for="cvc">CVC</label><input type="text" id="cvc" name="cvc" placeholder="123">
${saveOption}
<button type="submit">${session.mode === 'payment' ? 'Pay' : 'Save card'}</button>
</form>
<p class="muted">Test cards: 4242 4242 4242 4242 succeeds; 4000 0000 0000 0002 is declined.</p>`,
  );
}

export function renderResultPage(title: string, message: string): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>`);
}
