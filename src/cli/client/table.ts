// Plain aligned tables: a header row and columns padded to their widest cell.
import type { Style } from './style.ts';

const visible = (s: string): number => [...s.replace(/\x1b\[[0-9;]*m/g, '')].length;

export function table(headers: string[], rows: string[][], style: Style): string {
  const widths = headers.map((h, i) => Math.max(visible(h), ...rows.map((r) => visible(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - visible(c))))
      .join('  ')
      .trimEnd();
  return [style.bold(line(headers)), ...rows.map(line)].join('\n');
}

/** A titled section: the title, then the table or "(none)". */
export function section(title: string, headers: string[], rows: string[][], style: Style): string {
  return `${style.bold(style.cyan(title))}\n${rows.length === 0 ? style.dim('(none)') : table(headers, rows, style)}`;
}
