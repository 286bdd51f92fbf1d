// Piscina worker entry: worker threads do not inherit the main thread's TypeScript loader, so
// register tsx here, then load the task module.
import { register } from 'tsx/esm/api';
register();
const tasks = await import('./tasks.ts');
export default tasks.default;
