"""The Instruct prompt's reference tokens, made with the official Dream tokenizer: the
`DreamTokenizer` of `tokenization_dream.py` (ZHZisZZ/dllm `dllm/pipelines/dream/models/`,
imported at run time, nothing of it copied) over the real Qwen2.5 vocabulary, with
Dream-v0-Instruct-7B's tokenizer configuration (its added tokens and chat template), and
transformers 4.46.2's `apply_chat_template` (jinja2), as the official demos call it.

Usage: PYTHONPATH=<transformers 4.46.2> python make_reference.py OFFICIAL_DIR QWEN_TOKENIZER_JSON OUT_DIR

QWEN_TOKENIZER_JSON is the tokenizer.json `scripts/setup.sh --tests` caches
(`$DREAM_QWEN_TOKENIZER`); its vocabulary and merges are written as vocab.json and merges.txt,
the layout the official repository ships. Writes OUT_DIR/reference.json for
engine/tests/instruct_template.rs: per case, the engine's request and the message it writes
for it (the test checks the engine still writes that message), and the official tokens of the
rendered prompt followed by the document, its marks as `<|mask|>`.
"""

import json
import os
import sys
import tempfile

import transformers

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from official import official_module  # noqa: E402

# Dream-v0-Instruct-7B's template (Qwen2-Instruct's): a default system turn when the
# conversation has none. Its rendering is checked below against the conversation printed in
# the official DreamLM/Dream `demo_multiturn_chat.py`.
CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
DEMO_PRINTED = (
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
    "what if her duck lay three more eggs<|im_end|>\n<|im_start|>assistant\n"
)

HEADER = "Rewrite my text where it is marked, as each instruction below says, and keep the rest as it is.\n"

# (request, message the engine writes for it): one mark, a hole and a mark with different
# instructions, text beyond ASCII (curly quotes, a dash, accents, an emoji, a decomposed é),
# line breaks inside the document and the instruction, a document that starts with a line
# break, a mark at the very start.
CASES = [
    (
        {"text": "The sea was calm that night. We walked home.",
         "spans": [{"start": 11, "end": 16, "tokens": 3, "instruction": "darker"}]},
        HEADER + '\nInstead of "calm": darker',
    ),
    (
        {"text": "The station was empty at dawn. A man sold coffee. The train was late.",
         "spans": [{"start": 30, "end": 30, "tokens": 8, "instruction": "describe the smell of the sea"},
                   {"start": 50, "end": 69, "tokens": 5, "instruction": "in the first person"}]},
        HEADER + '\nAfter "The station was empty at dawn.": describe the smell of the sea'
        + '\nInstead of "The train was late.": in the first person',
    ),
    (
        {"text": "\u201cCaf\u00e9s close early here\u201d \u2014 she said, smiling \U0001F600. Re\u0301sume\u0301 later.",
         "spans": [{"start": 27, "end": 44, "tokens": 6, "instruction": "Expand: more on her face"}]},
        HEADER + '\nInstead of "she said, smiling": Expand: more on her face',
    ),
    (
        {"text": "\nDear Sam,\n\nThank you for the letter.\n\nYours, Ana",
         "spans": [{"start": 12, "end": 37, "tokens": 12, "instruction": "warmer,\nand half as long"}]},
        HEADER + '\nInstead of "Thank you for the letter.": warmer,\nand half as long',
    ),
    (
        {"text": "Meetings ran long. Nobody took notes.",
         "spans": [{"start": 0, "end": 18, "tokens": 6, "instruction": "Shorten"}]},
        HEADER + '\nInstead of "Meetings ran long.": Shorten',
    ),
]


def official_tokenizer(official_dir, qwen_json, folder):
    """The official DreamTokenizer over the real vocabulary, in the Instruct checkpoint's layout."""
    module = official_module(official_dir, "tokenization_dream")
    qwen = json.load(open(qwen_json, encoding="utf-8"))
    json.dump(qwen["model"]["vocab"], open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8"), ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for m in qwen["model"]["merges"]:
            f.write((m if isinstance(m, str) else " ".join(m)) + "\n")
    added = [(t["id"], t["content"]) for t in qwen["added_tokens"] if t["id"] <= 151_664]
    added += [(151_665, "<|beginoftext|>"), (151_666, "<|mask|>")]
    decoder = {str(i): {"content": c, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": True} for i, c in added}
    config = {
        "added_tokens_decoder": decoder, "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "bos_token": "<|beginoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
        "mask_token": "<|mask|>", "unk_token": None, "errors": "replace", "model_max_length": 131072,
        "split_special_tokens": False, "clean_up_tokenization_spaces": False, "chat_template": CHAT_TEMPLATE,
    }
    json.dump(config, open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8"))
    tok = module.DreamTokenizer.from_pretrained(folder)
    assert len(tok) == 151_667, len(tok)
    return tok


def document(request, mask):
    """The request's text with each mark's characters replaced by its masks, in the engine's
    layout: the spaces right before a mark go with it (Dream's words carry their leading space,
    and a canvas never ends a text in a lone space)."""
    text = request["text"]
    for s in sorted(request["spans"], key=lambda s: -s["start"]):
        text = text[: s["start"]].rstrip(" ") + mask * s["tokens"] + text[s["end"]:]
    return text


def main():
    official_dir, qwen_json, out = sys.argv[1:4]
    assert transformers.__version__ == "4.46.2", transformers.__version__
    with tempfile.TemporaryDirectory() as folder:
        tok = official_tokenizer(official_dir, qwen_json, folder)
        printed = tok.apply_chat_template([{"role": "user", "content": "what if her duck lay three more eggs"}], tokenize=False, add_generation_prompt=True)
        assert printed == DEMO_PRINTED, repr(printed)
        cases = []
        for request, message in CASES:
            prompt = tok.apply_chat_template([{"role": "user", "content": message}], tokenize=False, add_generation_prompt=True)
            # The prompt and the answer read as one text, as a conversation is tokenised.
            ids = tok(prompt + document(request, tok.mask_token), add_special_tokens=False)["input_ids"]
            cases.append({"request": request, "message": message, "ids": ids})
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "reference.json"), "w", encoding="utf-8") as f:
        json.dump({"chat_template": CHAT_TEMPLATE, "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
