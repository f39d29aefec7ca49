// tern serve with the clients people point at it: the official `openai` package (streaming and
// not), curl, a 16-stream load test, and the web page in headless Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import OpenAI from 'openai';
import { makeModel, startServer } from './harness.mjs';

const KEY = 'test-key';
let model, server, client, modelId;

before(async () => {
  model = makeModel();
  server = await startServer(model.model, ['--np', '4', '-c', '4096', '--api-key', KEY]);
  client = new OpenAI({ baseURL: `${server.base}/v1`, apiKey: KEY, maxRetries: 0 });
  modelId = (await client.models.list()).data[0].id;
});

after(async () => {
  const code = await server.stop();
  assert.equal(code, 0, `tern serve should exit 0 on SIGTERM, log: ${server.log()}`);
  model.cleanup();
});

test('openai: models.list names the served model', async () => {
  const list = await client.models.list();
  assert.equal(list.data.length, 1);
  assert.equal(list.data[0].id, modelId);
});

test('openai: chat completion (non-streaming)', async () => {
  const r = await client.chat.completions.create({
    model: modelId, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello!' }],
    max_tokens: 8, temperature: 0,
  });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.equal(r.usage.completion_tokens, 8);
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
});

test('openai: chat completion (streaming) equals the non-streaming text', async () => {
  const req = { model: modelId, messages: [{ role: 'user', content: 'Count to five.' }], max_tokens: 12, temperature: 0 };
  const plain = await client.chat.completions.create(req);
  const stream = await client.chat.completions.create({ ...req, stream: true, stream_options: { include_usage: true } });
  let text = '', finish = null, usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    const c = chunk.choices[0];
    if (!c) continue;
    text += c.delta?.content ?? '';
    if (c.finish_reason) finish = c.finish_reason;
  }
  assert.equal(text, plain.choices[0].message.content);
  assert.equal(finish, plain.choices[0].finish_reason);
  assert.equal(usage.completion_tokens, plain.usage.completion_tokens);
});

test('openai: legacy completions and seeded sampling', async () => {
  const a = await client.completions.create({ model: modelId, prompt: 'Once upon a time', max_tokens: 10, temperature: 1.0, seed: 42 });
  const b = await client.completions.create({ model: modelId, prompt: 'Once upon a time', max_tokens: 10, temperature: 1.0, seed: 42 });
  assert.equal(a.object, 'text_completion');
  assert.equal(a.choices[0].text, b.choices[0].text);
});

test('openai: errors arrive as APIError with OpenAI shapes', async () => {
  const bad = new OpenAI({ baseURL: `${server.base}/v1`, apiKey: 'wrong', maxRetries: 0 });
  await assert.rejects(bad.models.list(), (e) => e.status === 401);
  await assert.rejects(
    client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e.status === 404 && /does not exist/.test(e.message));
  await assert.rejects(
    client.chat.completions.create({ model: modelId, messages: [{ role: 'user', content: 'x' }], temperature: -3 }),
    (e) => e.status === 400 && /temperature/.test(e.message));
});

test('curl: streaming with -N and an error status', () => {
  const ok = spawnSync('curl', ['-sS', '-N', '-H', `Authorization: Bearer ${KEY}`, `${server.base}/v1/chat/completions`,
    '-H', 'Content-Type: application/json',
    '-d', JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, stream: true })], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^data: \{.*"chat\.completion\.chunk"/m);
  assert.match(ok.stdout, /data: \[DONE\]/);
  const denied = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `${server.base}/v1/models`], { encoding: 'utf8' });
  assert.equal(denied.stdout, '401');
});

test('load: 16 concurrent streams with no error', async () => {
  const seconds = Number(process.env.TERN_LOAD_SECONDS || 60);
  const deadline = Date.now() + seconds * 1000;
  let requests = 0, tokens = 0;
  const errors = [];
  const worker = async (w) => {
    while (Date.now() < deadline) {
      try {
        const stream = await client.chat.completions.create({
          model: modelId, messages: [{ role: 'user', content: `stream ${w} request ${requests}` }],
          max_tokens: 32, temperature: 0.8, stream: true,
        });
        let finished = false;
        for await (const chunk of stream) {
          if (chunk.choices[0]?.delta?.content) tokens++;
          if (chunk.choices[0]?.finish_reason) finished = true;
        }
        if (!finished) errors.push(`stream ${w}: no finish_reason`);
        requests++;
      } catch (e) {
        errors.push(`stream ${w}: ${e.status ?? ''} ${e.message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, (_, w) => worker(w)));
  console.log(`load: ${requests} requests, ${tokens} streamed chunks in ${seconds} s, ${errors.length} errors`);
  assert.deepEqual(errors.slice(0, 5), []);
  assert.ok(requests >= 16, `only ${requests} requests completed`);
  const health = await fetch(`${server.base}/health`);
  assert.equal(health.status, 200);
});

test('web page: chat in headless Chromium streams a reply and shows tokens/s', async (t) => {
  const exe = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(exe)) return t.skip(`no browser at ${exe}`);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: exe,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(server.base + '/');
    await page.fill('#key', KEY);
    await page.dispatchEvent('#key', 'change');
    await page.fill('#temp', '0');
    await page.fill('#maxtok', '24');
    await page.fill('#input', 'Hello from the browser');
    await page.press('#input', 'Enter');
    await page.waitForSelector('.assistant .stats', { timeout: 20000 });
    const stats = await page.textContent('.assistant .stats');
    assert.match(stats, /tokens\/s/);
    const user = await page.textContent('.user');
    assert.equal(user, 'Hello from the browser');
    await page.waitForFunction((id) => document.getElementById('model').textContent === id, modelId, { timeout: 5000 });
    if (process.env.TERN_SCREENSHOT) await page.screenshot({ path: process.env.TERN_SCREENSHOT });
  } finally {
    await browser.close();
  }
});
