/** HOST:PORT, [v6]:PORT, or PORT alone (on 127.0.0.1). Host names are allowed. */
export function parseAddress(text: string, defaultPort: number): { host: string; port: number } {
  let host = '127.0.0.1';
  let portText = String(defaultPort);
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (v6) {
    host = v6[1]!;
    if (v6[2]) portText = v6[2];
  } else if (/^\d+$/.test(text)) {
    portText = text;
  } else {
    const i = text.lastIndexOf(':');
    if (i < 0) host = text;
    else {
      host = text.slice(0, i);
      portText = text.slice(i + 1);
    }
  }
  const port = Number(portText);
  if (!host || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`not an address HOST:PORT: ${text}`);
  return { host, port };
}
