import { describe, expect, it } from 'vitest';
import { attributeReferral } from '../../src/engine/attribution.js';
import type { AttributionContext, ReferrerRef } from '../../src/engine/attribution.js';
import { CodeIssuer, seededRandom } from '../../src/engine/codes.js';
import { MapDirectory } from '../../src/engine/directory.js';
import type { PersonInput } from '../../src/engine/model.js';
import { DEFAULT_RULES, parseRules } from '../../src/engine/rules.js';
import { NOW, ago, person } from './helpers.js';

const issuer = new CodeIssuer(seededRandom(77));
const JANE_CODE = issuer.draw();
const BOB_CODE = issuer.draw();
const UNISSUED = issuer.draw();

const jane: ReferrerRef = {
  id: 'r-jane',
  type: 'customer',
  name: 'Jane Doe',
  email: 'jane@acme.test',
  ownerId: 'o1',
};
const bob: ReferrerRef = {
  id: 'r-bob',
  type: 'partner',
  name: 'Bob Stone',
  email: 'bob@partner.test',
  companyId: 'co-p',
};

function directory(): MapDirectory {
  const d = new MapDirectory();
  d.addCode(JANE_CODE, jane);
  d.addCode(BOB_CODE, bob);
  d.addEmail(jane.email!, jane);
  d.addEmail(bob.email!, bob);
  d.addClick('clk-1', jane, ago(5).getTime());
  d.addClick('clk-old', jane, ago(200).getTime());
  d.addName(jane);
  d.addName(bob);
  return d;
}

const ctx = (over: Partial<AttributionContext> = {}): AttributionContext => ({
  now: NOW,
  rules: DEFAULT_RULES,
  directory: directory(),
  ...over,
});

/** A fresh lead created today with the given capture. */
function referred(capture: NonNullable<PersonInput['capture']>, fields: Partial<PersonInput> = {}) {
  return person({
    id: 'new-1',
    kind: 'lead',
    isCustomer: undefined,
    email: 'newbie@startup.test',
    createdAt: ago(1),
    capture: { capturedAt: ago(1), ...capture },
    ...fields,
  });
}

describe('attribution: match order', () => {
  it('credits by code, case-insensitive and with separators', () => {
    const d = attributeReferral(
      referred({ codeUsed: `${JANE_CODE.slice(0, 5).toLowerCase()}-${JANE_CODE.slice(5)}` }),
      ctx(),
    );
    expect(d).toMatchObject({
      status: 'credited',
      reason: 'matched_code',
      method: 'code',
      codeUsed: JANE_CODE,
    });
    expect(d.referrer?.id).toBe('r-jane');
    expect(d.text).toContain('Jane Doe');
  });

  it('code wins over click id and email', () => {
    const d = attributeReferral(
      referred({ codeUsed: BOB_CODE, clickId: 'clk-1', referrerEmail: 'jane@acme.test' }),
      ctx(),
    );
    expect(d.referrer?.id).toBe('r-bob');
    expect(d.method).toBe('code');
  });

  it('falls back to the click id, then the referrer email (case-insensitive)', () => {
    expect(attributeReferral(referred({ clickId: 'clk-1' }), ctx())).toMatchObject({
      status: 'credited',
      method: 'click',
    });
    const byEmail = attributeReferral(
      referred({ codeUsed: UNISSUED, referrerEmail: ' JANE@Acme.test ' }),
      ctx(),
    );
    expect(byEmail).toMatchObject({ status: 'credited', method: 'email', reason: 'matched_email' });
    expect(byEmail.notes.map((n) => n.reason)).toEqual(['unknown_code']);
  });

  it('a free-text name only creates a review, never a credit', () => {
    const d = attributeReferral(referred({ howHeard: 'My friend Jane Do told me' }), ctx());
    expect(d.status).toBe('review');
    expect(d.reason).toBe('fuzzy_name');
    expect(d.method).toBe('name');
    expect(d.referrer?.id).toBe('r-jane');
    expect(d.confidence).toBeGreaterThanOrEqual(0.82);
    expect(d.confidence).toBeLessThan(1);
  });

  it('naming oneself in the free text is not a review', () => {
    const d = attributeReferral(referred({ howHeard: 'Jane Doe' }, { id: 'r-jane' }), ctx());
    expect(d.status).toBe('none');
    expect(d.referrer).toBeUndefined();
  });

  it('a text naming nobody is no referral', () => {
    const d = attributeReferral(referred({ howHeard: 'Google search' }), ctx());
    expect(d).toMatchObject({ status: 'none', reason: 'no_match' });
    expect(attributeReferral(person({ id: 'x' }), ctx())).toMatchObject({
      status: 'none',
      reason: 'no_capture',
    });
  });
});

describe('attribution: typo detection', () => {
  it('a typo with exactly one known neighbour is suggested for review, not credited', () => {
    const typo = JANE_CODE.slice(0, 2) + JANE_CODE[3] + JANE_CODE[2] + JANE_CODE.slice(4);
    expect(typo).not.toBe(JANE_CODE);
    const d = attributeReferral(referred({ codeUsed: typo }), ctx());
    expect(d.status).toBe('review');
    expect(d.reason).toBe('code_typo');
    expect(d.suggestion).toEqual({ code: JANE_CODE, referrer: jane });
    expect(d.notes[0]?.reason).toBe('invalid_code');
  });

  it('a typo nobody is one step from is rejected as invalid_code; garbage too', () => {
    const typo = UNISSUED.slice(0, 4) + (UNISSUED[4] === '7' ? '8' : '7') + UNISSUED.slice(5);
    expect(attributeReferral(referred({ codeUsed: typo }), ctx())).toMatchObject({
      status: 'rejected',
      reason: 'invalid_code',
    });
    expect(attributeReferral(referred({ codeUsed: 'FRIEND2024' }), ctx())).toMatchObject({
      status: 'rejected',
      reason: 'invalid_code',
    });
  });

  it('a valid but unissued code is rejected as unknown_code', () => {
    expect(attributeReferral(referred({ codeUsed: UNISSUED }), ctx())).toMatchObject({
      status: 'rejected',
      reason: 'unknown_code',
    });
  });
});

describe('attribution: rejections', () => {
  it('self-referral: same record, merged or converted twin, same email', () => {
    const selfCode = attributeReferral(referred({ codeUsed: JANE_CODE }, { id: 'r-jane' }), ctx());
    expect(selfCode).toMatchObject({ status: 'rejected', reason: 'self_referral' });
    expect(
      attributeReferral(referred({ codeUsed: JANE_CODE }, { mergedIds: ['r-jane'] }), ctx()).reason,
    ).toBe('self_referral');
    expect(
      attributeReferral(referred({ codeUsed: JANE_CODE }, { convertedFromId: 'r-jane' }), ctx()).reason,
    ).toBe('self_referral');
    expect(
      attributeReferral(referred({ referrerEmail: 'jane@acme.test' }, { email: 'Jane@ACME.test' }), ctx())
        .reason,
    ).toBe('self_referral');
  });

  it('same email domain is a self-referral only in consumer programs, and never for public domains', () => {
    const colleague = referred({ codeUsed: JANE_CODE }, { email: 'john@acme.test' });
    expect(attributeReferral(colleague, ctx()).status).toBe('credited');
    const consumer = parseRules({ attribution: { consumerProgram: true } });
    expect(attributeReferral(colleague, ctx({ rules: consumer }))).toMatchObject({
      status: 'rejected',
      reason: 'self_referral',
    });
    const gmailDir = new MapDirectory();
    const g: ReferrerRef = { id: 'g1', type: 'customer', email: 'a@gmail.com' };
    gmailDir.addCode(JANE_CODE, g);
    const gmailReferred = referred({ codeUsed: JANE_CODE }, { email: 'b@gmail.com' });
    expect(attributeReferral(gmailReferred, ctx({ rules: consumer, directory: gmailDir })).status).toBe(
      'credited',
    );
  });

  it('a self-referral by code still lets a valid email match credit', () => {
    const d = attributeReferral(
      referred({ codeUsed: JANE_CODE, referrerEmail: 'bob@partner.test' }, { id: 'r-jane' }),
      ctx(),
    );
    expect(d).toMatchObject({ status: 'credited', method: 'email' });
    expect(d.notes.map((n) => n.reason)).toEqual(['self_referral']);
  });

  it('the referred person must be new', () => {
    const old = referred({ codeUsed: JANE_CODE }, { createdAt: ago(200) });
    expect(attributeReferral(old, ctx())).toMatchObject({ status: 'rejected', reason: 'not_new' });
    const justInside = referred({ codeUsed: JANE_CODE }, { createdAt: ago(31) });
    expect(attributeReferral(justInside, ctx()).status).toBe('credited');
    const tooOld = referred({ codeUsed: JANE_CODE }, { createdAt: ago(31.01) });
    expect(attributeReferral(tooOld, ctx()).reason).toBe('not_new');
  });

  it('existing customers do not count; customers since after the referral do', () => {
    const customer = referred(
      { codeUsed: JANE_CODE },
      { isCustomer: true, customerSince: ago(400), createdAt: ago(1) },
    );
    expect(attributeReferral(customer, ctx())).toMatchObject({
      status: 'rejected',
      reason: 'existing_customer',
    });
    const converted = referred({ codeUsed: JANE_CODE }, { isCustomer: true, customerSince: ago(0.5) });
    expect(attributeReferral(converted, ctx()).status).toBe('credited');
  });

  it('a click older than the click window is outside_window', () => {
    expect(attributeReferral(referred({ clickId: 'clk-old' }), ctx())).toMatchObject({
      status: 'rejected',
      reason: 'outside_window',
    });
    expect(attributeReferral(referred({ clickId: 'nope' }), ctx()).reason).toBe('unknown_click');
    expect(attributeReferral(referred({ referrerEmail: 'who@where.test' }), ctx()).reason).toBe(
      'unknown_email',
    );
  });

  it('first valid referral wins: an earlier attribution is kept, a competing one reported', () => {
    const existing = { referrer: bob, method: 'email' as const, capturedAt: ago(10).getTime() };
    const d = attributeReferral(referred({ codeUsed: JANE_CODE }), ctx({ existing }));
    expect(d).toMatchObject({ status: 'credited', reason: 'already_attributed', method: 'email' });
    expect(d.referrer?.id).toBe('r-bob');
    expect(d.capturedAt).toBe(existing.capturedAt);
    const same = attributeReferral(referred({ codeUsed: BOB_CODE }), ctx({ existing }));
    expect(same.reason).toBe('kept_first');
  });

  it('a converted lead is attributed on its contact, not twice', () => {
    const lead = referred({ codeUsed: JANE_CODE }, { convertedToId: 'c-9' });
    expect(attributeReferral(lead, ctx())).toMatchObject({ status: 'none', reason: 'converted_record' });
  });

  it('every decision carries a reason code and a text', () => {
    const captures: NonNullable<PersonInput['capture']>[] = [
      { codeUsed: JANE_CODE },
      { codeUsed: 'XX' },
      { clickId: 'clk-old' },
      { howHeard: 'Bob Stone' },
      { referrerEmail: 'x@y.test' },
    ];
    for (const c of captures) {
      const d = attributeReferral(referred(c), ctx());
      expect(d.reason).toBeTruthy();
      expect(d.text.length).toBeGreaterThan(5);
    }
  });
});

describe('referrer types', () => {
  it('employees, partners (people of partner companies) and customers', async () => {
    const { referrerRefOf, partnerIds } = await import('../../src/engine/directory.js');
    const partners = partnerIds([
      { id: 'co-p', isPartner: true, current: {} },
      { id: 'co-c', current: {} },
    ]);
    expect(referrerRefOf(person({ id: 'e', isEmployee: true, companyId: 'co-p' }), partners).type).toBe(
      'employee',
    );
    expect(
      referrerRefOf(person({ id: 'p', companyId: 'co-p', firstName: 'Pat', lastName: 'Lee' }), partners),
    ).toMatchObject({
      type: 'partner',
      companyId: 'co-p',
      name: 'Pat Lee',
    });
    expect(referrerRefOf(person({ id: 'c', companyId: 'co-c', email: 'c@c.test' }), partners)).toMatchObject({
      type: 'customer',
      name: 'c@c.test',
    });
  });
});
