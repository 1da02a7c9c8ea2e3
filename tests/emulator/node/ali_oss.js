// ali-oss against the emulator in virtual-hosted style: the client keeps the real host name
// (<bucket>.oss-cn-hangzhou.aliyuncs.com) and an HTTP agent connects every request to the emulator.
// Usage: node ali_oss.js 127.0.0.1 PORT BUCKET  -> prints one JSON object of observations.
'use strict';
const http = require('http');
const net = require('net');
const OSS = require('ali-oss');

const [host, port, bucket] = [process.argv[2], Number(process.argv[3]), process.argv[4]];

class LoopbackAgent extends http.Agent {
  createConnection(options, callback) {
    return net.createConnection({ host, port }, callback);
  }
}

const client = (secret) => new OSS({
  region: 'oss-cn-hangzhou', endpoint: 'http://oss-cn-hangzhou.aliyuncs.com', bucket,
  accessKeyId: 'test-ak', accessKeySecret: secret, agent: new LoopbackAgent({ keepAlive: false }),
  secure: false, timeout: 10000,
});

async function attempt(fn) {
  try {
    return { ok: await fn() };
  } catch (e) {
    return { error: { code: e.code, name: e.name, status: e.status, message: String(e.message).slice(0, 300) } };
  }
}

(async () => {
  const oss = client('test-secret');
  const body = Buffer.from('0123456789abcdefghij');
  const big = Buffer.alloc(300 * 1024, 7);
  const out = {};
  out.put = await attempt(async () => {
    const r = await oss.put('node/obj.txt', body);
    return { status: r.res.status, crc: r.res.headers['x-oss-hash-crc64ecma'], host: r.res.requestUrls[0] };
  });
  out.get = await attempt(async () => (await oss.get('node/obj.txt')).content.toString());
  out.range = await attempt(async () => {
    const r = await oss.get('node/obj.txt', { headers: { Range: 'bytes=2-5' } });
    return { status: r.res.status, body: r.content.toString(), range: r.res.headers['content-range'],
      crc: r.res.headers['x-oss-hash-crc64ecma'] };
  });
  out.head = await attempt(async () => {
    const r = await oss.head('node/obj.txt');
    return { status: r.status, length: r.res.headers['content-length'], crc: r.res.headers['x-oss-hash-crc64ecma'] };
  });
  out.list = await attempt(async () => (await oss.listV2({ prefix: 'node/' })).objects.map((o) => o.name));
  out.multipart = await attempt(async () => {
    const r = await oss.multipartUpload('node/big.bin', big, { partSize: 100 * 1024 });
    const h = await oss.head('node/big.bin');
    return { status: r.res.status, type: h.res.headers['x-oss-object-type'], length: h.res.headers['content-length'],
      same: Buffer.compare((await oss.get('node/big.bin')).content, big) === 0 };
  });
  out.missing = await attempt(() => oss.get('node/missing'));
  out.wrongSecret = await attempt(() => client('wrong').put('node/x', body));
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
