/**
 * Referral history: codes an earlier program gave to advocates, and referred people whose capture
 * fields point at a referrer by code (exact, one typo, an adjacent swap), link click id, email,
 * or a (possibly misspelt) name in the "how did you hear" text, plus self-referrals and colleagues
 * at the same email domain. The truth (`trueReferrerId`, `trueCapture`) is recorded for tests.
 */
import {
  DAYS_IN_TWO_YEARS,
  emailDomain,
  isCustomerStage,
  normaliseEmail,
  personById,
  type SeedContext,
} from './context.js';
import { asTyped, seedCodeIssuer, withAdjacentSwap, withOneTypo } from './codes.js';
import { asTypedReferrerEmail, fuzzyName, veryLongText } from './dirty.js';
import { ACCOUNT_DOMAIN, FREE_MAIL_DOMAINS, HOW_HEARD_NAMED, HOW_HEARD_NOISE } from './names.js';
import { DAY_MS } from './random.js';
import type { SeedCaptureKind, SeedPerson, SeedReferralClick } from './types.js';

/** Referred people are new: created in the last ~200 days, so deals can close inside 90 days. */
const REFERRED_MAX_AGE_DAYS = 200;
const REFERRED_LEAD_SHARE = 0.35;
const REFERRED_CONTACT_SHARE = 0.1;
const EARLY_STAGES = new Set(['subscriber', 'lead', 'marketingqualifiedlead']);

/** Every kind appears at least once (in this order) when there are enough candidates. */
const CAPTURE_KINDS: readonly SeedCaptureKind[] = [
  'code',
  'email',
  'click',
  'code-typo',
  'code-swap',
  'name',
  'name-fuzzy',
  'self',
  'same-domain',
];
const CAPTURE_WEIGHTS = [28, 20, 15, 6, 4, 8, 5, 5, 5];

const FREE_MAIL = new Set<string>(FREE_MAIL_DOMAINS);

interface Pools {
  referrers: number[];
  withCode: number[];
  withWorkEmail: number[];
}

/** People who are, by seed construction, someone else's record (not eligible for referral roles). */
export function conversionCopyIds(people: readonly SeedPerson[]): Set<string> {
  const ids = new Set<string>();
  for (const p of people) if (p.convertedContactId !== undefined) ids.add(p.convertedContactId);
  return ids;
}

/** ~30% of advocates (promoters, evangelists, reviewers) already carry a code from an earlier program. */
export function assignReferralCodes(ctx: SeedContext): void {
  const { random } = ctx;
  const issuer = seedCodeIssuer(random);
  const issued = new Set<string>();
  for (const p of ctx.people) {
    const advocate =
      p.lifecycleStage === 'evangelist' ||
      (isCustomerStage(p.lifecycleStage) && ((p.nps ?? 0) >= 9 || p.leftReview === true)) ||
      p.isEmployee === true;
    if (!advocate || p.duplicateOfId !== undefined || !random.chance(0.3)) continue;
    const code = issuer.issue((c) => issued.has(c));
    issued.add(code);
    p.referralCode = code;
  }
}

export function assignReferrals(ctx: SeedContext): SeedReferralClick[] {
  const { random, asOfMs, people } = ctx;
  const copies = conversionCopyIds(people);
  const pools = buildPools(people, copies);
  const clicks: SeedReferralClick[] = [];
  const clickIds = new Set<string>();
  const newClickId = (): string => {
    let id = `rc_${random.token(12)}`;
    while (clickIds.has(id)) id = `rc_${random.token(12)}`;
    clickIds.add(id);
    return id;
  };

  const candidates: number[] = [];
  let expected = 0;
  for (let i = 0; i < people.length; i++) {
    const p = people[i];
    if (p === undefined || copies.has(p.id) || p.duplicateOfId !== undefined || p.isEmployee === true)
      continue;
    if (asOfMs - p.createdAt.getTime() > REFERRED_MAX_AGE_DAYS * DAY_MS) continue;
    if (p.kind === 'lead') expected += REFERRED_LEAD_SHARE;
    else if (EARLY_STAGES.has(p.lifecycleStage ?? '')) expected += REFERRED_CONTACT_SHARE;
    else continue;
    candidates.push(i);
  }
  if (pools.referrers.length === 0) return clicks;

  // Selection sampling (Knuth's algorithm S): exactly `wanted` of the candidates, uniformly.
  let wanted = Math.min(candidates.length, Math.max(CAPTURE_KINDS.length, Math.round(expected)));
  let made = 0;
  for (let c = 0; c < candidates.length && wanted > 0; c++) {
    if (random.float() * (candidates.length - c) >= wanted) continue;
    wanted--;
    const person = people[candidates[c] ?? -1];
    if (person === undefined) continue;
    const kind =
      made < CAPTURE_KINDS.length
        ? (CAPTURE_KINDS[made] ?? 'email')
        : (CAPTURE_KINDS[random.weightedIndex(CAPTURE_WEIGHTS)] ?? 'email');
    made++;
    applyCapture(ctx, person, kind, pools, clicks, newClickId);
    copyToConvertedContact(ctx, person);
  }

  // Clicks that never became a lead: the tracker logs far more clicks than conversions.
  const idle = Math.round(made * 1.5);
  for (let k = 0; k < idle; k++) {
    const referrer = people[random.pick(pools.referrers)];
    if (referrer === undefined) continue;
    clicks.push({
      clickId: newClickId(),
      referrerId: referrer.id,
      at: random.daysAgo(asOfMs, 0, REFERRED_MAX_AGE_DAYS),
    });
  }
  clicks.sort((a, b) => a.at.getTime() - b.at.getTime());
  return clicks;
}

function buildPools(people: readonly SeedPerson[], copies: Set<string>): Pools {
  const pools: Pools = { referrers: [], withCode: [], withWorkEmail: [] };
  for (let i = 0; i < people.length; i++) {
    const p = people[i];
    if (p === undefined || p.kind !== 'contact' || copies.has(p.id) || p.duplicateOfId !== undefined)
      continue;
    if (!isCustomerStage(p.lifecycleStage) && p.isEmployee !== true) continue;
    pools.referrers.push(i);
    if (p.referralCode !== undefined) pools.withCode.push(i);
    const domain = emailDomain(p.email);
    if (domain !== undefined && !FREE_MAIL.has(domain) && domain !== ACCOUNT_DOMAIN)
      pools.withWorkEmail.push(i);
  }
  return pools;
}

/** A referrer who was already a customer when the referred person showed up (when one can be found). */
function pickReferrer(
  ctx: SeedContext,
  pool: number[],
  referred: SeedPerson,
  need: (p: SeedPerson) => boolean,
) {
  let fallback: SeedPerson | undefined;
  for (let attempt = 0; attempt < 12; attempt++) {
    const candidate = ctx.people[ctx.random.pick(pool)];
    if (candidate === undefined || candidate.id === referred.id || !need(candidate)) continue;
    fallback ??= candidate;
    const since = candidate.customerSince ?? candidate.createdAt;
    if (since.getTime() < referred.createdAt.getTime()) return candidate;
  }
  return fallback;
}

function applyCapture(
  ctx: SeedContext,
  person: SeedPerson,
  requested: SeedCaptureKind,
  pools: Pools,
  clicks: SeedReferralClick[],
  newClickId: () => string,
): void {
  const { random } = ctx;
  let kind = requested;
  if ((kind === 'code' || kind === 'code-typo' || kind === 'code-swap') && pools.withCode.length === 0)
    kind = 'email';
  if (kind === 'same-domain' && pools.withWorkEmail.length === 0) kind = 'email';

  if (kind === 'self') {
    const own = person.email ?? giveEmail(ctx, person, random.pick(FREE_MAIL_DOMAINS));
    person.referrerEmail = asTypedReferrerEmail(normaliseEmail(own), undefined, undefined, random);
    person.trueCapture = 'self';
    return;
  }

  const pool = kind.startsWith('code')
    ? pools.withCode
    : kind === 'same-domain'
      ? pools.withWorkEmail
      : pools.referrers;
  const needsEmail = kind === 'email' || kind === 'same-domain';
  const needsName = kind === 'name' || kind === 'name-fuzzy';
  const referrer = pickReferrer(ctx, pool, person, (r) =>
    needsEmail
      ? r.email !== undefined
      : needsName
        ? r.firstName !== undefined && r.lastName !== undefined
        : true,
  );
  if (referrer === undefined) return; // tiny account with no suitable referrer: stays unreferred
  person.trueReferrerId = referrer.id;
  person.trueCapture = kind;

  switch (kind) {
    case 'code':
    case 'code-typo':
    case 'code-swap': {
      const code = referrer.referralCode ?? '';
      let used = code;
      if (kind === 'code-typo') used = withOneTypo(code, random);
      if (kind === 'code-swap') {
        const swapped = withAdjacentSwap(code, random);
        if (swapped === undefined) {
          used = withOneTypo(code, random);
          person.trueCapture = 'code-typo';
        } else used = swapped;
      }
      person.codeUsed = asTyped(used, random);
      if (random.chance(0.25) && referrer.email !== undefined) {
        person.referrerEmail = normaliseEmail(referrer.email);
      }
      break;
    }
    case 'click': {
      const clickId = newClickId();
      const at = new Date(person.createdAt.getTime() - random.float() * 7 * DAY_MS);
      clicks.push({ clickId, referrerId: referrer.id, at });
      person.clickId = clickId;
      break;
    }
    case 'email':
    case 'same-domain': {
      const email = normaliseEmail(referrer.email ?? '');
      if (kind === 'same-domain') {
        const domain = emailDomain(email) ?? ACCOUNT_DOMAIN;
        giveEmail(ctx, person, domain);
      }
      person.referrerEmail = asTypedReferrerEmail(
        email,
        referrer.firstName?.trim(),
        referrer.lastName?.trim(),
        random,
      );
      break;
    }
    case 'name':
    case 'name-fuzzy': {
      const first = (referrer.firstName ?? '').trim();
      const last = (referrer.lastName ?? '').trim();
      const name = kind === 'name' ? `${first} ${last}` : fuzzyName(first, last, random);
      person.howHeard = random.pick(HOW_HEARD_NAMED).replace('{name}', name);
      break;
    }
  }
  if (person.howHeard === undefined && random.chance(0.25))
    person.howHeard = random.pick(['a friend', 'friend', 'referral', 'word of mouth']);
}

/** Gives the person a fresh address at `domain` (a colleague of the referrer, or a self-referrer). */
function giveEmail(ctx: SeedContext, person: SeedPerson, domain: string): string {
  const first =
    (person.firstName ?? 'new')
      .trim()
      .toLowerCase()
      .replace(/[^a-z]/g, '') || 'new';
  const last =
    (person.lastName ?? 'person')
      .trim()
      .toLowerCase()
      .replace(/[^a-z]/g, '') || 'person';
  let email = `${first}.${last}@${domain}`;
  for (let n = 2; ctx.emailsInUse.has(email); n++) email = `${first}.${last}${n}@${domain}`;
  ctx.emailsInUse.add(email);
  person.email = email;
  return email;
}

/** Salesforce maps the lead's capture fields onto the contact it converts into. */
function copyToConvertedContact(ctx: SeedContext, lead: SeedPerson): void {
  if (lead.convertedContactId === undefined) return;
  const contact = personById(ctx, lead.convertedContactId);
  if (contact === undefined) return;
  if (lead.email !== undefined) contact.email = lead.email;
  if (lead.codeUsed !== undefined) contact.codeUsed = lead.codeUsed;
  if (lead.clickId !== undefined) contact.clickId = lead.clickId;
  if (lead.referrerEmail !== undefined) contact.referrerEmail = lead.referrerEmail;
  if (lead.howHeard !== undefined) contact.howHeard = lead.howHeard;
  if (lead.trueReferrerId !== undefined) contact.trueReferrerId = lead.trueReferrerId;
  if (lead.trueCapture !== undefined) contact.trueCapture = lead.trueCapture;
}

/** "How did you hear" noise on people nobody referred, and the odd 5,000-character paste. */
export function addHowHeardNoise(ctx: SeedContext): void {
  const { random, people, asOfMs } = ctx;
  for (const p of people) {
    if (p.howHeard !== undefined || p.trueCapture !== undefined) continue;
    const recent = asOfMs - p.createdAt.getTime() < DAYS_IN_TWO_YEARS * DAY_MS;
    const share = p.kind === 'lead' ? 0.35 : isCustomerStage(p.lifecycleStage) || !recent ? 0.02 : 0.08;
    if (random.chance(share)) p.howHeard = random.pick(HOW_HEARD_NOISE);
  }
  const longOnes = Math.max(1, Math.round(people.length * 0.001));
  for (let k = 0, tries = 0; k < longOnes && tries < longOnes * 20; tries++) {
    const p = random.pick(people);
    if (p.trueCapture !== undefined || (p.howHeard !== undefined && p.howHeard.length > 1000)) continue;
    p.howHeard = veryLongText(random);
    k++;
  }
}
