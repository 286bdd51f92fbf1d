// `npm run bench`: every figure family in turn, each in its own process. BENCH_QUICK=1 for a short run;
// `npm run bench -- server codec` runs only those.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const families = ['startup', 'memory', 'codec', 'store', 'server', 'sandbox', 'dispatch', 'web', 'hostile-memory', 'web-hostile'];
const chosen = process.argv.slice(2).length > 0 ? process.argv.slice(2) : families;
let failed = 0;
for (const name of chosen) {
  if (!families.includes(name)) {
    console.error(`unknown benchmark '${name}'; choose from ${families.join(', ')}`);
    process.exit(2);
  }
  console.log(`\n== bench/${name}.ts`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, `${name}.ts`)], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`bench/${name}.ts exited ${r.status ?? r.signal}`);
    failed++;
  }
}
process.exit(failed > 0 ? 1 : 0);
