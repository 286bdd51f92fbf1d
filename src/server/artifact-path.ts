// Artifact paths come from workers: a relative path that stays inside the job's directory, or nothing.
import path from 'node:path';

/** Returns why the path is refused, or undefined when it is a safe relative path. */
export function artifactPathProblem(p: string): string | undefined {
  if (p.length === 0) return 'empty path';
  if (p.includes('\0')) return 'NUL byte in path';
  if (p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p)) return 'absolute path';
  if (p.includes('\\')) return 'backslash in path';
  const parts = p.split('/');
  if (parts.some((s) => s === '..')) return "'..' in path";
  const normal = path.posix.normalize(p);
  if (normal.startsWith('../') || normal === '..' || normal === '.') return 'path escapes the job directory';
  return undefined;
}

/** Job names become directory names under --dir: one plain path component. */
export function jobNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'empty job name';
  if (name.length > 255) return 'job name longer than 255 bytes';
  if (name === '.' || name === '..') return `job name '${name}' is not allowed`;
  if (/[/\\\0]/.test(name)) return 'job name contains a slash, backslash or NUL';
  if (/[\x00-\x1f\x7f]/.test(name)) return 'job name contains control characters';
  return undefined;
}
