/**
 * The SOQL subset the connector uses, parsed into an AST. Anything else is refused with
 * MALFORMED_QUERY in SF's message shape ("\n<soql>\n   ^\nERROR at Row:1:Column:N\n<reason>").
 * Supported: SELECT field list (incl. one-level relationship fields like Owner.Email) or COUNT(),
 * FROM one sObject, WHERE with AND/OR/NOT/parentheses, = != <> < <= > >= IN NOT IN LIKE
 * INCLUDES EXCLUDES, string/number/boolean/null/date/datetime literals and TODAY, YESTERDAY,
 * LAST_N_DAYS:n; ORDER BY several fields ASC/DESC NULLS FIRST/LAST; LIMIT; OFFSET.
 * Grammar per SF SOQL reference (sforce_api_calls_soql_select*, sql_select_dateformats).
 */

export type Literal =
  | { t: 'string'; v: string }
  | { t: 'number'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'null' }
  | { t: 'datetime'; v: number; text: string }
  | { t: 'date'; v: string }
  | { t: 'dateLiteral'; name: string; n: number; text: string };

export interface FieldRef {
  path: string[];
  text: string;
  col: number;
}

export type Cond =
  | { kind: 'and' | 'or'; items: Cond[] }
  | { kind: 'not'; item: Cond }
  | { kind: 'cmp'; field: FieldRef; op: '=' | '!=' | '<' | '<=' | '>' | '>='; value: Literal }
  | { kind: 'in'; field: FieldRef; not: boolean; values: Literal[] }
  | { kind: 'like'; field: FieldRef; not: boolean; pattern: string }
  | { kind: 'includes'; field: FieldRef; not: boolean; values: string[] };

export interface OrderItem {
  field: FieldRef;
  desc: boolean;
  nullsLast: boolean;
}

export interface SoqlQuery {
  count: boolean;
  fields: FieldRef[];
  from: string;
  fromCol: number;
  where: Cond | undefined;
  orderBy: OrderItem[];
  limit: number | undefined;
  offset: number | undefined;
}

export class SoqlError extends Error {
  constructor(
    readonly errorCode: 'MALFORMED_QUERY' | 'INVALID_FIELD' | 'INVALID_TYPE',
    message: string,
  ) {
    super(message);
  }
}

interface Token {
  kind: 'ident' | 'string' | 'number' | 'datetime' | 'date' | 'op' | 'punct' | 'eof';
  text: string;
  col: number;
}

const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2})/;
const DATE = /^\d{4}-\d{2}-\d{2}(?![T\d])/;

/** SF's error text: the query, a caret under the column, the row/column and the reason. */
export function soqlErrorMessage(soql: string, col: number, reason: string): string {
  const line = soql.replace(/\s+/g, ' ');
  return `\n${line}\n${' '.repeat(Math.max(0, col - 1))}^\nERROR at Row:1:Column:${col}\n${reason}`;
}

function tokenize(soql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (reason: string): never => {
    throw new SoqlError('MALFORMED_QUERY', soqlErrorMessage(soql, i + 1, reason));
  };
  while (i < soql.length) {
    const c = soql[i] ?? '';
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const col = i + 1;
    const rest = soql.slice(i);
    if (c === "'") {
      let j = i + 1;
      let text = '';
      while (j < soql.length && soql[j] !== "'") {
        if (soql[j] === '\\') {
          const n = soql[j + 1] ?? '';
          const map: Record<string, string> = {
            n: '\n',
            r: '\r',
            t: '\t',
            b: '\b',
            f: '\f',
            '"': '"',
            "'": "'",
            '\\': '\\',
            _: '\\_',
            '%': '\\%',
          };
          const m = map[n];
          if (m === undefined) {
            i = j;
            fail(
              `Invalid string literal '${soql.slice(i, j + 2)}'. Illegal character sequence '\\${n}' in string literal.`,
            );
          }
          text += m;
          j += 2;
        } else {
          text += soql[j];
          j++;
        }
      }
      if (j >= soql.length) fail('line 1:' + String(i) + " mismatched character '<EOF>' expecting '''");
      tokens.push({ kind: 'string', text, col });
      i = j + 1;
      continue;
    }
    const dt = DATETIME.exec(rest);
    if (dt !== null) {
      tokens.push({ kind: 'datetime', text: dt[0], col });
      i += dt[0].length;
      continue;
    }
    const d = DATE.exec(rest);
    if (d !== null) {
      tokens.push({ kind: 'date', text: d[0], col });
      i += d[0].length;
      continue;
    }
    const num = /^-?\d+(?:\.\d+)?/.exec(rest);
    if (
      num !== null &&
      (c !== '-' ||
        tokens.length === 0 ||
        tokens[tokens.length - 1]?.kind === 'op' ||
        tokens[tokens.length - 1]?.text === '(' ||
        tokens[tokens.length - 1]?.text === ',')
    ) {
      tokens.push({ kind: 'number', text: num[0], col });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?::\d+)?/.exec(rest);
    if (id !== null) {
      tokens.push({ kind: 'ident', text: id[0], col });
      i += id[0].length;
      continue;
    }
    const op = /^(?:!=|<>|<=|>=|=|<|>)/.exec(rest);
    if (op !== null) {
      tokens.push({ kind: 'op', text: op[0] === '<>' ? '!=' : op[0], col });
      i += op[0].length;
      continue;
    }
    if ('(),'.includes(c)) {
      tokens.push({ kind: 'punct', text: c, col });
      i++;
      continue;
    }
    fail(`unexpected token: '${c}'`);
  }
  tokens.push({ kind: 'eof', text: '<EOF>', col: soql.length + 1 });
  return tokens;
}

const UNSUPPORTED = new Set([
  'GROUP',
  'HAVING',
  'FOR',
  'WITH',
  'USING',
  'TYPEOF',
  'UPDATE',
  'ROLLUP',
  'CUBE',
]);
const DATE_LITERALS = new Set(['TODAY', 'YESTERDAY', 'TOMORROW', 'LAST_N_DAYS', 'NEXT_N_DAYS', 'N_DAYS_AGO']);

export function parseSoql(soql: string): SoqlQuery {
  const tokens = tokenize(soql);
  let pos = 0;
  const peek = (): Token => tokens[pos] ?? { kind: 'eof', text: '<EOF>', col: soql.length + 1 };
  const next = (): Token => {
    const t = peek();
    pos++;
    return t;
  };
  const kw = (t: Token, word: string): boolean => t.kind === 'ident' && t.text.toUpperCase() === word;
  const fail = (t: Token, reason?: string): never => {
    throw new SoqlError(
      'MALFORMED_QUERY',
      soqlErrorMessage(
        soql,
        t.col,
        reason ?? `unexpected token: ${t.kind === 'string' ? `'${t.text}'` : t.text}`,
      ),
    );
  };
  const expectKw = (word: string): Token => {
    const t = next();
    if (!kw(t, word)) fail(t);
    return t;
  };
  const fieldRef = (t: Token): FieldRef => {
    if (t.kind !== 'ident' || t.text.includes(':')) fail(t);
    const path = t.text.split('.');
    if (path.length > 2)
      fail(
        t,
        `Didn't understand relationship '${path.slice(0, -1).join('.')}' in field path. (sandbox: one relationship level only)`,
      );
    return { path, text: t.text, col: t.col };
  };

  expectKw('SELECT');
  let count = false;
  const fields: FieldRef[] = [];
  if (kw(peek(), 'COUNT') && tokens[pos + 1]?.text === '(') {
    pos += 2;
    const close = next();
    if (close.text !== ')') fail(close, 'sandbox supports COUNT() only, not COUNT(field) aggregates');
    count = true;
  } else {
    for (;;) {
      const t = next();
      if (t.text === '(') fail(t, 'sandbox: relationship subqueries are not supported');
      if (kw(t, 'FROM')) fail(t);
      if (t.kind === 'ident' && peek().text === '(')
        fail(t, `sandbox: aggregate function ${t.text}() is not supported`);
      const f = fieldRef(t);
      if (fields.some((x) => x.text.toLowerCase() === f.text.toLowerCase()))
        fail(t, `duplicate field selected: ${f.text}`);
      fields.push(f);
      if (peek().text === ',') {
        pos++;
        continue;
      }
      break;
    }
  }
  expectKw('FROM');
  const from = next();
  if (from.kind !== 'ident' || from.text.includes('.') || from.text.includes(':')) fail(from);
  if (peek().kind === 'ident' && !['WHERE', 'ORDER', 'LIMIT', 'OFFSET'].includes(peek().text.toUpperCase())) {
    const t = peek();
    if (UNSUPPORTED.has(t.text.toUpperCase())) fail(t, `sandbox: ${t.text.toUpperCase()} is not supported`);
    fail(t);
  }

  const literal = (): Literal => {
    const t = next();
    switch (t.kind) {
      case 'string':
        return { t: 'string', v: t.text };
      case 'number':
        return { t: 'number', v: Number(t.text) };
      case 'datetime': {
        const norm = t.text.replace(/([+-]\d{2}):(\d{2})$/, '$1:$2');
        const ms = Date.parse(norm);
        if (Number.isNaN(ms)) fail(t, `line 1:${t.col} no viable alternative at character '${t.text}'`);
        return { t: 'datetime', v: ms, text: t.text };
      }
      case 'date':
        return { t: 'date', v: t.text };
      case 'ident': {
        const up = t.text.toUpperCase();
        if (up === 'TRUE' || up === 'FALSE') return { t: 'bool', v: up === 'TRUE' };
        if (up === 'NULL') return { t: 'null' };
        const [name = '', n] = up.split(':');
        if (DATE_LITERALS.has(name)) {
          const needsN = name.includes('_N_');
          if (needsN !== (n !== undefined))
            fail(t, `Bind variables only allowed in Apex code or invalid date literal '${t.text}'`);
          return { t: 'dateLiteral', name, n: n === undefined ? 0 : Number(n), text: t.text };
        }
        return fail(t);
      }
      default:
        return fail(t);
    }
  };

  const primary = (): Cond => {
    const t = peek();
    if (t.text === '(') {
      pos++;
      const c = orExpr();
      const close = next();
      if (close.text !== ')') fail(close);
      return c;
    }
    if (kw(t, 'NOT')) {
      pos++;
      return { kind: 'not', item: primary() };
    }
    const field = fieldRef(next());
    const op = next();
    if (op.kind === 'op')
      return { kind: 'cmp', field, op: op.text as '=' | '!=' | '<' | '<=' | '>' | '>=', value: literal() };
    let not = false;
    let word = op;
    if (kw(op, 'NOT')) {
      not = true;
      word = next();
    }
    const up = word.kind === 'ident' ? word.text.toUpperCase() : '';
    if (up === 'IN' || up === 'INCLUDES' || up === 'EXCLUDES') {
      const open = next();
      if (open.text !== '(') fail(open);
      if (kw(peek(), 'SELECT')) fail(peek(), 'sandbox: semi-join subqueries are not supported');
      const values: Literal[] = [];
      for (;;) {
        values.push(literal());
        const sep = next();
        if (sep.text === ')') break;
        if (sep.text !== ',') fail(sep);
      }
      if (up === 'IN') return { kind: 'in', field, not, values };
      if (not) fail(word);
      const strings = values.map((v) =>
        v.t === 'string' ? v.v : fail(word, 'INCLUDES/EXCLUDES take string values'),
      );
      return { kind: 'includes', field, not: up === 'EXCLUDES', values: strings };
    }
    if (up === 'LIKE' && !not) {
      const v = literal();
      if (v.t !== 'string') fail(word, 'LIKE takes a string');
      return { kind: 'like', field, not: false, pattern: v.t === 'string' ? v.v : '' };
    }
    return fail(word);
  };
  /** Returns the condition and whether it is a bare (unparenthesised) AND chain. */
  const andExpr = (): [Cond, boolean] => {
    const items = [primary()];
    while (kw(peek(), 'AND')) {
      pos++;
      items.push(primary());
    }
    return items.length === 1 ? [items[0] as Cond, false] : [{ kind: 'and', items }, true];
  };
  const orExpr = (): Cond => {
    const [first, firstBare] = andExpr();
    const items = [first];
    let bareAnd = firstBare;
    while (kw(peek(), 'OR')) {
      const orToken = next();
      // SOQL refuses mixing AND/OR without parentheses ("unexpected token: OR" at the ambiguity).
      if (bareAnd) fail(orToken, 'unexpected token: OR');
      const [c, bare] = andExpr();
      if (bare) fail(peek(), 'unexpected token: AND');
      bareAnd = bare;
      items.push(c);
    }
    return items.length === 1 ? first : { kind: 'or', items };
  };

  let where: Cond | undefined;
  if (kw(peek(), 'WHERE')) {
    pos++;
    where = orExpr();
  }
  const orderBy: OrderItem[] = [];
  if (kw(peek(), 'ORDER')) {
    pos++;
    expectKw('BY');
    if (count) fail(peek(), 'Ordered field must be grouped or aggregated: COUNT()');
    for (;;) {
      const field = fieldRef(next());
      let desc = false;
      if (kw(peek(), 'ASC')) pos++;
      else if (kw(peek(), 'DESC')) {
        pos++;
        desc = true;
      }
      let nullsLast = desc;
      if (kw(peek(), 'NULLS')) {
        pos++;
        const w = next();
        if (kw(w, 'FIRST')) nullsLast = false;
        else if (kw(w, 'LAST')) nullsLast = true;
        else fail(w);
      }
      orderBy.push({ field, desc, nullsLast });
      if (peek().text === ',') {
        pos++;
        continue;
      }
      break;
    }
  }
  let limit: number | undefined;
  let offset: number | undefined;
  if (kw(peek(), 'LIMIT')) {
    pos++;
    const n = next();
    if (n.kind !== 'number' || !/^\d+$/.test(n.text)) fail(n);
    limit = Number(n.text);
  }
  if (kw(peek(), 'OFFSET')) {
    pos++;
    const n = next();
    if (n.kind !== 'number' || !/^\d+$/.test(n.text)) fail(n);
    offset = Number(n.text);
    if (offset > 2000) fail(n, 'Maximum SOQL offset allowed is 2000');
  }
  const end = peek();
  if (end.kind !== 'eof') {
    if (end.kind === 'ident' && UNSUPPORTED.has(end.text.toUpperCase()))
      fail(end, `sandbox: ${end.text.toUpperCase()} is not supported`);
    fail(end);
  }
  return { count, fields, from: from.text, fromCol: from.col, where, orderBy, limit, offset };
}
