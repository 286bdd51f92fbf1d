// The server side of the floor measurements in server.ts, doing no work of its own. It answers the
// client's one write (as our client sends hello and command together) with one byte and closes:
// - bare: at once;
// - durable: after one durable 4 KiB write (pwrite + fdatasync) to a file in the directory given, the
//   least any server that syncs a change before answering must do;
// - commit-shaped: after what a durable LMDB commit does to the disk, without LMDB: the client's first
//   byte says how many 4 KiB pages (scattered over a 64 MiB file) are written, then fdatasync, then the
//   128-byte meta record is written through an O_DSYNC descriptor (LMDB's second flush).
import { closeSync, constants, fdatasyncSync, openSync, writeSync } from 'node:fs';
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
const FILE_PAGES = (64 * 1024 * 1024) / 4096;
const dataFd = openSync(path.join(dir, 'commit-shaped'), 'w+');
for (let i = 0; i < FILE_PAGES; i += 256) writeSync(dataFd, Buffer.alloc(256 * 4096), 0, 256 * 4096, i * 4096);
fdatasyncSync(dataFd);
const metaFd = openSync(path.join(dir, 'commit-shaped'), constants.O_RDWR | constants.O_DSYNC);
let seed = 1;
const nextPage = (): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return (2 + (seed % (FILE_PAGES - 2))) * 4096;
};
const commitShaped = net.createServer((c) => {
  c.setNoDelay(true);
  c.once('data', (d: Buffer) => {
    for (let i = 0; i < d[0]!; i++) writeSync(dataFd, page, 0, page.length, nextPage());
    fdatasyncSync(dataFd);
    writeSync(metaFd, page, 0, 128, 40);
    c.end('x');
  });
});
process.send!([await listen(bare), await listen(durable), await listen(commitShaped)]);
process.on('disconnect', () => {
  closeSync(fd);
  closeSync(dataFd);
  closeSync(metaFd);
  process.exit(0);
});
