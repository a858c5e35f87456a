#!/usr/bin/env python3
"""Writes the GGUF fixtures for Tests/CheckpointsTests (GGUF*Tests.swift).

- gguf_types.gguf: every GGUF metadata value type, a non-default alignment, and one tensor of
  each tensor type the Swift reader dequantises (the real SmolLM2 file only has F32, Q8_0, Q4_1).
- gguf_tiny_llama.gguf: a 1-layer LLaMA with 4 query / 2 KV heads of head_dim 8, its attn_q and
  attn_k rows permuted the way llama.cpp's HF-to-GGUF converter does it, plus tokenizer metadata.
- gguf_expected.json: what the Swift reader must return for both, computed here with numpy from
  the ggml block definitions, and the SmolLM2 facts copied from
  ../shared/parity/smollm2-135m/parity.h5 (skipped with a warning when that file is absent).

The GGUF writer below follows the GGUF v3 specification; it shares no code with the Swift reader.
Run from the repository root: python3 scripts/make_gguf_fixtures.py
"""
import hashlib
import json
import struct
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "CheckpointsTests" / "Fixtures"
PARITY = ROOT.parent / "shared" / "parity" / "smollm2-135m" / "parity.h5"

VALUE_TYPES = {"uint8": (0, "<B"), "int8": (1, "<b"), "uint16": (2, "<H"), "int16": (3, "<h"),
               "uint32": (4, "<I"), "int32": (5, "<i"), "float32": (6, "<f"), "bool": (7, "<?"),
               "string": (8, None), "array": (9, None), "uint64": (10, "<Q"), "int64": (11, "<q"),
               "float64": (12, "<d")}
TENSOR_TYPES = {"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q8_0": 8, "I8": 24, "I16": 25,
                "I32": 26, "I64": 27, "F64": 28, "BF16": 30}


# --- GGUF writer --------------------------------------------------------------------------

def gguf_string(text):
    data = text.encode("utf-8")
    return struct.pack("<Q", len(data)) + data


def gguf_payload(kind, value):
    if kind == "string":
        return gguf_string(value)
    return struct.pack(VALUE_TYPES[kind][1], value)


def gguf_value(kind, value):
    """kind is a scalar type name or ("array", element kind)."""
    if isinstance(kind, tuple):
        element = kind[1]
        body = struct.pack("<IQ", VALUE_TYPES[element][0], len(value))
        return struct.pack("<I", 9) + body + b"".join(gguf_payload(element, item) for item in value)
    return struct.pack("<I", VALUE_TYPES[kind][0]) + gguf_payload(kind, value)


def write_gguf(path, metadata, tensors, alignment=32):
    """metadata: [(key, kind, value)]; tensors: [(name, type name, numpy shape, raw bytes)]."""
    header = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata))
    header += b"".join(gguf_string(key) + gguf_value(kind, value) for key, kind, value in metadata)
    data = b""
    for name, type_name, shape, raw in tensors:
        ne = list(reversed(shape))
        header += gguf_string(name) + struct.pack("<I", len(ne)) + struct.pack(f"<{len(ne)}Q", *ne)
        header += struct.pack("<IQ", TENSOR_TYPES[type_name], len(data))
        data += raw + b"\0" * (-len(raw) % alignment)
    header += b"\0" * (-len(header) % alignment)
    path.write_bytes(header + data)
    return len(header)


# --- ggml block formats: encode random blocks, decode them as ggml defines ------------------

def random_scales(rng, count):
    return rng.uniform(-0.05, 0.05, count).astype(np.float16)


def q8_0(rng, shape):
    blocks = int(np.prod(shape)) // 32
    scales = random_scales(rng, blocks)
    quants = rng.integers(-128, 128, (blocks, 32)).astype(np.int8)
    raw = b"".join(scales[i].tobytes() + quants[i].tobytes() for i in range(blocks))
    values = quants.astype(np.float32) * scales.astype(np.float32)[:, None]
    return raw, values.reshape(shape)


def nibbles(rng, blocks):
    """Packed bytes and the 32 unpacked values per block: low nibbles 0..15, high nibbles 16..31."""
    packed = rng.integers(0, 256, (blocks, 16)).astype(np.uint8)
    unpacked = np.concatenate([packed & 0x0F, packed >> 4], axis=1)
    return packed, unpacked.astype(np.float32)


def q4_0(rng, shape):
    blocks = int(np.prod(shape)) // 32
    scales = random_scales(rng, blocks)
    packed, quants = nibbles(rng, blocks)
    raw = b"".join(scales[i].tobytes() + packed[i].tobytes() for i in range(blocks))
    values = (quants - np.float32(8)) * scales.astype(np.float32)[:, None]
    return raw, values.reshape(shape)


def q4_1(rng, shape):
    blocks = int(np.prod(shape)) // 32
    scales = random_scales(rng, blocks)
    minimums = rng.uniform(-0.4, 0.1, blocks).astype(np.float16)
    packed, quants = nibbles(rng, blocks)
    raw = b"".join(scales[i].tobytes() + minimums[i].tobytes() + packed[i].tobytes() for i in range(blocks))
    # A float32 multiply, rounded, then a float32 add (numpy never fuses the two).
    products = (quants * scales.astype(np.float32)[:, None]).astype(np.float32)
    values = products + minimums.astype(np.float32)[:, None]
    return raw, values.reshape(shape)


def float16(rng, shape):
    values = rng.normal(0, 1, shape).astype(np.float16)
    flat = values.reshape(-1)
    flat[:4] = [6e-8, -2.0 ** -20, 65504.0, -0.5]  # subnormals and the largest half
    return values.tobytes(), values.astype(np.float32)


def bfloat16(rng, shape):
    bits = (rng.normal(0, 3, shape).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    return bits.tobytes(), (bits.astype(np.uint32) << 16).view(np.float32)


def plain(rng, shape, dtype):
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        # Values a float32 holds exactly, so the expected float is unambiguous.
        values = rng.integers(max(info.min, -(1 << 24)), min(info.max, 1 << 24), shape, endpoint=True).astype(dtype)
    else:
        values = rng.normal(0, 1, shape).astype(dtype)
    return values.tobytes(), values.astype(np.float32)


def sha256_float32(values):
    return hashlib.sha256(np.ascontiguousarray(values, dtype="<f4").tobytes()).hexdigest()


def floats(values):
    return [float(x) for x in np.asarray(values, dtype=np.float32).reshape(-1)]


# --- fixtures -----------------------------------------------------------------------------

def types_fixture(rng):
    metadata = [
        ("general.architecture", "string", "fixture"),
        ("general.alignment", "uint32", 64),
        ("test.uint8", "uint8", 200), ("test.int8", "int8", -100),
        ("test.uint16", "uint16", 60000), ("test.int16", "int16", -30000),
        ("test.uint32", "uint32", 4_000_000_000), ("test.int32", "int32", -2_000_000_000),
        ("test.uint64", "uint64", 2 ** 63 + 5), ("test.int64", "int64", -(2 ** 40)),
        ("test.float32", "float32", 0.1), ("test.float64", "float64", 0.1),
        ("test.bool", "bool", True), ("test.string", "string", "h\u00e9llo \u2713"),
        ("test.strings", ("array", "string"), ["a", "", "\u0120Hello"]),
        ("test.int32s", ("array", "int32"), [1, -2, 3]),
        ("test.uint8s", ("array", "uint8"), [7, 255]),
        ("test.float32s", ("array", "float32"), [0.5, -1.25]),
        ("test.empty", ("array", "int64"), []),
    ]
    generators = [
        ("f32.weight", "F32", (3, 5), lambda s: plain(rng, s, np.float32)),
        ("f32.cube", "F32", (2, 3, 4), lambda s: plain(rng, s, np.float32)),
        ("f16.weight", "F16", (4, 8), lambda s: float16(rng, s)),
        ("bf16.weight", "BF16", (2, 16), lambda s: bfloat16(rng, s)),
        ("q4_0.weight", "Q4_0", (3, 64), lambda s: q4_0(rng, s)),
        ("q4_1.weight", "Q4_1", (2, 96), lambda s: q4_1(rng, s)),
        ("q8_0.weight", "Q8_0", (2, 64), lambda s: q8_0(rng, s)),
        ("f64.bias", "F64", (7,), lambda s: plain(rng, s, np.float64)),
        ("i8.bias", "I8", (5,), lambda s: plain(rng, s, np.int8)),
        ("i16.bias", "I16", (5,), lambda s: plain(rng, s, np.int16)),
        ("i32.bias", "I32", (5,), lambda s: plain(rng, s, np.int32)),
        ("i64.bias", "I64", (5,), lambda s: plain(rng, s, np.int64)),
    ]
    tensors, expected_tensors = [], []
    for name, type_name, shape, generate in generators:
        raw, values = generate(shape)
        tensors.append((name, type_name, shape, raw))
        expected_tensors.append({"name": name, "type": type_name, "ne": list(reversed(shape)),
                                 "shape": list(shape), "raw_sha256": hashlib.sha256(raw).hexdigest(),
                                 "values": floats(values)})
    data_start = write_gguf(OUT / "gguf_types.gguf", metadata, tensors, alignment=64)

    def described(kind, value):
        if isinstance(kind, tuple):
            return {"type": "array", "elements": [described(kind[1], item) for item in value]}
        if kind == "float32":
            value = float(np.float32(value))
        if kind in ("uint64", "int64"):
            value = str(value)  # JSON readers may round integers beyond 2^53
        return {"type": kind, "value": value}

    return {"data_start": data_start, "alignment": 64,
            "metadata": {key: described(kind, value) for key, kind, value in metadata},
            "metadata_keys": [key for key, _, _ in metadata], "tensors": expected_tensors}


def converter_permute(weights, heads):
    """llama.cpp convert_hf_to_gguf: puts the two halves of each rotary pair next to each other."""
    rows = weights.shape[0]
    return weights.reshape(heads, 2, rows // heads // 2, -1).swapaxes(1, 2).reshape(weights.shape)


def converter_unpermute(weights, heads):
    rows = weights.shape[0]
    return weights.reshape(heads, rows // heads // 2, 2, -1).swapaxes(1, 2).reshape(weights.shape)


def tiny_llama_fixture(rng):
    hidden, ffn, heads, kv_heads, vocab = 32, 32, 4, 2, 8
    head_dim = hidden // heads
    tokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "a", "b", "\u0120a", "ab", "\u0120ab"]
    token_types = [3, 3, 3, 1, 1, 1, 1, 1]
    merges = ["a b", "\u0120 a", "\u0120a b"]
    template = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    metadata = [
        ("general.architecture", "string", "llama"),
        ("llama.block_count", "uint32", 1), ("llama.context_length", "uint32", 64),
        ("llama.embedding_length", "uint32", hidden), ("llama.feed_forward_length", "uint32", ffn),
        ("llama.attention.head_count", "uint32", heads), ("llama.attention.head_count_kv", "uint32", kv_heads),
        ("llama.rope.freq_base", "float32", 10000.0), ("llama.rope.dimension_count", "uint32", head_dim),
        ("llama.attention.layer_norm_rms_epsilon", "float32", 1e-6),
        ("tokenizer.ggml.model", "string", "gpt2"), ("tokenizer.ggml.pre", "string", "smollm"),
        ("tokenizer.ggml.tokens", ("array", "string"), tokens),
        ("tokenizer.ggml.token_type", ("array", "int32"), token_types),
        ("tokenizer.ggml.merges", ("array", "string"), merges),
        ("tokenizer.ggml.bos_token_id", "uint32", 1), ("tokenizer.ggml.eos_token_id", "uint32", 2),
        ("tokenizer.ggml.unknown_token_id", "uint32", 0),
        ("tokenizer.ggml.add_bos_token", "bool", False),
        ("tokenizer.chat_template", "string", template),
    ]
    # q: HF float16 weights permuted for GGUF; k: random Q4_1 blocks in GGUF order, un-permuted
    # here for the expectation. Either way the expected tensor is in HF row order.
    q_hf = rng.normal(0, 1, (hidden, hidden)).astype(np.float16)
    k_raw, k_gguf = q4_1(rng, (kv_heads * head_dim, hidden))
    layer = [
        ("token_embd.weight", "model.embed_tokens.weight", "Q8_0", q8_0(rng, (vocab, hidden))),
        ("blk.0.attn_norm.weight", "model.layers.0.input_layernorm.weight", "F32", plain(rng, (hidden,), np.float32)),
        ("blk.0.attn_q.weight", "model.layers.0.self_attn.q_proj.weight", "F16",
         (converter_permute(q_hf, heads).tobytes(), q_hf.astype(np.float32))),
        ("blk.0.attn_k.weight", "model.layers.0.self_attn.k_proj.weight", "Q4_1",
         (k_raw, converter_unpermute(k_gguf, kv_heads))),
        ("blk.0.attn_v.weight", "model.layers.0.self_attn.v_proj.weight", "Q4_0", q4_0(rng, (kv_heads * head_dim, hidden))),
        ("blk.0.attn_output.weight", "model.layers.0.self_attn.o_proj.weight", "BF16", bfloat16(rng, (hidden, hidden))),
        ("blk.0.ffn_norm.weight", "model.layers.0.post_attention_layernorm.weight", "F32", plain(rng, (hidden,), np.float32)),
        ("blk.0.ffn_gate.weight", "model.layers.0.mlp.gate_proj.weight", "F32", plain(rng, (ffn, hidden), np.float32)),
        ("blk.0.ffn_up.weight", "model.layers.0.mlp.up_proj.weight", "Q8_0", q8_0(rng, (ffn, hidden))),
        ("blk.0.ffn_down.weight", "model.layers.0.mlp.down_proj.weight", "F16", float16(rng, (hidden, ffn))),
        ("output_norm.weight", "model.norm.weight", "F32", plain(rng, (hidden,), np.float32)),
        ("output.weight", "lm_head.weight", "Q4_0", q4_0(rng, (vocab, hidden))),
    ]
    tensors = [(name, type_name, values.shape, raw) for name, _, type_name, (raw, values) in layer]
    write_gguf(OUT / "gguf_tiny_llama.gguf", metadata, tensors)
    return {
        "config": {"block_count": 1, "embedding_length": hidden, "feed_forward_length": ffn,
                   "head_count": heads, "head_count_kv": kv_heads, "head_dim": head_dim,
                   "rope_dimension_count": head_dim, "rope_freq_base": 10000.0,
                   "rms_norm_epsilon": float(np.float32(1e-6)), "context_length": 64,
                   "vocab_size": vocab, "tied_embeddings": False},
        "tokenizer": {"model": "gpt2", "pre": "smollm", "tokens": tokens, "token_types": token_types,
                      "merges": merges, "bos": 1, "eos": 2, "unknown": 0, "add_bos_token": False,
                      "chat_template": template},
        "tensors": [{"name": hf_name, "shape": list(values.shape), "sha256": sha256_float32(values),
                     "head": floats(values.reshape(-1)[:8])} for _, hf_name, _, (_, values) in layer],
    }


def smollm2_facts():
    import h5py  # only needed for this part

    with h5py.File(PARITY, "r") as parity:
        gguf = parity["gguf"]

        def strings(name):
            return [item.decode() for item in gguf[name][()]]

        metadata = json.loads(gguf["metadata_json"][()])
        examples = {}
        for name, group in gguf["dequant_examples"].items():
            examples[name] = {"raw_bytes_first_blocks": [int(b) for b in group["raw_bytes_first_blocks"][()]],
                              "first_64_values_gguf_order": floats(group["first_64_values_gguf_order"][()])}
        return {
            "gguf_size_bytes": int(parity.attrs["gguf_size_bytes"]),
            "metadata": {key: value for key, value in metadata.items()
                         if not (isinstance(value, str) and value.startswith("<array len="))},
            "tensor_names": strings("tensor_names"), "tensor_types": strings("tensor_types"),
            "hf_names": strings("hf_names"), "hf_fp32_sha256": strings("hf_fp32_sha256"),
            "tensor_ne": gguf["tensor_ne"][()].tolist(),
            "tensor_offset_rel": gguf["tensor_offset_rel"][()].tolist(),
            "tensor_offset_abs": gguf["tensor_offset_abs"][()].tolist(),
            "q_row_perm_hf_from_gguf": gguf["q_row_perm_hf_from_gguf"][()].tolist(),
            "dequant_examples": examples,
        }


def main():
    rng = np.random.default_rng(20240611)
    expected = {"types": types_fixture(rng), "tiny_llama": tiny_llama_fixture(rng)}
    if PARITY.exists():
        expected["smollm2"] = smollm2_facts()
    else:
        print(f"warning: {PARITY} is absent; the SmolLM2 facts are not written", file=sys.stderr)
    (OUT / "gguf_expected.json").write_text(json.dumps(expected, separators=(",", ":"), sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
