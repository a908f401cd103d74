"""Which layers and how much vocabulary to keep: the converted model's autoregressive loss per
byte of the writer's dev text (dev.txt, modern prose not in the corpus), run causally with no
training, for each candidate shape. Lower is better; it measures what the pretrained layers still
know before the adaptation heals the cut.

Usage: python select_shape.py GGUF
"""

import math
import os
import subprocess
import sys
import tempfile

import torch
from tokenizers import Tokenizer

import model as dream_model

HERE = os.path.dirname(os.path.abspath(__file__))
CANDIDATES = {
    "all 30 layers": "all",
    "first 16": ",".join(map(str, range(16))),
    "0-11 and 26-29": ",".join(map(str, list(range(12)) + list(range(26, 30)))),
    "0-7 and 22-29": ",".join(map(str, list(range(8)) + list(range(22, 30)))),
    "every other, and 29": ",".join(map(str, list(range(0, 29, 2)) + [29])),
    "0-9 and 24-29": ",".join(map(str, list(range(10)) + list(range(24, 30)))),
}


def bits_per_byte(folder, text):
    tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    m = dream_model.load(folder).eval()
    total = 0.0
    for para in text.split("\n\n"):
        ids = torch.tensor([tok.encode(para).ids])
        with torch.no_grad():
            logits = m.logits(ids, causal=True)[0, :-1]
        total += torch.nn.functional.cross_entropy(logits, ids[0, 1:], reduction="sum").item()
    return total / math.log(2) / len(text.encode())


def main():
    text = open(os.path.join(HERE, "dev.txt")).read().strip()
    with tempfile.TemporaryDirectory() as tmp:
        for vocab in [0, 24576, 16384]:
            for name, layers in CANDIDATES.items():
                if vocab and name not in ["all 30 layers", "0-11 and 26-29"]:
                    continue
                out = os.path.join(tmp, "c")
                subprocess.run([sys.executable, os.path.join(HERE, "convert_smollm2.py"), sys.argv[1], out,
                                "--layers", layers, "--vocab", str(vocab)], check=True, capture_output=True)
                print(f"{name:22} vocabulary {vocab or 49152:6}: {bits_per_byte(out, text):.3f} bits/byte", flush=True)


if __name__ == "__main__":
    main()
