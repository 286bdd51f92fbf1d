// The generic 9P server: version and msize negotiation, framing limits, bad frames, fids, tags,
// flush, and the 9P2000.L messages, over real TCP with our client.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { NinepServer } from '../src/ninep/ninep-server.ts';
import { NinepClient } from '../src/ninep/client.ts';
import { encode, NOFID, OpenMode, type Message } from '../src/ninep/codec.ts';
import { dir, file, QidPaths, type VDir } from '../src/ninep/vfs.ts';
import { Errno } from '../src/errors/ninep-error.ts';
import { startNinepFixture, rejectsNinep, type NinepFixture } from './helpers/ninep-fixture.ts';

/** A tree with a file whose read waits until the test releases it. */
function slowTree() {
  const ids = new QidPaths();
  let release: () => void = () => {};
  let started: () => void = () => {};
  const reading = { started: new Promise<void>((r) => (started = r)) };
  const root: VDir = dir('/', ids.of('/'), () => [
    file('slow', ids.of('/slow'), {
      read: () => {
        started();
        return new Promise<string>((r) => (release = () => r('done\n')));
      },
    }),
    file('fast', ids.of('/fast'), { read: () => 'fast\n' }),
  ]);
  return { root, reading, release: () => release() };
}

async function serve(root: VDir, opts: { maxFidsPerConnection?: number; maxPendingPerConnection?: number; maxMsize?: number } = {}) {
  const server = new NinepServer({ root, ...opts });
  const address = await server.listen('127.0.0.1', 0);
  return { server, port: address.port };
}

function frame(msg: Message, dialect: '9P2000' | '9P2000.u' | '9P2000.L' = '9P2000.u'): Uint8Array {
  return encode(msg, dialect);
}

describe('version negotiation', () => {
  let fx: NinepFixture;
  before(async () => (fx = await startNinepFixture()));
  after(() => fx.close());

  test('msize is capped at the server maximum, and the dialect is the one asked for', async () => {
    for (const version of ['9P2000', '9P2000.u', '9P2000.L'] as const) {
      const c = await NinepClient.open('127.0.0.1', fx.ninepPort);
      const r = await c.version(4 * 1024 * 1024, version);
      assert.deepEqual(r, { msize: 512 * 1024, version });
      c.close();
    }
  });

  test('an unknown 9P2000 variant gets 9P2000; anything else gets "unknown" and no session', async () => {
    const c = await NinepClient.open('127.0.0.1', fx.ninepPort);
    assert.equal((await c.rpc({ type: 'Tversion', msize: 8192, version: '9P2000.x' })).version, '9P2000');
    assert.equal((await c.rpc({ type: 'Tversion', msize: 8192, version: '9P1999' })).version, 'unknown');
    await rejectsNinep(c.attach(1, 'u', ''), 0, /Tversion must come first/);
    c.close();
  });

  test('requests before Tversion and a too small msize are refused', async () => {
    const c = await NinepClient.open('127.0.0.1', fx.ninepPort);
    await rejectsNinep(c.rpc({ type: 'Tstat', fid: 1 }), 0, /Tversion must come first/);
    await rejectsNinep(c.version(100, '9P2000.u'), 0, /msize 100 is below the minimum of 256/);
    c.close();
  });

  test('Tversion starts a new session: earlier fids are gone', async () => {
    const c = await fx.connect('9P2000.u');
    await c.version(8192, '9P2000.u');
    await rejectsNinep(c.stat(c.rootFid), Errno.EBADF, /unknown fid/);
  });
});

describe('framing and bad frames', () => {
  let fx: NinepFixture;
  before(async () => (fx = await startNinepFixture()));
  after(() => fx.close());

  test('a frame above msize gets Rerror EMSGSIZE and closes that connection only', async () => {
    const other = await fx.connect('9P2000.u');
    const c = await fx.connect('9P2000.u', 4096);
    assert.equal(c.msize, 4096);
    const big = frame({ type: 'Twrite', tag: 9, fid: c.rootFid, offset: 0n, data: new Uint8Array(5000) });
    const reply = c.expectReply(9);
    c.sendRaw(big);
    const r = await reply;
    assert.equal(r.type, 'Rerror');
    assert.match((r as { ename: string }).ename, /message of 5023 bytes exceeds msize 4096/);
    assert.equal((r as { errno: number }).errno, Errno.EMSGSIZE);
    await c.closed();
    assert.deepEqual((await other.list('/')).sort(), ['clone', 'jobs', 'queues', 'workers']);
  });

  test('a size field below the header size closes the connection', async () => {
    const c = await fx.connect('9P2000.u');
    c.sendRaw(new Uint8Array([3, 0, 0, 0, 0, 0, 0]));
    await c.closed();
    assert.ok(c.isClosed());
  });

  test('undecodable frames get Rerror for their tag and the connection carries on', async () => {
    const c = await fx.connect('9P2000.u');
    const cases: [Uint8Array, RegExp][] = [
      // Tclunk with two trailing bytes
      [new Uint8Array([13, 0, 0, 0, 120, 1, 0, 1, 0, 0, 0, 0xaa, 0xbb]), /Tclunk has 2 trailing bytes/],
      // Tstat cut short
      [new Uint8Array([9, 0, 0, 0, 124, 2, 0, 1, 0]), /truncated message/],
      // unknown type 99
      [new Uint8Array([7, 0, 0, 0, 99, 3, 0]), /unknown message type 99/],
      // an R-message sent to the server
      [new Uint8Array([7, 0, 0, 0, 121, 4, 0]), /unexpected message Rclunk/],
    ];
    let tag = 1;
    for (const [bytes, message] of cases) {
      const t = tag++;
      bytes[5] = t;
      const reply = c.expectReply(t);
      c.sendRaw(bytes);
      const r = await reply;
      assert.equal(r.type, 'Rerror', `reply to case ${t}`);
      assert.match((r as { ename: string }).ename, message);
    }
    // Twalk naming 17 elements (the limit is 16)
    const walk = Buffer.alloc(17 + 17 * 3);
    walk.writeUInt32LE(walk.length, 0);
    walk[4] = 110;
    walk.writeUInt16LE(50, 5);
    walk.writeUInt32LE(c.rootFid, 7);
    walk.writeUInt32LE(600, 11);
    walk.writeUInt16LE(17, 15);
    for (let i = 0; i < 17; i++) {
      walk.writeUInt16LE(1, 17 + i * 3);
      walk[17 + i * 3 + 2] = 0x61;
    }
    const reply = c.expectReply(50);
    c.sendRaw(walk);
    const r = await reply;
    assert.equal(r.type, 'Rerror');
    assert.match((r as { ename: string }).ename, /walk of 17 elements exceeds 16/);
    assert.equal(await c.readText('/workers'), '');
  });
});

describe('fids, walks and opens', () => {
  let fx: NinepFixture;
  let c: NinepClient;
  before(async () => {
    fx = await startNinepFixture();
    c = await fx.connect('9P2000.u');
    await c.writeFile('/clone', 'walker:@daily:true');
  });
  after(() => fx.close());

  test('attach, walk and open check their fids', async () => {
    await rejectsNinep(c.attach(c.rootFid, 'u', ''), Errno.EBADF, /fid \d+ is already in use/);
    await rejectsNinep(c.walk(12345, 12346, []), Errno.EBADF, /unknown fid 12345/);
    await rejectsNinep(c.rpc({ type: 'Tattach', fid: 77, afid: 3, uname: 'u', aname: '', nUname: NOFID }), Errno.EINVAL, /afid must be NOFID/);
    const f = await c.walkPath('/jobs/walker/ctl');
    await rejectsNinep(c.walk(c.rootFid, f, ['jobs']), Errno.EBADF, /already in use/);
    await rejectsNinep(c.walk(f, 500, ['x']), Errno.ENOTDIR, /ctl is not a directory/);
    await c.open(f, OpenMode.OREAD);
    await rejectsNinep(c.open(f, OpenMode.OREAD), Errno.EBADF, /already open/);
    await rejectsNinep(c.write(f, 0n, Buffer.from('start')), Errno.EBADF, /not open for writing/);
    await c.clunk(f);
    await rejectsNinep(c.clunk(f), Errno.EBADF, /unknown fid/);
  });

  test('walk handles "..", stops short on a missing element, and clones with no names', async () => {
    const f = c.allocFid();
    const qids = await c.walk(c.rootFid, f, ['jobs', 'walker', '..', '..', 'jobs']);
    assert.equal(qids.length, 5);
    assert.equal(qids[3]!.path, (await c.stat(c.rootFid)).qid.path);
    const g = c.allocFid();
    assert.equal((await c.walk(f, g, ['walker', 'missing', 'x'])).length, 1);
    await rejectsNinep(c.stat(g), Errno.EBADF, /unknown fid/);
    await c.walk(f, g, []);
    assert.equal((await c.stat(g)).name, 'jobs');
    await c.clunk(f);
    await c.clunk(g);
  });

  test('a directory read must continue where the last one ended', async () => {
    const f = await c.walkPath('/jobs/walker');
    await c.open(f, OpenMode.OREAD);
    const first = await c.read(f, 0n, 100);
    assert.ok(first.length > 0 && first.length <= 100);
    await rejectsNinep(c.read(f, 7n, 100), Errno.EINVAL, /next read must start at/);
    await rejectsNinep(c.read(f, 0n, 10), Errno.EINVAL, /too small for the next directory entry/);
    await c.clunk(f);
  });

  test('ORCLOSE removes the job when the fid is clunked', async () => {
    await c.writeFile('/clone', 'transient:@daily:true');
    const f = await c.walkPath('/jobs/transient');
    await c.open(f, OpenMode.OREAD | OpenMode.ORCLOSE);
    assert.ok(fx.job('transient'));
    await c.clunk(f);
    assert.equal(fx.job('transient'), undefined);
  });

  test('a fid limit per connection', async () => {
    const tree = slowTree();
    const { server, port } = await serve(tree.root, { maxFidsPerConnection: 3 });
    const d = await NinepClient.connect({ host: '127.0.0.1', port });
    await d.walk(d.rootFid, 2, []);
    await d.walk(d.rootFid, 3, ['fast']);
    await rejectsNinep(d.walk(d.rootFid, 4, []), Errno.EMFILE, /too many fids \(limit 3\)/);
    d.close();
    await server.close();
  });
});

describe('tags and flush', () => {
  test('a duplicate tag is refused; Tflush of a running request answers after it, of a queued one drops it', async () => {
    const tree = slowTree();
    const { server, port } = await serve(tree.root, { maxPendingPerConnection: 3 });
    const c = await NinepClient.connect({ host: '127.0.0.1', port });
    const slow = await c.walkPath('/slow');
    await c.open(slow, OpenMode.OREAD);
    const order: string[] = [];
    const track = (p: Promise<Message>) => p.then((m) => (order.push(`${m.type}:${m.tag}`), m));
    const slowReply = track(c.transact({ type: 'Tread', fid: slow, offset: 0n, count: 100 }, 100));
    await tree.reading.started;
    // tag 100 is in use while its read runs
    const dupReply = c.expectReply(100);
    c.sendRaw(frame({ type: 'Tstat', tag: 100, fid: c.rootFid }));
    // (the duplicate's Rerror resolves the pending entry for tag 100; re-register the real one)
    const dup = await dupReply;
    assert.equal(dup.type, 'Rerror');
    assert.match((dup as { ename: string }).ename, /tag 100 is already in use/);
    const realSlow = track(c.expectReply(100));
    const queued = c.transact({ type: 'Tstat', fid: c.rootFid }, 101);
    let queuedAnswered = false;
    void queued.then(() => (queuedAnswered = true), () => {});
    const flushQueued = track(c.transact({ type: 'Tflush', oldtag: 101 }, 102));
    assert.equal((await flushQueued).type, 'Rflush');
    const flushRunning = track(c.transact({ type: 'Tflush', oldtag: 100 }, 103));
    // too many queued: limit 3
    const q1 = c.transact({ type: 'Tstat', fid: c.rootFid }, 104);
    const q2 = c.transact({ type: 'Tstat', fid: c.rootFid }, 105);
    const q3 = c.transact({ type: 'Tstat', fid: c.rootFid }, 106);
    const q4 = await c.transact({ type: 'Tstat', fid: c.rootFid }, 107);
    assert.equal(q4.type, 'Rerror');
    assert.match((q4 as { ename: string }).ename, /too many outstanding requests/);
    tree.release();
    const r = await realSlow;
    assert.equal(r.type, 'Rread');
    assert.equal(Buffer.from((r as { data: Uint8Array }).data).toString(), 'done\n');
    await flushRunning;
    assert.deepEqual(order, ['Rflush:102', 'Rread:100', 'Rflush:103']);
    for (const q of [q1, q2, q3]) assert.equal((await q).type, 'Rstat');
    assert.equal(queuedAnswered, false);
    void slowReply.catch(() => {});
    c.close();
    await server.close();
  });
});

describe('9P2000.L', () => {
  let fx: NinepFixture;
  let c: NinepClient;
  before(async () => {
    fx = await startNinepFixture();
    c = await fx.connect('9P2000.L');
  });
  after(() => fx.close());

  test('clone, readdir, getattr and reads work; errors carry errno in Rlerror', async () => {
    await c.writeFile('/clone', 'linux_job:*/10 * * * *:echo L\n');
    assert.deepEqual((await c.list('/jobs')), ['linux_job']);
    const f = await c.walkPath('/jobs/linux_job/cmd');
    const attr = await c.getattr(f);
    assert.equal(attr.mode, 0o100444);
    assert.equal(attr.size, 7n);
    await c.clunk(f);
    const d = await c.walkPath('/jobs');
    assert.equal((await c.getattr(d)).mode, 0o040555);
    await c.clunk(d);
    assert.equal(await c.readText('/jobs/linux_job/cmd'), 'echo L\n');
    await rejectsNinep(c.writeFile('/clone', 'linux_job:@daily:true'), Errno.EEXIST);
    await rejectsNinep(c.writeFile('/jobs/linux_job/cmd', 'x'), Errno.EACCES);
  });

  test('unlinkat deletes a job; setattr only truncates writable files; xattrs, links and reads of directories are refused', async () => {
    await c.writeFile('/clone', 'to_unlink:@daily:true');
    const jobs = await c.walkPath('/jobs');
    await rejectsNinep(c.rpc({ type: 'Tunlinkat', dirfid: jobs, name: 'nope', flags: 0 }), Errno.ENOENT);
    await c.rpc({ type: 'Tunlinkat', dirfid: jobs, name: 'to_unlink', flags: 0x200 });
    assert.equal(fx.job('to_unlink'), undefined);
    await rejectsNinep(c.rpc({ type: 'Txattrwalk', fid: jobs, newfid: 900, name: 'security.selinux' }), Errno.EOPNOTSUPP);
    await rejectsNinep(c.rpc({ type: 'Tmkdir', dfid: jobs, name: 'x', mode: 0o755, gid: 0 }), Errno.EPERM);
    await rejectsNinep(c.rpc({ type: 'Trenameat', olddirfid: jobs, oldname: 'a', newdirfid: jobs, newname: 'b' }), Errno.EPERM);
    const statfs = await c.rpc({ type: 'Tstatfs', fid: jobs });
    assert.equal(statfs.namelen, 255);
    await c.open(jobs, OpenMode.OREAD);
    await rejectsNinep(c.read(jobs, 0n, 100), Errno.EISDIR);
    await c.clunk(jobs);
    await c.writeFile('/clone', 'attrs:@daily:true');
    const ctl = await c.walkPath('/jobs/attrs/ctl');
    const zero = { mode: 0, uid: 0, gid: 0, size: 0n, atimeSec: 0n, atimeNsec: 0n, mtimeSec: 0n, mtimeNsec: 0n };
    await c.rpc({ type: 'Tsetattr', fid: ctl, valid: 0x8 | 0x20, ...zero });
    await rejectsNinep(c.rpc({ type: 'Tsetattr', fid: ctl, valid: 0x1, ...zero, mode: 0o777 }), Errno.EPERM);
    await c.clunk(ctl);
    const cmd = await c.walkPath('/jobs/attrs/cmd');
    await rejectsNinep(c.rpc({ type: 'Tsetattr', fid: cmd, valid: 0x8, ...zero }), Errno.EPERM);
    await c.clunk(cmd);
  });
});
