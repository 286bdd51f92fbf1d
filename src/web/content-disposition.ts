// RFC 6266 Content-Disposition for downloads: the exact name as RFC 8187 `filename*` (UTF-8, percent-encoded)
// and an ASCII fallback for old clients. Any name (quotes, NUL, CR/LF, emoji) gives a valid header value.

/** RFC 8187 attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~"; everything else percent-encoded. */
function extValue(name: string): string {
  const bytes = Buffer.from(name, 'utf8') // lone surrogates become U+FFFD;
  let out = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9!#$&+\-.^_`|~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Printable ASCII without the characters that end or escape a quoted-string, or that confuse old parsers. */
function asciiFallback(name: string): string {
  const s = name.replace(/[^\x20-\x7e]|["\\%;]/g, '_').trim();
  return s.length === 0 || /^\.+$/.test(s) ? 'download' : s;
}

export function attachment(name: string): string {
  return `attachment; filename="${asciiFallback(name)}"; filename*=UTF-8''${extValue(name)}`;
}
