// A tolerant reader of opam's file format (opam files and `opam switch export` files): fields
// `name: value`, sections `name "label" { ... }`, strings (also """triple"""), lists, groups,
// option blocks, operators, comments. Enough to read synopsis, depends, url and extensions.

export type OpamValue =
  | { t: 'string'; v: string }
  | { t: 'ident'; v: string }
  | { t: 'list'; items: OpamValue[] }
  | { t: 'group'; items: OpamValue[] }
  | { t: 'op'; op: string; args: OpamValue[] }
  | { t: 'option'; value: OpamValue; options: OpamValue[] };

export interface OpamItem {
  kind: 'field' | 'section';
  name: string;
  /** the section's label (`package "foo" {`) */
  label?: string;
  value?: OpamValue;
  items?: OpamItem[];
  /** the item's source text */
  text: string;
}

interface Token {
  k: 'str' | 'word' | 'punct' | 'op';
  v: string;
  start: number;
  end: number;
}

const OPS = ['>=', '<=', '!=', '+=', '-=', ':=', '=+', '=', '<', '>', '&', '|', '!', '?', '~'];

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '(' && src[i + 1] === '*') {
      const end = src.indexOf('*)', i + 2);
      i = end < 0 ? src.length : end + 2;
    } else if (c === '"') {
      const start = i;
      const triple = src.startsWith('"""', i);
      i += triple ? 3 : 1;
      let v = '';
      while (i < src.length) {
        if (triple ? src.startsWith('"""', i) : src[i] === '"') {
          i += triple ? 3 : 1;
          break;
        }
        if (src[i] === '\\' && i + 1 < src.length) {
          const e = src[i + 1]!;
          v += e === 'n' ? '\n' : e === 't' ? '\t' : e === '\n' ? '' : e;
          i += 2;
          if (e === '\n') while (src[i] === ' ' || src[i] === '\t') i++;
          continue;
        }
        v += src[i++];
      }
      out.push({ k: 'str', v, start, end: i });
    } else if ('[](){}:'.includes(c)) {
      out.push({ k: 'punct', v: c, start: i, end: i + 1 });
      i++;
    } else {
      const op = OPS.find((o) => src.startsWith(o, i));
      if (op) {
        out.push({ k: 'op', v: op, start: i, end: i + op.length });
        i += op.length;
        continue;
      }
      const start = i;
      while (i < src.length && !/[\s"[\](){}:#&|!?<>=~]/.test(src[i]!)) i++;
      if (i === start) i++; // an unknown character: skip it
      else out.push({ k: 'word', v: src.slice(start, i), start, end: i });
    }
  }
  return out;
}

class Parser {
  private i = 0;
  constructor(
    private readonly src: string,
    private readonly toks: Token[],
  ) {}

  private peek(n = 0): Token | undefined {
    return this.toks[this.i + n];
  }

  private is(v: string, n = 0): boolean {
    const t = this.peek(n);
    return t !== undefined && t.k !== 'str' && t.v === v;
  }

  items(until?: string): OpamItem[] {
    const out: OpamItem[] = [];
    while (this.i < this.toks.length && !(until && this.is(until))) {
      const t = this.peek()!;
      const start = t.start;
      if (t.k === 'word' && this.is(':', 1)) {
        this.i += 2;
        const value = this.value();
        out.push({ kind: 'field', name: t.v, value, text: this.src.slice(start, this.prevEnd()) });
      } else if (t.k === 'word' && (this.is('{', 1) || (this.peek(1)?.k === 'str' && this.is('{', 2)))) {
        this.i++;
        const label = this.peek()!.k === 'str' ? this.toks[this.i++]!.v : undefined;
        this.i++; // {
        const items = this.items('}');
        if (this.is('}')) this.i++;
        out.push({ kind: 'section', name: t.v, ...(label !== undefined ? { label } : {}), items, text: this.src.slice(start, this.prevEnd()) });
      } else {
        this.i++; // not an item: skip the token
      }
    }
    return out;
  }

  private prevEnd(): number {
    return this.toks[this.i - 1]?.end ?? this.src.length;
  }

  /** Values up to a closing bracket (lists, groups, option blocks). */
  private values(close: string): OpamValue[] {
    const out: OpamValue[] = [];
    while (this.i < this.toks.length && !this.is(close)) {
      const before = this.i;
      // inside a list, `name:` starts the next field: the list was not closed
      if (this.peek()?.k === 'word' && this.is(':', 1)) break;
      out.push(this.value());
      if (this.i === before) this.i++;
    }
    if (this.is(close)) this.i++;
    return out;
  }

  private value(): OpamValue {
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      if (t?.k === 'op' && (t.v === '&' || t.v === '|')) {
        this.i++;
        left = { t: 'op', op: t.v, args: [left, this.unary()] };
      } else return left;
    }
  }

  private unary(): OpamValue {
    const t = this.peek();
    if (t?.k === 'op') {
      this.i++;
      return this.withOptions({ t: 'op', op: t.v, args: [this.unary()] });
    }
    return this.withOptions(this.atom());
  }

  private atom(): OpamValue {
    const t = this.peek();
    if (!t) return { t: 'ident', v: '' };
    this.i++;
    if (t.k === 'str') return { t: 'string', v: t.v };
    if (t.v === '[') return { t: 'list', items: this.values(']') };
    if (t.v === '(') return { t: 'group', items: this.values(')') };
    const next = this.peek();
    // infix relational operator after an atom (`os = "linux"`)
    if (next?.k === 'op' && !['&', '|', '!', '?'].includes(next.v) && t.k === 'word') {
      this.i++;
      return { t: 'op', op: next.v, args: [{ t: 'ident', v: t.v }, this.atom()] };
    }
    return { t: 'ident', v: t.v };
  }

  private withOptions(v: OpamValue): OpamValue {
    if (!this.is('{')) return v;
    this.i++;
    return { t: 'option', value: v, options: this.values('}') };
  }
}

export function parseOpam(src: string): OpamItem[] {
  return new Parser(src, tokenize(src)).items();
}

export function field(items: OpamItem[] | undefined, name: string): OpamValue | undefined {
  return items?.find((x) => x.kind === 'field' && x.name === name)?.value;
}

export function section(items: OpamItem[] | undefined, name: string): OpamItem | undefined {
  return items?.find((x) => x.kind === 'section' && x.name === name);
}

/** The value as a string, when it is one (options stripped). */
export function str(v: OpamValue | undefined): string | undefined {
  if (!v) return undefined;
  if (v.t === 'option') return str(v.value);
  return v.t === 'string' ? v.v : undefined;
}

/** The elements of a list (a single value counts as a list of one). */
export function elements(v: OpamValue | undefined): OpamValue[] {
  if (!v) return [];
  if (v.t === 'list') return v.items;
  return [v];
}

/** Every package name a dependency formula mentions (strings outside option blocks). */
export function formulaNames(v: OpamValue | undefined): string[] {
  const out: string[] = [];
  const walk = (x: OpamValue) => {
    if (x.t === 'string') out.push(x.v);
    else if (x.t === 'option') walk(x.value);
    else if (x.t === 'list' || x.t === 'group') x.items.forEach(walk);
    else if (x.t === 'op') x.args.forEach(walk);
  };
  if (v) walk(v);
  return out;
}
