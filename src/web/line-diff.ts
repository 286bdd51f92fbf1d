// A unified diff of two small texts (opam files), as `diff -u --label L --label R` prints it.

type Op = { k: ' ' | '-' | '+'; line: string };

function lcsOps(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  // suffix LCS lengths; opam files are small, so the table is too
  const t = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) t[i]![j] = a[i] === b[j] ? t[i + 1]![j + 1]! + 1 : Math.max(t[i + 1]![j]!, t[i]![j + 1]!);
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      ops.push({ k: ' ', line: a[i]! });
      i++;
      j++;
    } else if (t[i + 1]![j]! >= t[i]![j + 1]!) ops.push({ k: '-', line: a[i++]! });
    else ops.push({ k: '+', line: b[j++]! });
  }
  while (i < n) ops.push({ k: '-', line: a[i++]! });
  while (j < m) ops.push({ k: '+', line: b[j++]! });
  return ops;
}

function toLines(s: string): string[] {
  const l = s.split('\n');
  if (l[l.length - 1] === '') l.pop();
  return l;
}

export function unifiedDiff(left: string, right: string, labelLeft: string, labelRight: string, context = 3): string {
  const ops = lcsOps(toLines(left), toLines(right));
  if (ops.every((o) => o.k === ' ')) return '';
  const out = [`--- ${labelLeft}`, `+++ ${labelRight}`];
  // hunks: runs of changes with `context` lines around them
  const changed = ops.map((o) => o.k !== ' ');
  let k = 0;
  while (k < ops.length) {
    if (!changed[k]) {
      k++;
      continue;
    }
    let start = Math.max(0, k - context);
    let end = k;
    for (;;) {
      while (end < ops.length && changed[end]) end++;
      let next = end;
      while (next < ops.length && !changed[next]) next++;
      if (next < ops.length && next - end <= 2 * context) end = next;
      else {
        end = Math.min(ops.length, end + context);
        break;
      }
    }
    let la = 0;
    let lb = 0;
    for (let x = 0; x < start; x++) {
      if (ops[x]!.k !== '+') la++;
      if (ops[x]!.k !== '-') lb++;
    }
    const hunk = ops.slice(start, end);
    const ca = hunk.filter((o) => o.k !== '+').length;
    const cb = hunk.filter((o) => o.k !== '-').length;
    out.push(`@@ -${ca ? la + 1 : la},${ca} +${cb ? lb + 1 : lb},${cb} @@`);
    for (const o of hunk) out.push(o.k + o.line);
    k = end;
    start = end;
  }
  return out.join('\n') + '\n';
}
