#!/usr/bin/env python3
"""Writes the bad-input checkpoint corpus: Tests/Fixtures/bad-input/checkpoints/.

Every file is broken in exactly one way, and manifest.json says how it must be refused: the
loader to use, the error kind (CheckpointError.Kind), the tensor or key the error must name, and
a fragment of the message. The format-level cases start from the small fixtures already in the
repository (views.pth, zip64.pth, twin.safetensors, gguf_tiny_llama.gguf); the model-level cases
start from two tiny SAM / EfficientSAM checkpoints written here in the official key layout (a
64-wide, 6-block image encoder and the full-size prompt encoder and mask decoder), whose tensors
are strided views of one small shared storage so the files stay small. Those two are in the
corpus as well, marked valid: they must load, which shows that each broken copy fails for its one
defect. Deterministic; needs numpy. Run from the repository root:

    python3 scripts/make_bad_checkpoints.py
"""
import collections
import json
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BASES = ROOT / "Tests" / "CheckpointsTests" / "Fixtures"
OUT = ROOT / "Tests" / "Fixtures" / "bad-input" / "checkpoints"

# The torch.save stand-ins (pickle with torch's globals, torch's zip layout) of the fixture script.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_checkpoint_fixtures as torchlike  # noqa: E402
import make_gguf_fixtures as gguf_writer  # noqa: E402

CASES = []


def case(file, loader, kind, tensor=None, mentions=None, valid=False):
    CASES.append({"file": file, "loader": loader, "kind": None if valid else kind, "tensor": tensor,
                  "mentions": mentions, "valid": valid})


# --- PyTorch zip checkpoints ---------------------------------------------------------------------

def save(state, storages, path, folder="archive"):
    """torch.save of `state` whose tensors use `storages`."""
    builder = torchlike.Builder()
    builder.storages = storages
    torchlike.torch_save(state, builder, folder, path)


def sam_layout(family, dim=64, depth=8, global_blocks=(3, 7)):
    """(name, shape) of every tensor of the official SAM / EfficientSAM state dict, in its order."""
    sam = family == "sam"
    out = [("image_encoder.pos_embed", [1, 64, 64, dim] if sam else [1, 197, dim]),
           ("image_encoder.patch_embed.proj.weight", [dim, 3, 16, 16]), ("image_encoder.patch_embed.proj.bias", [dim])]
    fc1, fc2 = ("lin1", "lin2") if sam else ("fc1", "fc2")
    for i in range(depth):
        p = f"image_encoder.blocks.{i}."
        out += [(p + "norm1.weight", [dim]), (p + "norm1.bias", [dim]),
                (p + "attn.qkv.weight", [3 * dim, dim]), (p + "attn.qkv.bias", [3 * dim]),
                (p + "attn.proj.weight", [dim, dim]), (p + "attn.proj.bias", [dim])]
        if sam:
            rows = 127 if i in global_blocks else 27  # 64-token global grid or 14-token windows
            out += [(p + "attn.rel_pos_h", [rows, 64]), (p + "attn.rel_pos_w", [rows, 64])]
        out += [(p + "norm2.weight", [dim]), (p + "norm2.bias", [dim]),
                (p + f"mlp.{fc1}.weight", [4 * dim, dim]), (p + f"mlp.{fc1}.bias", [4 * dim]),
                (p + f"mlp.{fc2}.weight", [dim, 4 * dim]), (p + f"mlp.{fc2}.bias", [dim])]
    out += [("image_encoder.neck.0.weight", [256, dim, 1, 1]),
            ("image_encoder.neck.1.weight", [256]), ("image_encoder.neck.1.bias", [256]),
            ("image_encoder.neck.2.weight", [256, 256, 3, 3]),
            ("image_encoder.neck.3.weight", [256]), ("image_encoder.neck.3.bias", [256]),
            ("prompt_encoder.pe_layer.positional_encoding_gaussian_matrix", [2, 128])]
    if sam:
        out += [(f"prompt_encoder.point_embeddings.{i}.weight", [1, 256]) for i in range(4)]
        out += [("prompt_encoder.not_a_point_embed.weight", [1, 256]),
                ("prompt_encoder.mask_downscaling.0.weight", [4, 1, 2, 2]), ("prompt_encoder.mask_downscaling.0.bias", [4]),
                ("prompt_encoder.mask_downscaling.1.weight", [4]), ("prompt_encoder.mask_downscaling.1.bias", [4]),
                ("prompt_encoder.mask_downscaling.3.weight", [16, 4, 2, 2]), ("prompt_encoder.mask_downscaling.3.bias", [16]),
                ("prompt_encoder.mask_downscaling.4.weight", [16]), ("prompt_encoder.mask_downscaling.4.bias", [16]),
                ("prompt_encoder.mask_downscaling.6.weight", [256, 16, 1, 1]), ("prompt_encoder.mask_downscaling.6.bias", [256]),
                ("prompt_encoder.no_mask_embed.weight", [1, 256])]
    else:
        out += [(f"prompt_encoder.{name}.weight", [1, 256])
                for name in ["invalid_points", "point_embeddings", "bbox_top_left_embeddings", "bbox_bottom_right_embeddings"]]

    def linear(prefix, rows, columns):
        return [(prefix + ".weight", [rows, columns]), (prefix + ".bias", [rows])]

    def attention(prefix, inner):
        return (linear(prefix + ".q_proj", inner, 256) + linear(prefix + ".k_proj", inner, 256)
                + linear(prefix + ".v_proj", inner, 256) + linear(prefix + ".out_proj", 256, inner))

    t = "mask_decoder.transformer."
    mlp = ("mlp.lin1", "mlp.lin2") if sam else ("mlp.layers.0.0", "mlp.fc")
    for i in range(2):
        p = f"{t}layers.{i}."
        out += attention(p + "self_attn", 256) + [(p + "norm1.weight", [256]), (p + "norm1.bias", [256])]
        out += attention(p + "cross_attn_token_to_image", 128)
        out += [(p + "norm2.weight", [256]), (p + "norm2.bias", [256])]
        out += linear(p + mlp[0], 2048, 256) + linear(p + mlp[1], 256, 2048)
        out += [(p + "norm3.weight", [256]), (p + "norm3.bias", [256]), (p + "norm4.weight", [256]), (p + "norm4.bias", [256])]
        out += attention(p + "cross_attn_image_to_token", 128)
    out += attention(t + "final_attn_token_to_image", 128)
    out += [(t + "norm_final_attn.weight", [256]), (t + "norm_final_attn.bias", [256]),
            ("mask_decoder.iou_token.weight", [1, 256]), ("mask_decoder.mask_tokens.weight", [4, 256])]
    if sam:
        out += [("mask_decoder.output_upscaling.0.weight", [256, 64, 2, 2]), ("mask_decoder.output_upscaling.0.bias", [64]),
                ("mask_decoder.output_upscaling.1.weight", [64]), ("mask_decoder.output_upscaling.1.bias", [64]),
                ("mask_decoder.output_upscaling.3.weight", [64, 32, 2, 2]), ("mask_decoder.output_upscaling.3.bias", [32])]
        hidden = ["layers.0", "layers.1", "layers.2"]
    else:
        u = "mask_decoder.final_output_upscaling_layers."
        out += [(u + "0.0.weight", [256, 64, 2, 2]), (u + "0.0.bias", [64]), (u + "0.1.weight", [64]), (u + "0.1.bias", [64]),
                (u + "1.0.weight", [64, 32, 2, 2]), (u + "1.0.bias", [32])]
        hidden = ["layers.0.0", "layers.1.0", "fc"]
    for name, outputs in [(f"output_hypernetworks_mlps.{i}", 32) for i in range(4)] + [("iou_prediction_head", 4)]:
        for layer, rows in zip(hidden, [256, 256, outputs]):
            out += linear(f"mask_decoder.{name}.{layer}", rows, 256)
    return out


def sam_state(layout, storage):
    """Each tensor a view of `storage`: its rows repeat one run of the storage (stride 0 on the
    outer axes, 1 on the last), so the file holds 4,096 floats whatever the model's size."""
    state = collections.OrderedDict()
    for index, (name, shape) in enumerate(layout):
        strides = [0] * (len(shape) - 1) + [1]
        offset = (index * 97) % (storage.numel - shape[-1] + 1)
        state[name] = torchlike.Tensor(storage, offset, shape, strides)
    return state


def model_checkpoints():
    rng = np.random.RandomState(20250101)
    values = (rng.standard_normal(4096) * 0.05).astype(np.float32)
    storage = torchlike.Storage("0", "FloatStorage", values.tobytes(), values.size)
    sam = sam_layout("sam")

    def write(file, layout, wrapped=False):
        state = sam_state(layout, storage)
        save({"model": state} if wrapped else state, [storage], OUT / file)

    def replaced(layout, name, entry):
        return [entry if existing == name else (existing, shape) for existing, shape in layout]

    sam = sam_layout("sam")
    write("sam_tiny.pth", sam)
    case("sam_tiny.pth", "sam", None, valid=True)
    qkv5 = "image_encoder.blocks.5.attn.qkv.weight"
    write("sam_renamed_block_tensor.pth", replaced(sam, qkv5, ("image_encoder.blocks.5.attn.qkv.wieght", [192, 64])))
    case("sam_renamed_block_tensor.pth", "sam", "missingTensor", qkv5)
    write("sam_block_missing.pth", [entry for entry in sam if ".blocks.5." not in entry[0]])
    case("sam_block_missing.pth", "sam", "missingTensor", "image_encoder.blocks.5", ["'image_encoder.blocks.7' exists"])
    dropped = "mask_decoder.transformer.layers.1.norm3.bias"
    write("sam_missing_tensor.pth", [entry for entry in sam if entry[0] != dropped])
    case("sam_missing_tensor.pth", "sam", "missingTensor", dropped)
    extra = "mask_decoder.extra_head.weight"
    write("sam_extra_tensor.pth", sam + [(extra, [256])])
    case("sam_extra_tensor.pth", "sam", "unexpectedTensor", extra)
    reshaped = "mask_decoder.transformer.layers.0.cross_attn_token_to_image.k_proj.weight"
    write("sam_wrong_shape.pth", replaced(sam, reshaped, (reshaped, [256, 256])))
    case("sam_wrong_shape.pth", "sam", "wrongShape", reshaped, ["expected [128, 256]"])

    efficient = sam_layout("efficientsam")
    write("efficientsam_tiny.pt", efficient, wrapped=True)
    case("efficientsam_tiny.pt", "sam", None, valid=True)
    fc1 = "image_encoder.blocks.5.mlp.fc1.weight"
    write("efficientsam_renamed_block_tensor.pt",
          replaced(efficient, fc1, ("image_encoder.blocks.5.mlp.fc_1.weight", [256, 64])), wrapped=True)
    case("efficientsam_renamed_block_tensor.pt", "sam", "missingTensor", fc1)


def entry_data_offset(path, name):
    """Where a stored zip entry's bytes start."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
    data = path.read_bytes()
    name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
    return info.header_offset + 30 + name_length + extra_length


def format_checkpoints():
    views = (BASES / "views.pth").read_bytes()
    (OUT / "truncated.pth").write_bytes(views[: len(views) // 2])
    case("truncated.pth", "checkpoint", "truncated", mentions=["end-of-central-directory"])
    (OUT / "zero_bytes.pth").write_bytes(b"")
    case("zero_bytes.pth", "checkpoint", "truncated", mentions=["empty file (0 bytes)"])
    state, garbage = 0x9E3779B97F4A7C15, bytearray()
    for _ in range(4096):
        state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        garbage.append(state >> 56)
    (OUT / "garbage.pth").write_bytes(bytes(garbage))
    case("garbage.pth", "checkpoint", "malformed", mentions=["not a PyTorch zip checkpoint"])

    flipped = bytearray(views)
    flipped[entry_data_offset(BASES / "views.pth", "views/data/0") + 5] ^= 0x10
    (OUT / "flipped_tensor_byte.pth").write_bytes(bytes(flipped))
    case("flipped_tensor_byte.pth", "checkpoint", "checksumMismatch", mentions=["'views/data/0'", "CRC-32"])

    ones = np.ones(12, dtype=np.float32)

    def storage(numel):
        return torchlike.Storage("0", "FloatStorage", ones.tobytes(), numel)

    huge = storage(1 << 40)  # 4 TB of floats promised, 48 bytes stored
    save({"w": torchlike.Tensor(huge, 0, (12,), (1,))}, [huge], OUT / "absurd_storage_size.pth")
    case("absurd_storage_size.pth", "checkpoint", "tooLarge", "w", ["1,099,511,627,776 elements"])
    small = storage(12)
    save({"w": torchlike.Tensor(small, 0, (1 << 32, 1 << 32), (0, 0))}, [small], OUT / "shape_overflow.pth")
    case("shape_overflow.pth", "checkpoint", "tooLarge", "w", ["invalid view"])
    save({"w": torchlike.Tensor(small, 10, (4,), (1,))}, [small], OUT / "view_beyond_storage.pth")
    case("view_beyond_storage.pth", "checkpoint", "malformed", "w", ["reaches element 14"])

    # Pickles no torch.save writes: 200 nested lists, an APPEND with nothing to append, a list
    # appended to itself, a memo entry read before it was written, an opcode that does not exist.
    for file, program, mention in [("deep_pickle.pth", b"]" * 200 + b"a" * 199, "nest more than 100"),
                                   ("pickle_stack_underflow.pth", b"a", "stack underflow"),
                                   ("pickle_cycle.pth", b"]q\x00h\x00a", "stored inside itself"),
                                   ("pickle_memo_unset.pth", b"h\x05", "memo entry 5 used before it was stored"),
                                   ("pickle_unknown_opcode.pth", b"\xff", "unsupported pickle opcode 0xff (at byte 2)")]:
        (OUT / file).write_bytes(torchlike.torch_zip([("archive/data.pkl", b"\x80\x02" + program + b".")]))
        case(file, "checkpoint", "malformed", mentions=[mention])

    # ZIP64 extra field announcing a 4 EB storage entry (sizes are unchecked by any CRC).
    zip64 = bytearray((BASES / "zip64.pth").read_bytes())
    name = b"big_model/data/0"
    central = zip64.index(b"PK\x01\x02")
    while zip64[central + 46: central + 46 + len(name)] != name:
        central = zip64.index(b"PK\x01\x02", central + 4)
    extra = central + 46 + len(name)
    assert struct.unpack_from("<HH", zip64, extra) == (1, 24)
    struct.pack_into("<QQ", zip64, extra + 4, 1 << 62, 1 << 62)
    (OUT / "zip64_absurd_size.pth").write_bytes(bytes(zip64))
    case("zip64_absurd_size.pth", "checkpoint", "tooLarge", None, ["'big_model/data/0' announces 4,611,686,018,427,387,904 bytes"])


# --- safetensors ---------------------------------------------------------------------------------

def safetensors_files():
    twin = (BASES / "twin.safetensors").read_bytes()
    length = struct.unpack_from("<Q", twin)[0]
    header = json.loads(twin[8: 8 + length])
    data = twin[8 + length:]

    def write(file, header, data, kind, tensor=None, mentions=None):
        text = json.dumps(header).encode()
        text += b" " * (-len(text) % 8)
        (OUT / file).write_bytes(struct.pack("<Q", len(text)) + text + data)
        case(file, "safetensors", kind, tensor, mentions)

    last = max((name for name in header if name != "__metadata__"), key=lambda name: header[name]["data_offsets"][0])
    (OUT / "st_truncated.safetensors").write_bytes(twin[: len(twin) - 1])
    case("st_truncated.safetensors", "safetensors", "truncated", last)
    (OUT / "st_header_length_absurd.safetensors").write_bytes(struct.pack("<Q", 1 << 62) + twin[8:])
    case("st_header_length_absurd.safetensors", "safetensors", "tooLarge", None, ["4,611,686,018,427,387,904 bytes"])

    def edited(name, **fields):
        changed = json.loads(json.dumps(header))
        changed[name].update(fields)
        return changed

    start, end = header["a.f32"]["data_offsets"]
    write("st_offsets_out_of_range.safetensors",
          edited("a.f32", data_offsets=[start + (1 << 40), end + (1 << 40)]), data, "tooLarge", "a.f32")
    b_start, b_end = header["b.f16"]["data_offsets"]
    write("st_offsets_overlap.safetensors", edited("b.f16", data_offsets=[b_start - 2, b_end - 2]), data,
          "malformed", "b.f16", ["overlaps"])
    write("st_wrong_dtype.safetensors", edited("a.f32", dtype="F16"), data, "malformed", "a.f32", ["spans 24 bytes"])
    write("st_unknown_dtype.safetensors", edited("a.f32", dtype="F8_E4M3"), data, "unsupported", "a.f32", ["F8_E4M3"])
    write("st_shape_overflow.safetensors", edited("a.f32", shape=[1 << 40, 1 << 40]), data, "tooLarge", "a.f32")


# --- GGUF ----------------------------------------------------------------------------------------

GGUF_SCALARS = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


class GGUF:
    """A parsed GGUF v3 file: where its fields are, so that one of them can be changed."""

    def __init__(self, data):
        self.data = data
        self.tensor_count, self.key_count = struct.unpack_from("<QQ", data, 8)
        position, self.keys = 24, {}
        for _ in range(self.key_count):
            key, position = self.string(position)
            type_code = struct.unpack_from("<I", data, position)[0]
            self.keys[key] = position  # the value's type code
            position = self.skip_value(type_code, position + 4)
        self.infos_start, self.infos = position, []
        for _ in range(self.tensor_count):
            name, position = self.string(position)
            dims = struct.unpack_from("<I", data, position)[0]
            ne = list(struct.unpack_from(f"<{dims}Q", data, position + 4))
            type_code, offset = struct.unpack_from("<IQ", data, position + 4 + 8 * dims)
            self.infos.append({"name": name, "ne": ne, "type": type_code, "offset": offset, "at": position})
            position += 4 + 8 * dims + 12
        self.infos_end, self.data_start = position, position + (-position % 32)

    def string(self, position):
        length = struct.unpack_from("<Q", self.data, position)[0]
        return self.data[position + 8: position + 8 + length].decode(), position + 8 + length

    def skip_value(self, type_code, position):
        if type_code == 8:
            return self.string(position)[1]
        if type_code == 9:
            element, count = struct.unpack_from("<IQ", self.data, position)
            position += 12
            for _ in range(count):
                position = self.skip_value(element, position)
            return position
        return position + GGUF_SCALARS[type_code]

    def with_value(self, key, kind, value):
        """The file with metadata `key` holding `value` of GGUF type `kind` instead."""
        start = self.keys[key]
        end = self.skip_value(struct.unpack_from("<I", self.data, start)[0], start + 4)
        header = self.data[:start] + gguf_writer.gguf_value(kind, value) + self.data[end:self.infos_end]
        return GGUF(header + b"\0" * (-len(header) % 32) + self.data[self.data_start:])

    def with_infos(self, infos, extra_data=b""):
        """The file with another tensor directory (offsets relative to the data, as given)."""
        header = bytearray(self.data[:self.infos_start])
        struct.pack_into("<Q", header, 8, len(infos))
        for info in infos:
            name = info["name"].encode()
            header += struct.pack("<Q", len(name)) + name + struct.pack("<I", len(info["ne"]))
            header += struct.pack(f"<{len(info['ne'])}Q", *info["ne"]) + struct.pack("<IQ", info["type"], info["offset"])
        header += b"\0" * (-len(header) % 32)
        return bytes(header) + self.data[self.data_start:] + extra_data


# SmolLM2's ChatML template (as its GGUF carries it), with a default system prompt of our own.
CHATML = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
          "{{ '<|im_start|>system\nYou are a tiny test model<|im_end|>\n' }}{% endif %}"
          "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
          "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def gguf_files():
    base = (BASES / "gguf_tiny_llama.gguf").read_bytes()
    gguf = GGUF(base)

    def patched(file, position, fmt, value, kind, tensor=None, mentions=None):
        data = bytearray(base)
        struct.pack_into(fmt, data, position, value)
        (OUT / file).write_bytes(bytes(data))
        case(file, "checkpoint", kind, tensor, mentions)

    cut = gguf.infos[len(gguf.infos) // 2]  # the file ends 3 bytes into this tensor's data
    (OUT / "gguf_truncated.gguf").write_bytes(base[: gguf.data_start + cut["offset"] + 3])
    case("gguf_truncated.gguf", "checkpoint", "truncated", cut["name"])
    patched("gguf_tensor_count_absurd.gguf", 8, "<Q", 1 << 60, "tooLarge", mentions=["1,152,921,504,606,846,976 tensors"])
    patched("gguf_key_count_absurd.gguf", 16, "<Q", 1 << 60, "tooLarge", mentions=["1,152,921,504,606,846,976 metadata keys"])
    patched("gguf_string_length_absurd.gguf", 24, "<Q", 1 << 62, "tooLarge", mentions=["a string of 4,611,686,018,427,387,904 bytes"])
    tokens = gguf.keys["tokenizer.ggml.tokens"]
    patched("gguf_array_length_absurd.gguf", tokens + 8, "<Q", 1 << 60, "tooLarge", None,
            ["GGUF metadata 'tokenizer.ggml.tokens'", "an array of 1,152,921,504,606,846,976 elements"])
    first = gguf.infos[0]
    patched("gguf_dimension_count.gguf", first["at"], "<I", 7, "malformed", first["name"], ["7 dimensions"])
    last = gguf.infos[-1]
    patched("gguf_data_beyond_eof.gguf", last["at"] + 4 + 8, "<Q", last["ne"][1] * 4, "truncated", last["name"],
            ["needs"])

    infos = [dict(info) for info in gguf.infos]
    infos[1]["offset"], infos[2]["offset"] = infos[2]["offset"], infos[1]["offset"]
    (OUT / "gguf_offsets_out_of_order.gguf").write_bytes(gguf.with_infos(infos))
    case("gguf_offsets_out_of_order.gguf", "checkpoint", "malformed", infos[1]["name"], ["directory order"])

    # Model-level: the decoder must use every tensor and find every one it needs. The base is
    # made a complete chat model: its merge "Ġ a" names a token its vocabulary lacks, and its
    # placeholder chat template becomes SmolLM2's ChatML.
    gguf = gguf.with_value("tokenizer.ggml.merges", ("array", "string"), ["a b", "\u0120a b"])
    gguf = gguf.with_value("tokenizer.chat_template", "string", CHATML)
    (OUT / "gguf_tiny_llama.gguf").write_bytes(gguf.data)
    case("gguf_tiny_llama.gguf", "gguf-llama", None, valid=True)
    infos = [dict(info) for info in gguf.infos]
    renamed = next(info for info in infos if info["name"] == "blk.0.ffn_up.weight")
    renamed["name"] = "blk.0.ffn_upp.weight"
    (OUT / "gguf_renamed_tensor.gguf").write_bytes(gguf.with_infos(infos))
    case("gguf_renamed_tensor.gguf", "gguf-llama", "missingTensor", "blk.0.ffn_up.weight")
    end = len(gguf.data) - gguf.data_start
    extra = np.ones(32, dtype=np.float32).tobytes()
    for file, name in [("gguf_extra_layer.gguf", "blk.1.attn_norm.weight"), ("gguf_extra_tensor.gguf", "rope_freqs.weight")]:
        infos = [dict(info) for info in gguf.infos] + [{"name": name, "ne": [32], "type": 0, "offset": end}]
        (OUT / file).write_bytes(gguf.with_infos(infos, extra))
        case(file, "gguf-llama", "unexpectedTensor", name)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in OUT.iterdir():
        stale.unlink()
    model_checkpoints()
    format_checkpoints()
    safetensors_files()
    gguf_files()
    manifest = {"about": "Written by scripts/make_bad_checkpoints.py: each file, the loader that must refuse it, "
                         "the CheckpointError.Kind, the tensor or key it must name, and message fragments; "
                         "files marked valid must load.",
                "cases": CASES}
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
