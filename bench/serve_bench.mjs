// Aggregate generation speed of `tern serve` with 1 and with N concurrent streams (continuous
// batching reads the weights once per step for all streams). Not a test: a measurement.
//   node bench/serve_bench.mjs MODEL.gguf [--streams 4] [--tokens 64] [--threads 2]
// Needs tests/server_js/node_modules (npm ci --prefix tests/server_js) for the harness only.
import { startServer } from '../tests/server_js/harness.mjs';

const args = process.argv.slice(2);
const model = args[0];
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : def; };
const streams = opt('--streams', 4), tokens = opt('--tokens', 64), threads = opt('--threads', 2);
if (!model) { console.error('usage: node bench/serve_bench.mjs MODEL.gguf [--streams 4] [--tokens 64] [--threads 2]'); process.exit(2); }

const server = await startServer(model, ['--np', String(streams), '-c', String(streams * 512), '-t', String(threads)]);
async function one(i) {
  const r = await fetch(`${server.base}/v1/completions`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt: `Stream ${i}:`, max_tokens: tokens, temperature: 0.7, seed: i, ignore_eos: true }),
  });
  const j = await r.json();
  return j.usage.completion_tokens;
}
async function run(n) {
  const t0 = performance.now();
  const counts = await Promise.all(Array.from({ length: n }, (_, i) => one(i)));
  const s = (performance.now() - t0) / 1000;
  return counts.reduce((a, b) => a + b, 0) / s;
}
await run(1);  // warm-up
const single = await run(1);
const multi = await run(streams);
console.log(`| streams | aggregate generation tokens/s |\n|---|---|\n| 1 | ${single.toFixed(2)} |\n| ${streams} | ${multi.toFixed(2)} |`);
console.log(`ratio ${streams} streams / 1 stream: ${(multi / single).toFixed(2)}x`);
await server.stop();
