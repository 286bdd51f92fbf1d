// The server side of the noise-floor measurement in server.ts: answers each of the client's two
// messages with one byte and closes after the second, doing no other work.
import net from 'node:net';

const server = net.createServer((c) => {
  let n = 0;
  c.setNoDelay(true);
  c.on('data', () => {
    c.write('x');
    if (++n === 2) c.end();
  });
});
server.listen(0, '127.0.0.1', () => process.send!((server.address() as net.AddressInfo).port));
process.on('disconnect', () => process.exit(0));
