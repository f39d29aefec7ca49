#!/usr/bin/python3
"""Check tern against reference.py's numbers for the trained model: `tern ppl` on the same text
and chunking, `tern run --temp 0` on the same prompts (continuations compared as text).

Usage: /usr/bin/python3 tools/train/compare_tern.py --tern build/tern --gguf MODEL.gguf \
           --text WORK/data/heldout.txt [--ref tests/fixtures/train/reference.json] [--threads 1]
Exit status 0 when the perplexity agrees within --ppl-rtol and every continuation matches.
"""

import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tern", required=True)
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--text", required=True, help="the text reference.py scored")
    ap.add_argument("--ref", default=os.path.join(HERE, "..", "..", "tests", "fixtures", "train", "reference.json"))
    ap.add_argument("--threads", default="1")
    ap.add_argument("--ppl-rtol", type=float, default=1e-3)
    a = ap.parse_args()
    with open(a.ref) as f:
        ref = json.load(f)
    ok = True
    r = ref["ppl"]
    cmd = [a.tern, "ppl", "-m", a.gguf, "-f", a.text, "-c", str(r["ctx"]), "-t", a.threads,
           "--chunks", str(r["n_chunks"])]
    out = subprocess.run(cmd, capture_output=True, text=True)
    m = re.search(r"PPL = ([0-9.]+)", out.stdout)
    if out.returncode or not m:
        print("compare_tern: `%s` failed:\n%s" % (" ".join(cmd), out.stderr[-2000:]))
        return 1
    ppl = float(m.group(1))
    rel = abs(ppl - r["ppl"]) / r["ppl"]
    ok &= rel <= a.ppl_rtol
    print("ppl: tern %.4f, reference %.4f (rel. diff %.2e, %d chunks of %d) %s"
          % (ppl, r["ppl"], rel, r["n_chunks"], r["ctx"], "ok" if rel <= a.ppl_rtol else "MISMATCH"))
    g = ref["greedy"]
    for p in g["prompts"]:
        cmd = [a.tern, "run", "-m", a.gguf, "-p", p["text"], "-n", str(g["n"]), "--temp", "0",
               "--ignore-eos", "--no-display-prompt", "-t", a.threads]
        out = subprocess.run(cmd, capture_output=True, text=True)
        same = out.returncode == 0 and out.stdout == p["greedy_text"]
        ok &= same
        print("greedy %-32r %s%s" % (p["text"], "ok" if same else "MISMATCH",
                                     "" if same else "\n  tern:      %r\n  reference: %r (min top-2 margin %.3g)"
                                     % (out.stdout, p["greedy_text"], p["min_top2_margin"])))
    print("compare_tern: %s" % ("all match" if ok else "MISMATCH"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
