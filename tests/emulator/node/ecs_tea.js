// @alicloud/ecs20140526 (Tea SDK, ACS3-HMAC-SHA256) against the emulator.
// Usage: node ecs_tea.js 127.0.0.1:PORT  -> prints one JSON object of observations.
'use strict';
const Ecs = require('@alicloud/ecs20140526');
const OpenApi = require('@alicloud/openapi-core');

const endpoint = process.argv[2];
const client = (secret) => new Ecs.default(new OpenApi.$OpenApiUtil.Config({
  accessKeyId: 'test-ak', accessKeySecret: secret, endpoint, protocol: 'http', regionId: 'cn-hangzhou',
}));

async function attempt(fn) {
  try {
    return { ok: await fn() };
  } catch (e) {
    return { error: { code: e.code, name: e.name, status: e.statusCode, message: String(e.message).slice(0, 300) } };
  }
}

(async () => {
  const out = {};
  out.regions = await attempt(async () => (await client('test-secret').describeRegions(
    new Ecs.DescribeRegionsRequest({}))).body.regions.region.map((r) => r.regionId));
  out.images = await attempt(async () => (await client('test-secret').describeImages(
    new Ecs.DescribeImagesRequest({ regionId: 'cn-hangzhou', imageId: 'm-node1' }))).body.images.image
    .map((i) => [i.imageId, i.imageName, i.size]));
  out.wrongSecret = await attempt(() => client('wrong').describeRegions(new Ecs.DescribeRegionsRequest({})));
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
