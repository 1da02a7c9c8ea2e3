// @alicloud/pop-core (RPC, signature v1 HMAC-SHA1, Format=JSON) against the emulator.
// Usage: node pop_core.js http://127.0.0.1:PORT  -> prints one JSON object of observations.
'use strict';
const RPCClient = require('@alicloud/pop-core').RPCClient;

const endpoint = process.argv[2];
const client = (secret) => new RPCClient({
  accessKeyId: 'test-ak', accessKeySecret: secret, endpoint, apiVersion: '2014-05-26',
});

async function attempt(fn) {
  try {
    return { ok: await fn() };
  } catch (e) {
    const status = e.entry && e.entry.response ? e.entry.response.statusCode : undefined;
    return { error: { code: e.code, name: e.name, status, message: String(e.message).slice(0, 300) } };
  }
}

(async () => {
  const ok = client('test-secret');
  const out = {};
  out.get = await attempt(() => ok.request('DescribeRegions', { RegionId: 'cn-hangzhou' }, { method: 'GET' }));
  out.post = await attempt(() => ok.request('DescribeImages', { RegionId: 'cn-hangzhou', ImageId: 'm-node1' },
    { method: 'POST' }));
  out.notFound = await attempt(() => ok.request('CancelCopyImage', { RegionId: 'cn-hangzhou', ImageId: 'm-nope' },
    { method: 'POST' }));
  out.wrongSecret = await attempt(() => client('wrong').request('DescribeRegions', { RegionId: 'cn-hangzhou' },
    { method: 'GET' }));
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
