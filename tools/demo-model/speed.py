"""The built-in demo's speed targets, written by the engine (`dream infill --model demo`) with
the app's settings at the fast and the exact speed, interleaved: a 12-token fill in a 200-word
paragraph (3 rounds), or with `--chapter` a 16-token hole in a 2,000-word chapter (the app's
default speed, by length, is fast for both). Prints the CPU and each run's generation time
(from the engine's `loaded` event to its last line: what the writer waits after pressing Write,
the model already loaded), the model's load time and the whole command's.

Usage: python3 speed.py DREAM_BIN [--chapter] [--rounds N]
"""

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
HELD_OUT = os.path.join(HERE, "../../engine/demo-model/heldout.txt")
FAST_REFRESH = 32  # engine/src/sampler/settings.rs


def cpu():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} cores"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def request(chapter):
    """Two held-out paragraphs joined (about 200 words), nine words from the middle one marked
    as the app marks a selection (with the space before them) and written as 12 tokens; or
    (`chapter`) paragraphs up to 2,000 words, a 16-token hole after the sentence nearest the
    middle."""
    paragraphs = open(HELD_OUT, encoding="utf-8").read().strip().split("\n\n")
    if not chapter:
        text = " ".join(paragraphs[:2])
        words = list(re.finditer(r"\S+", text))
        middle = len(words) // 2
        start, end, tokens = words[middle].start() - 1, words[middle + 8].end(), 12
    else:
        kept, count = [], 0
        for p in paragraphs:
            if count + len(p.split()) > 2000:
                break
            kept.append(p)
            count += len(p.split())
        text = "\n\n".join(kept)
        start = end = text.index(". ", len(text) // 2) + 1
        tokens = 16
    n_words = len(text.split())
    return text, n_words, tokens, {"text": text, "spans": [{"start": start, "end": end, "tokens": tokens}],
                                   "continuation": 0, "ending": None, "candidates": 1}


def run(dream, req, tokens, mode):
    """(generation seconds, whole-command seconds, model-load seconds, the fill): generation is
    timed from the engine's `loaded` event to its last line (Rust flushes each line)."""
    settings = {"steps": tokens, "alg": "entropy", "temperature": 0.0, "seed": 0}
    if mode == "fast":
        settings["cache_refresh"] = FAST_REFRESH
    began = time.perf_counter()
    proc = subprocess.Popen([dream, "infill", "--model", "demo", "--request", "-", "--events", "jsonl"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    proc.stdin.write(json.dumps(dict(req, settings=settings)))
    proc.stdin.close()
    loaded_at, load, last = None, None, None
    for line in proc.stdout:
        event = json.loads(line)
        if event.get("event") == "loaded":
            loaded_at, load = time.perf_counter(), event["seconds"]
        last = event
    done_at = time.perf_counter()
    if proc.wait() != 0:
        raise SystemExit(f"dream infill failed ({mode})")
    return done_at - loaded_at, done_at - began, load, last["candidates"][0]["spans"][0]["text"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dream")
    ap.add_argument("--chapter", action="store_true")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    text, words, tokens, req = request(args.chapter)
    print(f"CPU: {cpu()}; {words} words, a {tokens}-token mark, {args.rounds} rounds interleaved")
    times = {"fast": [], "exact": []}
    for _ in range(args.rounds):
        for mode in times:
            gen, whole, load, fill = run(args.dream, req, tokens, mode)
            times[mode].append(gen)
            print(f"{mode}: generation {gen:.2f} s (model load {load:.2f} s, whole command {whole:.2f} s), fill {fill!r}",
                  flush=True)
    for mode, t in times.items():
        print(f"{mode}: median generation {statistics.median(t):.2f} s")


if __name__ == "__main__":
    main()
