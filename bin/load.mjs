// Runs the built command (dist/, made by scripts/build.mjs on `npm install` and before `npm test`).
export async function run(argvPrefix) {
  let main;
  try {
    ({ main } = await import('../dist/main.js'));
  } catch (e) {
    if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.url ?? e.message).includes('dist/main.js')) throw e;
    const root = new URL('..', import.meta.url).pathname;
    process.stderr.write(`builder: not built yet: run \`npm install\` (or \`npm run build\`) in ${root}\n`);
    process.exitCode = 1;
    return;
  }
  const code = await main([...argvPrefix, ...process.argv.slice(2)]);
  if (typeof code === 'number') process.exitCode = code;
}
