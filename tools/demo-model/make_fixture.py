"""The demo model's parity fixture, made with the official Dream code: its DreamModel and its
`_sample`, imported at run time from OFFICIAL_DIR (configuration_dream.py, generation_utils.py,
modeling_dream.py of ZHZisZZ/dllm `dllm/pipelines/dream/models/`; nothing of it is copied).
f32 on the CPU, one thread, deterministic algorithms, as the shared fixtures were made.

Usage: python make_fixture.py OFFICIAL_DIR MODEL_DIR TEXT OUT_DIR

MODEL_DIR is the demo as one folder (merge.py); TEXT the text the canvases are cut from
(engine/demo-model/heldout.txt). Writes OUT_DIR/reference.json (cases, trajectories) and
OUT_DIR/reference.safetensors (raw logits of one case's starting canvas at every masked position
and every eighth other one: 49,153 floats a row, so not all 80), for
engine/tests/parity_demo.rs.
"""

import json
import os
import sys

import torch
import transformers
from safetensors.torch import save_file
from tokenizers import Tokenizer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from official import load_official  # noqa: E402

ALGS = ["maskgit_plus", "topk_margin", "entropy"]
# The case whose raw logits are kept (the other canvases add no new kind).
LOGITS = ["infill_16_steps_16"]


def margins(steps_seen, sample_tokens, alg, mask):
    """The smallest gap, over the steps of one run, between the last confidence taken and the
    first one left, and between the two likeliest tokens of every position written: a run
    decided by less than float noise would test tie-breaking, not the engine."""
    smallest = float("inf")
    for before, logits, after in steps_seen:
        masked = before[0] == mask
        conf, _ = sample_tokens(logits[0][masked], 0.0, margin_confidence=alg == "topk_margin", neg_entropy=alg == "entropy")
        probs = torch.softmax(logits[0][masked], dim=-1).sort(dim=-1, descending=True).values
        written = after[0][masked] != mask
        k = int(written.sum())
        ranked = conf.sort(descending=True).values
        if 0 < k < len(ranked):
            smallest = min(smallest, float(ranked[k - 1] - ranked[k]))
        if k:
            smallest = min(smallest, float((probs[written, 0] - probs[written, 1]).min()))
    return smallest


def main():
    official, model_dir, text_path, out = sys.argv[1:5]
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    modeling, generation = load_official(official)
    DreamModel, DreamGenerationConfig = modeling.DreamModel, generation.DreamGenerationConfig
    sample_tokens = generation.sample_tokens
    model = DreamModel.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
    assert torch.equal(model.lm_head.weight, model.model.embed_tokens.weight), "the head is the embedding"
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    mask = cfg["mask_token_id"]
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    text = open(text_path, encoding="utf-8").read()
    ids = tok.encode(text).ids
    # name: (description, canvas at token `at` of the text, steps)
    shapes = {
        "infill_16_steps_16": ("48 tokens, 16 masks, 16 tokens: a span in the middle of a paragraph",
                               lambda a: ids[a:a + 48] + [mask] * 16 + ids[a + 64:a + 80], 16),
        "infill_16_steps_6": ("the same shape in 6 steps (several tokens a step)",
                              lambda a: ids[a:a + 48] + [mask] * 16 + ids[a + 64:a + 80], 6),
        "continue_24_steps_12": ("64 tokens then 24 masks: a continuation", lambda a: ids[a:a + 64] + [mask] * 24, 12),
        "two_spans_steps_8": ("two spans of 6 masks with text between and after",
                              lambda a: ids[a:a + 40] + [mask] * 6 + ids[a + 46:a + 60] + [mask] * 6 + ids[a + 66:a + 80], 8),
    }
    reference = {"versions": {"python": sys.version.split()[0], "torch": torch.__version__, "transformers": transformers.__version__},
                 "mask_token_id": mask, "cases": {}}
    tensors = {}
    for name, (description, shape, steps) in shapes.items():
        # The first place in the text (every 60 tokens) whose runs are all decided by clear
        # margins.
        for at in range(0, len(ids) - 100, 60):
            canvas = shape(at)
            runs, smallest = run_all(model, DreamGenerationConfig, sample_tokens, cfg, canvas, steps)
            if smallest >= 1e-4:
                break
        else:
            raise SystemExit(f"{name}: no place in the text decided by margins of 1e-4")
        x = torch.tensor([canvas])
        if name in LOGITS:
            rows = sorted({i for i, t in enumerate(canvas) if t == mask} | set(range(0, len(canvas), 8)))
            with torch.no_grad():
                logits = model(x, "full", None).logits[0]
            tensors[f"{name}.positions"] = torch.tensor(rows, dtype=torch.int64)
            tensors[f"{name}.logits"] = logits[rows].contiguous()
        reference["cases"][name] = {"description": description, "token": at, "input_ids": canvas, "steps": steps,
                                    "min_margin": smallest, "runs": runs}
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(reference, f)
    save_file(tensors, os.path.join(out, "reference.safetensors"))
    print(f"wrote {out}: {len(shapes)} cases x {len(ALGS)} orders")


def run_all(model, DreamGenerationConfig, sample_tokens, cfg, canvas, steps):
    """Each order's official run on `canvas`, and the smallest margin any of them was decided by."""
    x = torch.tensor([canvas])
    runs, smallest = {}, float("inf")
    for alg in ALGS:
        config = DreamGenerationConfig(max_length=len(canvas), steps=steps, temperature=0.0, alg=alg, alg_temp=None,
                                       output_history=True, return_dict=True, mask_token_id=cfg["mask_token_id"],
                                       pad_token_id=cfg["pad_token_id"], bos_token_id=cfg["bos_token_id"],
                                       eos_token_id=cfg["eos_token_id"])
        seen = []  # (x before the step, its shifted logits), recorded by the official logits hook

        def capture(i, x, logits):
            seen.append((x.clone(), logits.clone()))
            return logits

        with torch.no_grad():
            result = model._sample(x.clone(), attention_mask=None, generation_config=config,
                                   generation_tokens_hook_func=lambda i, x, logits: x,
                                   generation_logits_hook_func=capture)
        steps_seen = [(before, logits, after) for (before, logits), after in zip(seen, result.history)]
        smallest = min(smallest, margins(steps_seen, sample_tokens, alg, cfg["mask_token_id"]))
        runs[alg] = {"history": [h[0].tolist() for h in result.history], "final": result.sequences[0].tolist()}
    return runs, smallest


if __name__ == "__main__":
    main()
