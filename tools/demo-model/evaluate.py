"""How well a demo model fills a writer's own modern prose: the 20 paragraphs of
engine/demo-model/heldout.txt (written for this, never in any training text), one phrase marked
in each and written by the engine (`dream infill`) with the app's default settings (exact speed,
entropy order, temperature 0, one step per token, the mark as long as the phrase in the model's
tokens).

The phrase is fixed before any model is run: the six words from the 41st word of each paragraph,
marked as the app marks a selection, with the space before it (engine/tests/request.rs marks
words 21-25 of the same paragraphs).

Usage: python evaluate.py DREAM_BIN GGUF MODEL [MODEL ...] [--json OUT]
  DREAM_BIN  the `dream` command (a release build)
  GGUF       SmolLM2-135M-Instruct's GGUF: the judge, the original autoregressive model
  MODEL      `demo` (the built-in model), or a checkpoint folder; `@fast` after it writes with
             span-local decoding (a full pass once 32 tokens were written, what the app's speed
             by length picks for a phrase in a paragraph), else exact

For each model it prints every fill and then:
- words: the share of the fills' words that hunspell's en_US dictionary knows;
- layout: fills with a line break, a heading (a line of capitals or one starting with `#`) or
  a word written twice in a row;
- judge: the original SmolLM2-135M-Instruct (transformers reading the GGUF, run causally as the
  autoregressive model it is) reads each whole paragraph with the fill in place; its bits per
  byte are compared between the models paragraph by paragraph (lower: likelier English in that
  place), and against the writer's own phrase.
"""

import argparse
import json
import math
import os
import re
import subprocess

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
DEMO = os.path.join(HERE, "../../engine/demo-model")
HELD_OUT = os.path.join(DEMO, "heldout.txt")
FIRST_WORD, WORDS = 40, 6


def places(text):
    """(paragraph, start, end) of the marked phrase in each paragraph."""
    out = []
    for para in text.strip().split("\n\n"):
        words = list(re.finditer(r"\S+", para))
        start, end = words[FIRST_WORD].start() - 1, words[FIRST_WORD + WORDS - 1].end()
        out.append((para, start, end))
    return out


def fill(dream, model, para, start, end, tokens):
    model, _, speed = model.partition("@")
    settings = {"steps": tokens, "alg": "entropy", "temperature": 0.0, "seed": 0}
    if speed == "fast":
        settings["cache_refresh"] = 32
    req = {"text": para, "spans": [{"start": start, "end": end, "tokens": tokens}], "continuation": 0,
           "ending": None, "candidates": 1, "settings": settings}
    out = subprocess.run([dream, "infill", "--model", model, "--request", "-", "--events", "jsonl"],
                         input=json.dumps(req), capture_output=True, text=True, check=True)
    done = json.loads(out.stdout.strip().splitlines()[-1])
    cand = done["candidates"][0]
    return cand["spans"][0]["text"], cand["text"]


def token_count(model, phrase):
    from tokenizers import Tokenizer
    model = model.partition("@")[0]
    folder = DEMO if model == "demo" else model
    return len(Tokenizer.from_file(os.path.join(folder, "tokenizer.json")).encode(phrase).ids)


def unknown_words(words):
    if not words:
        return set()
    out = subprocess.run(["hunspell", "-d", "en_US", "-l"], input="\n".join(words), capture_output=True, text=True,
                         check=True)
    return set(out.stdout.split())


def layout_faults(f):
    words = re.findall(r"[A-Za-z']+", f.lower())
    heading = any(l.strip() and (l.strip().startswith("#") or (l.strip().upper() == l.strip() and re.search(r"[A-Z]{2}", l)))
                  for l in f.splitlines())
    return ["line break"] * ("\n" in f) + ["heading"] * heading + ["doubled word"] * any(
        a == b for a, b in zip(words, words[1:]))


class Judge:
    def __init__(self, gguf):
        folder, name = os.path.split(os.path.abspath(gguf))
        self.tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        self.model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32).eval()

    def bits_per_byte(self, text):
        ids = self.tok(text, return_tensors="pt", add_special_tokens=False).input_ids
        with torch.no_grad():
            logits = self.model(ids).logits[0, :-1]
        nll = torch.nn.functional.cross_entropy(logits, ids[0, 1:], reduction="sum").item()
        return nll / math.log(2) / len(text.encode())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dream")
    ap.add_argument("gguf")
    ap.add_argument("models", nargs="+")
    ap.add_argument("--json")
    args = ap.parse_args()
    text = open(HELD_OUT, encoding="utf-8").read()
    judge = Judge(args.gguf)
    rows = places(text)
    original = [judge.bits_per_byte(p) for p, _, _ in rows]
    results = {}
    for model in args.models:
        fills, scores, words, faults = [], [], [], 0
        for (para, start, end), own in zip(rows, original):
            phrase = para[start:end]
            f, whole = fill(args.dream, model, para, start, end, token_count(model, phrase))
            fills.append({"phrase": phrase, "fill": f})
            scores.append(judge.bits_per_byte(whole))
            words += re.findall(r"[A-Za-z]+(?:'[A-Za-z]+)?", f)
            found = layout_faults(f)
            faults += bool(found)
            print(f"{model}: {phrase!r} -> {f!r}  judge {scores[-1]:.3f} (own {own:.3f}) {' '.join(found)}", flush=True)
        unknown = unknown_words(words)
        known = sum(w not in unknown for w in words)
        results[model] = dict(fills=fills, judge_bits_per_byte=scores, words=len(words),
                              dictionary_share=known / max(1, len(words)), layout_faults=faults,
                              unknown=sorted(unknown))
        print(f"{model}: {known}/{len(words)} words in the dictionary ({known / max(1, len(words)):.1%}), "
              f"{faults} of {len(rows)} fills with a line break, heading or doubled word, judge mean "
              f"{sum(scores) / len(scores):.3f} bits/byte (the writer's own phrases: {sum(original) / len(original):.3f})")
    if len(args.models) >= 2:
        a, b = args.models[:2]
        wins = sum(x < y for x, y in zip(results[a]["judge_bits_per_byte"], results[b]["judge_bits_per_byte"]))
        print(f"judge prefers {a} in {wins} of {len(rows)} paragraphs, {b} in {len(rows) - wins}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(results=results, own_bits_per_byte=original), f, indent=2)


if __name__ == "__main__":
    main()
