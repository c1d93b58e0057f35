/** Owners (sales reps, some of whom left) and companies (customers, partners, prospects). */
import type { SeedContext } from './context.js';
import {
  ACCOUNT_DOMAIN,
  COMPANY_SUFFIXES,
  COMPANY_TLDS,
  COMPANY_WORDS_A,
  COMPANY_WORDS_B,
  FIRST_NAMES,
  LAST_NAMES,
} from './names.js';
import type { SeedRandom } from './random.js';
import type { SeedCompany, SeedOwner } from './types.js';

/** A few dozen at most: 8 for 100 contacts, +8 per tenfold, 40 at 1M. */
export function ownerCountFor(contacts: number): number {
  return Math.round(8 + 8 * Math.max(0, Math.log10(contacts) - 2));
}

export function generateOwners(random: SeedRandom, count: number): SeedOwner[] {
  const owners: SeedOwner[] = [];
  const used = new Set<string>();
  for (let i = 0; i < count; i++) {
    const firstName = random.pick(FIRST_NAMES);
    const lastName = random.pick(LAST_NAMES);
    const base = `${firstName}.${lastName}`.toLowerCase().replace(/[^a-z.]/g, '');
    let local = base;
    for (let n = 2; used.has(local); n++) local = `${base}${n}`;
    used.add(local);
    // ~15% of reps have left; their old records still point at them (a real CRM's state).
    const active = i === 0 || !random.chance(0.15);
    owners.push({ id: `o${i + 1}`, email: `${local}@${ACCOUNT_DOMAIN}`, firstName, lastName, active });
  }
  if (count >= 6 && owners.every((o) => o.active)) {
    const last = owners[count - 1];
    if (last !== undefined) last.active = false;
  }
  return owners;
}

/** Customer companies ≈ contacts / 8; prospects (named by leads) come on top, 1 per 4 customers. */
export function companyCountsFor(contacts: number): { customers: number; prospects: number } {
  const customers = Math.max(4, Math.round(contacts / 8));
  return { customers, prospects: Math.max(2, Math.round(customers / 4)) };
}

export function generateCompanies(ctx: SeedContext, customers: number, prospects: number): SeedCompany[] {
  const { random, asOfMs } = ctx;
  const pairs = COMPANY_WORDS_A.length * COMPANY_WORDS_B.length;
  const companies: SeedCompany[] = [];
  const total = customers + prospects;
  for (let i = 0; i < total; i++) {
    // Scramble the pair order (7 is coprime with the pair count) so neighbours look unrelated.
    const pair = (i * 7) % pairs;
    const round = Math.floor(i / pairs);
    const a = COMPANY_WORDS_A[pair % COMPANY_WORDS_A.length] ?? 'Acme';
    const b = COMPANY_WORDS_B[Math.floor(pair / COMPANY_WORDS_A.length)] ?? 'Works';
    const tld = COMPANY_TLDS[(i + round) % COMPANY_TLDS.length] ?? 'com';
    const roundTag = round === 0 ? '' : String(round + 1);
    const isProspect = i >= customers;
    const owner = pickOwner(ctx, 0.08);
    companies.push({
      id: `c${i + 1}`,
      name: `${a} ${b}${roundTag === '' ? '' : ` ${roundTag}`} ${random.pick(COMPANY_SUFFIXES)}`,
      domain: `${a}${b}${roundTag}.${tld}`.toLowerCase(),
      ownerId: owner.id,
      isPartner: !isProspect && random.chance(0.04),
      createdAt: isProspect ? random.daysAgo(asOfMs, 1, 240) : random.daysAgo(asOfMs, 30, 5 * 365),
    });
  }
  return companies;
}

/** An owner for a record: an active rep, or (with `inactiveShare`) one who has left. */
export function pickOwner(ctx: SeedContext, inactiveShare: number): SeedOwner {
  const { random } = ctx;
  if (ctx.inactiveOwners.length > 0 && random.chance(inactiveShare)) return random.pick(ctx.inactiveOwners);
  return random.pick(ctx.activeOwners);
}
