import { describe, expect, it } from 'vitest';
import { demoConfig, ERR_CONFIG_INVALID, loadConfig } from '../src/config.js';
import { isAppError } from '../src/errors.js';
import { generateKeyRing } from '../src/store/crypto.js';

const KEYS = generateKeyRing('k1').spec;
const SECRET = 'x'.repeat(40);
const MINIMAL = { TOKEN_KEYS: KEYS, SESSION_SECRET: SECRET };

function problemsOf(env: Record<string, string>): { variable: string; message: string }[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (isAppError(error, ERR_CONFIG_INVALID)) {
      return (error.details as { problems: { variable: string; message: string }[] }).problems;
    }
    throw error;
  }
  throw new Error('expected ERR_CONFIG_INVALID');
}

describe('loadConfig', () => {
  it('applies defaults to a minimal environment', () => {
    const config = loadConfig(MINIMAL);
    expect(config).toMatchObject({
      env: 'development',
      port: 3000,
      publicUrl: 'http://localhost:3000',
      redis: { url: 'redis://127.0.0.1:6379', prefix: 'rs' },
      salesforce: { loginUrl: 'https://login.salesforce.com', dailyBudgetShare: 0.2 },
      logLevel: 'info',
      worker: { concurrency: 4, syncIntervalMinutes: 15, shutdownTimeoutMs: 30_000 },
    });
    expect(config.tokenKeys.keys.map((k) => k.kid)).toEqual(['k1']);
    expect(config.hubspot.oauth).toBeUndefined();
    expect(config.admin).toBeUndefined();
  });

  it('parses a full production environment', () => {
    const config = loadConfig({
      ...MINIMAL,
      NODE_ENV: 'production',
      PORT: '8080',
      PUBLIC_URL: 'https://referral-sync.example.com/',
      REDIS_URL: 'rediss://user:pw@redis.internal:6380',
      TOKEN_KEYS: `${generateKeyRing('new').spec},${KEYS}`,
      HUBSPOT_CLIENT_ID: 'cid',
      HUBSPOT_CLIENT_SECRET: 'csecret',
      HUBSPOT_APP_ID: '123456',
      SALESFORCE_CLIENT_ID: 'sfid',
      SALESFORCE_CLIENT_SECRET: 'sfsecret',
      SALESFORCE_LOGIN_URL: 'https://test.salesforce.com',
      SALESFORCE_DAILY_BUDGET_SHARE: '0.1',
      ADMIN_USER: 'ops',
      ADMIN_PASSWORD: 'correct horse battery',
      LOG_LEVEL: 'warn',
    });
    expect(config.publicUrl).toBe('https://referral-sync.example.com');
    expect(config.port).toBe(8080);
    expect(config.tokenKeys.keys.map((k) => k.kid)).toEqual(['new', 'k1']);
    expect(config.hubspot.oauth).toEqual({ clientId: 'cid', clientSecret: 'csecret', appId: '123456' });
    expect(config.salesforce).toEqual({
      oauth: { clientId: 'sfid', clientSecret: 'sfsecret' },
      loginUrl: 'https://test.salesforce.com',
      dailyBudgetShare: 0.1,
    });
    expect(config.admin).toEqual({ user: 'ops', password: 'correct horse battery' });
  });

  it('lists every bad variable at once, without their values', () => {
    const secretValue = 'short-secret-value';
    const problems = problemsOf({
      NODE_ENV: 'production',
      PORT: 'eighty',
      REDIS_URL: 'http://not-redis',
      TOKEN_KEYS: 'k1:dG9vLXNob3J0',
      SESSION_SECRET: secretValue,
      HUBSPOT_CLIENT_ID: 'cid',
      SALESFORCE_DAILY_BUDGET_SHARE: '1.5',
      ADMIN_PASSWORD: 'short',
      LOG_LEVEL: 'loud',
    });
    expect(problems.map((p) => p.variable)).toEqual([
      'ADMIN_PASSWORD',
      'ADMIN_USER',
      'HUBSPOT_APP_ID',
      'HUBSPOT_CLIENT_SECRET',
      'LOG_LEVEL',
      'PORT',
      'PUBLIC_URL',
      'REDIS_URL',
      'SALESFORCE_DAILY_BUDGET_SHARE',
      'SESSION_SECRET',
      'TOKEN_KEYS',
    ]);
    expect(JSON.stringify(problems)).not.toContain(secretValue);
    expect(JSON.stringify(problems)).not.toContain('dG9vLXNob3J0');
  });

  it('reports missing required secrets by name and treats blank values as unset', () => {
    const problems = problemsOf({ TOKEN_KEYS: '', SESSION_SECRET: '  ' });
    expect(problems.map((p) => p.variable)).toEqual(['SESSION_SECRET', 'TOKEN_KEYS']);
  });

  it('the error message names the variables', () => {
    expect(() => loadConfig({ SESSION_SECRET: SECRET })).toThrow(/TOKEN_KEYS/);
  });
});

describe('demoConfig', () => {
  it('needs nothing configured and generates fresh secrets each time', () => {
    const a = demoConfig();
    const b = demoConfig({ port: 4000 });
    expect(a.tokenKeys.keys[0]?.key).toHaveLength(32);
    expect(a.sessionSecret).not.toBe(b.sessionSecret);
    expect(b.publicUrl).toBe('http://localhost:4000');
    expect(a.admin?.password.length).toBeGreaterThanOrEqual(12);
  });
});
