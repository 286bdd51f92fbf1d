// /viztreemap: the main binary's size by library and module, from its ELF symbol table, as a
// squarified treemap in one offline HTML page (inline SVG and CSS, no script needed).
import type { ElfInfo, ElfSymbol } from './elf-symbols.ts';
import { esc } from './html.ts';
import { vizPage } from './viz-page.ts';

interface Node {
  name: string;
  size: number;
  children: Node[];
}

/**
 * The module path of a symbol: OCaml's `camlLib__Module__fn_123` / `camlLib.Module.fn_123` give
 * ["Lib", "Lib.Module"]; C symbols are grouped by the prefix before their first underscore.
 */
export function symbolGroup(name: string): [string, string] {
  const ocaml = name.match(/^caml([A-Z][A-Za-z0-9_']*?)(?:(?:__|\.)(.*))?$/);
  if (ocaml) {
    const lib = ocaml[1]!.replace(/_\d+$/, '');
    const rest = (ocaml[2] ?? '').split(/__|\./);
    const mods = [lib];
    for (const part of rest) {
      if (/^[A-Z]/.test(part) && part !== rest[rest.length - 1]) mods.push(part);
      else break;
    }
    return [`OCaml ${lib}`, mods.join('.')];
  }
  const bare = name.replace(/^_+/, '');
  const us = bare.indexOf('_');
  const prefix = us > 1 ? bare.slice(0, us) : '';
  return prefix ? [`C ${prefix}_*`, bare] : ['C (other)', bare];
}

export function groupSymbols(symbols: ElfSymbol[]): Node {
  const root: Node = { name: 'binary', size: 0, children: [] };
  const top = new Map<string, { node: Node; mods: Map<string, Node> }>();
  for (const s of symbols) {
    const [g, m] = symbolGroup(s.name);
    let t = top.get(g);
    if (!t) {
      t = { node: { name: g, size: 0, children: [] }, mods: new Map() };
      top.set(g, t);
      root.children.push(t.node);
    }
    let mod = t.mods.get(m);
    if (!mod) {
      mod = { name: m, size: 0, children: [] };
      t.mods.set(m, mod);
      t.node.children.push(mod);
    }
    mod.size += s.size;
    t.node.size += s.size;
    root.size += s.size;
  }
  const sort = (n: Node) => {
    n.children.sort((a, b) => b.size - a.size);
    n.children.forEach(sort);
  };
  sort(root);
  return root;
}

interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Squarified treemap (Bruls, Huizing, van Wijk) of sizes sorted descending into a rectangle. */
export function squarify(sizes: number[], r: Rect): Rect[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  const out: Rect[] = [];
  if (total <= 0 || r.w <= 0 || r.h <= 0) return sizes.map(() => ({ x: r.x, y: r.y, w: 0, h: 0 }));
  const scale = (r.w * r.h) / total;
  const areas = sizes.map((s) => s * scale);
  let free = { ...r };
  let i = 0;
  const worst = (row: number[], side: number) => {
    const sum = row.reduce((a, b) => a + b, 0);
    const max = Math.max(...row);
    const min = Math.min(...row);
    return Math.max((side * side * max) / (sum * sum), (sum * sum) / (side * side * min));
  };
  while (i < areas.length) {
    const side = Math.min(free.w, free.h);
    const row = [areas[i]!];
    let j = i + 1;
    while (j < areas.length && worst([...row, areas[j]!], side) <= worst(row, side)) row.push(areas[j++]!);
    const sum = row.reduce((a, b) => a + b, 0);
    if (free.w >= free.h) {
      const w = sum / free.h;
      let y = free.y;
      for (const a of row) {
        out.push({ x: free.x, y, w, h: a / w });
        y += a / w;
      }
      free = { x: free.x + w, y: free.y, w: free.w - w, h: free.h };
    } else {
      const h = sum / free.w;
      let x = free.x;
      for (const a of row) {
        out.push({ x, y: free.y, w: a / h, h });
        x += a / h;
      }
      free = { x: free.x, y: free.y + h, w: free.w, h: free.h - h };
    }
    i = j;
  }
  return out;
}

const COLORS = ['#4c78a8', '#f58518', '#54a24b', '#b279a2', '#e45756', '#72b7b2', '#eeca3b', '#9d755d', '#ff9da6', '#bab0ac'];

function bytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

/**
 * A generous estimate of a label's width in SVG units at `px` (DejaVu Sans, a wide font, fits it;
 * a clip path keeps a label in its block with any font).
 */
export function labelWidth(text: string, px: number, bold = false): number {
  let em = 0;
  for (const c of text) {
    if (c === '…' || /[mwMW@%]/.test(c)) em += 1.0;
    else if (/[A-Z]/.test(c)) em += 0.78;
    else if (/[il.,:;|!' ]/.test(c)) em += 0.36;
    else if (/[fjrt()[\]/_-]/.test(c)) em += 0.5;
    else em += 0.66;
  }
  return em * px * (bold ? 1.1 : 1);
}

/** The text cut to fit a width, with an ellipsis; empty when not even three characters fit. */
export function fitLabel(text: string, width: number, px: number, bold = false): string {
  if (labelWidth(text, px, bold) <= width) return text;
  for (let n = text.length - 1; n >= 3; n--) {
    const cut = text.slice(0, n) + '…';
    if (labelWidth(cut, px, bold) <= width) return cut;
  }
  return '';
}

/** One layout of the treemap: W x H user units (the page shows a wide one, and a narrow one on phones). */
function treemapSvg(root: Node, W: number, H: number, cls: string): string {
  const boxes = squarify(root.children.map((c) => c.size), { x: 0, y: 0, w: W, h: H });
  const parts: string[] = [];
  root.children.forEach((g, gi) => {
    const b = boxes[gi]!;
    if (b.w < 0.5 || b.h < 0.5) return;
    const color = COLORS[gi % COLORS.length]!;
    const pct = ((g.size / root.size) * 100).toFixed(1);
    const area = `x="${b.x.toFixed(1)}" y="${b.y.toFixed(1)}" width="${b.w.toFixed(1)}" height="${b.h.toFixed(1)}"`;
    parts.push(`<g class="group" clip-path="url(#${cls}-${gi})"><clipPath id="${cls}-${gi}"><rect ${area}/></clipPath><rect ${area} fill="${color}" fill-opacity="0.35" stroke="#fff" stroke-width="2"><title>${esc(g.name)}: ${bytes(g.size)} (${pct}%)</title></rect>`);
    // the group's name (and size, when it fits) in a header strip; none in boxes too small for one
    const full = `${g.name} ${bytes(g.size)}`;
    const label = labelWidth(full, 12, true) <= b.w - 8 ? full : fitLabel(g.name, b.w - 8, 12, true);
    const pad = b.h > 40 && label ? 16 : 0;
    const inner = { x: b.x + 2, y: b.y + pad, w: Math.max(0, b.w - 4), h: Math.max(0, b.h - pad - 2) };
    const kids = squarify(g.children.map((c) => c.size), inner);
    g.children.forEach((m, mi) => {
      const k = kids[mi]!;
      if (k.w < 1 || k.h < 1) return;
      parts.push(`<rect class="module" x="${k.x.toFixed(1)}" y="${k.y.toFixed(1)}" width="${k.w.toFixed(1)}" height="${k.h.toFixed(1)}" fill="${color}" fill-opacity="0.8" stroke="#fff" stroke-width="0.5"><title>${esc(m.name)}: ${bytes(m.size)} (${((m.size / root.size) * 100).toFixed(2)}%)</title></rect>`);
      const text = k.h > 14 ? fitLabel(m.name, k.w - 6, 10) : '';
      if (text) parts.push(`<text x="${(k.x + 3).toFixed(1)}" y="${(k.y + 11).toFixed(1)}" class="mlabel">${esc(text)}</text>`);
    });
    if (pad) parts.push(`<text x="${(b.x + 4).toFixed(1)}" y="${(b.y + 12).toFixed(1)}" class="glabel">${esc(label)}</text>`);
    parts.push('</g>');
  });
  return `<svg class="${cls}" viewBox="0 0 ${W} ${H}" role="img" aria-label="treemap of the binary's size by module">${parts.join('')}</svg>`;
}

export function treemapHtml(title: string, elf: ElfInfo): string {
  if (elf.symbols.length === 0) {
    return vizPage(title, `<p class="none">${NO_SYMBOLS}</p>`);
  }
  const root = groupSymbols(elf.symbols);
  const share = ((root.size / elf.fileSize) * 100).toFixed(1);
  const legend = root.children
    .slice(0, 12)
    .map((g, gi) => `<li><span class="swatch" style="background:${COLORS[gi % COLORS.length]}"></span>${esc(g.name)} <b>${bytes(g.size)}</b></li>`)
    .join('');
  // small units, so the labels stay readable inside the build page's iframe; a taller, narrower
  // layout for phones, where the wide one would shrink its labels below reading size
  return vizPage(
    title,
    `<div class="scale"><div class="bar"><span style="width:${Math.min(100, Number(share))}%"></span></div>
<p>Symbols with a size: <b>${bytes(root.size)}</b> of the ${bytes(elf.fileSize)} file (${share}%), ${elf.symbols.length} symbols in ${root.children.length} groups. Hover a block for its size.</p></div>
${treemapSvg(root, 600, 450, 'wide')}${treemapSvg(root, 340, 420, 'narrow')}
<ul class="legend">${legend}</ul>`,
  );
}

/** What the treemap page says of a binary without symbols (also on the build page, instead of the frame). */
export const NO_SYMBOLS = 'This binary has no symbol table (it is stripped, or not an ELF file): nothing to dissect.';
