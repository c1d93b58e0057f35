/**
 * Redis memory per 1,000 contacts of sync state (issue 6 "Tests and figures"). Writes the state a
 * backfill leaves behind for N contacts through the real `RedisStore` (input hashes, last written
 * owned values, attribution index, referral ledger, re-evaluation schedule, task ledger) under a
 * random prefix, then sums `MEMORY USAGE <key> SAMPLES 0` (exact, and isolated from the other users
 * of a shared Redis) over every key of the prefix. `INFO memory` deltas are shown too but are
 * noisy on a shared instance. The prefix is deleted afterwards.
 *
 *   npx tsx bench/redis-memory.ts            (env: CONTACTS=100000, REDIS_URL)
 */
import Table from 'cli-table3';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { OwnedValue } from '../src/engine/model.js';
import { generateKeyRing } from '../src/store/crypto.js';
import { RedisStore } from '../src/store/redis-store.js';
import type { ReferralEntry } from '../src/store/types.js';

const contacts = Number(process.env['CONTACTS'] ?? 100_000);
const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const PAGE = 1000;
const NOW = Date.parse('2026-11-23T09:00:00Z');
const DAY = 86_400_000;

/** Deterministic PRNG (mulberry32) so runs are comparable. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(42);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
const CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
const code = (): string => Array.from({ length: 8 }, () => pick([...CODE_ALPHABET])).join('');

/** What the pipeline writes for a typical contact (PRODUCT.md default fields). */
function writtenValues(i: number, referralCode: string): Record<string, OwnedValue> {
  const ready = random() < 0.15;
  const score = Math.round(random() * 100);
  const values: Record<string, OwnedValue> = {
    referral_ready: ready,
    referral_readiness_score: score,
    referral_readiness_reasons: ready
      ? `NPS ${9 + (i % 2)} (+30); renewed ${1 + (i % 29)} days ago (+25); tenure ${6 + (i % 40)} months (+10)`
      : pick([
          '1 open ticket → excluded',
          `score ${score} below 70`,
          'opted out → excluded',
          `NPS ${i % 7} → detractor`,
        ]),
    referral_tags: ready ? pick([['segment_a'], ['segment_b'], ['segment_a', 'vip']]) : [],
    referral_segment: ready ? pick(['A', 'B', 'VIP']) : null,
    referral_code: referralCode,
    referral_link: `https://acme.example.com/r/${referralCode}`,
    referral_variant: i % 2 === 0 ? 'A' : 'B',
    referral_next_eligible_at: new Date(NOW + Math.floor(random() * 90) * DAY),
  };
  if (ready) {
    values['referral_trigger_event'] = pick(['renewal', 'purchase', 'support_win', 'upgrade']);
    values['referral_last_asked_at'] = new Date(NOW - Math.floor(random() * 200) * DAY);
  }
  if (random() < 0.05) {
    values['referral_count'] = 1 + Math.floor(random() * 4);
    values['referral_converted_count'] = Math.floor(random() * 2);
    values['referral_revenue'] = Math.round(random() * 500_000) / 100;
    values['referrer_tier'] = pick(['Bronze', 'Silver', 'Gold']);
  }
  return values;
}

const CATEGORIES: readonly [string, RegExp][] = [
  ['input hashes (h:)', /:h:/],
  ['last written values (w:)', /:w:/],
  ['attribution index (ix:)', /:ix:/],
  ['referral ledger (lg:, lr:)', /:(lg|lr):/],
  ['re-evaluation schedule (re)', /:re$/],
  ['task ledger (tk:)', /:tk:/],
  ['tenant, tokens, other', /.*/],
];

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

async function main(): Promise<void> {
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  const redis = new Redis(redisUrl);
  const store = new RedisStore({ redis, prefix, keyRing: generateKeyRing().ring });
  const before = await usedMemory(redis);
  const t0 = performance.now();
  try {
    const tenant = await store.createTenant({
      crm: 'hubspot',
      accountId: '99001',
      mode: 'oauth',
      name: 'bench',
    });
    await store.saveTokens(tenant.id, {
      accessToken: randomBytes(40).toString('base64url'),
      refreshToken: randomBytes(30).toString('base64url'),
      expiresAt: new Date(NOW + 1800_000).toISOString(),
      accountId: '99001',
    });
    const firstId = 10_000_001; // HubSpot-like numeric ids
    for (let start = 0; start < contacts; start += PAGE) {
      const n = Math.min(PAGE, contacts - start);
      const ids = Array.from({ length: n }, (_, k) => String(firstId + start + k));
      const codes = ids.map(() => code());
      await store.putRecordStates(
        tenant.id,
        'contacts',
        ids.map((id, k) => ({
          id,
          inputHash: randomBytes(12).toString('base64url'), // inputHash(): 16 base64url chars
          written: writtenValues(start + k, codes[k] ?? ''),
        })),
      );
      await store.indexPeople(
        tenant.id,
        ids.flatMap((id, k) => [
          { kind: 'code' as const, key: codes[k] ?? '', personId: id },
          {
            kind: 'email' as const,
            key: `person${start + k}@customer${(start + k) % 5000}.example.com`,
            personId: id,
          },
          ...(random() < 0.2
            ? [{ kind: 'click' as const, key: randomBytes(8).toString('hex'), personId: id }]
            : []),
        ]),
      );
      const referred: ReferralEntry[] = ids
        .filter(() => random() < 0.1)
        .map((id) => ({
          referredId: id,
          referrerId: String(firstId + Math.floor(random() * Math.max(1, contacts * 0.05))),
          method: pick(['code', 'click', 'email']),
          at: new Date(NOW - Math.floor(random() * 300) * DAY).toISOString(),
          creditedDealIds: random() < 0.3 ? [String(50_000_000 + Math.floor(random() * 1e6))] : [],
          revenue: random() < 0.3 ? Math.round(random() * 1e6) / 100 : 0,
        }));
      await store.putReferrals(tenant.id, referred);
      await store.scheduleAt(
        tenant.id,
        ids
          .filter(() => random() < 0.6)
          .map((id) => ({ id, at: new Date(NOW + Math.floor(random() * 90 * DAY)) })),
      );
      await store.markTasksDone(
        tenant.id,
        ids
          .filter(() => random() < 0.15)
          .map((id) => ({
            key: `ask:${id}:2026-11`,
            taskId: String(80_000_000_000 + Math.floor(random() * 1e9)),
          })),
      );
    }
    const writeSeconds = (performance.now() - t0) / 1000;

    // Read pass as the pipeline does it per page: record states + attribution lookups.
    const r0 = performance.now();
    for (let start = 0; start < contacts; start += PAGE) {
      const ids = Array.from({ length: Math.min(PAGE, contacts - start) }, (_, k) =>
        String(firstId + start + k),
      );
      const states = await store.getRecordStates(tenant.id, 'contacts', ids);
      if (states.size !== ids.length) throw new Error(`read back ${states.size} of ${ids.length} states`);
      await store.lookupPeople(
        tenant.id,
        'email',
        ids.map((_, k) => `person${start + k}@customer${(start + k) % 5000}.example.com`),
      );
    }
    const readSeconds = (performance.now() - r0) / 1000;

    // Exact per-key accounting of this prefix only.
    const totals = new Map<string, { keys: number; bytes: number }>(
      CATEGORIES.map(([c]) => [c, { keys: 0, bytes: 0 }]),
    );
    const encodings = new Map<string, number>();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 2000);
      cursor = next;
      if (keys.length === 0) continue;
      const pipe = redis.pipeline();
      for (const key of keys) {
        pipe.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
        pipe.object('ENCODING', key);
      }
      const results = (await pipe.exec()) ?? [];
      keys.forEach((key, i) => {
        const bytes = Number(results[i * 2]?.[1] ?? 0);
        const encoding = String(results[i * 2 + 1]?.[1] ?? '?');
        const category = CATEGORIES.find(([, re]) => re.test(key))?.[0] ?? 'tenant, tokens, other';
        const t = totals.get(category);
        if (t !== undefined) {
          t.keys++;
          t.bytes += bytes;
        }
        encodings.set(encoding, (encodings.get(encoding) ?? 0) + 1);
      });
    } while (cursor !== '0');
    const after = await usedMemory(redis);

    const total = [...totals.values()].reduce((s, t) => s + t.bytes, 0);
    const per1000 = Math.round((total / contacts) * 1000);
    const table = new Table({ head: ['state', 'keys', 'bytes', 'bytes / 1,000 contacts'] });
    for (const [category, t] of totals) {
      table.push([
        category,
        t.keys,
        t.bytes.toLocaleString('en'),
        Math.round((t.bytes / contacts) * 1000).toLocaleString('en'),
      ]);
    }
    table.push([
      'TOTAL',
      [...totals.values()].reduce((s, t) => s + t.keys, 0),
      total.toLocaleString('en'),
      per1000.toLocaleString('en'),
    ]);
    console.log(
      `Redis memory of sync state for ${contacts.toLocaleString('en')} contacts (prefix ${prefix})`,
    );
    console.log(table.toString());
    console.log(
      `key encodings: ${[...encodings].map(([e, n]) => `${e}=${n}`).join(', ')}; ` +
        `INFO used_memory delta (shared instance, noisy): ${((after - before) / 1048576).toFixed(1)} MiB; ` +
        `write ${writeSeconds.toFixed(1)} s, read back ${readSeconds.toFixed(1)} s (pages of ${PAGE})`,
    );
    console.log(
      JSON.stringify({
        bench: 'redis-memory',
        contacts,
        bytesPer1000Contacts: per1000,
        totalBytes: total,
        projectedMiBPerMillionContacts: Math.round((per1000 * 1000) / 1048576),
        infoDeltaBytes: after - before,
        writeSeconds: Math.round(writeSeconds * 10) / 10,
        readSeconds: Math.round(readSeconds * 10) / 10,
      }),
    );
  } finally {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 2000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
    await redis.quit();
  }
}

await main();
