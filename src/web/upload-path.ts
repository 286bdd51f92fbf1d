// The names an upload may carry: artifact paths by the builder port's rules (relative, no `..`, no NUL,
// no backslash) plus no control characters; job names by the builder port's job-name rule.
import { artifactPathProblem, jobNameProblem } from '../server/artifact-path.ts';

/** Why an artifact path is refused, or undefined when it is a safe relative path. */
export function uploadPathProblem(p: string): string | undefined {
  const base = artifactPathProblem(p);
  if (base !== undefined) return base;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(p)) return 'control character in path';
  if (p.split('/').some((s) => s === '' || s === '.')) return 'empty or "." segment in path';
  return undefined;
}

export function uploadJobNameProblem(name: string): string | undefined {
  return jobNameProblem(name);
}

/** A job name made safe as one path component (the prefix of all.tar.gz entries, for builds stored before the rule). */
export function safeComponent(name: string): string {
  // eslint-disable-next-line no-control-regex
  const s = name.replace(/[/\\\x00-\x1f\x7f]/g, '_');
  return s === '' || s === '.' || s === '..' ? '_' : s;
}
