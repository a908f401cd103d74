"""The adapted demo as one checkpoint folder (f32 safetensors, the official tensor names): the
base GGUF converted as convert_smollm2.py does, plus engine/demo-model/delta.safetensors added
as the engine adds it (engine/src/demo.rs): the bf16 factors widened to f32, W + B A; the norms
and the mask row replaced. The official Dream code loads the result, which is how the demo's
parity fixture and its measurements see the same model the app runs.

Usage: python merge.py GGUF DELTA OUT_DIR
"""

import os
import subprocess
import sys

import torch
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    gguf, delta_path, out = sys.argv[1:4]
    subprocess.run([sys.executable, os.path.join(HERE, "convert_smollm2.py"), gguf, out], check=True)
    state = load_file(os.path.join(out, "model.safetensors"))
    delta = load_file(delta_path)
    for name, t in delta.items():
        if name.endswith(".lora_a"):
            module = name[: -len(".lora_a")]
            a, b = t.float(), delta[module + ".lora_b"].float()
            state[module + ".weight"] = state[module + ".weight"] + b @ a
        elif name == "model.embed_tokens.mask_row":
            state["model.embed_tokens.weight"][-1] = t.float()
        elif not name.endswith(".lora_b"):
            state[name] = t.float()
    # The head is tied to the embedding; written out too, so that no version of transformers
    # can leave the official DreamModel's `lm_head` untied and random.
    state["lm_head.weight"] = state["model.embed_tokens.weight"]
    save_file({k: v.clone().contiguous() for k, v in state.items()}, os.path.join(out, "model.safetensors"),
              metadata={"format": "pt"})
    print(f"{out}: base + {delta_path}")


if __name__ == "__main__":
    main()
