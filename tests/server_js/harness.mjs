// Starts a real `tern serve` process for the client tests and stops it with SIGTERM.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const TERN = process.env.TERN_BIN || fileURLToPath(new URL('../../build/tern', import.meta.url));

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export function makeModel() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tern-js-'));
  const model = path.join(dir, 'tiny.gguf');
  const r = spawnSync(TERN, ['dummy', '--layout', 'tiny', '--seed', '9', '-o', model], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tern dummy failed: ${r.stderr}`);
  return { model, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function startServer(model, extra = []) {
  const port = await freePort();
  const threads = extra.includes('-t') ? [] : ['-t', '1'];
  const proc = spawn(TERN, ['serve', '-m', model, '--port', String(port), ...threads, ...extra], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`tern serve exited: ${log}`);
    try {
      const r = await fetch(`${base}/health`);
      if (r.status === 200) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`tern serve did not become healthy: ${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = async () => {
    if (proc.exitCode !== null) return proc.exitCode;
    proc.kill('SIGTERM');
    return new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  };
  return { port, base, proc, stop, log: () => log };
}
