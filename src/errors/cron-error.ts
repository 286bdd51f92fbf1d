import { BuilderError } from './builder-error.ts';

/** A cron expression or time zone that is refused; callers match on `code`. */
export class CronError extends BuilderError {
  /** the expression as given */
  readonly expr: string;
  constructor(code: string, expr: string, message: string) {
    super(code, `cron expression ${JSON.stringify(expr)}: ${message}`);
    this.expr = expr;
  }
}

export const cronErrors = {
  /** wrong number of fields (5, 6 or 7, or one macro) */
  fieldCount: (expr: string, n: number) =>
    new CronError('ERR_CRON_FIELD_COUNT', expr, `has ${n} field(s); expected 5, 6 or 7, or a macro like @daily`),
  syntax: (expr: string, field: string, token: string) =>
    new CronError('ERR_CRON_SYNTAX', expr, `syntax error in the ${field} field: ${JSON.stringify(token)}`),
  step: (expr: string, field: string, token: string, max: number) =>
    new CronError('ERR_CRON_STEP', expr, `step in the ${field} field must be between 1 and ${max}: ${JSON.stringify(token)}`),
  range: (expr: string, field: string, token: string, min: number, max: number) =>
    new CronError('ERR_CRON_RANGE', expr, `value out of range in the ${field} field (${min}-${max}): ${JSON.stringify(token)}`),
  reversed: (expr: string, field: string, token: string) =>
    new CronError('ERR_CRON_RANGE', expr, `range in the ${field} field starts after it ends: ${JSON.stringify(token)}`),
  never: (expr: string, timeZone: string) =>
    new CronError('ERR_CRON_NEVER', expr, `never fires (no matching time from now until 2099 in ${timeZone})`),
  timeZone: (expr: string, timeZone: string) =>
    new CronError('ERR_CRON_TIME_ZONE', expr, `unknown time zone ${JSON.stringify(timeZone)}`),
};
