// POSTs a result (the DER `Exec`) to an upload URL, as the original does, with HTTP Basic credentials
// taken from the URL's user:password (fetch refuses credentials inside the URL itself).

export interface UploadOutcome {
  ok: boolean;
  status: number;
  error?: string;
}

export function uploadTarget(raw: string): { url: string; authorization?: string } {
  const u = new URL(raw);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`upload URL must be http or https: ${raw}`);
  let authorization: string | undefined;
  if (u.username || u.password) {
    const user = decodeURIComponent(u.username);
    const pass = decodeURIComponent(u.password);
    authorization = 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
    u.username = '';
    u.password = '';
  }
  return authorization ? { url: u.toString(), authorization } : { url: u.toString() };
}

/** Redacts the password of an upload URL for logs. */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}

export async function postResult(rawUrl: string, body: Uint8Array, timeoutMs = 120_000): Promise<UploadOutcome> {
  const target = uploadTarget(rawUrl);
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
  if (target.authorization) headers.authorization = target.authorization;
  try {
    const res = await fetch(target.url, {
      method: 'POST',
      body,
      headers,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text().catch(() => '');
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
    return { ok: false, status: res.status, error: `HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}` };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    return { ok: false, status: 0, error: err.cause?.message ?? err.message };
  }
}

/** Exponential backoff with jitter: 5 s, 10 s, 20 s ... capped at one hour. */
export function backoffMs(attempts: number, random: () => number = Math.random): number {
  const base = Math.min(3_600_000, 5_000 * 2 ** Math.max(0, attempts - 1));
  return Math.round(base * (0.75 + random() * 0.5));
}
