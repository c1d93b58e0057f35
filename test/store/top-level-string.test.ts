/**
 * `topLevelString` against `JSON.parse`: whenever it answers (not `null`), the answer is exactly
 * `JSON.parse(json)[key]` — strings with quotes, backslashes, control characters and astral
 * unicode, an `"email"` key nested at depth 2 (before or after the top-level one), in arrays and
 * inside string values — and for `JSON.stringify` output of a record it nearly always answers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { topLevelString } from '../../src/store/top-level-string.js';

/** Strings that stress the scanner: JSON syntax characters, escapes, the key's own spelling. */
const tricky = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({
    unit: fc.constantFrom(
      '"',
      '\\',
      '{',
      '}',
      '[',
      ']',
      ':',
      ',',
      'e',
      'm',
      'a',
      'i',
      'l',
      ' ',
      '\n',
      '\u2028',
      '😀',
    ),
  }),
  fc.constantFrom(
    'email',
    '"email"',
    '\\"email\\":"x"',
    '{"email":"y"}',
    '',
    ' ',
    'ISO 2026-01-01T00:00:00.000Z',
  ),
);
const key = fc.oneof(fc.constant('email'), fc.constant('Email'), fc.constant('emai'), tricky);
const leaf = fc.oneof(tricky, fc.integer(), fc.double({ noNaN: true }), fc.boolean(), fc.constant(null));
const nested = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, leaf, tie('object'), tie('array')),
  object: fc.dictionary(key, tie('value'), { maxKeys: 5 }),
  array: fc.array(tie('value'), { maxLength: 4 }),
})).object;
/** A record: an object whose top level may or may not hold `email`, with nested objects too. */
const record = fc
  .record(
    {
      before: fc.dictionary(key, fc.oneof(leaf, nested), { maxKeys: 4 }),
      email: fc.oneof(tricky, leaf, nested),
      after: fc.dictionary(key, fc.oneof(leaf, nested), { maxKeys: 4 }),
      hasEmail: fc.boolean(),
    },
    { requiredKeys: ['before', 'email', 'after', 'hasEmail'] },
  )
  .map(({ before, email, after, hasEmail }) => {
    const o: Record<string, unknown> = { ...before };
    delete o['email'];
    if (hasEmail) o['email'] = email;
    for (const [k, v] of Object.entries(after)) if (k !== 'email') o[k] = v;
    return o;
  });

function expectLikeParse(json: string, k: string): string | null | undefined {
  const got = topLevelString(json, k);
  if (got !== null) {
    const parsed = (JSON.parse(json) as Record<string, unknown>)[k];
    expect(got).toBe(Object.hasOwn(JSON.parse(json) as object, k) ? parsed : undefined);
  }
  return got;
}

describe('topLevelString', () => {
  it('gives exactly what JSON.parse gives whenever it answers', () => {
    fc.assert(
      fc.property(record, (o) => {
        const json = JSON.stringify(o);
        expectLikeParse(json, 'email');
      }),
      { numRuns: 3000 },
    );
  });

  it('answers without a full parse for any top-level string without a later duplicate spelling', () => {
    fc.assert(
      fc.property(record, tricky, (o, email) => {
        const withEmail = { ...o, email };
        const json = JSON.stringify(withEmail);
        // The key's spelling later in the text makes it (rightly) cautious; otherwise it answers.
        const later = json.indexOf('"email"', json.indexOf('"email"') + 1) !== -1;
        const got = expectLikeParse(json, 'email');
        if (!later) expect(got).toBe(email);
      }),
      { numRuns: 3000 },
    );
  });

  it('keeps to the top level: a nested "email" is not the record’s', () => {
    const json = JSON.stringify({ id: 'p1', current: { email: 'nested@x.test' }, n: [{ email: 'a' }] });
    expect(topLevelString(json, 'email')).toBeUndefined();
    const both = JSON.stringify({ current: { email: 'nested@x.test' }, email: 'top@x.test' });
    expect(topLevelString(both, 'email')).toBe('top@x.test');
    // The nested one after the top-level one: cautious (a parse decides), never the nested value.
    const after = JSON.stringify({ email: 'top@x.test', current: { email: 'nested@x.test' } });
    expect(topLevelString(after, 'email')).toBeNull();
  });

  it('decodes escapes exactly, and leaves non-strings and non-objects to a parse', () => {
    const odd = 'a"b\\c\n\u0001é😀';
    expect(topLevelString(JSON.stringify({ email: odd }), 'email')).toBe(odd);
    expect(topLevelString('{ "email" : "x@y.test" }', 'email')).toBe('x@y.test');
    expect(topLevelString('{"em\\u0061il":"x@y.test"}', 'email')).toBe('x@y.test');
    expect(topLevelString('{"email":null}', 'email')).toBeNull();
    expect(topLevelString('{"email":["x"]}', 'email')).toBeNull();
    expect(topLevelString('["email","x"]', 'email')).toBeNull();
    expect(topLevelString('"email"', 'email')).toBeNull();
    expect(topLevelString('{"name":"x"}', 'email')).toBeUndefined();
    expect(topLevelString('{"name":"x\\"email\\""}', 'email')).toBeUndefined();
  });
});
