// HTML building blocks: escaping, the page frame (header with the hash search box), small formatters.

export type Html = { readonly html: string };

export function raw(html: string): Html {
  return { html };
}

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A tagged template that escapes every interpolation except Html values and arrays of them. */
export function h(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1]!;
  });
  return { html: out };
}

function render(v: unknown): string {
  if (v === undefined || v === null || v === false) return '';
  if (Array.isArray(v)) return v.map(render).join('');
  if (typeof v === 'object' && 'html' in (v as object)) return (v as Html).html;
  return esc(String(v));
}

export function enc(s: string): string {
  return encodeURIComponent(s);
}

/** A path inside a build: each segment encoded, slashes kept. */
export function encPath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

export function time(ms: number | null | undefined): Html {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return h`<span class="empty">never</span>`;
  const iso = new Date(ms).toISOString();
  return h`<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')}Z</time>`;
}

export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function size(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

/** A hash shown whole but breakable, so it fits a phone's width. */
export function hash(sha: string): Html {
  return h`<code class="hash">${sha}</code>`;
}

export function page(title: string, body: Html, opts: { live?: boolean } = {}): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · builder</title>
<link rel="stylesheet" href="/static/style.css">
<script src="/static/app.js" defer></script>
</head>
<body${opts.live ? ' data-live="1"' : ''}>
<header class="top">
<a class="brand" href="/">builder</a>
<nav><a href="/">Jobs</a> <a href="/all-builds">All</a> <a href="/failed-builds">Failed</a> <a href="/live">Live</a></nav>
<form class="search" action="/hash" method="get" role="search">
<input name="sha256" placeholder="SHA-256 of an artifact" required spellcheck="false" autocomplete="off" aria-label="SHA-256 of an artifact">
<button type="submit">Find</button>
</form>
</header>
<main>
${body.html}
</main>
</body>
</html>
`;
}
