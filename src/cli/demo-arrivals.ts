/**
 * The demo's second act, "referred friends arrive": after the first full sync issued referral codes
 * into the sandbox CRM, new people come in through every attribution path of PRODUCT.md F-ATTR —
 * a code typed in a form, a referral link click (a real `GET /r/:tenant/:code` on the demo
 * server, whose redirect's `rs_click` the landing form stores in the click-id capture field), a
 * referrer's email, a code with a typo (a "did you mean" review) and a half-remembered name (a
 * fuzzy-name review) — and several of them buy: won deals closed over the last months, inside the
 * attribution window, so "referred revenue over time" has a bar per month.
 *
 * Dates: the CRM record's creation is the capture instant, so friends are created in the past
 * (HubSpot accepts `createdate` on create; the Salesforce sandbox's CreatedDate is set the way its
 * seed loader does, since the API cannot). The link-click friend arrives today, after the click.
 */
import { isValidCode, normalizeCode } from '../engine/index.js';
import type { RunningSandboxes } from '../sandbox/index.js';
import { loadMapping } from '../sync/mapping.js';

const DAY_MS = 86_400_000;

export type ArrivalMethod = 'code' | 'click' | 'email' | 'typo' | 'name';

/** Someone our first sync gave a code to. */
export interface Advocate {
  id: string;
  firstName: string;
  lastName: string;
  email: string;
  code: string;
  ownerId?: string;
}

export interface Friend {
  method: ArrivalMethod;
  referrer: Advocate;
  firstName: string;
  lastName: string;
  email: string;
  /** Record creation = capture instant. */
  createdAt: Date;
  capture: { codeUsed?: string; clickId?: string; referrerEmail?: string; howHeard?: string };
  wonDeal?: { amount: number; closeDate: Date };
}

export interface ArrivedFriend extends Friend {
  /** The CRM id the pipeline knows the friend by (the Contact for a converted Salesforce lead). */
  personId: string;
  dealId?: string;
}

/** What the demo needs of a sandbox CRM to play the arrivals. */
export interface SandboxCrm {
  advocates(): Advocate[];
  addFriend(friend: Friend): Promise<ArrivedFriend>;
  /** What the pipeline wrote on the friend's record: canonical owned field id → CRM value. */
  written(friend: ArrivedFriend): Record<string, unknown>;
}

/** The attribution fields the demo reads back from the CRM. */
export const ATTRIBUTION_FIELDS = [
  'referral_attribution_method',
  'referred_by_name',
  'referred_by_contact_id',
];

/** Canonical owned field id → the CRM field name on `object` (shipped mapping). */
function ownedNames(crm: 'hubspot' | 'salesforce', object: string): Map<string, string> {
  const owned = loadMapping(crm).objects[object]?.owned ?? {};
  return new Map(ATTRIBUTION_FIELDS.flatMap((id) => (owned[id] === undefined ? [] : [[id, owned[id].name]])));
}

function pick(
  names: Map<string, string>,
  values: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [id, name] of names) out[id] = values[name] ?? null;
  return out;
}

/** A code with one symbol changed: its check character fails, and the original is its one fix. */
export function misspell(code: string): string {
  const i = 4;
  const swapped = code[i] === '7' ? '8' : '7';
  return code.slice(0, i) + swapped + code.slice(i + 1);
}

/** A name as a friend half remembers it ("Jonathan Smith" → "my friend Jonathon Smith"). */
function misremember(first: string, last: string): string {
  const f = first.length > 4 ? first.slice(0, -2) + first.slice(-1) + first.slice(-2, -1) : first;
  return `my friend ${f} ${last}`;
}

const FRIENDS: readonly [string, string][] = [
  ['Maya', 'Okafor'],
  ['Lukas', 'Brandt'],
  ['Priya', 'Raman'],
  ['Tomás', 'Ibarra'],
  ['Hannah', 'Lindqvist'],
  ['Kenji', 'Mori'],
  ['Amara', 'Diallo'],
  ['Oliver', 'Novak'],
];

/**
 * The cast: who arrives how and when, and who buys. `clickFor` visits the advocate's referral link
 * on the demo server and returns the redirect's `rs_click`.
 */
export async function planArrivals(
  advocates: readonly Advocate[],
  now: Date,
  clickFor: (code: string) => Promise<string>,
  tag: string,
): Promise<Friend[]> {
  if (advocates.length < 6)
    throw new Error(`the demo needs 6 advocates with codes, found ${advocates.length}`);
  const a = (i: number): Advocate => advocates[i % advocates.length]!;
  const ago = (days: number): Date => new Date(now.getTime() - days * DAY_MS);
  const friend = (i: number, method: ArrivalMethod, referrer: Advocate, createdAt: Date): Friend => {
    const [firstName, lastName] = FRIENDS[i]!;
    return {
      method,
      referrer,
      firstName,
      lastName,
      // A domain of its own: never the referrer's (self-referral rules compare domains).
      email: `${firstName.toLowerCase().replace(/[^a-z]/g, '')}.${lastName.toLowerCase()}@friend${i}-${tag}.example`,
      createdAt,
      capture: {},
    };
  };
  const won = (f: Friend, amount: number, daysAfter: number): Friend => ({
    ...f,
    wonDeal: { amount, closeDate: new Date(f.createdAt.getTime() + daysAfter * DAY_MS) },
  });

  const byCode = friend(0, 'code', a(0), ago(88));
  byCode.capture.codeUsed = a(0).code;
  const byCode2 = friend(1, 'code', a(1), ago(66));
  byCode2.capture.codeUsed = a(1).code.toLowerCase(); // typed by hand: normalised by the engine
  const byEmail = friend(2, 'email', a(2), ago(44));
  byEmail.capture.referrerEmail = a(2).email;
  const byEmail2 = friend(3, 'email', a(0), ago(21));
  byEmail2.capture.referrerEmail = a(0).email.toUpperCase();
  const openCode = friend(4, 'code', a(3), ago(9));
  openCode.capture.codeUsed = a(3).code;
  const typo = friend(5, 'typo', a(4), ago(5));
  typo.capture.codeUsed = misspell(a(4).code);
  const name = friend(6, 'name', a(5), ago(3));
  name.capture.howHeard = misremember(a(5).firstName, a(5).lastName);
  // The link click happens now; the friend fills the landing form right after.
  const clicked = friend(7, 'click', a(1), now);
  clicked.capture.clickId = await clickFor(a(1).code);

  return [
    won(byCode, 12_000, 4),
    won(byCode2, 8_500, 7),
    won(byEmail, 6_000, 9),
    won(byEmail2, 4_200, 11),
    openCode,
    typo,
    name,
    won(clicked, 3_000, 0),
  ];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** HubSpot: friends and deals created through the sandbox's v3 API, as a form integration would. */
export function hubspotArrivals(sandboxes: RunningSandboxes): SandboxCrm {
  const hs = sandboxes.hubspot;
  const call = async (path: string, body: unknown): Promise<{ id: string }> => {
    const res = await fetch(`${hs.url}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${hs.credentials.privateAppToken}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`sandbox HubSpot ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as { id: string };
  };
  return {
    advocates() {
      const out: Advocate[] = [];
      for (const rec of hs.sandbox.state.objects.contacts.records.values()) {
        const p = rec.props;
        const code = str(p.referral_code);
        const email = str(p.email);
        const firstName = str(p.firstname);
        const lastName = str(p.lastname);
        if (rec.archived || code === undefined || !isValidCode(code)) continue;
        if (email === undefined || firstName === undefined || lastName === undefined) continue;
        out.push({
          id: String(rec.num),
          firstName,
          lastName,
          email,
          code: normalizeCode(code),
          ...(str(p.hubspot_owner_id) === undefined ? {} : { ownerId: p.hubspot_owner_id! }),
        });
      }
      return out.sort((x, y) => Number(x.id) - Number(y.id));
    },
    async addFriend(f) {
      const owner = f.referrer.ownerId;
      const contact = await call('/crm/v3/objects/contacts', {
        properties: {
          firstname: f.firstName,
          lastname: f.lastName,
          email: f.email,
          createdate: f.createdAt.toISOString(),
          lifecyclestage: 'lead',
          ...(owner === undefined ? {} : { hubspot_owner_id: owner }),
          ...(f.capture.codeUsed === undefined ? {} : { referral_code_used: f.capture.codeUsed }),
          ...(f.capture.clickId === undefined ? {} : { referral_click_id: f.capture.clickId }),
          ...(f.capture.referrerEmail === undefined ? {} : { referrer_email: f.capture.referrerEmail }),
          ...(f.capture.howHeard === undefined ? {} : { how_did_you_hear: f.capture.howHeard }),
        },
      });
      if (f.wonDeal === undefined) return { ...f, personId: contact.id };
      const deal = await call('/crm/v3/objects/deals', {
        properties: {
          dealname: `${f.lastName} – first order`,
          amount: String(f.wonDeal.amount),
          pipeline: 'default',
          dealstage: 'closedwon',
          closedate: f.wonDeal.closeDate.toISOString(),
          createdate: f.createdAt.toISOString(),
          ...(owner === undefined ? {} : { hubspot_owner_id: owner }),
        },
        // Deal → contact, HUBSPOT_DEFINED type 3 (API_FACTS: default association type ids).
        associations: [
          {
            to: { id: contact.id },
            types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 3 }],
          },
        ],
      });
      return { ...f, personId: contact.id, dealId: deal.id };
    },
    written(f) {
      const rec = hs.sandbox.state.objects.contacts.records.get(Number(f.personId));
      return pick(ownedNames('hubspot', 'contacts'), rec?.props ?? {});
    },
  };
}

/** Salesforce instant as the sandbox stores it (`2026-01-31T12:00:00.000+0000`). */
function sfDateTime(at: Date): string {
  return at.toISOString().replace('Z', '+0000');
}

/**
 * Salesforce: each friend is a web-to-lead Lead; buyers are converted (Contact + Opportunity, the
 * lead's capture fields copied by the standard lead mapping) and their Opportunity closed won.
 */
export function salesforceArrivals(sandboxes: RunningSandboxes): SandboxCrm {
  const sf = sandboxes.salesforce.sandbox;
  const backdate = (type: string, id: string, at: Date): void => {
    const row = sf.state.table(type)?.records.get(id);
    if (row !== undefined) row.CreatedDate = sfDateTime(at);
  };
  return {
    advocates() {
      const out: Advocate[] = [];
      for (const [id, row] of sf.state.table('Contact')?.records ?? []) {
        const code = str(row.Referral_Code__c);
        const email = str(row.Email);
        const firstName = str(row.FirstName);
        const lastName = str(row.LastName);
        if (row.IsDeleted === true || code === undefined || !isValidCode(code)) continue;
        if (email === undefined || firstName === undefined || lastName === undefined) continue;
        out.push({
          id,
          firstName,
          lastName,
          email,
          code: normalizeCode(code),
          ...(str(row.OwnerId) === undefined ? {} : { ownerId: row.OwnerId as string }),
        });
      }
      return out.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    },
    async addFriend(f) {
      const leadId = sf.createRecord('Lead', {
        FirstName: f.firstName,
        LastName: f.lastName,
        Email: f.email,
        Company: `${f.lastName} Household`,
        LeadSource: 'Referral',
        ...(f.referrer.ownerId === undefined ? {} : { OwnerId: f.referrer.ownerId }),
        ...(f.capture.codeUsed === undefined ? {} : { Referral_Code_Used__c: f.capture.codeUsed }),
        ...(f.capture.clickId === undefined ? {} : { Referral_Click_Id__c: f.capture.clickId }),
        ...(f.capture.referrerEmail === undefined ? {} : { Referrer_Email__c: f.capture.referrerEmail }),
        ...(f.capture.howHeard === undefined ? {} : { How_Did_You_Hear__c: f.capture.howHeard }),
      });
      backdate('Lead', leadId, f.createdAt);
      if (f.wonDeal === undefined) return { ...f, personId: leadId };
      const { contactId, opportunityId } = sf.convertLead(leadId);
      backdate('Contact', contactId, f.createdAt);
      if (opportunityId === null) return { ...f, personId: contactId };
      backdate('Opportunity', opportunityId, f.createdAt);
      sf.simulateUserEdit('Opportunity', opportunityId, {
        Name: `${f.lastName} – first order`,
        StageName: 'Closed Won',
        CloseDate: f.wonDeal.closeDate.toISOString().slice(0, 10),
        Amount: f.wonDeal.amount,
      });
      return { ...f, personId: contactId, dealId: opportunityId };
    },
    written(f) {
      // Key prefixes: 00Q Lead, 003 Contact.
      const object = f.personId.startsWith('00Q') ? 'Lead' : 'Contact';
      const row = sf.state.table(object)?.records.get(f.personId);
      return pick(ownedNames('salesforce', object), row ?? {});
    },
  };
}
