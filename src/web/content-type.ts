// How an artifact is served: text files (the input files, build hashes, *.txt, logs, scripts) open
// in the browser as UTF-8 text; binaries, archives and anything unknown download.

const TEXT_NAMES = new Set(['opam-switch', 'build-environment', 'system-packages', 'README', 'LICENSE', 'CHANGES']);
const TEXT_EXT = new Set(['txt', 'build-hashes', 'md', 'log', 'sh', 'opam', 'sexp', 'csv', 'conf', 'cfg', 'ini', 'toml', 'yaml', 'yml', 'ml', 'mli', 'c', 'h', 'diff', 'patch', 'asc', 'sha256', 'sig', 'html', 'htm', 'xml', 'svg']);
const TYPED: Record<string, string> = { json: 'application/json', pdf: 'application/pdf', png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif' };

export interface ServedAs {
  type: string;
  /** false: Content-Disposition attachment */
  inline: boolean;
}

export function servedAs(path: string): ServedAs {
  if (path.startsWith('bin/')) return { type: 'application/octet-stream', inline: false };
  const base = path.split('/').pop() ?? path;
  const dot = base.lastIndexOf('.');
  const ext = dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
  // markup is shown as text: an artifact must not run script on this origin
  if (TEXT_NAMES.has(base) || TEXT_EXT.has(ext)) return { type: 'text/plain; charset=utf-8', inline: true };
  const typed = TYPED[ext];
  if (typed) return { type: typed, inline: true };
  return { type: 'application/octet-stream', inline: false };
}
