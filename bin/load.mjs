// Registers the TypeScript loader so the sources run as they are, without a build step.
import { register } from 'tsx/esm/api';
register();
export async function run(argvPrefix) {
  const { main } = await import('../src/cli/main.ts');
  const code = await main([...argvPrefix, ...process.argv.slice(2)]);
  if (typeof code === 'number') process.exitCode = code;
}
