/**
 * Seeded generator of realistic canonical data for tests, the benchmark and the demo: NPS skewed
 * positive with a tail of detractors, purchases/renewals, usage, tickets open and closed, advocates
 * with referral codes, referred leads whose captures carry valid codes, typo'd codes, link clicks
 * (some too old), referrer emails, free-text names, self-referrals and existing customers; deals in
 * every stage; partner companies, employees; many missing inputs.
 *
 * Memory-lean for 1M people: every role is a pure function of (seed, index), dates are shared
 * per-day instances (treat as immutable), empty `current` values share one frozen object, and every
 * person has the same property layout (absent inputs are `undefined`) so the engine's hot path
 * stays monomorphic. Same seed and options → same data.
 */
import { CodeIssuer, seededRandom } from './codes.js';
import type { Company, CurrentValues, Deal, Owner, Person, Ticket } from './model.js';
import { DAY_MS } from './rules.js';
import { COMMON_FIRST_NAMES, COMMON_LAST_NAMES } from './sample-names.js';
import type { EngineSnapshot, LinkClick } from './run.js';

export interface GenerateOptions {
  seed?: number;
  people: number;
  deals: number;
  /** Referred people (each with a referral capture). */
  referrals: number;
  now: Date | number;
  companies?: number;
  owners?: number;
  tickets?: number;
  /** Share of customers who already have a referral code (advocates). Default 0.12. */
  advocateShare?: number;
}

export interface GeneratedAccount extends EngineSnapshot {
  clicks: LinkClick[];
  /** How many captures of each kind were generated (for sanity checks, not for assertions on the engine). */
  captureKinds: Record<string, number>;
}

/** mulberry32: small, fast, good enough for synthetic data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A hash of (seed, index, salt) in [0, 1): per-index roles without storing anything. */
function unit(seed: number, i: number, salt: number): number {
  let h =
    Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35) ^ Math.imul(salt + 7, 0x27d4eb2f);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

const FIRST = [
  ...COMMON_FIRST_NAMES,
  'Lucía',
  'Mateo',
  'Sofía',
  'Hugo',
  'Chloé',
  'Léa',
  'Jürgen',
  'Anna',
  'Lukas',
  'Emma',
  'Noah',
  'Olivia',
  'Liam',
  'Ava',
  'Ethan',
  'Mia',
  'Aiko',
  'Haruto',
  'Priya',
  'Arjun',
  'Fatima',
  'Omar',
  'Ingrid',
  'Sven',
  'Zoe',
  'Nikolai',
  'Amara',
  'Kofi',
];
const LAST = [
  ...COMMON_LAST_NAMES,
  'Müller',
  'Schmidt',
  'Dubois',
  'Lefèvre',
  'Rossi',
  'Bianchi',
  'Tanaka',
  'Suzuki',
  'Kowalski',
  'Novak',
  'Johansson',
  'Okafor',
  'Mensah',
  'Patel',
  'Sharma',
  'Khan',
  'Haddad',
  'Silva',
  'Santos',
  'Costa',
  'Ivanov',
  'Petrov',
  'Cohen',
  'Levi',
  "O'Brien",
  'Murphy',
];
const SURNAME_ENDINGS = [
  '',
  '',
  '',
  '',
  '',
  '',
  'son',
  'er',
  'ley',
  'ton',
  'field',
  'man',
  'ford',
  'wood',
  'ski',
  'berg',
  'stein',
  'hart',
  'well',
  'by',
  'more',
  'ridge',
];
/** Every base × ending, built once: people share these strings. */
const SURNAMES = LAST.flatMap((l) => SURNAME_ENDINGS.map((e) => l + e));
/**
 * The string as one flat sequence, as JSON-parsed CRM data arrives. A template literal longer than
 * 12 characters is a V8 rope (cons string); the engine hashes and compares every person's email
 * and link, and each first use flattened a rope into a new copy: ~1 s of the 1M benchmark that
 * measured the generator's string representation, not the engine. `normalize()` of an ASCII text
 * returns the same characters as a sequential string.
 */
function flat(s: string): string {
  return s.normalize();
}

const PUBLIC_DOMAINS = ['gmail.com', 'outlook.com', 'yahoo.com', 'icloud.com', 'hotmail.com'];
const STAGES_OPEN = [
  'appointmentscheduled',
  'qualifiedtobuy',
  'presentationscheduled',
  'decisionmakerboughtin',
  'contractsent',
];
const HOW_HEARD_OTHER = ['Google search', 'LinkedIn ad', 'conference', 'podcast', 'a blog post', 'G2 review'];
const EMPTY: CurrentValues = Object.freeze({}) as CurrentValues;

export function generateAccount(options: GenerateOptions): GeneratedAccount {
  const seed = options.seed ?? 1;
  const now = typeof options.now === 'number' ? options.now : options.now.getTime();
  const nPeople = options.people;
  const nCompanies = options.companies ?? Math.max(10, Math.floor(nPeople / 50));
  const nOwners = options.owners ?? Math.max(3, Math.min(200, Math.floor(nPeople / 20_000) || 3));
  const nTickets = options.tickets ?? Math.floor(nPeople / 10);
  const advocateShare = options.advocateShare ?? 0.12;
  const rnd = prng(seed);
  const today = Math.floor(now / DAY_MS) * DAY_MS;

  const dayCache = new Map<number, Date>();
  /** A shared Date `days` before today (negative = in the future), at 10:00 UTC. */
  const daysAgo = (days: number): Date => {
    const d = Math.round(days);
    let date = dayCache.get(d);
    if (date === undefined) dayCache.set(d, (date = new Date(today - d * DAY_MS + 10 * 3_600_000)));
    return date;
  };
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
  const maybe = <T>(p: number, f: () => T): T | undefined => (rnd() < p ? f() : undefined);

  // ---- Owners and companies
  const owners: Owner[] = [];
  for (let o = 0; o < nOwners; o++)
    owners.push({ id: `o${o}`, name: `Owner ${o}`, email: `owner${o}@vendor.example`, active: true });
  const companies: Company[] = [];
  for (let c = 0; c < nCompanies; c++) {
    companies.push({
      id: `co${c}`,
      name: `Company ${c}`,
      domain: `company${c}.example`,
      ownerId: `o${c % nOwners}`,
      isPartner: unit(seed, c, 91) < 0.02,
      current: EMPTY,
    });
  }

  // ---- Roles by index
  const stride = options.referrals > 0 ? Math.max(2, Math.floor(nPeople / options.referrals)) : Infinity;
  let referredLeft = options.referrals;
  const isReferred = (i: number): boolean =>
    stride !== Infinity && i % stride === stride - 1 && i / stride < options.referrals;
  const isCustomer = (i: number): boolean => !isReferred(i) && unit(seed, i, 1) < 0.55;
  const isEmployee = (i: number): boolean => !isReferred(i) && unit(seed, i, 2) < 0.004;
  const isAdvocate = (i: number): boolean =>
    (isCustomer(i) || isEmployee(i)) && unit(seed, i, 3) < advocateShare;
  const firstOf = (i: number): string => FIRST[Math.floor(unit(seed, i, 4) * FIRST.length)]!;
  // Base surnames × endings: ~1,000 distinct surnames with a heavy head, closer to a real account
  // than 66 names shared by 15,000 people each (which also made every name lookup return hundreds).
  const lastOf = (i: number): string =>
    SURNAMES[
      Math.floor(unit(seed, i, 5) * LAST.length) * SURNAME_ENDINGS.length +
        Math.floor(unit(seed, i, 10) * SURNAME_ENDINGS.length)
    ]!;
  const companyOf = (i: number): number | undefined =>
    unit(seed, i, 6) < 0.8 ? Math.floor(unit(seed, i, 7) * nCompanies) : undefined;
  const emailOf = (i: number): string => {
    const c = companyOf(i);
    const local = `${firstOf(i)}.${lastOf(i)}${i}`.toLowerCase().replace(/[^a-z0-9.]/g, '');
    if (isEmployee(i)) return flat(`${local}@vendor.example`);
    return flat(
      c !== undefined && unit(seed, i, 8) < 0.6
        ? `${local}@company${c}.example`
        : `${local}@${PUBLIC_DOMAINS[i % 5]}`,
    );
  };

  // Advocates' codes, drawn up front from a seeded issuer (unique by construction).
  const issuer = new CodeIssuer(seededRandom(seed * 7919 + 1));
  const codes = new Map<number, string>();
  const taken = new Set<string>();
  const advocates: number[] = [];
  for (let i = 0; i < nPeople; i++) {
    if (!isAdvocate(i)) continue;
    const code = issuer.issue((c) => taken.has(c));
    taken.add(code);
    codes.set(i, code);
    advocates.push(i);
  }
  const customersSample: number[] = [];
  for (let k = 0; k < Math.min(nPeople, 50_000); k++) {
    const i = Math.floor(unit(seed, k, 9) * nPeople);
    if (isCustomer(i)) customersSample.push(i);
  }

  const clicks: LinkClick[] = [];
  const captureKinds: Record<string, number> = {};
  const count = (k: string): void => {
    captureKinds[k] = (captureKinds[k] ?? 0) + 1;
  };
  const typo = (code: string): string => {
    const chars = code.split('');
    const pos = Math.floor(rnd() * (chars.length - 1));
    if (rnd() < 0.5 && chars[pos] !== chars[pos + 1])
      [chars[pos], chars[pos + 1]] = [chars[pos + 1]!, chars[pos]!];
    else chars[pos] = chars[pos] === 'A' ? 'B' : 'A';
    return chars.join('');
  };
  const npsDraw = (): number => {
    const r = rnd();
    return r < 0.22
      ? 10
      : r < 0.42
        ? 9
        : r < 0.6
          ? 8
          : r < 0.72
            ? 7
            : r < 0.8
              ? 6
              : r < 0.85
                ? 5
                : Math.floor(rnd() * 5);
  };

  // ---- People
  const people: Person[] = new Array<Person>(nPeople);
  const referredIdx: number[] = [];
  for (let i = 0; i < nPeople; i++) {
    const referred = isReferred(i) && referredLeft-- > 0;
    const customer = isCustomer(i);
    const employee = isEmployee(i);
    const c = companyOf(i);
    const sinceDays = customer ? Math.floor(rnd() * 2000) : NaN;
    let createdDays = customer ? sinceDays + Math.floor(rnd() * 60) : Math.floor(rnd() * 900);
    let capture: Person['capture'];
    let customerSince = customer ? daysAgo(sinceDays) : undefined;
    let isCust: boolean | undefined = customer ? true : rnd() < 0.5 ? false : undefined;
    let kind: Person['kind'] = customer || employee ? 'contact' : rnd() < 0.4 ? 'lead' : 'contact';
    if (referred) {
      referredIdx.push(i);
      createdDays = Math.floor(rnd() * 150);
      const capturedDays = Math.max(0, createdDays - Math.floor(rnd() * 2));
      const r = rnd();
      kind = rnd() < 0.6 ? 'lead' : 'contact';
      isCust = undefined;
      customerSince = undefined;
      let codeUsed: string | undefined;
      let clickId: string | undefined;
      let referrerEmail: string | undefined;
      let howHeard: string | undefined;
      const adv = advocates.length > 0 ? advocates[Math.floor(rnd() * advocates.length)]! : -1;
      if (adv < 0 || r < 0.62) {
        if (adv >= 0) {
          codeUsed = rnd() < 0.3 ? codes.get(adv)!.toLowerCase() : codes.get(adv)!;
          count('code');
        }
      } else if (r < 0.68) {
        codeUsed = typo(codes.get(adv)!);
        count('typo');
      } else if (r < 0.76) {
        clickId = `clk${i}`;
        const old = rnd() < 0.05;
        clicks.push({
          clickId,
          code: codes.get(adv)!,
          at: daysAgo(capturedDays + (old ? 120 : Math.floor(rnd() * 10))),
        });
        count(old ? 'click_old' : 'click');
      } else if (r < 0.86) {
        const j = customersSample.length > 0 ? pick(customersSample) : adv;
        referrerEmail = rnd() < 0.2 ? emailOf(j).toUpperCase() : emailOf(j);
        count('email');
      } else if (r < 0.93) {
        const misspell = rnd() < 0.3;
        const last = lastOf(adv);
        howHeard = `my friend ${firstOf(adv)} ${misspell ? last.slice(0, -1) : last}`;
        count('name');
      } else if (r < 0.95) {
        howHeard = pick(HOW_HEARD_OTHER);
        count('other');
      } else if (r < 0.97) {
        referrerEmail = emailOf(i); // self-referral
        count('self');
      } else if (r < 0.98) {
        codeUsed = issuer.draw(); // valid shape, never issued
        count('unknown_code');
      } else {
        codeUsed = codes.get(adv)!;
        customerSince = daysAgo(createdDays + 400); // an existing customer "referred" again
        isCust = true;
        kind = 'contact';
        count('existing_customer');
      }
      capture = {
        codeUsed,
        clickId,
        referrerEmail,
        howHeard,
        capturedAt: daysAgo(capturedDays),
      } as Person['capture'];
      // A third of referred people converted: they are customers since after the capture.
      if (isCust === undefined && rnd() < 0.3) {
        isCust = true;
        kind = 'contact';
        customerSince = daysAgo(Math.max(0, capturedDays - 10 - Math.floor(rnd() * 40)));
      }
    }
    const purchaseDays = customer ? Math.min(1500, -Math.log(1 - rnd()) * 120) : NaN;
    const active = customer && rnd() < 0.7;
    const activeLast = active ? Math.floor(rnd() * 31) : undefined;
    const code = codes.get(i);
    const asks =
      customer && rnd() < 0.1
        ? Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => daysAgo(Math.floor(rnd() * 400))).sort(
            (a, b) => a.getTime() - b.getTime(),
          )
        : undefined;
    let current = EMPTY;
    if (code !== undefined) {
      current = { referral_code: code, referral_link: flat(`https://example.com/r/${code}`) };
    } else if (customer && rnd() < 0.05) {
      current = { referral_ready: true, referral_readiness_score: 55 };
    }
    // Every person has the same layout (absent inputs are `undefined`), in one literal: one hidden
    // class, so the engine's property reads stay monomorphic. Adding properties one by one made a
    // quarter of the people dictionary-mode objects (V8's limit on keyed-store-added fields):
    // slower to read and ~20 % more memory.
    const p = {
      id: `p${i}`,
      kind,
      createdAt: daysAgo(createdDays),
      lifecycleStage: customer ? 'customer' : kind === 'lead' ? 'lead' : 'subscriber',
      email: rnd() < 0.95 ? emailOf(i) : undefined,
      firstName: rnd() < 0.97 ? firstOf(i) : undefined,
      lastName: rnd() < 0.97 ? lastOf(i) : undefined,
      // Shared id strings (a fresh `co${c}` per person would cost ~50 MB at 1M people).
      companyId: c === undefined ? undefined : companies[c]!.id,
      ownerId: rnd() < 0.97 ? owners[i % nOwners]!.id : undefined,
      isCustomer: isCust,
      isEmployee: employee ? true : undefined,
      nps: customer ? maybe(0.6, npsDraw) : undefined,
      csat: customer ? maybe(0.3, () => Math.round((1 + rnd() * 4) * 10) / 10) : undefined,
      lastPurchaseAt: customer && rnd() < 0.7 ? daysAgo(purchaseDays) : undefined,
      lastRenewalAt: customer ? maybe(0.4, () => daysAgo(rnd() * 365)) : undefined,
      lastUpgradeAt: customer ? maybe(0.15, () => daysAgo(rnd() * 500)) : undefined,
      onboardingCompletedAt: customer && rnd() < 0.5 ? daysAgo(Math.max(0, sinceDays - 14)) : undefined,
      lastSupportWinAt: customer ? maybe(0.1, () => daysAgo(rnd() * 60)) : undefined,
      purchaseCount: customer ? maybe(0.8, () => 1 + Math.floor(-Math.log(1 - rnd()) * 3)) : undefined,
      totalSpend: customer
        ? maybe(0.75, () => ({ amount: Math.round(Math.exp(7 + 1.2 * gauss(rnd))), currency: 'USD' }))
        : undefined,
      activeDaysLast30: activeLast,
      activeDaysPrev30:
        activeLast !== undefined
          ? Math.min(31, Math.max(0, activeLast + Math.round((rnd() - 0.4) * 12)))
          : undefined,
      featuresUsed: active ? Math.floor(rnd() * 12) : undefined,
      lastActiveAt: active ? daysAgo(-Math.log(1 - rnd()) * 15) : undefined,
      emailOpens: rnd() < 0.6 ? Math.floor(rnd() * 40) : undefined,
      emailClicks: rnd() < 0.6 ? Math.floor(rnd() * 8) : undefined,
      leftReview: customer && rnd() < 0.08 ? true : undefined,
      sharedContent: customer && rnd() < 0.05 ? true : undefined,
      gaveTestimonial: customer && rnd() < 0.02 ? true : undefined,
      referredBefore: code !== undefined && rnd() < 0.3 ? true : undefined,
      customerSince: customerSince,
      optedOut: rnd() < 0.05 ? true : undefined,
      doNotContact: rnd() < 0.02 ? true : undefined,
      capture: capture,
      convertedToId: undefined,
      convertedFromId: undefined,
      mergedIds: undefined,
      npsHistory: undefined,
      asks: asks,
      current,
    };
    people[i] = p as unknown as Person;
  }

  // ---- Deals: some for referred people (created after the capture), the rest for customers.
  const deals: Deal[] = [];
  const dealFor = (personIdx: number, createdDays: number, wonShare: number): void => {
    const d = deals.length;
    const r = rnd();
    const won = r < wonShare;
    const lost = !won && r < wonShare + 0.2;
    const closeDays =
      won || lost ? Math.max(0, createdDays - 5 - Math.floor(rnd() * 60)) : -Math.floor(rnd() * 90);
    const p = people[personIdx]!;
    deals.push({
      id: `d${d}`,
      name: `Deal ${d}`,
      amount: rnd() < 0.95 ? { amount: Math.round(Math.exp(8 + gauss(rnd))), currency: 'USD' } : undefined,
      stage: won ? 'closedwon' : lost ? 'closedlost' : pick(STAGES_OPEN),
      isClosed: won || lost,
      isWon: won,
      closeDate: daysAgo(closeDays),
      createdAt: daysAgo(createdDays),
      ownerId: p.ownerId,
      personIds: [p.id],
      companyId: p.companyId,
      capture: undefined,
      current: EMPTY,
    } as unknown as Deal);
  };
  for (const i of referredIdx) {
    if (deals.length >= options.deals) break;
    if (rnd() < 0.6) {
      const capturedDays = Math.round((today - people[i]!.capture!.capturedAt!.getTime()) / DAY_MS);
      dealFor(i, Math.max(0, capturedDays - Math.floor(rnd() * 20)), 0.35);
    }
  }
  let guard = 0;
  while (deals.length < options.deals && guard++ < options.deals * 20) {
    const i = Math.floor(rnd() * nPeople);
    if (!isCustomer(i)) continue;
    dealFor(i, Math.floor(rnd() * 700), 0.3);
  }

  // ---- Tickets
  const tickets: Ticket[] = [];
  for (let t = 0; t < nTickets; t++) {
    const i = Math.floor(rnd() * nPeople);
    const open = rnd() < 0.15;
    const createdDays = Math.floor(rnd() * 365);
    tickets.push({
      id: `t${t}`,
      personIds: [people[i]!.id],
      companyId: people[i]!.companyId,
      isOpen: open,
      isComplaint: rnd() < 0.1 ? true : undefined,
      createdAt: daysAgo(createdDays),
      closedAt: open ? undefined : daysAgo(Math.max(0, createdDays - Math.floor(rnd() * 20))),
    } as unknown as Ticket);
  }

  return { people, companies, deals, tickets, owners, clicks, captureKinds };
}

/** Standard normal draw (Box-Muller). */
function gauss(rnd: () => number): number {
  const u = 1 - rnd();
  const v = rnd();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
