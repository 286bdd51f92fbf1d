import { BuilderError } from './builder-error.ts';

/**
 * A sandbox could not run a job at all (not a job's own failure, which is an outcome):
 * ERR_SANDBOX_UNKNOWN (no such sandbox name), ERR_SANDBOX_SPAWN (the runner could not be started),
 * ERR_SANDBOX_DOCKER (the engine refused or is unreachable), ERR_SANDBOX_SPEC (a bad run spec or option).
 */
export class SandboxError extends BuilderError {}
