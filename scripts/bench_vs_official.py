"""The side-by-side benchmark behind scripts/bench-vs-official.sh: the official Dream code (its
`_sample`, unchanged, imported from the folder given with --official; nothing of it is copied)
and `dream bench`, on one checkpoint both load, interleaved run by run on this machine. A run
counts only while other processes use under 10% of the machine (the quiet-machine rule); each
figure is a median. Prints a Markdown table of same-run ratios.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from official import load_official  # noqa: E402


def cpu_jiffies():
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle


def own_jiffies():
    t = os.times()
    return (t.user + t.system + t.children_user + t.children_system) * os.sysconf("SC_CLK_TCK")


FEATURES = ["avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile", "amx_bf16"]


def cpu_summary():
    """The CPU's model name and which of the instruction sets that decide matmul speed it has."""
    model, flags = "unknown CPU", set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    have = [f for f in FEATURES if f in flags]
    return f"{model}, {os.cpu_count()} cores; {' '.join(have) or 'none of ' + ' '.join(FEATURES)}"


CASES = [
    # name, sequence length, masked tokens, masks in the middle
    ("step, 192-token prompt + 64 masks, exact", 256, 64, False),
    ("step at 1024 tokens, 64-token span in the middle, exact", 1024, 64, True),
]


def quiet_run(fn, quiet):
    """Runs fn until the other processes used under `quiet` of the machine; returns
    (seconds, result, shares seen)."""
    ncpu, hz, shares = os.cpu_count() or 1, os.sysconf("SC_CLK_TCK"), []
    for _ in range(4):
        busy0, own0, t0 = cpu_jiffies(), own_jiffies(), time.perf_counter()
        result = fn()
        wall = time.perf_counter() - t0
        share = max(0.0, (cpu_jiffies() - busy0 - (own_jiffies() - own0)) / (wall * hz * ncpu))
        shares.append(round(share, 3))
        if share < quiet:
            return wall, result, shares
    return None, None, shares


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--official", required=True, help="the folder with the official modeling_dream.py")
    ap.add_argument("--model", required=True, help="a checkpoint both load (dream bench --save)")
    ap.add_argument("--dream", required=True, help="the dream binary")
    ap.add_argument("--steps", type=int, default=4, help="official steps per timed run (the mean step is taken)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quiet", type=float, default=0.10)
    ap.add_argument("--cache-refresh", type=int, default=32, help="span-local decoding's refresh interval (tokens)")
    ap.add_argument("--threshold", type=float, default=0.9, help="parallel reveal's threshold")
    ap.add_argument("--llama-bin", help="llama.cpp's build/bin: also compare llama-diffusion-cli")
    ap.add_argument("--gguf", help="with --llama-bin: the folder with llama.cpp's q4_k_m.gguf and q8_0.gguf of --model")
    ap.add_argument("--cpu-level", choices=["avx2"], help="both sides were restricted to this instruction set")
    args = ap.parse_args()
    cpu = cpu_summary()
    if args.cpu_level:
        cpu += f"; both sides restricted to {args.cpu_level.upper()} (an AVX-512 CPU run as one without it)"

    import torch

    torch.set_num_threads(args.threads)
    modeling, generation = load_official(args.official)
    DreamModel, DreamGenerationConfig = modeling.DreamModel, generation.DreamGenerationConfig
    model = DreamModel.from_pretrained(args.model, torch_dtype=torch.float32).eval()
    cfg = model.config
    print(f"torch {torch.__version__}, {args.threads} threads; checkpoint {args.model}", file=sys.stderr)

    def official(seq_len, masked, middle):
        row = [(i * 7919) % cfg.vocab_size for i in range(seq_len)]  # the ids `dream bench` uses
        start = (seq_len - masked) // 2 if middle else seq_len - masked
        for i in range(start, start + masked):
            row[i] = cfg.mask_token_id
        gen = DreamGenerationConfig(max_length=seq_len, steps=args.steps, alg="entropy", temperature=0.0, mask_token_id=cfg.mask_token_id)
        x = torch.tensor([row], dtype=torch.long)
        with torch.no_grad():
            model._sample(x, None, gen, lambda step, x, logits: x, lambda step, x, logits: logits)

    def ours(seq_len, masked, middle):
        return ours_on(args, args.model, seq_len, masked, ["--middle", "--whole-infill"] if middle else [])

    def torch_matmul_gflops(rows, reps=3):
        """torch's throughput on the model's three linear shapes, x[rows, k] @ w[n, k]^T (what
        `dream bench` reports as candle's matmul_gflops), best of `reps`."""
        h, i = cfg.hidden_size, cfg.intermediate_size
        flops = seconds = 0.0
        for k, n in [(h, h), (h, i), (i, h)]:
            x, w = torch.randn(rows, k), torch.randn(n, k)
            x @ w.T  # warm-up
            times = []
            for _ in range(reps):
                t = time.perf_counter()
                x @ w.T
                times.append(time.perf_counter() - t)
            flops += 2.0 * rows * k * n
            seconds += min(times)
        return flops / seconds / 1e9

    rows = {name: {"official": [], "exact": [], "local_mean": [], "local": [], "infill": [], "reports": []} for name, *_ in CASES}
    for name, seq_len, masked, middle in CASES:
        official(seq_len, masked, middle)  # warm-up
    for rep in range(args.reps):
        for name, seq_len, masked, middle in CASES:
            seconds, _, shares = quiet_run(lambda: official(seq_len, masked, middle), args.quiet)
            if seconds is not None:
                rows[name]["official"].append(seconds / args.steps)
            _, report, shares_ours = quiet_run(lambda: ours(seq_len, masked, middle), args.quiet)
            if report is not None:
                rows[name]["exact"].append(report["step_seconds"])
                rows[name]["local"].append(report["cached_step_seconds"])
                rows[name]["local_mean"].append(report["cached_step_seconds_mean"])
                rows[name]["reports"].append(report)
                if report.get("whole_infill"):
                    rows[name]["infill"].append(report["whole_infill"]["seconds"])
            print(f"rep {rep + 1} {name}: other CPU official {shares}, ours {shares_ours}", file=sys.stderr)

    med = lambda xs: statistics.median(xs) if xs else float("nan")
    k = args.cache_refresh
    print(f"CPU: {cpu}; torch {torch.__version__}, {args.threads} threads\n")
    print("| case | official | ours | ratio (official / ours) |")
    print("| --- | --- | --- | --- |")
    for name, seq_len, masked, middle in CASES:
        r = rows[name]
        off = med(r["official"])
        print(f"| {name} | {off:.3f} s | {med(r['exact']):.3f} s | {off / med(r['exact']):.2f}x |")
        if middle:
            print(f"| the same, span-local (refresh every {k} tokens), mean over {min(2 * k, masked)} steps | {off:.3f} s | {med(r['local_mean']):.3f} s | {off / med(r['local_mean']):.2f}x |")
            print(f"| the same, between refreshes | {off:.3f} s | {med(r['local']):.3f} s | {off / med(r['local']):.2f}x |")
            last = r["reports"][-1]["whole_infill"] if r["reports"] else {}
            how = f"span-local + reveal {args.threshold}: {last.get('steps')} steps, {last.get('full_passes')} full"
            print(f"| whole {masked}-token infill at {seq_len} ({masked} official steps; {how}) | {masked * off:.1f} s | {med(r['infill']):.1f} s | {masked * off / med(r['infill']):.2f}x |")
    print()
    print(f"CPU: {cpu}\n")
    print("| tokens | torch matmul | forward (ours) | forward / torch matmul |")
    print("| --- | --- | --- | --- |")
    for name, seq_len, *_ in CASES:
        reports = rows[name]["reports"]
        if reports:
            torch_gflops = torch_matmul_gflops(seq_len)
            ours_gflops = med([x["forward_gflops"] for x in reports])
            print(f"| {seq_len} | {torch_gflops:.0f} GFLOP/s | {ours_gflops:.0f} GFLOP/s | {ours_gflops / torch_gflops:.2f} |")
    top1 = [x["top1_probability_median"] for r in rows.values() for x in r["reports"]]
    print(f"\nmedian top-1 probability of the masked positions at the first step: {med(top1):.3f}")
    print(json.dumps(rows), file=sys.stderr)
    if args.llama_bin:
        against_llama_cpp(args, ours, cpu)


def against_llama_cpp(args, ours, cpu, canvas=256, prompt="The lighthouse keeper"):
    """llama-diffusion-cli and the engine on the same llama.cpp-made GGUF files, one canvas of
    `canvas` tokens (llama.cpp's: the prompt's tokens then masks; ours: as many masks at the
    end of `canvas` tokens), the same threads, exact decoding, interleaved runs; then the peak
    memory of a whole span-local infill of 64 tokens in the Q4_K_M file."""
    import re

    def llama(path):
        cmd = [os.path.join(args.llama_bin, "llama-diffusion-cli"), "-m", path, "-p", prompt, "-ub", str(canvas),
               "-b", str(canvas), "-c", str(canvas), "--diffusion-steps", str(args.steps), "--diffusion-eps", "0.001",
               "-t", str(args.threads), "--temp", "0"]
        # Its output ends with the text it wrote from random weights: not always valid UTF-8.
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, errors="replace")
        return float(re.search(r"time per step: ([0-9.]+)ms", out.stdout + out.stderr).group(1)) / 1000

    prompt_tokens = 4  # "The lighthouse keeper" in Qwen's BPE (no BOS: the tokenizer config adds none)
    times = {q: {"llama": [], "ours": []} for q in ("q4_k_m", "q8_0")}
    for rep in range(args.reps):
        for q in times:
            path = os.path.join(args.gguf, f"{q}.gguf")
            seconds, result, _ = quiet_run(lambda: llama(path), args.quiet)
            if result is not None:
                times[q]["llama"].append(result)
            # Only the exact step is read here: a refresh interval of 1 keeps `dream bench` from
            # timing 64 span-local steps it would otherwise add (minutes per call).
            exact = lambda: ours_on(args, path, canvas, canvas - prompt_tokens, [], cache_refresh=1)
            _, report, _ = quiet_run(exact, args.quiet)
            if report is not None:
                times[q]["ours"].append(report["step_seconds"])
    med = lambda xs: statistics.median(xs) if xs else float("nan")
    cache = os.path.join(args.llama_bin, "..", "CMakeCache.txt")
    x86 = ("GGML_NATIVE", "GGML_AVX", "GGML_FMA", "GGML_F16C", "GGML_BMI2", "GGML_AMX")
    flags = [line.split(":BOOL=")[0] for line in open(cache) if line.startswith(x86) and line.strip().endswith(":BOOL=ON")]
    print(f"\nCPU: {cpu}; llama.cpp and ours, {args.threads} threads, canvas {canvas} tokens, exact decoding")
    print(f"llama.cpp built with {' '.join(sorted(flags))}\n")
    print("| GGUF (llama.cpp's) | llama-diffusion-cli per step | ours per step | ratio (llama.cpp / ours) |")
    print("| --- | --- | --- | --- |")
    for q, t in times.items():
        print(f"| {q.upper()} | {med(t['llama']):.3f} s | {med(t['ours']):.3f} s | {med(t['llama']) / med(t['ours']):.2f}x |")
    path = os.path.join(args.gguf, "q4_k_m.gguf")
    report = ours_on(args, path, canvas, 64, ["--middle", "--whole-infill"])
    size, act, peak = os.path.getsize(path), report["activation_bytes"], report["peak_rss_bytes"]
    print(f"\nQ4_K_M whole infill (64 masks in {canvas} tokens): peak RSS {peak / 2**20:.0f} MiB = "
          f"{peak / (size + act):.2f}x (file {size / 2**20:.0f} MiB + stated activations {act / 2**20:.0f} MiB)")


def ours_on(args, model, seq_len, masked, extra, cache_refresh=None):
    refresh = cache_refresh or args.cache_refresh
    cmd = [args.dream, "bench", "--model", model, "--device", "cpu", "--seq-len", str(seq_len), "--masked", str(masked),
           "--reps", "1", "--json", "--cache-refresh", str(refresh), "--threshold", str(args.threshold)] + extra
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
