// What the web frontend refuses for load reasons, on node:diagnostics_channel (as the daemon's events are,
// under builder:<name>), for operators and tests to observe.
import diagnostics from 'node:diagnostics_channel';

export interface WebEvents {
  'web:auth-throttled': { address: string; reason: 'failures' | 'busy' };
  'web:upload-refused': { address: string; reason: 'busy' | 'forbidden' | 'bad-path' };
}

const channels = new Map<string, diagnostics.Channel>();

function publish<K extends keyof WebEvents>(name: K, payload: WebEvents[K]): void {
  let ch = channels.get(name);
  if (!ch) channels.set(name, (ch = diagnostics.channel(`builder:${name}`)));
  if (ch.hasSubscribers) ch.publish(payload);
}

export const webEvents = {
  authThrottled: (p: WebEvents['web:auth-throttled']) => publish('web:auth-throttled', p),
  uploadRefused: (p: WebEvents['web:upload-refused']) => publish('web:upload-refused', p),
};
