import { describe, expect, it } from 'vitest';
import { checksumSuffix, makeId, toId18 } from '../../../src/sandbox/salesforce/ids.js';
import { parseSoql, SoqlError } from '../../../src/sandbox/salesforce/soql.js';

function errorOf(soql: string): SoqlError {
  try {
    parseSoql(soql);
  } catch (err) {
    if (err instanceof SoqlError) return err;
    throw err;
  }
  throw new Error(`parsed: ${soql}`);
}

describe('SOQL subset parser', () => {
  it('parses the connector incremental query: compound cursor, multi-field ORDER BY, LIMIT', () => {
    const q = parseSoql(
      "SELECT Id, Email, Owner.Email FROM Contact WHERE (SystemModstamp > 2026-01-01T00:00:00.000+01:00 OR (SystemModstamp = 2026-01-01T00:00:00Z AND Id > '003000000000001')) AND IsDeleted = false ORDER BY SystemModstamp ASC, Id DESC NULLS LAST LIMIT 2000",
    );
    expect(q.fields.map((f) => f.path)).toEqual([['Id'], ['Email'], ['Owner', 'Email']]);
    expect(q.from).toBe('Contact');
    expect(q.orderBy.map((o) => [o.field.text, o.desc, o.nullsLast])).toEqual([
      ['SystemModstamp', false, false],
      ['Id', true, true],
    ]);
    expect(q.limit).toBe(2000);
    expect(q.where?.kind).toBe('and');
    const or = q.where?.kind === 'and' ? q.where.items[0] : undefined;
    expect(or?.kind).toBe('or');
    const first = or?.kind === 'or' ? or.items[0] : undefined;
    expect(first?.kind === 'cmp' ? first.value : undefined).toEqual({
      t: 'datetime',
      v: Date.parse('2025-12-31T23:00:00Z'),
      text: '2026-01-01T00:00:00.000+01:00',
    });
  });

  it('parses literals: strings with escapes, numbers, booleans, null, dates, date literals, IN and LIKE', () => {
    const q = parseSoql(
      "select id from lead where Email like 'o\\'b%' and NPS_Score__c >= -1.5 and IsConverted = TRUE and Company != null and CreatedDate = LAST_N_DAYS:30 and CloseDate < 2026-02-01 and Status not in ('A', 'B') and Tags__c includes ('x;y')",
    );
    expect(q.count).toBe(false);
    const items = q.where?.kind === 'and' ? q.where.items : [];
    expect(items.map((c) => c.kind)).toEqual(['like', 'cmp', 'cmp', 'cmp', 'cmp', 'cmp', 'in', 'includes']);
    expect(items[0]?.kind === 'like' ? items[0].pattern : '').toBe("o'b%");
    expect(items[1]?.kind === 'cmp' ? items[1].value : undefined).toEqual({ t: 'number', v: -1.5 });
    expect(items[4]?.kind === 'cmp' ? items[4].value : undefined).toMatchObject({
      t: 'dateLiteral',
      name: 'LAST_N_DAYS',
      n: 30,
    });
    expect(items[5]?.kind === 'cmp' ? items[5].value : undefined).toEqual({ t: 'date', v: '2026-02-01' });
    expect(items[6]?.kind === 'in' ? items[6].not : false).toBe(true);
    expect(parseSoql('SELECT COUNT() FROM Contact').count).toBe(true);
  });

  it('refuses unsupported or malformed syntax with MALFORMED_QUERY and the caret column', () => {
    for (const soql of [
      'SELECT FROM Contact',
      'SELECT Id FROM Contact WHERE',
      'SELECT Id FROM Contact WHERE Email = ',
      "SELECT Id FROM Contact WHERE Email = 'a' AND Id = 'b' OR Id = 'c'",
      'SELECT Id, (SELECT Id FROM Tasks) FROM Contact',
      'SELECT COUNT(Id) FROM Contact',
      'SELECT MAX(CreatedDate) FROM Contact',
      'SELECT Id FROM Contact GROUP BY Id',
      'SELECT Id FROM Contact FOR UPDATE',
      'SELECT Id FROM Contact WHERE CreatedDate > 2026-01-01T00:00:00',
      'SELECT Id FROM Contact LIMIT x',
      'SELECT Id FROM Contact OFFSET 2001',
      'SELECT Id, Id FROM Contact',
      'SELECT Account.Owner.Email FROM Contact',
      "SELECT Id FROM Contact WHERE Email = 'unterminated",
      'SELECT COUNT() FROM Contact ORDER BY Id',
    ]) {
      expect(errorOf(soql).errorCode, soql).toBe('MALFORMED_QUERY');
    }
    expect(errorOf('SELECT Id FRM Contact').message).toBe(
      '\nSELECT Id FRM Contact\n          ^\nERROR at Row:1:Column:11\nunexpected token: FRM',
    );
  });
});

describe('Salesforce ids', () => {
  it('computes the documented 18-char checksum and normalises 15-char ids', () => {
    // Published example: 001A0000006Vm9r → 001A0000006Vm9rIAC.
    expect(checksumSuffix('001A0000006Vm9r')).toBe('IAC');
    expect(toId18('001A0000006Vm9r')).toBe('001A0000006Vm9rIAC');
    expect(toId18('not an id')).toBeUndefined();
    const id = makeId('003', 12345);
    expect(id).toMatch(/^0035g0[0-9A-Za-z]{12}$/);
    expect(toId18(id.slice(0, 15))).toBe(id);
    expect(makeId('003', 1) < makeId('003', 2)).toBe(true);
  });
});
