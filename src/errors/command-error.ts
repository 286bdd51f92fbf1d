import { BuilderError } from './builder-error.ts';

/**
 * A client command the server refuses. The message is what the client sees in `Failure`, worded as
 * the original server words it where the original has the case.
 */
export class CommandError extends BuilderError {}
