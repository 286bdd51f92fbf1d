// The server side of the noise-floor measurement in server.ts: answers the client's one write (as
// our client sends hello and command together) with one byte and closes, doing no other work.
import net from 'node:net';

const server = net.createServer((c) => {
  c.setNoDelay(true);
  c.once('data', () => c.end('x'));
});
server.listen(0, '127.0.0.1', () => process.send!((server.address() as net.AddressInfo).port));
process.on('disconnect', () => process.exit(0));
