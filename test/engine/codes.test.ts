import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CODE_ALPHABET,
  CODE_LENGTH,
  CodeIssuer,
  codeProblem,
  ensureCode,
  isValidCode,
  issueCode,
  normalizeCode,
  referralLink,
  seededRandom,
  typoCandidates,
} from '../../src/engine/codes.js';

const issuer = new CodeIssuer(seededRandom(12345));
const sample = Array.from({ length: 300 }, () => issuer.draw());

describe('referral codes', () => {
  it('are short, use the unambiguous alphabet and validate', () => {
    const bad = sample.filter(
      (c) => c.length !== CODE_LENGTH || !/^[0-9A-HJKMNP-TV-Y]+$/.test(c) || !isValidCode(c),
    );
    expect(bad).toEqual([]);
    expect(CODE_ALPHABET).not.toMatch(/[ILOUZ]/);
    expect(new Set(CODE_ALPHABET).size).toBe(31);
  });

  it('are case-insensitive and tolerate separators and look-alike letters', () => {
    const code = sample[0]!;
    expect(normalizeCode(code.toLowerCase())).toBe(code);
    expect(normalizeCode(`${code.slice(0, 4)}-${code.slice(4)}`)).toBe(code);
    expect(normalizeCode(` ${code.slice(0, 5)} ${code.slice(5)} `)).toBe(code);
    expect(normalizeCode('O0Il1')).toBe('00111');
    expect(isValidCode(code.toLowerCase())).toBe(true);
  });

  it('detect EVERY single-character substitution (exhaustive per position and symbol)', () => {
    let checked = 0;
    const missed: string[] = [];
    for (const code of sample) {
      for (let i = 0; i < code.length; i++) {
        for (const ch of CODE_ALPHABET) {
          if (ch === code[i]) continue;
          const typo = code.slice(0, i) + ch + code.slice(i + 1);
          if (codeProblem(typo) !== 'check') missed.push(typo);
          checked++;
        }
      }
    }
    expect(missed).toEqual([]);
    expect(checked).toBe(sample.length * CODE_LENGTH * 30);
  });

  it('detect EVERY adjacent transposition, including with the check character', () => {
    const missed: string[] = [];
    let checked = 0;
    for (const code of sample) {
      for (let i = 0; i + 1 < code.length; i++) {
        if (code[i] === code[i + 1]) continue;
        const swapped = code.slice(0, i) + code[i + 1] + code[i] + code.slice(i + 2);
        if (codeProblem(swapped) !== 'check') missed.push(swapped);
        checked++;
      }
    }
    expect(missed).toEqual([]);
    expect(checked).toBeGreaterThan(sample.length * 8);
  });

  it('property: any substitution or adjacent swap of any valid code is rejected', () => {
    const symbol = fc.integer({ min: 0, max: 30 }).map((i) => CODE_ALPHABET[i]!);
    const validCode = fc
      .array(fc.integer({ min: 0, max: 255 }), { minLength: 64, maxLength: 64 })
      .map((bytes) => {
        const pool = Uint8Array.from(bytes);
        let k = 0;
        return new CodeIssuer((b) => {
          for (let i = 0; i < b.length; i++) b[i] = pool[k++ % pool.length]! ^ (i * 31);
        }).draw();
      });
    fc.assert(
      fc.property(validCode, fc.nat(CODE_LENGTH - 1), symbol, (code, pos, ch) => {
        expect(isValidCode(code)).toBe(true);
        if (ch !== code[pos]) expect(isValidCode(code.slice(0, pos) + ch + code.slice(pos + 1))).toBe(false);
        if (pos + 1 < CODE_LENGTH && code[pos] !== code[pos + 1]) {
          expect(isValidCode(code.slice(0, pos) + code[pos + 1] + code[pos] + code.slice(pos + 2))).toBe(
            false,
          );
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('name the problem of bad input', () => {
    expect(codeProblem('')).toBe('empty');
    expect(codeProblem('ABC')).toBe('length');
    expect(codeProblem(normalizeCode('ABCDEFGHJ!'))).toBe('alphabet');
    expect(codeProblem(normalizeCode('ABCDEFGHJU'))).toBe('alphabet');
  });

  it('typoCandidates recovers the intended code from a substitution or a swap', () => {
    const code = sample[1]!;
    const sub = code.slice(0, 3) + (code[3] === 'A' ? 'B' : 'A') + code.slice(4);
    expect(typoCandidates(sub)).toContain(code);
    const i = [...code].findIndex((c, k) => k + 1 < code.length && c !== code[k + 1]);
    const swap = code.slice(0, i) + code[i + 1] + code[i] + code.slice(i + 2);
    expect(typoCandidates(swap)).toContain(code);
    for (const c of typoCandidates(swap)) expect(isValidCode(c)).toBe(true);
    expect(typoCandidates(code)).toEqual([]);
  });

  it('1,000,000 issued codes never collide (issuer + tenant index)', () => {
    const taken = new Set<string>();
    const tenantIssuer = new CodeIssuer();
    let redraws = 0;
    for (let n = 0; n < 1_000_000; n++) {
      const code = tenantIssuer.issue((c) => {
        const hit = taken.has(c);
        if (hit) redraws++;
        return hit;
      });
      taken.add(code);
    }
    expect(taken.size).toBe(1_000_000);
    // 31^9 ≈ 2.6e13 codes: a redraw is rare (expected ≈ 0.02 over 1M), and never more than a few.
    expect(redraws).toBeLessThan(5);
  });

  it('are drawn from cryptographic randomness by default, reproducible only with an injected source', () => {
    const a = new CodeIssuer();
    const b = new CodeIssuer();
    expect(Array.from({ length: 5 }, () => a.draw())).not.toEqual(Array.from({ length: 5 }, () => b.draw()));
    const s1 = new CodeIssuer(seededRandom(9));
    const s2 = new CodeIssuer(seededRandom(9));
    expect(s1.draw()).toBe(s2.draw());
  });

  it('issue retries taken codes and keeps valid stored codes stable', () => {
    const first = new CodeIssuer(seededRandom(3)).draw();
    const code = issueCode((c) => c === first, seededRandom(3));
    expect(code).not.toBe(first);
    const kept = ensureCode(first.toLowerCase(), () => false, new CodeIssuer(seededRandom(4)));
    expect(kept).toEqual({ code: first, issued: false });
    const replaced = ensureCode('not-a-code', () => false, new CodeIssuer(seededRandom(4)));
    expect(replaced.issued).toBe(true);
    expect(isValidCode(replaced.code)).toBe(true);
  });

  it('builds referral links from a template', () => {
    expect(referralLink('https://acme.test/r/{code}?src=crm', 'ABC')).toBe('https://acme.test/r/ABC?src=crm');
    expect(referralLink('https://acme.test/{code}/{code}', 'A B')).toBe('https://acme.test/A%20B/A%20B');
  });
});
