"""Writes h5py_types.h5 (the storage variants h5py/numpy produce, for HDF5File's reading tests) and two
h5py_track_order files for the structure check (h5py_track_order.h5, h5py_dense_attributes.h5).

Run from this folder (Tests/Fixtures/artifacts): python3 make_h5py_fixture.py  (needs h5py + numpy; the output is committed).
The expected values below are repeated literally in Tests/ArtifactsTests/HDF5ReadingTests.swift.
"""
import h5py
import numpy as np

with h5py.File("h5py_types.h5", "w") as f:
    f.attrs["title"] = "fixture"                                  # variable-length UTF-8 str
    f.attrs["fixed"] = np.bytes_("abc")                           # fixed-length ASCII, NULL-padded
    f.attrs["count"] = np.int64(42)
    f.attrs["small"] = np.int16(-7)
    f.attrs["flag_true"] = np.True_                               # HDF5 enum over int8
    f.attrs["flag_false"] = False
    f.attrs["ratio"] = 0.25
    f.attrs["hw"] = np.array([1200, 1800], dtype=np.int32)
    f.attrs["mean"] = np.array([0.5, 0.25, 0.125], dtype=np.float32)
    f.attrs["huge"] = np.uint64(2**63 + 5)                        # does not fit Int64

    f["f32"] = np.arange(6, dtype=np.float32).reshape(2, 3) / 4
    f["f64"] = np.array([1.5, -2.25], dtype=np.float64)
    f["i16"] = np.array([[-3, 4]], dtype=np.int16)
    f["u8"] = np.array([0, 1, 255], dtype=np.uint8)
    f["i64_big"] = np.array([1, 2**40], dtype=np.int64)           # does not fit Int32
    f["scalar"] = np.float32(3.5)
    f["bools"] = np.array([True, False, True])
    f["vlen_strings"] = np.array(["a", "héllo", ""], dtype=object)
    f["fixed_strings"] = np.array([b"ab", b"cde"], dtype="S4")
    f["text"] = "one string"                                       # scalar variable-length str
    f.create_dataset("empty", shape=(0, 2), dtype=np.float32)
    f["nested/group/values"] = np.array([7, 8], dtype=np.int32)
    f["nested/group/values"].attrs["layout"] = "N"
    f["compound"] = np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")])

    spaced = h5py.h5t.C_S1.copy()                                  # fixed-length, SPACE-padded (Fortran style)
    spaced.set_size(6)
    spaced.set_strpad(h5py.h5t.STR_SPACEPAD)
    attribute = h5py.h5a.create(f.id, b"spaced", spaced, h5py.h5s.create(h5py.h5s.SCALAR))
    attribute.write(np.array(b"pad   ", dtype="S6"))

# h5py's track_order: a version 2 object header for the root with its links and attributes
# compact in the header (as in the vlsam-attention parity bundle), which the structure check accepts.
with h5py.File("h5py_track_order.h5", "w", track_order=True) as f:
    f.attrs["title"] = "ordered"
    f["values"] = np.array([1, 2, 3], dtype=np.int32)
    f["names/list"] = np.array(["b", "a"], dtype=object)

# More attributes than fit compact in a track_order group: dense attribute storage (a fractal
# heap), which vlsam never writes and the structure check refuses.
with h5py.File("h5py_dense_attributes.h5", "w", track_order=True) as f:
    for index in range(12):
        f.attrs[f"attribute{index}"] = index
