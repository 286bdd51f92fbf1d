// Picks a sandbox by name (the worker's --sandbox).
import type { Clock } from '../src/scheduler/clock.ts';
import { SandboxError } from '../src/errors/sandbox-error.ts';
import { BwrapSandbox } from './bwrap.ts';
import { DockerSandbox } from './docker.ts';
import { ProcessSandbox } from './process.ts';
import { SANDBOX_NAMES, type Sandbox } from './sandbox.ts';

export interface SandboxChoice {
  name: string;
  image?: string;
  clock?: Clock;
  maxLineBytes?: number;
  dockerTransfer?: 'bind' | 'copy';
  dockerNetworkMode?: string;
  /** Extra paths shown read-only to bwrap jobs. */
  bwrapReadOnly?: string[];
}

export function createSandbox(choice: SandboxChoice): Sandbox {
  const common = { clock: choice.clock, maxLineBytes: choice.maxLineBytes };
  switch (choice.name) {
    case 'process':
      return new ProcessSandbox(common);
    case 'bwrap':
      return new BwrapSandbox({ ...common, readOnly: choice.bwrapReadOnly });
    case 'docker':
      return new DockerSandbox({
        ...common,
        image: choice.image ?? '',
        transfer: choice.dockerTransfer,
        networkMode: choice.dockerNetworkMode,
      });
    default:
      throw new SandboxError('ERR_SANDBOX_UNKNOWN', `unknown sandbox '${choice.name}' (one of ${SANDBOX_NAMES.join(', ')})`);
  }
}

export type { Sandbox, RunSpec, RunOutcome, SandboxLimits, SandboxName, OnLine } from './sandbox.ts';
export { outcomeToResult, outcomeKeepsArtifacts } from './sandbox.ts';
