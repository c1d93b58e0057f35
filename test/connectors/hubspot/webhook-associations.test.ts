/**
 * associationChange events re-read both records: the "from" record of the subscription's object
 * and the "to" record, whose object follows from `associationType`.
 */
import { describe, expect, it } from 'vitest';
import { associationTarget, parseHubSpotWebhook } from '../../../connectors/hubspot/webhook.js';
import { idsOfEvents } from '../../../src/service/handlers.js';
import { loadMapping } from '../../../src/sync/mapping.js';

const at = 1_700_000_000_000;

function assoc(
  eventId: number,
  subscriptionType: string,
  fromObjectId: number | string,
  toObjectId: number | string,
  associationType: string,
  extra: Record<string, unknown> = {},
) {
  return {
    eventId,
    subscriptionId: 1001,
    portalId: 42,
    appId: 7,
    occurredAt: at,
    subscriptionType,
    attemptNumber: 0,
    changeSource: 'CRM_UI',
    fromObjectId,
    toObjectId,
    associationType,
    associationRemoved: false,
    isPrimaryAssociation: false,
    ...extra,
  };
}

const sides = (events: ReturnType<typeof parseHubSpotWebhook>['events']) =>
  events.map((e) => [e.object, e.kind, e.ids]);

describe('HubSpot associationChange webhooks', () => {
  it.each([
    ['contact.associationChange', 'CONTACT_TO_COMPANY', 'contacts', 'companies'],
    ['contact.associationChange', 'CONTACT_TO_DEAL', 'contacts', 'deals'],
    ['contact.associationChange', 'CONTACT_TO_TICKET', 'contacts', 'tickets'],
    ['deal.associationChange', 'DEAL_TO_CONTACT', 'deals', 'contacts'],
    ['deal.associationChange', 'DEAL_TO_COMPANY', 'deals', 'companies'],
    ['company.associationChange', 'COMPANY_TO_DEAL', 'companies', 'deals'],
    ['company.associationChange', 'COMPANY_TO_CONTACT', 'companies', 'contacts'],
    ['ticket.associationChange', 'TICKET_TO_CONTACT', 'tickets', 'contacts'],
  ])('%s %s names the %s record and the %s record', (type, assocType, fromObject, toObject) => {
    const { events, rejected } = parseHubSpotWebhook([assoc(9, type, 101, '202', assocType)]);
    expect(rejected).toEqual([]);
    expect(sides(events)).toEqual([
      [fromObject, 'association_changed', ['101']],
      [toObject, 'association_changed', ['202']],
    ]);
    // Both carry the event's account, instant, id and source.
    for (const e of events)
      expect(e).toMatchObject({ accountId: '42', occurredAt: new Date(at), eventId: '9', source: 'CRM_UI' });
  });

  it('a removed association re-reads both sides as well', () => {
    const { events } = parseHubSpotWebhook([
      assoc(3, 'deal.associationChange', 5, 6, 'DEAL_TO_CONTACT', { associationRemoved: true }),
    ]);
    expect(sides(events)).toEqual([
      ['deals', 'association_changed', ['5']],
      ['contacts', 'association_changed', ['6']],
    ]);
  });

  it.each([
    ['DEAL_TO_LINE_ITEM'],
    ['PARENT_COMPANY_TO_CHILD_COMPANY'],
    ['CONTACT_TO_DEAL'], // names another from-object than the subscription's
    ['SOMETHING_NEW'],
    [undefined],
  ])('an association type we cannot place (%s) keeps the from side only', (assocType) => {
    const raw = assoc(4, 'deal.associationChange', 5, 6, assocType ?? '');
    if (assocType === undefined) delete (raw as Partial<typeof raw>).associationType;
    const { events, rejected } = parseHubSpotWebhook([raw]);
    expect(rejected).toEqual([]);
    expect(sides(events)).toEqual([['deals', 'association_changed', ['5']]]);
  });

  it('without toObjectId only the from side is read', () => {
    const raw: Record<string, unknown> = assoc(4, 'contact.associationChange', 5, 6, 'CONTACT_TO_DEAL');
    delete raw.toObjectId;
    expect(sides(parseHubSpotWebhook([raw]).events)).toEqual([['contacts', 'association_changed', ['5']]]);
  });

  it('rejects a malformed isPrimaryAssociation or toObjectId without failing the batch', () => {
    const { events, rejected } = parseHubSpotWebhook([
      assoc(1, 'contact.associationChange', 5, 6, 'CONTACT_TO_DEAL', { isPrimaryAssociation: 'yes' }),
      assoc(2, 'contact.associationChange', 5, 'six', 'CONTACT_TO_DEAL'),
      assoc(3, 'contact.associationChange', 7, 8, 'CONTACT_TO_DEAL'),
    ]);
    expect(rejected.map((r) => r.index)).toEqual([0, 1]);
    expect(sides(events)).toEqual([
      ['contacts', 'association_changed', ['7']],
      ['deals', 'association_changed', ['8']],
    ]);
  });

  it('both sides sent as their own events (and other events of the batch) are read once per record', () => {
    const mapping = loadMapping('hubspot');
    const { events } = parseHubSpotWebhook([
      assoc(1, 'contact.associationChange', 5, 6, 'CONTACT_TO_DEAL'),
      assoc(2, 'deal.associationChange', 6, 5, 'DEAL_TO_CONTACT'),
      {
        eventId: 3,
        portalId: 42,
        occurredAt: at,
        subscriptionType: 'deal.propertyChange',
        objectId: 6,
        propertyName: 'amount',
      },
      assoc(4, 'contact.associationChange', 5, 77, 'CONTACT_TO_TICKET'),
    ]);
    const ids = idsOfEvents(mapping, events);
    expect(Object.fromEntries(Object.entries(ids).map(([o, list]) => [o, [...list].sort()]))).toEqual({
      contacts: ['5'],
      deals: ['6'],
      tickets: ['77'],
    });
  });

  it('associationTarget maps only the four modelled objects', () => {
    expect(associationTarget('CONTACT_TO_COMPANY', 'contacts')).toBe('companies');
    expect(associationTarget('CONTACT_TO_PRODUCT', 'contacts')).toBeUndefined();
    expect(associationTarget('COMPANY_TO_CONTACT', 'contacts')).toBeUndefined();
  });
});
