// Reference data for tern's LLaMA-3 (byte-level BPE) tokenizer tests, from the independent
// JavaScript tokenizer llama3-tokenizer-js (it bakes in Meta's LLaMA-3 vocabulary and merges).
//
//   node llama3_reference.mjs fixtures DIR
//       writes DIR/llama3_corpus.json (texts + expected ids) and DIR/llama3_subset.json (the
//       part of the vocabulary and merges the corpus can touch; see below). Both are committed.
//   node llama3_reference.mjs full OUT.json [FILE...]
//       writes the whole vocabulary and merges plus expected ids for the contents of FILEs
//       (the C++ test runs this at test time when node_modules/ exists).
//
// Why a subset is exact for the corpus: BPE only ever merges adjacent symbols of one
// pre-tokenized word, so every merge it applies produces a substring of that word, and the
// whole-word lookup (ignore_merges) also only asks for substrings. Keeping every token that is a
// substring of a corpus text (byte-mapped), every merge whose result is such a token, all byte
// tokens and all special tokens, at their original ids, gives the same ids for those texts.
import fs from 'node:fs';
import path from 'node:path';
import llama3Tokenizer from 'llama3-tokenizer-js';

const FORMAT_VERSION = 1;

// Printable-byte mapping of openai/gpt-2 encoder.py bytes_to_unicode().
function bytesToUnicode() {
  const bs = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const map = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    map[b] = String.fromCodePoint(bs.includes(b) ? b : 256 + n++);
  }
  return map;
}
const B2U = bytesToUnicode();
const byteMapped = (s) => Array.from(new TextEncoder().encode(s), (b) => B2U[b]).join('');

// The corpus: ASCII, contractions, digit runs, whitespace runs, newlines, tabs, code, accents,
// CJK, Cyrillic, other scripts, emoji (incl. ZWJ sequences and flags), special-token text.
export const CORPUS = [
  'Hello world!',
  'The quick brown fox jumps over the lazy dog.',
  "I'm sure you're right, DON'T worry; we'll see. He'd've said 'no'. It's JOHN'S book.",
  "they'RE here, I'VE got it, you'LL see, she'D know, it'S fine, I'M ok",
  'Numbers: 1234567 and 3.14159, 2024-01-01, 1,000,000 and 00012 x42y 9999999999',
  '    four leading spaces',
  'trailing spaces   ',
  'multiple   inner    spaces  and a  double',
  'tabs\tand\t\ttabs \t mixed',
  'line1\nline2\n\nline4\r\nwindows\r\nend',
  '\n\n\n',
  '   \n  \n x',
  ' leading space and\n indented line',
  'Café naïve résumé façade Ångström crème brûlée',
  '日本語のテキストと中文字符，还有标点。',
  'Привет, как дела? Съешь же ещё этих мягких французских булок.',
  'مرحبا بالعالم — नमस्ते दुनिया — 안녕하세요 — Γειά σου Κόσμε',
  'Emoji: 😀🎉👍🏽 🇫🇷 and ❤️ family 👨‍👩‍👧‍👦!',
  'def fib(n):\n    return n if n < 2 else fib(n-1) + fib(n-2)\n',
  'int main() { std::vector<int> v{1,2,3}; for (auto& x : v) x *= 2; return 0; }\n',
  '<html><body class="x">Hi &amp; bye</body></html>',
  '{"key": [1, 2.5, null], "nested": {"a": "b"}}',
  '<|begin_of_text|>User: hi<|eot_id|>Assistant: ',
  'text with <|reserved_special_token_5|> inside and <|end_of_text|>',
  '!!!???...---___*** $$$ %%% ^^^',
  'a\u00a0non-breaking\u00a0space, em\u2003space, and zero\u200bwidth',
  'ÀÁÂÃÄÅ ﬁ ß ẞ Ǆ ǅ ǆ',
  'URL: https://example.com/path?q=1&r=two#frag',
  'e-mail: someone@example.org, tel. +1 (555) 010-9999',
  "Mixed123abc 123abc abc123 ABC'S a1b2c3",
  // Words that are tokens but that the merges do not build (found by search): they pin
  // ignore_merges (LLaMA-3 emits such a word as its one token).
  'Tiếng Việt: nhiều việc; характер, jeho, ایران\n.:.:.:.:.:.:.:.:',
  '',
];

function encode(text) {
  return llama3Tokenizer.encode(text, { bos: false, eos: false });
}

function writeJson(file, obj) {
  fs.writeFileSync(file, JSON.stringify(obj, null, 0) + '\n');
}

function mergesInRankOrder() {
  return [...llama3Tokenizer.merges.entries()].sort((a, b) => a[1] - b[1]).map((e) => e[0]);
}

function specialStart() {
  return llama3Tokenizer.vocabByString.get('<|begin_of_text|>');
}

function fixtures(dir) {
  const vocab = llama3Tokenizer.vocabById;
  const byString = llama3Tokenizer.vocabByString;
  let maxLen = 0;
  for (const t of vocab) maxLen = Math.max(maxLen, Array.from(t).length);

  const keep = new Set();
  for (let b = 0; b < 256; b++) keep.add(byString.get(B2U[b]));
  for (let id = specialStart(); id < vocab.length; id++) keep.add(id);
  for (const text of CORPUS) {
    const chars = Array.from(byteMapped(text));
    for (let i = 0; i < chars.length; i++) {
      let sub = '';
      for (let j = i; j < Math.min(chars.length, i + maxLen); j++) {
        sub += chars[j];
        const id = byString.get(sub);
        if (id !== undefined) keep.add(id);
      }
    }
  }
  const keptText = new Set([...keep].map((id) => vocab[id]));
  const merges = mergesInRankOrder().filter((m) => {
    const sp = m.indexOf(' ', 1);
    return keptText.has(m.slice(0, sp) + m.slice(sp + 1));
  });
  const ids = [...keep].sort((a, b) => a - b);
  writeJson(path.join(dir, 'llama3_subset.json'), {
    format: 'tern-llama3-vocab-subset',
    version: FORMAT_VERSION,
    generator: 'tools/tokenizer/llama3_reference.mjs fixtures',
    source: 'npm llama3-tokenizer-js',
    n_vocab: vocab.length,
    first_special: specialStart(),
    tokens: ids.map((id) => [id, vocab[id]]),
    merges,
  });
  writeJson(path.join(dir, 'llama3_corpus.json'), {
    format: 'tern-tokenizer-corpus',
    version: FORMAT_VERSION,
    generator: 'tools/tokenizer/llama3_reference.mjs fixtures',
    reference: 'npm llama3-tokenizer-js encode(text, {bos: false, eos: false})',
    cases: CORPUS.map((text) => ({ text, ids: encode(text) })),
  });
  console.log(`wrote ${ids.length} tokens, ${merges.length} merges, ${CORPUS.length} cases to ${dir}`);
}

function full(out, files) {
  writeJson(out, {
    format: 'tern-llama3-vocab-full',
    version: FORMAT_VERSION,
    first_special: specialStart(),
    tokens: llama3Tokenizer.vocabById,
    merges: mergesInRankOrder(),
    cases: files.map((f) => {
      const text = fs.readFileSync(f, 'utf8');
      return { file: f, text, ids: encode(text) };
    }),
  });
}

const [mode, target, ...rest] = process.argv.slice(2);
if (mode === 'fixtures' && target) fixtures(target);
else if (mode === 'full' && target) full(target, rest);
else {
  console.error('usage: node llama3_reference.mjs fixtures DIR | full OUT.json [FILE...]');
  process.exit(2);
}
