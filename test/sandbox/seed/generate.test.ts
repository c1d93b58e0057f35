import { describe, expect, it } from 'vitest';
import { isAppError } from '../../../src/errors.js';
import { normalizeCode } from '../../../src/engine/codes.js';
import { isValidSeedCode } from '../../../src/sandbox/seed/codes.js';
import {
  ERR_SANDBOX_SEED_OPTIONS,
  generateSeedAccount,
  SEED_DEFAULT_AS_OF,
} from '../../../src/sandbox/seed/generate.js';
import { SEED_DEAL_STAGES, type SeedAccount, type SeedPerson } from '../../../src/sandbox/seed/types.js';

const DAY = 86_400_000;
const account = generateSeedAccount({ seed: 11, contacts: 5_000 });
const byId = new Map(account.people.map((p) => [p.id, p]));
const asOf = account.asOf.getTime();

const norm = (email: string): string => {
  const bracketed = /<([^>]+)>/.exec(email);
  return (bracketed?.[1] ?? email).trim().toLowerCase();
};
const normCode = (code: string): string => normalizeCode(code);
const share = (items: readonly SeedPerson[], test: (p: SeedPerson) => boolean): number =>
  items.filter(test).length / items.length;
const customers = account.people.filter(
  (p) => p.lifecycleStage === 'customer' || p.lifecycleStage === 'evangelist',
);

function codesThrow(options: unknown): string | undefined {
  try {
    generateSeedAccount(options as never);
    return undefined;
  } catch (e) {
    return isAppError(e) ? e.code : 'not an AppError';
  }
}

describe('generateSeedAccount: determinism and size', () => {
  it('gives a deep-equal account for the same seed and a different one for another seed', () => {
    const a = generateSeedAccount({ seed: 3, contacts: 1_000 });
    const b = generateSeedAccount({ seed: 3, contacts: 1_000 });
    const c = generateSeedAccount({ seed: 4, contacts: 1_000 });
    expect(b).toEqual(a);
    expect(c.people.map((p) => p.email)).not.toEqual(a.people.map((p) => p.email));
  });

  it('makes exactly the requested number of people, dated before asOf (default fixed)', () => {
    expect(account.people).toHaveLength(5_000);
    expect(account.asOf).toEqual(SEED_DEFAULT_AS_OF);
    const custom = generateSeedAccount({ seed: 1, contacts: 100, asOf: new Date('2030-06-01T00:00:00Z') });
    expect(custom.people).toHaveLength(100);
    expect(Math.max(...custom.people.map((p) => p.createdAt.getTime()))).toBeLessThan(
      Date.parse('2030-06-01'),
    );
  });

  it('rejects sizes outside 100..1,000,000 and unknown options with a typed error', () => {
    expect(codesThrow({ seed: 1, contacts: 99 })).toBe(ERR_SANDBOX_SEED_OPTIONS);
    expect(codesThrow({ seed: 1, contacts: 1_000_001 })).toBe(ERR_SANDBOX_SEED_OPTIONS);
    expect(codesThrow({ seed: 1.5, contacts: 100 })).toBe(ERR_SANDBOX_SEED_OPTIONS);
    expect(codesThrow({ seed: 1, contacts: 100, extra: true })).toBe(ERR_SANDBOX_SEED_OPTIONS);
  });

  it('keeps every date at or before asOf, except open deals expected to close later', () => {
    for (const p of account.people) {
      for (const d of [
        p.createdAt,
        p.lastPurchaseAt,
        p.lastRenewalAt,
        p.lastUpgradeAt,
        p.customerSince,
        p.lastActiveAt,
      ])
        if (d !== undefined) expect(d.getTime()).toBeLessThanOrEqual(asOf);
    }
    for (const d of account.deals) {
      expect(d.createdAt.getTime()).toBeLessThanOrEqual(asOf);
      if (d.isClosed) expect(d.closeDate.getTime()).toBeLessThanOrEqual(asOf);
      else expect(d.closeDate.getTime()).toBeGreaterThan(asOf);
    }
    for (const t of account.tickets)
      if (t.closedAt !== undefined) expect(t.closedAt.getTime()).toBeLessThan(asOf);
  });
});

describe('generateSeedAccount: realistic distributions', () => {
  it('has a few dozen owners at most, some inactive, and every record owned by one of them', () => {
    const tiny = generateSeedAccount({ seed: 2, contacts: 100 });
    expect(tiny.owners.length).toBeGreaterThanOrEqual(6);
    expect(account.owners.length).toBeLessThanOrEqual(60);
    expect(account.owners.some((o) => !o.active)).toBe(true);
    const ownerIds = new Set(account.owners.map((o) => o.id));
    for (const r of [...account.people, ...account.companies, ...account.deals])
      expect(ownerIds.has(r.ownerId)).toBe(true);
  });

  it('has about one company per 8 contacts, unique domains, and some partners', () => {
    expect(account.companies.length).toBeGreaterThan(5_000 / 10);
    expect(account.companies.length).toBeLessThan(5_000 / 5);
    expect(new Set(account.companies.map((c) => c.domain)).size).toBe(account.companies.length);
    const partners = account.companies.filter((c) => c.isPartner).length;
    expect(partners).toBeGreaterThan(0);
    expect(partners / account.companies.length).toBeLessThan(0.1);
  });

  it('has ~15% leads, some converted into a contact with the same email and an opportunity', () => {
    const leads = account.people.filter((p) => p.kind === 'lead');
    expect(leads.length / 5_000).toBeGreaterThan(0.1);
    expect(leads.length / 5_000).toBeLessThan(0.2);
    const converted = leads.filter((l) => l.convertedContactId !== undefined);
    expect(converted.length).toBeGreaterThan(0);
    const dealIds = new Map(account.deals.map((d) => [d.id, d]));
    for (const lead of converted) {
      const contact = byId.get(lead.convertedContactId ?? '');
      expect(contact?.kind).toBe('contact');
      expect(contact?.email).toBe(lead.email);
      const deal = dealIds.get(lead.convertedDealId ?? '');
      expect(deal?.personIds).toContain(contact?.id);
    }
  });

  it('skews NPS positive with detractors, keeps CSAT in 1..5 and NPS history ending at the current score', () => {
    const answered = account.people.filter((p) => p.nps !== undefined);
    expect(answered.length / customers.length).toBeGreaterThan(0.4);
    for (const p of answered)
      expect(Number.isInteger(p.nps) && (p.nps ?? -1) >= 0 && (p.nps ?? 11) <= 10).toBe(true);
    const promoters = share(answered, (p) => (p.nps ?? 0) >= 9);
    const detractors = share(answered, (p) => (p.nps ?? 10) <= 6);
    expect(promoters).toBeGreaterThan(0.4);
    expect(detractors).toBeGreaterThan(0.08);
    expect(detractors).toBeLessThan(0.35);
    for (const p of account.people.filter((q) => q.npsHistory !== undefined)) {
      const h = p.npsHistory ?? [];
      expect(h.at(-1)?.score).toBe(p.nps);
      for (let i = 1; i < h.length; i++)
        expect((h[i]?.at.getTime() ?? 0) >= (h[i - 1]?.at.getTime() ?? 0)).toBe(true);
    }
    const csat = account.people.filter((p) => p.csat !== undefined).map((p) => p.csat ?? 0);
    expect(csat.length).toBeGreaterThan(0);
    expect(Math.min(...csat)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...csat)).toBeLessThanOrEqual(5);
  });

  it('spreads purchases over two years with a slice in the last 30 days, and some falling usage', () => {
    const bought = customers.filter((p) => p.lastPurchaseAt !== undefined);
    const recent = share(bought, (p) => asOf - (p.lastPurchaseAt?.getTime() ?? 0) <= 30 * DAY);
    expect(recent).toBeGreaterThan(0.04);
    expect(recent).toBeLessThan(0.25);
    expect(share(bought, (p) => asOf - (p.lastPurchaseAt?.getTime() ?? 0) > 365 * DAY)).toBeGreaterThan(0.1);
    expect(share(customers, (p) => p.lastRenewalAt !== undefined)).toBeGreaterThan(0.2);
    expect(share(customers, (p) => p.lastUpgradeAt !== undefined)).toBeGreaterThan(0.1);
    const falling = share(
      customers,
      (p) => (p.activeDaysPrev30 ?? 0) >= 15 && (p.activeDaysLast30 ?? 0) * 3 <= (p.activeDaysPrev30 ?? 0),
    );
    expect(falling).toBeGreaterThan(0.04);
    expect(falling).toBeLessThan(0.25);
  });

  it('has engagement, advocacy, tenure, consent flags and employees', () => {
    expect(share(account.people, (p) => (p.emailOpens ?? 0) > 0)).toBeGreaterThan(0.3);
    for (const p of account.people) expect(p.emailClicks ?? 0).toBeLessThanOrEqual(p.emailOpens ?? 0);
    expect(customers.some((p) => p.leftReview === true)).toBe(true);
    expect(customers.some((p) => p.sharedContent === true)).toBe(true);
    expect(customers.some((p) => p.gaveTestimonial === true)).toBe(true);
    expect(share(customers, (p) => asOf - (p.customerSince?.getTime() ?? asOf) > 365 * DAY)).toBeGreaterThan(
      0.3,
    );
    const optedOut = share(account.people, (p) => p.optedOut === true);
    expect(optedOut).toBeGreaterThan(0.02);
    expect(optedOut).toBeLessThan(0.12);
    expect(account.people.some((p) => p.doNotContact === true)).toBe(true);
    expect(account.people.some((p) => p.isEmployee === true)).toBe(true);
  });

  it('has deals in every stage, positive amounts, ISO currencies, and open, closed and complaint tickets', () => {
    for (const stage of SEED_DEAL_STAGES) expect(account.deals.some((d) => d.stage === stage.id)).toBe(true);
    for (const d of account.deals) {
      expect(d.amount).toBeGreaterThan(0);
      expect(d.currency).toMatch(/^[A-Z]{3}$/);
      const stage = SEED_DEAL_STAGES.find((s) => s.id === d.stage);
      expect(d.isWon).toBe(stage?.won);
      expect(d.isClosed).toBe(stage?.closed);
      for (const id of d.personIds) expect(byId.has(id)).toBe(true);
    }
    expect(new Set(account.deals.map((d) => d.currency)).size).toBeGreaterThan(1);
    expect(account.tickets.some((t) => t.isOpen && t.closedAt === undefined)).toBe(true);
    expect(account.tickets.some((t) => !t.isOpen && t.closedAt !== undefined)).toBe(true);
    expect(account.tickets.some((t) => t.isComplaint)).toBe(true);
  });

  it('has dirty data: missing fields, odd email formats, unicode names, ~5,000-character strings', () => {
    expect(account.people.some((p) => p.email === undefined)).toBe(true);
    expect(account.people.some((p) => p.firstName === undefined)).toBe(true);
    expect(account.people.some((p) => p.email !== undefined && p.email !== p.email.trim())).toBe(true);
    expect(account.people.some((p) => p.email !== undefined && /[A-Z]/.test(p.email))).toBe(true);
    expect(account.people.some((p) => /[^\p{ASCII}]/u.test(`${p.firstName ?? ''}${p.lastName ?? ''}`))).toBe(
      true,
    );
    const long = account.people.filter((p) => (p.howHeard?.length ?? 0) >= 4_500);
    expect(long.length).toBeGreaterThan(0);
    expect(Math.max(...long.map((p) => p.howHeard?.length ?? 0))).toBeLessThan(6_000);
  });

  it('has deliberate duplicates that repeat an earlier person email', () => {
    const dups = account.people.filter((p) => p.duplicateOfId !== undefined);
    expect(dups.length).toBeGreaterThanOrEqual(25);
    for (const d of dups) {
      const source = byId.get(d.duplicateOfId ?? '');
      expect(source).toBeDefined();
      expect(Number(source?.id.slice(1))).toBeLessThan(Number(d.id.slice(1)));
      expect(norm(d.email ?? '')).toBe(norm(source?.email ?? 'x'));
    }
  });
});

describe('generateSeedAccount: referral truth', () => {
  const referred = account.people.filter((p) => p.trueCapture !== undefined);
  const clicks = new Map((account.referralClicks ?? []).map((c) => [c.clickId, c]));

  it('issues unique, valid codes to some advocates', () => {
    const codes = account.people.flatMap((p) => (p.referralCode === undefined ? [] : [p.referralCode]));
    expect(codes.length).toBeGreaterThan(50);
    expect(new Set(codes).size).toBe(codes.length);
    for (const c of codes) expect(isValidSeedCode(c)).toBe(true);
  });

  it('points every truth at an existing customer or employee contact, never the person itself', () => {
    expect(referred.length).toBeGreaterThan(100);
    for (const p of referred) {
      if (p.trueCapture === 'self') {
        expect(p.trueReferrerId).toBeUndefined();
        continue;
      }
      const referrer = byId.get(p.trueReferrerId ?? '');
      expect(referrer?.kind).toBe('contact');
      expect(referrer?.id).not.toBe(p.id);
      const advocate =
        referrer?.isEmployee === true || ['customer', 'evangelist'].includes(referrer?.lifecycleStage ?? '');
      expect(advocate).toBe(true);
    }
  });

  it('makes each capture consistent with its kind', () => {
    const seen = new Set<string>();
    for (const p of referred) {
      seen.add(p.trueCapture ?? '');
      const r = byId.get(p.trueReferrerId ?? '');
      const code = r?.referralCode ?? '';
      const used = normCode(p.codeUsed ?? '');
      switch (p.trueCapture) {
        case 'code':
          expect(used).toBe(code);
          break;
        case 'code-typo':
          expect(used).toHaveLength(code.length);
          expect([...used].filter((ch, i) => ch !== code[i])).toHaveLength(1);
          expect(isValidSeedCode(used)).toBe(false);
          break;
        case 'code-swap': {
          const diff = [...used].flatMap((ch, i) => (ch === code[i] ? [] : [i]));
          expect(diff).toHaveLength(2);
          expect((diff[1] ?? 0) - (diff[0] ?? 0)).toBe(1);
          expect(isValidSeedCode(used)).toBe(false);
          break;
        }
        case 'click':
          expect(clicks.get(p.clickId ?? '')?.referrerId).toBe(p.trueReferrerId);
          break;
        case 'email':
          expect(norm(p.referrerEmail ?? '')).toBe(norm(r?.email ?? 'x'));
          break;
        case 'same-domain':
          expect(norm(p.referrerEmail ?? '')).toBe(norm(r?.email ?? 'x'));
          expect(norm(p.email ?? '').split('@')[1]).toBe(norm(r?.email ?? '').split('@')[1]);
          break;
        case 'name':
          expect(p.howHeard).toContain(`${r?.firstName?.trim()} ${r?.lastName?.trim()}`);
          break;
        case 'name-fuzzy':
          expect(p.howHeard).not.toContain(`${r?.firstName?.trim()} ${r?.lastName?.trim()}`);
          break;
        case 'self':
          expect(norm(p.referrerEmail ?? '')).toBe(norm(p.email ?? 'x'));
          break;
      }
    }
    expect([...seen].sort()).toEqual(
      [
        'click',
        'code',
        'code-swap',
        'code-typo',
        'email',
        'name',
        'name-fuzzy',
        'same-domain',
        'self',
      ].sort(),
    );
  });

  it('wins some referred deals inside 90 days and some after', () => {
    const won = account.deals.filter(
      (d) => d.isWon && d.personIds.some((id) => byId.get(id)?.trueCapture !== undefined),
    );
    const lag = (d: (typeof won)[number]): number =>
      d.closeDate.getTime() - Math.min(...d.personIds.map((id) => byId.get(id)?.createdAt.getTime() ?? asOf));
    expect(won.filter((d) => lag(d) <= 90 * DAY).length).toBeGreaterThan(5);
    expect(won.some((d) => lag(d) > 90 * DAY)).toBe(true);
  });

  it('logs clicks for referral links, most of which never became a lead', () => {
    const used = new Set(referred.map((p) => p.clickId).filter((c) => c !== undefined));
    expect(clicks.size).toBeGreaterThan(used.size);
    for (const c of clicks.values()) expect(byId.has(c.referrerId)).toBe(true);
  });
});

describe('generateSeedAccount: the smallest account still has every case', () => {
  const small: SeedAccount = generateSeedAccount({ seed: 5, contacts: 100 });
  it('has every capture kind, every deal stage, a duplicate and a long string', () => {
    const kinds = new Set(small.people.map((p) => p.trueCapture).filter((k) => k !== undefined));
    expect(kinds.size).toBe(9);
    for (const stage of SEED_DEAL_STAGES) expect(small.deals.some((d) => d.stage === stage.id)).toBe(true);
    expect(small.people.some((p) => p.duplicateOfId !== undefined)).toBe(true);
    expect(small.people.some((p) => (p.howHeard?.length ?? 0) > 4_500)).toBe(true);
  });
});
