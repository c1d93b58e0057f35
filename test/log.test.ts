import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../connectors/contract.js';
import { AppError } from '../src/errors.js';
import { createLogger, REDACTED } from '../src/log.js';
import { createMetrics } from '../src/metrics.js';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[]; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const text = (): string => chunks.join('');
  return {
    stream,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const ACCESS = 'CJSP5qf1MRICAQEYu_eAAiDx';
const REFRESH = 'na1-7b9c-refresh-4e1f-secret';
// Token-shaped fakes, assembled at run time so no token-shaped literal sits in the repository.
const PAT = ['pat', 'na1', '11112222-3333-4444-5555-666677778888'].join('-');
const SF_SESSION = ['00D5g000004abcd', 'AQ4AQH0dMHZfz972Szmpsb3RwH9abcdefghij'].join('!');

describe('createLogger', () => {
  it('never writes a token, secret, cookie or authorization header, wherever it is', () => {
    const out = capture();
    const log = createLogger({ destination: out.stream, level: 'debug', name: 'test' });
    log.info(
      {
        tenantId: 't1',
        tokens: { accessToken: ACCESS, refreshToken: REFRESH },
        req: { headers: { authorization: `Bearer ${ACCESS}`, cookie: 'sid=abc123456789' } },
        response: { body: { access_token: ACCESS, refresh_token: REFRESH, expires_in: 1800 } },
        deeply: { nested: [{ oauth: { client_secret: 'shhh-client-secret' } }] },
        url: `https://api.hubapi.test/oauth/v1/token?refresh_token=${REFRESH}&client_id=abc`,
      },
      'token refreshed',
    );
    log.warn({ note: `calling with Bearer ${PAT} and session ${SF_SESSION}` }, `retry for ${PAT}`);
    log.error(
      {
        err: new AppError('ERR_HUBSPOT_AUTH', `401 for Authorization: Bearer ${ACCESS}`, {
          details: { accessToken: ACCESS },
        }),
      },
      'failed',
    );
    const text = out.text();
    for (const secret of [ACCESS, REFRESH, PAT, SF_SESSION, 'shhh-client-secret', 'abc123456789']) {
      expect(text).not.toContain(secret);
    }
    const [first, second, third] = out.lines();
    expect(first).toMatchObject({
      level: 'info',
      service: 'referral-sync',
      component: 'test',
      tenantId: 't1',
      msg: 'token refreshed',
      tokens: REDACTED,
      response: { body: { access_token: REDACTED, refresh_token: REDACTED, expires_in: 1800 } },
    });
    expect(String(first?.['url'])).toContain('client_id=abc');
    expect(second?.['msg']).toBe(`retry for ${REDACTED}`);
    expect(third).toMatchObject({
      level: 'error',
      err: { code: 'ERR_HUBSPOT_AUTH', details: { accessToken: REDACTED } },
    });
  });

  it("satisfies the connectors' Logger contract", () => {
    const out = capture();
    const log: Logger = createLogger({ destination: out.stream });
    log.info({ a: 1 }, 'via contract');
    expect(out.lines()[0]).toMatchObject({ a: 1, msg: 'via contract' });
  });

  it('keeps ordinary fields such as error codes and counts', () => {
    const out = capture();
    createLogger({ destination: out.stream }).info({ code: 'ERR_X', count: 3, until: '2026-01-01' }, 'ok');
    expect(out.lines()[0]).toMatchObject({ code: 'ERR_X', count: 3, until: '2026-01-01', msg: 'ok' });
  });

  it('respects the level and survives circular objects', () => {
    const out = capture();
    const log = createLogger({ destination: out.stream, level: 'warn' });
    const a: Record<string, unknown> = { name: 'a' };
    a['self'] = a;
    log.info({ a }, 'hidden');
    log.warn({ a }, 'shown');
    expect(out.lines().map((l) => l['msg'])).toEqual(['shown']);
  });
});

// Metrics live here too (observability: logs + metrics), see src/metrics.ts.
describe('createMetrics', () => {
  it('exposes the product metrics in Prometheus text format, per registry', async () => {
    const a = createMetrics({ processMetrics: false });
    const b = createMetrics({ processMetrics: false });
    a.syncsTotal.inc({ crm: 'hubspot', kind: 'backfill', status: 'succeeded' });
    a.apiCallsTotal.inc({ crm: 'salesforce', kind: 'read' }, 3);
    a.rateLimitedTotal.inc({ crm: 'hubspot', bucket: 'default' });
    a.queueDepth.set({ queue: 'incremental', state: 'waiting' }, 7);
    a.webhookToWrittenSeconds.observe({ crm: 'hubspot' }, 0.8);
    const text = await a.registry.metrics();
    expect(text).toContain('referral_sync_syncs_total{crm="hubspot",kind="backfill",status="succeeded"} 1');
    expect(text).toContain('referral_sync_api_calls_total{crm="salesforce",kind="read"} 3');
    expect(text).toContain('referral_sync_rate_limited_total{crm="hubspot",bucket="default"} 1');
    expect(text).toContain('referral_sync_queue_depth{queue="incremental",state="waiting"} 7');
    expect(text).toContain('referral_sync_webhook_to_written_seconds_bucket{le="1",crm="hubspot"} 1');
    // Separate registries do not share values (several services in one test process).
    expect(await b.registry.metrics()).not.toContain('status="succeeded"} 1');
  });

  it('includes process metrics unless disabled', async () => {
    expect(await createMetrics().registry.metrics()).toContain(
      'referral_sync_process_cpu_user_seconds_total',
    );
  });
});
