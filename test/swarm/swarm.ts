// The docker CLI for the swarm test: a stack of deploy/swarm/stack.yml on the local single-node swarm, its
// services, task containers and their addresses. Every call is the docker command an operator would type.
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const STACK_FILE = `${ROOT}deploy/swarm/stack.yml`;

export function sh(file: string, args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 300_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

export const docker = (...args: string[]): Promise<string> => sh('docker', args);

/** Why the swarm test cannot run here, or undefined. */
export async function swarmProblem(): Promise<string | undefined> {
  try {
    await docker('info');
  } catch (err) {
    return `${(err as Error).message.split('\n')[0]} (run: bash .ci/start-docker.sh)`;
  }
  try {
    await sh('bash', [`${ROOT}test/swarm/init-swarm.sh`]);
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface Task {
  id: string;
  slot: string;
  state: string;
}

export interface Container {
  id: string;
  hostname: string;
  ips: string[];
  slot: string;
}

export class Stack {
  constructor(
    readonly name: string,
    readonly env: Record<string, string>,
  ) {}

  service(short: string): string {
    return `${this.name}_${short}`;
  }

  async deploy(): Promise<void> {
    // --resolve-image never: the image is local (no registry to ask for its digest)
    await sh('docker', ['stack', 'deploy', '--resolve-image', 'never', '-c', STACK_FILE, this.name], { ...process.env, ...this.env });
  }

  /** The running task containers of a service (docker ps on this node: the only one). */
  async containers(short: string): Promise<Container[]> {
    const ids = (await docker('ps', '-q', '--no-trunc', '--filter', `label=com.docker.swarm.service.name=${this.service(short)}`)).split('\n').filter(Boolean);
    if (ids.length === 0) return [];
    const lines = await docker('inspect', '-f', '{{.Id}} {{.Config.Hostname}} {{index .Config.Labels "com.docker.swarm.task.name"}} {{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', ...ids);
    return lines
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [id, hostname, task, ...ips] = line.trim().split(/\s+/);
        return { id: id!, hostname: hostname!, slot: task!.split('.')[1]!, ips };
      });
  }

  async scale(short: string, replicas: number): Promise<void> {
    await docker('service', 'scale', '--detach=false', `${this.service(short)}=${replicas}`);
  }

  async logs(short: string): Promise<string> {
    return docker('service', 'logs', '--no-trunc', '--tail', '200', this.service(short)).catch((e: Error) => e.message);
  }

  async status(): Promise<string> {
    return docker('stack', 'ps', '--no-trunc', this.name).catch((e: Error) => e.message);
  }

  /** Removes the stack, waits for its containers and network to go, then removes its volume. */
  async remove(): Promise<void> {
    await docker('stack', 'rm', this.name).catch(() => undefined);
    const label = `label=com.docker.stack.namespace=${this.name}`;
    for (let i = 0; i < 300; i++) {
      const left = (await docker('ps', '-aq', '--filter', label)) + (await docker('network', 'ls', '-q', '--filter', label));
      if (left.trim() === '') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await docker('volume', 'rm', `${this.name}_builder-data`).catch(() => undefined);
  }
}
