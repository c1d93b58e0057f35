/**
 * Deals in every stage of the default pipeline: won purchases of customers, open deals of
 * opportunities, lost ones, and the opportunities of converted leads, of which referred people's
 * are mostly won inside the 90-day attribution window (and some just outside it).
 */
import { dayOf, isCustomerStage, personById, type SeedContext } from './context.js';
import { DEAL_NAME_KINDS } from './names.js';
import { conversionCopyIds } from './referrals.js';
import { blankDeal } from './shapes.js';
import { DAY_MS } from './random.js';
import { SEED_DEAL_STAGES, type SeedDeal, type SeedPerson } from './types.js';

const CURRENCIES = ['USD', 'EUR', 'GBP', 'CAD'] as const;
const CURRENCY_WEIGHTS = [70, 15, 10, 5];
const OPEN_STAGES = SEED_DEAL_STAGES.filter((s) => !s.closed);
const WON = SEED_DEAL_STAGES.find((s) => s.won) ?? SEED_DEAL_STAGES[5];
const LOST = SEED_DEAL_STAGES.find((s) => s.closed && !s.won) ?? SEED_DEAL_STAGES[6];

type Outcome = 'won' | 'lost' | 'open';

/** Open deals made so far in this run (reset by generateDeals). */
const openSeen = { count: 0 };

export function generateDeals(ctx: SeedContext): SeedDeal[] {
  const { random, people } = ctx;
  const deals: SeedDeal[] = [];
  openSeen.count = 0;
  const copies = conversionCopyIds(people); // their deal comes with their lead
  for (const person of people) {
    if (person.kind === 'lead') {
      if (person.convertedContactId !== undefined) dealForConvertedLead(ctx, person, deals);
      continue;
    }
    if (person.isEmployee === true || person.duplicateOfId !== undefined || copies.has(person.id)) continue;
    const stage = person.lifecycleStage;
    if (isCustomerStage(stage)) {
      if (random.chance(0.4)) {
        const closeAt = person.lastPurchaseAt ?? person.customerSince ?? person.createdAt;
        addDeal(ctx, deals, person, 'won', closeAt.getTime() - random.int(7, 90) * DAY_MS, closeAt.getTime());
      }
      if (random.chance(0.1)) addDeal(ctx, deals, person, random.chance(0.5) ? 'open' : 'lost');
    } else if (stage === 'opportunity' && random.chance(0.8)) {
      addDeal(ctx, deals, person, 'open');
    } else if (stage === 'salesqualifiedlead' && random.chance(0.3)) {
      addDeal(ctx, deals, person, random.chance(0.7) ? 'open' : 'lost');
    } else if (person.trueCapture !== undefined && random.chance(0.4)) {
      referredDeal(ctx, deals, person);
    } else if (random.chance(0.04)) {
      addDeal(ctx, deals, person, 'lost');
    }
  }
  return deals;
}

function dealForConvertedLead(ctx: SeedContext, lead: SeedPerson, deals: SeedDeal[]): void {
  const contact = personById(ctx, lead.convertedContactId ?? '');
  if (contact === undefined) return;
  const deal =
    lead.trueCapture !== undefined
      ? referredDeal(ctx, deals, contact)
      : addDeal(
          ctx,
          deals,
          contact,
          ctx.random.pick<Outcome>(['won', 'won', 'lost', 'open', 'open']),
          contact.createdAt.getTime(),
        );
  lead.convertedDealId = deal.id;
}

/** A referred person's deal: mostly won inside 90 days of their arrival, some later, some not won. */
function referredDeal(ctx: SeedContext, deals: SeedDeal[], person: SeedPerson): SeedDeal {
  const { random } = ctx;
  const r = random.float();
  const arrived = person.createdAt.getTime();
  if (r < 0.45) return addDeal(ctx, deals, person, 'won', arrived, arrived + random.int(5, 85) * DAY_MS);
  if (r < 0.55) return addDeal(ctx, deals, person, 'won', arrived, arrived + random.int(95, 160) * DAY_MS);
  if (r < 0.7) return addDeal(ctx, deals, person, 'lost', arrived);
  return addDeal(ctx, deals, person, 'open', arrived);
}

/**
 * Adds one deal on `person`. A closed deal whose close date would fall after `asOf` stays open
 * (it has not closed yet); a won deal makes a not-yet-customer a customer as of its close date.
 */
function addDeal(
  ctx: SeedContext,
  deals: SeedDeal[],
  person: SeedPerson,
  wanted: Outcome,
  createdAtMs?: number,
  closeAtMs?: number,
): SeedDeal {
  const { random, asOfMs } = ctx;
  const created = Math.max(
    person.createdAt.getTime(),
    Math.min(asOfMs - DAY_MS, createdAtMs ?? asOfMs - random.int(1, 720) * DAY_MS),
  );
  let close = closeAtMs ?? created + random.int(7, 120) * DAY_MS;
  let outcome = wanted;
  if (outcome !== 'open' && close >= asOfMs) outcome = 'open';
  if (outcome === 'open') close = asOfMs + random.int(5, 120) * DAY_MS;
  // The first open deals walk through every open stage, so even a 100-contact account has them all.
  const openIndex =
    openSeen.count < OPEN_STAGES.length ? openSeen.count : random.int(0, OPEN_STAGES.length - 1);
  if (outcome === 'open') openSeen.count++;
  const stage = outcome === 'won' ? WON : outcome === 'lost' ? LOST : (OPEN_STAGES[openIndex] ?? WON);

  const company =
    person.companyId === undefined ? undefined : ctx.companies[Number(person.companyId.slice(1)) - 1];
  const amount = Math.round(Math.min(1_000_000, Math.max(100, random.logNormal(4_000, 1))) * 100) / 100;
  const deal = blankDeal({
    id: `d${deals.length + 1}`,
    name: `${company?.name ?? person.lastName?.trim() ?? 'Unknown'} - ${random.pick(DEAL_NAME_KINDS)}`,
    amount,
    currency: CURRENCIES[random.weightedIndex(CURRENCY_WEIGHTS)] ?? 'USD',
    stage: stage.id,
    isClosed: stage.closed,
    isWon: stage.won,
    closeDate: dayOf(ctx, close),
    createdAt: new Date(created),
    ownerId: person.ownerId,
    personIds: [person.id],
  });
  if (company !== undefined) deal.companyId = company.id;
  deals.push(deal);
  if (stage.won && !isCustomerStage(person.lifecycleStage)) becameCustomer(person, deal);
  return deal;
}

function becameCustomer(person: SeedPerson, deal: SeedDeal): void {
  person.lifecycleStage = 'customer';
  person.customerSince = deal.closeDate;
  person.lastPurchaseAt = deal.closeDate;
  person.purchaseCount = 1;
  person.totalSpend = deal.amount;
}
