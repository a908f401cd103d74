"""Writes the demo model's training text: modern English prose and instruction/answer pairs that
SmolLM2-135M-Instruct itself writes (the model's output is Apache-2.0, as the model is), so the
diffusion model is adapted on text in the model's own distribution.

Usage: python make_corpus.py GGUF OUT.jsonl [--minutes M] [--seed S]

Each line is {"instruction": ..., "answer": ...}. Instructions are drawn from a grid of forms
(story, description, letter, email, diary, report, explanation) and everyday modern topics;
a third of them, once there are answers to draw from, ask to rewrite a sentence of an earlier
answer (shorter, more formal, darker, in the first person, expanded, described), which is the
kind of instruction the app sends. Sampled at temperature 0.7, top-p 0.9, in batches, until the
time is up; the file is appended to, so a run can resume.
"""

import argparse
import json
import os
import random
import re
import time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

FORMS = [
    "Write a short story about {}.", "Describe {} in one paragraph.", "Write a letter to a friend about {}.",
    "Write a diary entry about {}.", "Write a short news report about {}.", "Write an email to a colleague about {}.",
    "Explain {} in simple words.", "Write the opening paragraph of a novel about {}.", "Write a blog post about {}.",
    "Tell me about {}.", "Write a scene about {} with some dialogue.", "Write a review of {}.",
]
TOPICS = [
    "a train station at dawn", "an office meeting that runs late", "a rainy afternoon in a small cafe",
    "moving to a new city", "a grandmother's kitchen", "learning to ride a bicycle", "a lost dog found in a park",
    "the first day at a new job", "a storm over the harbour", "a family dinner", "a missed flight",
    "a walk in the mountains", "a neighbour who plays the piano", "a broken laptop before a deadline",
    "a farmers' market on Saturday morning", "a night shift at a hospital", "a school trip to a museum",
    "an old photograph found in a drawer", "a road trip with friends", "a power cut in winter",
    "planting a vegetable garden", "a job interview", "a wedding in the countryside", "a bookshop closing down",
    "a football match in the rain", "a teenager's first concert", "a lighthouse keeper", "a quiet library",
    "a bakery opening early", "a bus ride through the city", "the smell of the sea", "a forgotten birthday",
    "a coffee shop regular", "a snowy morning", "a startup pitching to investors", "a garage band rehearsal",
    "an apartment with thin walls", "a long phone call with a sister", "a fishing village", "a marathon",
    "a hotel at the end of the season", "a child's science project", "a lost wallet", "a thunderstorm at night",
    "a bike courier in traffic", "a nurse's day", "a small town festival", "a chess game in the park",
    "a cooking class", "a late train home", "a house for sale", "the last day of summer", "a camping trip",
    "a difficult conversation with a manager", "a new puppy", "a market in a busy city", "a violin lesson",
    "a retirement party", "a tree in the backyard", "a delayed package", "a tourist lost in a city",
    "a river in spring", "a city at night", "a mechanic's workshop", "a desert road", "an old friend's visit",
    "the end of a long project", "a first date", "a hospital waiting room", "a power station", "a theatre rehearsal",
    "a beach in October", "a village shop", "a noisy classroom", "a cat that sleeps all day", "a science lab",
    "a hiking trail after rain", "the weekly team call", "a recipe for soup", "a letter that arrived too late",
    "a crowded airport", "a quiet Sunday", "a volunteer at a food bank", "a kite festival", "a radio host",
    "an empty stadium", "a photographer in the city", "a sailing lesson", "a community garden", "a night market",
    "an orchard in autumn", "a homework argument", "a ferry crossing", "a power outage at work", "a garden party",
    "a midnight snack", "a subway musician", "a ski trip", "a history teacher", "a mountain village",
]
REWRITES = [
    "Rewrite this sentence to make it shorter: {}", "Rewrite this sentence in a more formal tone: {}",
    "Rewrite this sentence to make it darker: {}", "Rewrite this sentence in the first person: {}",
    "Expand this sentence into a few sentences with more detail: {}", "Rewrite this sentence: {}",
    "Rewrite this sentence to make it more cheerful: {}", "Describe the scene in this sentence in more detail: {}",
]


def sentences(text):
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if 30 <= len(s) <= 200 and "\n" not in s]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gguf")
    ap.add_argument("out")
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--max-new", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    folder, name = os.path.split(os.path.abspath(args.gguf))
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32).eval()
    done = []
    if os.path.exists(args.out):
        done = [json.loads(l) for l in open(args.out)]
    rng = random.Random(args.seed + len(done))
    torch.manual_seed(args.seed + len(done))
    pool = [s for d in done for s in sentences(d["answer"])]
    start, tokens = time.time(), 0
    with open(args.out, "a") as f:
        while time.time() - start < args.minutes * 60:
            batch = []
            for _ in range(args.batch):
                if pool and rng.random() < 1 / 3:
                    batch.append(rng.choice(REWRITES).format(rng.choice(pool)))
                else:
                    batch.append(rng.choice(FORMS).format(rng.choice(TOPICS)))
            prompts = [tok.apply_chat_template([{"role": "user", "content": b}], tokenize=False, add_generation_prompt=True)
                       for b in batch]
            enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
            with torch.no_grad():
                out = model.generate(**enc, max_new_tokens=args.max_new, do_sample=True, temperature=0.7, top_p=0.9,
                                     repetition_penalty=1.1, pad_token_id=tok.pad_token_id)
            for instr, row in zip(batch, out[:, enc.input_ids.shape[1]:]):
                ids = [int(i) for i in row if i != tok.pad_token_id]
                finished = tok.convert_tokens_to_ids("<|im_end|>") in ids
                answer = tok.decode(ids, skip_special_tokens=True).strip()
                if not finished:  # cut at the last full sentence
                    answer = answer[: max(answer.rfind(". "), answer.rfind(".\n")) + 1].strip()
                if len(answer) < 80:
                    continue
                tokens += len(ids)
                f.write(json.dumps({"instruction": instr, "answer": answer}) + "\n")
                pool.extend(sentences(answer))
            f.flush()
            print(f"{(time.time() - start) / 60:.1f} min, {tokens} tokens written", flush=True)


if __name__ == "__main__":
    main()
