// The chat page served at `/`: plain HTML and JavaScript, no build step, no external assets.
// It streams from /v1/chat/completions and shows tokens per second.
#pragma once

namespace tern {

inline constexpr const char* kWebUiHtml = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tern chat</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d2329; }
  header { padding: 10px 16px; background: #1d2329; color: #fff; display: flex; gap: 12px; align-items: center; }
  header h1 { font-size: 18px; margin: 0; }
  header #model { opacity: .8; font-size: 14px; }
  main { max-width: 820px; margin: 0 auto; padding: 12px 16px 140px; }
  .msg { white-space: pre-wrap; padding: 10px 12px; border-radius: 8px; margin: 10px 0; line-height: 1.45; }
  .user { background: #dbe9ff; margin-left: 15%; }
  .assistant { background: #fff; border: 1px solid #e2e5ea; margin-right: 15%; }
  .stats { font-size: 12px; color: #6a737d; margin-top: 6px; }
  form { position: fixed; bottom: 0; left: 0; right: 0; background: #fff; border-top: 1px solid #e2e5ea; padding: 10px 16px; }
  .row { max-width: 820px; margin: 0 auto; display: flex; gap: 8px; }
  textarea { flex: 1; height: 56px; font: inherit; padding: 8px; border-radius: 6px; border: 1px solid #c8cdd4; }
  button { padding: 0 18px; font: inherit; border-radius: 6px; border: 0; background: #2f6fde; color: #fff; cursor: pointer; }
  button:disabled { background: #9db5e0; }
  #settings { max-width: 820px; margin: 6px auto 0; font-size: 12px; color: #6a737d; display: flex; gap: 12px; }
  #settings input { width: 70px; }
</style>
</head>
<body>
<header><h1>tern</h1><span id="model">connecting...</span></header>
<main id="log"></main>
<form id="form">
  <div class="row">
    <textarea id="input" placeholder="Say something (Enter to send, Shift+Enter for a new line)"></textarea>
    <button id="send" type="submit">Send</button>
    <button id="stop" type="button" disabled>Stop</button>
  </div>
  <div id="settings">
    <label>temperature <input id="temp" type="number" step="0.1" min="0" max="2" value="0.7"></label>
    <label>max tokens <input id="maxtok" type="number" min="1" value="256"></label>
    <label>API key <input id="key" type="password" style="width:140px"></label>
  </div>
</form>
<script>
const log = document.getElementById('log'), input = document.getElementById('input');
const sendBtn = document.getElementById('send'), stopBtn = document.getElementById('stop');
const keyInput = document.getElementById('key');
keyInput.value = localStorage.getItem('tern-key') || '';
keyInput.onchange = () => { localStorage.setItem('tern-key', keyInput.value); refreshModel(); };
const history = [];
let controller = null;
function headers() {
  const h = {'Content-Type': 'application/json'};
  if (keyInput.value) h['Authorization'] = 'Bearer ' + keyInput.value;
  return h;
}
function add(role, text) {
  const d = document.createElement('div');
  d.className = 'msg ' + role;
  d.textContent = text;
  log.appendChild(d);
  window.scrollTo(0, document.body.scrollHeight);
  return d;
}
async function refreshModel() {
  try {
    const r = await fetch('/v1/models', {headers: headers()});
    if (r.status === 401) { document.getElementById('model').textContent = 'enter the API key below'; return; }
    const j = await r.json();
    document.getElementById('model').textContent = j.data && j.data.length ? j.data[0].id : 'loading model...';
    if (!j.data || !j.data.length) setTimeout(refreshModel, 1000);
  } catch (e) { document.getElementById('model').textContent = 'server unreachable'; }
}
refreshModel();
input.addEventListener('keydown', e => {
  if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); document.getElementById('form').requestSubmit(); }
});
stopBtn.onclick = () => { if (controller) controller.abort(); };
document.getElementById('form').onsubmit = async e => {
  e.preventDefault();
  const text = input.value.trim();
  if (!text || controller) return;
  input.value = '';
  add('user', text);
  history.push({role: 'user', content: text});
  const out = add('assistant', '');
  const stats = document.createElement('div');
  stats.className = 'stats';
  controller = new AbortController();
  sendBtn.disabled = true; stopBtn.disabled = false;
  let reply = '', n = 0, t0 = 0;
  try {
    const r = await fetch('/v1/chat/completions', {
      method: 'POST', headers: headers(), signal: controller.signal,
      body: JSON.stringify({messages: history, stream: true,
                            temperature: parseFloat(document.getElementById('temp').value),
                            max_tokens: parseInt(document.getElementById('maxtok').value)})});
    if (!r.ok) { const j = await r.json(); throw new Error(j.error ? j.error.message : r.statusText); }
    const reader = r.body.getReader(), dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buf += dec.decode(value, {stream: true});
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const line = buf.slice(0, i).trim(); buf = buf.slice(i + 2);
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        if (data === '[DONE]') continue;
        const j = JSON.parse(data);
        const c = j.choices && j.choices[0] && j.choices[0].delta && j.choices[0].delta.content;
        if (c) {
          if (!t0) t0 = performance.now();
          reply += c; n++;
          out.textContent = reply;
          const s = (performance.now() - t0) / 1000;
          stats.textContent = n + ' chunks' + (s > 0 ? ', ' + (n / s).toFixed(1) + ' tokens/s' : '');
        }
        if (j.timings && j.timings.predicted_per_second) {
          stats.textContent = j.timings.predicted_n + ' tokens, ' + j.timings.predicted_per_second.toFixed(1) +
                              ' tokens/s (prompt ' + j.timings.prompt_per_second.toFixed(1) + ' tokens/s)';
        }
      }
    }
  } catch (err) {
    if (err.name !== 'AbortError') out.textContent = reply + '\n[error: ' + err.message + ']';
  }
  out.appendChild(stats);
  history.push({role: 'assistant', content: reply});
  controller = null;
  sendBtn.disabled = false; stopBtn.disabled = true;
};
</script>
</body>
</html>
)HTML";

}  // namespace tern
