import { describe, expect, it } from 'vitest';
import { callbackUrlProblem, callbackUrlRuleFor, isWebUrl } from './callback-url.ts';

describe('callback URLs of hosted checkouts', () => {
  const dev = callbackUrlRuleFor('test');
  const prod = callbackUrlRuleFor('production');

  it('takes https anywhere, http only for loopback hosts outside production', () => {
    expect(callbackUrlProblem('https://app.example/thanks?o=1', prod)).toBeNull();
    expect(callbackUrlProblem('https://app.example/thanks', dev)).toBeNull();
    for (const loopback of ['http://127.0.0.1:8080/x', 'http://localhost/x', 'http://[::1]:3000/', 'http://127.5.6.7/']) {
      expect(callbackUrlProblem(loopback, dev), loopback).toBeNull();
      expect(callbackUrlProblem(loopback, prod), loopback).toMatch(/https/);
    }
    expect(callbackUrlRuleFor('development').allowLoopbackHttp).toBe(true);
  });

  it('refuses other schemes, remote http, credentials and junk', () => {
    for (const bad of ['javascript:alert(1)', 'JAVASCRIPT:alert(1)', 'data:text/html,<script>1</script>', 'file:///etc/passwd', 'ftp://app.example/',
      'http://app.example/thanks', 'http://127.0.0.1.evil.example/', 'http://localhost.evil.example/', 'https://user:pw@app.example/', 'not a url', '//app.example/x']) {
      expect(callbackUrlProblem(bad, dev), bad).not.toBeNull();
    }
  });

  it('tells web URLs from the rest, for redirects of stored URLs', () => {
    expect(isWebUrl('https://app.example/')).toBe(true);
    expect(isWebUrl('http://127.0.0.1/')).toBe(true);
    expect(isWebUrl('javascript:alert(1)')).toBe(false);
    expect(isWebUrl('garbage')).toBe(false);
  });
});
