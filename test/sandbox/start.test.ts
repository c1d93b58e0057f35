import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import {
  ERR_SANDBOX_OPTIONS,
  printSandboxBanner,
  startSandboxes,
  type RunningSandboxes,
} from '../../src/sandbox/index.js';

describe('startSandboxes', () => {
  let running: RunningSandboxes;
  beforeAll(async () => {
    running = await startSandboxes({ seed: 21, contacts: 300, asOf: new Date('2026-03-01T00:00:00Z') });
  });
  afterAll(async () => {
    await running.close();
  });

  it('serves the same seeded person from both CRMs with the demo credentials', async () => {
    const person = running.account.people.find(
      (p) => p.kind === 'contact' && p.email !== undefined && p.email === p.email.trim().toLowerCase(),
    );
    expect(person).toBeDefined();
    const hsId = running.hubspot.ids.people.get(person?.id ?? '');
    const sfId = running.salesforce.ids.people.get(person?.id ?? '');
    expect(hsId).toBeDefined();
    expect(sfId).toBeDefined();

    const hs = await fetch(`${running.hubspot.url}/crm/v3/objects/contacts/${hsId}?properties=email`, {
      headers: { authorization: `Bearer ${running.hubspot.credentials.privateAppToken}` },
    });
    expect(hs.status).toBe(200);
    expect(((await hs.json()) as { properties: { email: string } }).properties.email).toBe(person?.email);

    const sf = await fetch(`${running.salesforce.url}/services/data/v62.0/sobjects/Contact/${sfId}`, {
      headers: { authorization: `Bearer ${running.salesforce.credentials.accessToken}` },
    });
    expect(sf.status).toBe(200);
    expect(((await sf.json()) as { Email: string }).Email).toBe(person?.email);
  });

  it('refuses calls without the credentials', async () => {
    const hs = await fetch(`${running.hubspot.url}/crm/v3/objects/contacts`);
    expect(hs.status).toBe(401);
    const sf = await fetch(
      `${running.salesforce.url}/services/data/v62.0/sobjects/Contact/003000000000000AAA`,
    );
    expect(sf.status).toBe(401);
  });

  it('prints URLs and demo credentials in the banner', () => {
    const lines: string[] = [];
    printSandboxBanner(running, (l) => lines.push(l));
    const text = lines.join('\n');
    expect(text).toContain(running.hubspot.url);
    expect(text).toContain(running.salesforce.url);
    expect(text).toContain(running.hubspot.credentials.privateAppToken);
    expect(text).toContain(running.salesforce.credentials.accessToken);
  });

  it('rejects bad options with a typed error', async () => {
    const err = await startSandboxes({ seed: 1, contacts: 10, port: -1 }).catch((e: unknown) => e);
    expect(isAppError(err, ERR_SANDBOX_OPTIONS)).toBe(true);
  });
});
