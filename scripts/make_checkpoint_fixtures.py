#!/usr/bin/env python3
"""Writes the small checkpoint fixtures for Tests/CheckpointsTests.

PyTorch is not needed (its wheel is huge): the script reproduces what `torch.save` writes —
the same pickle (protocol 2, torch's globals, persistent ids for storages) and the same zip
layout (stored entries, 64-byte aligned data, data descriptors, records under a folder). Stand-in
`torch` modules make the standard pickler emit torch's global names. The expected values are
computed here with numpy and written to expected.json; the Swift tests compare against them.

Run from the repository root: python3 scripts/make_checkpoint_fixtures.py
"""
import argparse
import collections
import io
import json
import pickle
import struct
import sys
import types
import zipfile
import zlib
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "Tests" / "CheckpointsTests" / "Fixtures"

# --- stand-ins for the torch objects that torch.save pickles -------------------------------

torch_module = types.ModuleType("torch")
utils_module = types.ModuleType("torch._utils")
torch_module._utils = utils_module
sys.modules["torch"] = torch_module
sys.modules["torch._utils"] = utils_module

STORAGE_CLASSES = {}
for storage_name, dtype in [("FloatStorage", np.float32), ("HalfStorage", np.float16),
                            ("BFloat16Storage", np.uint16), ("DoubleStorage", np.float64),
                            ("LongStorage", np.int64), ("IntStorage", np.int32),
                            ("ByteStorage", np.uint8), ("BoolStorage", np.bool_)]:
    cls = type(storage_name, (), {"__module__": "torch"})
    setattr(torch_module, storage_name, cls)
    STORAGE_CLASSES[storage_name] = cls


def _global_function(module, name):
    def function(*args):
        raise RuntimeError("stand-in only")
    function.__module__ = module.__name__
    function.__name__ = function.__qualname__ = name
    setattr(module, name, function)
    return function


rebuild_tensor_v2 = _global_function(utils_module, "_rebuild_tensor_v2")
rebuild_parameter = _global_function(utils_module, "_rebuild_parameter")


class Storage:
    """A typed storage: raw little-endian bytes saved as the zip record data/<key>."""

    def __init__(self, key, storage_name, raw, numel):
        self.key, self.storage_name, self.raw, self.numel = key, storage_name, raw, numel


class Tensor:
    """Pickles like torch.Tensor: _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def __reduce_ex__(self, protocol):
        return (rebuild_tensor_v2,
                (self.storage, self.offset, self.size, self.stride, False, collections.OrderedDict()))


class Parameter:
    """Pickles like torch.nn.Parameter: _rebuild_parameter(tensor, requires_grad, hooks)."""

    def __init__(self, tensor):
        self.tensor = tensor

    def __reduce_ex__(self, protocol):
        return (rebuild_parameter, (self.tensor, True, collections.OrderedDict()))


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", STORAGE_CLASSES[obj.storage_name], obj.key, "cpu", obj.numel)
        return None


def to_bfloat16_bits(values):
    """float32 -> bfloat16 bits, rounding to nearest even like torch."""
    bits = np.asarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def bfloat16_values(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


class Builder:
    """Collects storages and the expected float32 value of every tensor view."""

    def __init__(self):
        self.storages = []
        self.expected = {}

    def storage(self, storage_name, array):
        array = np.ascontiguousarray(array)
        raw = array.astype(array.dtype.newbyteorder("<")).tobytes()
        storage = Storage(str(len(self.storages)), storage_name, raw, array.size)
        storage.array = array
        self.storages.append(storage)
        return storage

    def view(self, name, storage, offset, size, stride, as_float=None):
        values = storage.array if as_float is None else as_float
        itemsize = values.dtype.itemsize
        window = np.lib.stride_tricks.as_strided(values[offset:] if values.size else values, shape=size,
                                                 strides=[s * itemsize for s in stride])
        self.expected[name] = {"shape": list(size),
                               "values": [float(v) for v in np.asarray(window, dtype=np.float32).ravel()]}
        return Tensor(storage, offset, size, stride)


# --- the zip layout torch's writer produces ---------------------------------------------------

def torch_zip(records, zip64=False, compress=()):
    """Stored entries with 64-byte aligned data ('FB' padding extra field), local headers with
    zero sizes and flag 0x0808 followed by data descriptors, as torch.save writes them. With
    zip64, the central directory uses ZIP64 extra fields and end records like a >4 GB file."""
    out = io.BytesIO()
    central = []
    for name, data in records:
        encoded = name.encode()
        method = 8 if name in compress else 0
        payload = zlib.compress(data)[2:-4] if method else data
        crc = zlib.crc32(data)
        offset = out.tell()
        padding = (-(offset + 30 + len(encoded) + 4)) % 64
        extra = b"FB" + struct.pack("<H", padding) + b"Z" * padding
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 0, 0x0808, method, 0, 0, 0, 0, 0,
                              len(encoded), len(extra)) + encoded + extra)
        out.write(payload)
        out.write(struct.pack("<IIII", 0x08074B50, crc, len(payload), len(data)))
        central.append((encoded, method, crc, len(payload), len(data), offset))

    directory_offset = out.tell()
    for encoded, method, crc, compressed, size, offset in central:
        if zip64:
            extra = struct.pack("<HHQQQ", 0x0001, 24, size, compressed, offset)
            compressed = size = offset = 0xFFFFFFFF
        else:
            extra = b""
        out.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0, 0, 0x0808, method, 0, 0, crc,
                              compressed, size, len(encoded), len(extra), 0, 0, 0, 0, offset)
                  + encoded + extra)
    directory_size = out.tell() - directory_offset
    count = len(central)
    if zip64:
        record_offset = out.tell()
        out.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count,
                              directory_size, directory_offset))
        out.write(struct.pack("<IIQI", 0x07064B50, 0, record_offset, 1))
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0))
    else:
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, directory_size,
                              directory_offset, 0))
    return out.getvalue()


def torch_save(obj, builder, folder, path, zip64=False, byteorder=b"little", compress=()):
    pickled = io.BytesIO()
    TorchPickler(pickled, protocol=2).dump(obj)
    records = [(f"{folder}/data.pkl", pickled.getvalue()),
               (f"{folder}/.format_version", b"1"),
               (f"{folder}/.storage_alignment", b"64"),
               (f"{folder}/byteorder", byteorder)]
    records += [(f"{folder}/data/{s.key}", s.raw) for s in builder.storages]
    records += [(f"{folder}/version", b"3\n"),
                (f"{folder}/.data/serialization_id", b"0123456789012345678901234567890123456789")]
    data = torch_zip(records, zip64=zip64, compress=compress)
    path.write_bytes(data)
    # An independent reader must accept the archive and its checksums.
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert archive.read(f"{folder}/data.pkl") == pickled.getvalue()


# --- the fixtures ------------------------------------------------------------------------------

def views_checkpoint(rng):
    """Every storage type, views sharing one storage, a parameter, a scalar, an expanded and an
    empty tensor, and a non-tensor entry, in an OrderedDict with torch's _metadata attribute."""
    b = Builder()
    state = collections.OrderedDict()
    base = b.storage("FloatStorage", rng.standard_normal(12).astype(np.float32))
    state["encoder.weight"] = Parameter(b.view("encoder.weight", base, 0, (3, 4), (4, 1)))
    state["encoder.weight_t"] = b.view("encoder.weight_t", base, 0, (4, 3), (1, 4))
    state["encoder.block"] = b.view("encoder.block", base, 5, (2, 2), (4, 1))
    state["encoder.column"] = b.view("encoder.column", base, 2, (3,), (4,))

    half = np.array([0.5, -1.25, 65504.0, 2.0 ** -20, -0.0, 0.333], dtype=np.float16)
    state["half.weight"] = b.view("half.weight", b.storage("HalfStorage", half), 0, (2, 3), (3, 1))

    bf16_source = np.array([1.0, 3.14159265, -2.5e-3, 1.0e30, -7.0, 0.1], dtype=np.float32)
    bf16_bits = to_bfloat16_bits(bf16_source)
    bf16 = b.storage("BFloat16Storage", bf16_bits)
    state["bf16.bias"] = b.view("bf16.bias", bf16, 1, (5,), (1,), as_float=bfloat16_values(bf16_bits))

    double = b.storage("DoubleStorage", np.array([1.0 / 3.0, -2.0, 1e-40, 12345.678]))
    state["double.scale_t"] = b.view("double.scale_t", double, 0, (2, 2), (1, 2))
    state["long.index"] = b.view("long.index", b.storage("LongStorage", np.array([-3, 0, 7, 1 << 40])), 0, (4,), (1,))
    state["int.count"] = b.view("int.count", b.storage("IntStorage", np.array([-1, 2, 2 ** 31 - 1], dtype=np.int32)), 0, (3,), (1,))
    state["byte.pixels"] = b.view("byte.pixels", b.storage("ByteStorage", np.array([0, 1, 128, 255], dtype=np.uint8)), 0, (4,), (1,))
    state["bool.mask"] = b.view("bool.mask", b.storage("BoolStorage", np.array([True, False, True])), 0, (3,), (1,))
    state["scalar"] = b.view("scalar", b.storage("FloatStorage", np.array([42.5], dtype=np.float32)), 0, (), ())
    state["expanded"] = b.view("expanded", b.storage("FloatStorage", np.array([1, 2, 3], dtype=np.float32)), 0, (2, 3), (0, 1))
    state["empty"] = b.view("empty", b.storage("FloatStorage", np.zeros(0, dtype=np.float32)), 0, (0, 4), (4, 1))
    state["step_count"] = 3  # not a tensor: skipped by the loader
    state._metadata = collections.OrderedDict([("", {"version": 1}), ("encoder", {"version": 2})])
    return state, b


def nested_checkpoint(rng):
    """{"state_dict": ..., plus training state}, like Lightning-style checkpoints."""
    b = Builder()
    weights = collections.OrderedDict()
    weights["layer.weight"] = b.view("layer.weight", b.storage("FloatStorage", rng.standard_normal(6).astype(np.float32)), 0, (2, 3), (3, 1))
    weights["layer.bias"] = b.view("layer.bias", b.storage("HalfStorage", rng.standard_normal(2).astype(np.float16)), 0, (2,), (1,))
    moment = b.storage("FloatStorage", np.ones(6, dtype=np.float32))
    optimizer = {"state": {0: {"step": 10.0, "exp_avg": Tensor(moment, 0, (2, 3), (3, 1))}},
                 "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1], "amsgrad": False, "name": None}]}
    top = {"epoch": 7, "global_step": 1 << 40, "state_dict": weights, "optimizer": optimizer, "loss": -0.25}
    return top, b


def zip64_checkpoint(rng):
    b = Builder()
    state = collections.OrderedDict()
    state["big.weight"] = b.view("big.weight", b.storage("FloatStorage", rng.standard_normal(8).astype(np.float32)), 0, (2, 4), (4, 1))
    return state, b


def safetensors_twin(path, tensors, metadata):
    """tensors: list of (name, dtype code, little-endian array); written with the header keys in
    reverse order, so the file order is defined by the data offsets only."""
    header, chunks, offset = {}, [], 0
    for name, code, array in tensors:
        raw = np.ascontiguousarray(array).tobytes()
        header[name] = {"dtype": code, "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    ordered = {"__metadata__": metadata}
    for name in reversed(list(header)):
        ordered[name] = header[name]
    text = json.dumps(ordered).encode()
    text += b" " * ((-len(text)) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def png_bytes():
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


# --- spot values of the real parity checkpoints, decoded by Python's own unpickler ----------

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
REAL_CHECKPOINTS = ["parity/sam-small/weights.pth", "parity/efficientsam-vitt/weights.pt"]
NUMPY_TYPES = {"FloatStorage": np.float32, "HalfStorage": np.float16, "DoubleStorage": np.float64,
               "LongStorage": np.int64, "IntStorage": np.int32, "ByteStorage": np.uint8, "BoolStorage": np.bool_}


class ReferenceUnpickler(pickle.Unpickler):
    def __init__(self, data, archive, prefix):
        super().__init__(io.BytesIO(data))
        self.archive, self.prefix = archive, prefix

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return lambda storage, offset, size, stride, *rest: np.lib.stride_tricks.as_strided(
                storage[offset:], shape=size, strides=[s * storage.itemsize for s in stride]).astype(np.float32)
        if module == "torch" and name in NUMPY_TYPES:
            return NUMPY_TYPES[name]
        raise pickle.UnpicklingError(f"unexpected global {module}.{name}")

    def persistent_load(self, pid):
        _, dtype, key, _, numel = pid
        return np.frombuffer(self.archive.read(f"{self.prefix}data/{key}"), dtype=dtype)[:numel]


def reference_spot_values(path):
    """Shape, first four values, last value and float64 sum of every 25th tensor (and the last)."""
    with zipfile.ZipFile(path) as archive:
        pickle_name = next(n for n in archive.namelist() if n.endswith("/data.pkl"))
        prefix = pickle_name[: -len("data.pkl")]
        top = ReferenceUnpickler(archive.read(pickle_name), archive, prefix).load()
    state = top["model"] if "model" in top else top
    names = list(state)
    chosen = sorted(set(names[::25] + [names[-1]]), key=names.index)
    return {"tensor_count": len(names), "parameter_count": int(sum(state[n].size for n in names)),
            "tensors": {n: {"shape": list(state[n].shape),
                            "head": [float(v) for v in state[n].ravel()[:4]],
                            "last": float(state[n].ravel()[-1]),
                            "sum": float(np.sum(state[n], dtype=np.float64))} for n in chosen}}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(20240611)
    expected = {}

    state, builder = views_checkpoint(rng)
    torch_save(state, builder, "views", OUT / "views.pth")
    expected["views.pth"] = {"keys": list(builder.expected), "tensors": builder.expected}

    top, builder = nested_checkpoint(rng)
    torch_save(top, builder, "archive", OUT / "nested.pt")
    expected["nested.pt"] = {"keys": list(builder.expected), "tensors": builder.expected}

    state, builder = zip64_checkpoint(rng)
    torch_save(state, builder, "big_model", OUT / "zip64.pth", zip64=True)
    expected["zip64.pth"] = {"keys": list(builder.expected), "tensors": builder.expected}

    f32 = rng.standard_normal((2, 3)).astype(np.float32)
    f16 = np.array([1.5, -0.0001, 2048.0], dtype=np.float16)
    bf16_bits = to_bfloat16_bits([0.1, -300.7, 5.5, 1e-20])
    twin = [("a.f32", "F32", f32, f32), ("b.f16", "F16", f16, f16), ("c.bf16", "BF16", bf16_bits, bfloat16_values(bf16_bits)),
            ("d.f64", "F64", np.array([[0.1], [-1e10]]), np.array([[0.1], [-1e10]])),
            ("e.i64", "I64", np.array([-5, 1 << 33]), np.array([-5, 1 << 33])),
            ("f.i32", "I32", np.array([7, -8], dtype=np.int32), np.array([7, -8])),
            ("g.u8", "U8", np.array([3, 250], dtype=np.uint8), np.array([3, 250]))]
    safetensors_twin(OUT / "twin.safetensors", [(n, c, a.astype(a.dtype.newbyteorder("<"))) for n, c, a, _ in twin],
                     {"format": "pt"})
    expected["twin.safetensors"] = {
        "keys": [n for n, *_ in twin],
        "tensors": {n: {"shape": list(a.shape), "values": [float(v) for v in np.asarray(e, dtype=np.float32).ravel()]}
                    for n, _, a, e in twin}}

    # Broken inputs, each for one error path.
    safetensors_twin(OUT / "past_end.safetensors", [("w", "F32", np.zeros(4, dtype=np.float32))], {})
    data = bytearray((OUT / "past_end.safetensors").read_bytes())
    (OUT / "past_end.safetensors").write_bytes(bytes(data[:-4]))  # header still promises 16 bytes

    state, builder = zip64_checkpoint(np.random.RandomState(1))
    torch_save(state, builder, "archive", OUT / "compressed.pth", compress={"archive/data.pkl"})
    torch_save(state, builder, "archive", OUT / "big_endian.pth", byteorder=b"big")
    builder.storages[0].raw = builder.storages[0].raw[:12]  # 8 float32 promised, 3 stored
    torch_save(state, builder, "archive", OUT / "short_storage.pth")

    builder = Builder()
    tensor = builder.view("w", builder.storage("FloatStorage", np.ones(2, dtype=np.float32)), 0, (2,), (1,))
    torch_save({"model": {"w": tensor}, "args": argparse.Namespace(lr=0.1)}, builder, "archive",
               OUT / "unknown_global.pth")

    (OUT / "no_pickle.zip").write_bytes(torch_zip([("archive/data/0", b"\0" * 8), ("archive/version", b"3\n")]))
    (OUT / "image.png").write_bytes(png_bytes())
    for relative in REAL_CHECKPOINTS:
        if (SHARED / relative).exists():
            expected[relative] = reference_spot_values(SHARED / relative)
        else:
            print(f"warning: ../shared/{relative} is absent; its spot values are not written", file=sys.stderr)
    (OUT / "expected.json").write_text(json.dumps(expected, separators=(",", ":"), sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
