#!/usr/bin/env python3
"""Writes the checkpoint inputs of Tests/Fixtures/fuzz-regressions/checkpoint, the two crashes
found while writing the fuzz harness (both fixed; FuzzRegressionTests requires an error):
- tuple-nested-60000-deep.pth: data.pkl is an empty tuple wrapped 60,000 times (TUPLE1), which
  overflowed the stack when freed; now refused by the nesting cap.
- empty-view-overflowing-strides.pth: "empty" is a view of size (0, 2**62) with strides
  (2, 2**62), whose stride product trapped on overflow; a second tensor, "damaged", has a wrong
  zip CRC, so loading fails only after the empty view was materialised.
Pickles are assembled opcode by opcode (protocol 2, as torch.save writes). Deterministic: fixed
zip timestamps, stored entries. Usage: python3 scripts/make_fuzz_regressions.py"""
import struct
import zipfile
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "Tests/Fixtures/fuzz-regressions/checkpoint"
STAMP = (2026, 12, 5, 0, 0, 0)


def text(s):  # BINUNICODE
    data = s.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def long1(v):  # LONG1, little-endian two's complement
    data = v.to_bytes((v.bit_length() + 8) // 8 or 1, "little", signed=True)
    return b"\x8a" + bytes([len(data)]) + data


def tensor(storage, size, stride):
    """torch._utils._rebuild_tensor_v2((storage, 'FloatStorage', key, 'cpu', 1), 0, size, stride, False, None)."""
    persistent = b"(" + text("storage") + b"ctorch\nFloatStorage\n" + text(storage) + text("cpu") + b"K\x01tQ"
    return (b"ctorch._utils\n_rebuild_tensor_v2\n(" + persistent + b"K\x00"
            + b"(" + b"".join(map(long1, size)) + b"t" + b"(" + b"".join(map(long1, stride)) + b"t" + b"\x89Nt" + b"R")


def write(name, entries, wrong_crc=None):
    path = OUT / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for entry, data in entries:
            archive.writestr(zipfile.ZipInfo(f"archive/{entry}", STAMP), data)
    if wrong_crc:
        raw = bytearray(path.read_bytes())
        data = dict(entries)[wrong_crc]
        good, bad = struct.pack("<I", zlib.crc32(data)), struct.pack("<I", zlib.crc32(data) ^ 0x2F58380C)
        assert raw.count(good) == 2, "the CRC must appear once in the local header and once in the directory"
        path.write_bytes(bytes(raw.replace(good, bad)))
    print(f"{path.name}: {path.stat().st_size} bytes")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    write("tuple-nested-60000-deep.pth", [("data.pkl", b"\x80\x02)" + b"\x85" * 60000 + b"."), ("byteorder", b"little")])
    pickle = (b"\x80\x02}(" + text("empty") + tensor("0", [0, 2**62], [2, 2**62])
              + text("damaged") + tensor("1", [1], [1]) + b"u.")
    write("empty-view-overflowing-strides.pth",
          [("data.pkl", pickle), ("byteorder", b"little"), ("data/0", b"\0\0\0\0"), ("data/1", struct.pack("<f", 1.0))],
          wrong_crc="data/1")


if __name__ == "__main__":
    main()
