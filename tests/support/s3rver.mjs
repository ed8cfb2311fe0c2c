#!/usr/bin/env node
// A real S3-compatible server for the tests: npm @20minutes/s3rver (it checks
// SigV4 signatures) on 127.0.0.1:PORT, storing in DIR, with BUCKET made.
// Prints "ready PORT" once it listens; runs until killed.
//
//   node tests/support/s3rver.mjs PORT DIR BUCKET
import S3rver from '@20minutes/s3rver';

const [port, directory, bucket] = process.argv.slice(2);
if (!port || !directory || !bucket) {
  process.stderr.write('usage: node tests/support/s3rver.mjs PORT DIR BUCKET\n');
  process.exit(2);
}
const server = new S3rver({
  address: '127.0.0.1', port: Number(port), directory, silent: true, configureBuckets: [{ name: bucket }],
});
await server.run();
process.stdout.write(`ready ${port}\n`);
