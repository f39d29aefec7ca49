#!/usr/bin/python3
"""Extract the training text for tern's small BitNet b1.58 model, deterministically.

Sources (Debian packages, both free; see docs/MODEL.md):
  * King James Version of the Bible (package bible-kjv-text, read with the `bible` program of
    package bible-kjv): 66 books, 1189 chapters, 31102 verses. Public domain (the 1611 translation;
    Debian's copyright file: "unrestricted use").
  * fortune cookies (package fortunes, /usr/share/games/fortunes, BSD-licensed collection): every
    file except ascii-art, in sorted file order, '%'-separated.

Output (in --out, not committed):
  train.txt, heldout.txt   UTF-8, documents separated by one blank line
  stats.json               sizes, counts, sha256 of both files

Layout of a document:
  KJV: one chapter = "Genesis 1" heading line, then one verse per line (verse numbers dropped).
  fortune: its lines with whitespace normalised (tabs/space runs -> one space, lines stripped,
           blank lines inside a fortune dropped, backspace overstrikes and control characters
           removed).
Held-out split (about 5%): every 20th KJV chapter (global chapter index % 20 == 10) and every
20th fortune (index % 20 == 10); the rest is training text.

Usage: /usr/bin/python3 tools/train/prepare_data.py --out WORK/data
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

# Canonical KJV book names, in order. `bible` prints its own abbreviations (Ge, Exo, ...); books
# are mapped by order of appearance, and the count is checked.
BOOKS = [
    "Genesis", "Exodus", "Leviticus", "Numbers", "Deuteronomy", "Joshua", "Judges", "Ruth",
    "1 Samuel", "2 Samuel", "1 Kings", "2 Kings", "1 Chronicles", "2 Chronicles", "Ezra",
    "Nehemiah", "Esther", "Job", "Psalms", "Proverbs", "Ecclesiastes", "Song of Solomon", "Isaiah",
    "Jeremiah", "Lamentations", "Ezekiel", "Daniel", "Hosea", "Joel", "Amos", "Obadiah", "Jonah",
    "Micah", "Nahum", "Habakkuk", "Zephaniah", "Haggai", "Zechariah", "Malachi", "Matthew", "Mark",
    "Luke", "John", "Acts", "Romans", "1 Corinthians", "2 Corinthians", "Galatians", "Ephesians",
    "Philippians", "Colossians", "1 Thessalonians", "2 Thessalonians", "1 Timothy", "2 Timothy",
    "Titus", "Philemon", "Hebrews", "James", "1 Peter", "2 Peter", "1 John", "2 John", "3 John",
    "Jude", "Revelation",
]
N_VERSES = 31102
N_CHAPTERS = 1189
FORTUNE_DIR = "/usr/share/games/fortunes"
FORTUNE_SKIP = {"ascii-art"}  # pictures, not text
HOLDOUT_EVERY, HOLDOUT_AT = 20, 10

_VERSE_RE = re.compile(r"^([1-3]?[A-Za-z]+)(\d+):(\d+) (.*)$")
_WS_RE = re.compile(r"[ \t\f\v\u00a0]+")
_CTRL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_OVERSTRIKE_RE = re.compile(r"[^\x08\n]\x08")


def norm_line(s):
    return _WS_RE.sub(" ", s).strip()


def kjv_chapters():
    """[(book name, chapter number, [verse text, ...]), ...] in canonical order."""
    exe = shutil.which("bible")
    if exe is None:
        sys.exit("prepare_data: the `bible` program is missing: apt-get install bible-kjv bible-kjv-text")
    # -f toggles pretty-printing OFF: one verse per line, prefixed with its reference.
    raw = subprocess.run([exe, "-f", "Gen1:1-Rev22:21"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, check=True).stdout.decode("ascii")
    chapters, abbrevs, n_verses = [], [], 0
    for line in raw.split("\n"):
        if not line.strip():
            continue
        m = _VERSE_RE.match(line)
        if not m:
            sys.exit("prepare_data: unexpected line from `bible`: %r" % line[:80])
        ab, ch, text = m.group(1), int(m.group(2)), norm_line(m.group(4))
        if not abbrevs or abbrevs[-1] != ab:
            abbrevs.append(ab)
        book = BOOKS[len(abbrevs) - 1]
        if not chapters or chapters[-1][0] != book or chapters[-1][1] != ch:
            chapters.append((book, ch, []))
        chapters[-1][2].append(text)
        n_verses += 1
    if len(abbrevs) != len(BOOKS) or n_verses != N_VERSES or len(chapters) != N_CHAPTERS:
        sys.exit("prepare_data: `bible` gave %d books, %d chapters, %d verses; expected %d, %d, %d"
                 % (len(abbrevs), len(chapters), n_verses, len(BOOKS), N_CHAPTERS, N_VERSES))
    return chapters


def fortunes():
    """[(file name, normalised fortune text), ...] in sorted file order, file order within."""
    if not os.path.isdir(FORTUNE_DIR):
        sys.exit("prepare_data: %s is missing: apt-get install fortunes" % FORTUNE_DIR)
    names = sorted(n for n in os.listdir(FORTUNE_DIR)
                   if "." not in n and n not in FORTUNE_SKIP
                   and os.path.isfile(os.path.join(FORTUNE_DIR, n)))
    out = []
    for name in names:
        with open(os.path.join(FORTUNE_DIR, name), "rb") as f:
            data = f.read()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        for item in re.split(r"\n%\n", "\n" + text + "\n"):
            while _OVERSTRIKE_RE.search(item):  # "____\b\b\b\bBODY" -> "BODY"
                item = _OVERSTRIKE_RE.sub("", item)
            item = _CTRL_RE.sub("", item.replace("\t", " "))
            lines = [norm_line(l) for l in item.split("\n")]
            lines = [l for l in lines if l and l != "%"]
            if lines:
                out.append((name, "\n".join(lines)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output directory (train.txt, heldout.txt, stats.json)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    train, held = [], []
    stats = {"kjv": {"chapters": [0, 0], "verses": [0, 0], "bytes": [0, 0]},
             "fortunes": {"items": [0, 0], "bytes": [0, 0]}}
    for i, (book, ch, verses) in enumerate(kjv_chapters()):
        doc = "%s %d\n%s" % (book, ch, "\n".join(verses))
        k = 1 if i % HOLDOUT_EVERY == HOLDOUT_AT else 0
        (held if k else train).append(doc)
        stats["kjv"]["chapters"][k] += 1
        stats["kjv"]["verses"][k] += len(verses)
        stats["kjv"]["bytes"][k] += len(doc.encode("utf-8")) + 2
    for i, (_, doc) in enumerate(fortunes()):
        k = 1 if i % HOLDOUT_EVERY == HOLDOUT_AT else 0
        (held if k else train).append(doc)
        stats["fortunes"]["items"][k] += 1
        stats["fortunes"]["bytes"][k] += len(doc.encode("utf-8")) + 2

    for name, docs in (("train.txt", train), ("heldout.txt", held)):
        data = ("\n\n".join(docs) + "\n").encode("utf-8")
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(data)
        stats[name] = {"bytes": len(data), "documents": len(docs),
                       "sha256": hashlib.sha256(data).hexdigest()}
    stats["note"] = "pairs are [train, heldout]"
    with open(os.path.join(args.out, "stats.json"), "w") as f:
        json.dump(stats, f, indent=1)
        f.write("\n")
    print("prepare_data: train.txt %d bytes (%d docs), heldout.txt %d bytes (%d docs) -> %s"
          % (stats["train.txt"]["bytes"], len(train), stats["heldout.txt"]["bytes"], len(held), args.out))


if __name__ == "__main__":
    main()
