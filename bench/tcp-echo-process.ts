// The server side of the floor measurements in server.ts, doing no work of its own. It answers the
// client's one write (as our client sends hello and command together) with one byte and closes:
// on the first port at once, on the second after one durable 4 KiB write (pwrite + fdatasync) to a
// file in the directory given, the least any server that syncs a change before answering must do.
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const dir = process.argv[2]!;
const fd = openSync(path.join(dir, 'floor'), 'w');
const page = Buffer.alloc(4096, 1);

const listen = (server: net.Server) =>
  new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));

const bare = net.createServer((c) => {
  c.setNoDelay(true);
  c.once('data', () => c.end('x'));
});
const durable = net.createServer((c) => {
  c.setNoDelay(true);
  c.once('data', () => {
    writeSync(fd, page, 0, page.length, 0);
    fdatasyncSync(fd);
    c.end('x');
  });
});
process.send!([await listen(bare), await listen(durable)]);
process.on('disconnect', () => {
  closeSync(fd);
  process.exit(0);
});
