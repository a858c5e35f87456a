#!/usr/bin/env python3
"""Writes the bad-input artifact corpus: Tests/Fixtures/bad-input/artifacts/*.h5.

Each file is a small vlsam artifact (embedding, prompts, masks or attention; docs/artifacts.md)
with exactly one thing wrong: the wrong kind, a newer schema version, no schema, a missing dataset
or attribute, a wrong shape, rank or dtype, a NaN or infinity where values must be finite, a
point outside the image or a reversed box, an absurd announced size (an image of 10^10 pixels, a
dataset of terabytes that the file does not hold: chunked storage is allocated lazily, so the file
stays a few kilobytes), a truncated file, zero bytes, garbage. `*.good.h5` files are the valid
layouts the others are derived from, so a test can show that the one defect is what is refused.

The Swift tests (Tests/ArtifactsTests/BadArtifactCorpusTests.swift, Tests/CLITests/
BadArtifactCLITests.swift) hold the error each file must give, written out by hand.

Setup: pip install h5py numpy (made with h5py 3.16, numpy 2). Run from anywhere:
python3 scripts/make_bad_artifacts.py. The output is deterministic (h5py records no times unless
asked, the garbage comes from a fixed LCG); files of the folder it did not write are removed.
"""
import os

import h5py
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "bad-input", "artifacts")
HEX_AB = "ab" * 32
written = []
os.makedirs(OUT, exist_ok=True)


def path(name):
    written.append(name)
    return os.path.join(OUT, name)


def provenance(f, schema, producer):
    f.attrs["schema"] = schema
    f.attrs["schema_version"] = np.int64(1)
    for key, value in [("producer", producer), ("producer_version", "0.1.0"), ("created_utc", "2026-12-05T00:00:00Z"),
                       ("model_name", "efficientsam_vitt"), ("checkpoint_path", "weights.pt"),
                       ("checkpoint_sha256", HEX_AB), ("source_image", ""), ("source_image_sha256", ""),
                       ("parameters", "{}")]:
        f.attrs[key] = value
    f.attrs["random_weights"] = np.int64(0)


def size(f, name, height, width):
    f.attrs[name] = np.array([height, width], dtype=np.int64)


# --- vlsam.embedding (a 120 x 180 photo; zeros compress to almost nothing) ---

def embedding(name, schema="vlsam.embedding", version=1, values="zeros", shape=(256, 64, 64), dtype=np.float32,
              original=(120, 180), skip=()):
    with h5py.File(path(name), "w") as f:
        provenance(f, schema or "", "vlsam-encode")
        if schema is None:
            del f.attrs["schema"]
        f.attrs["schema_version"] = np.int64(version)
        f.attrs["model_family"] = "efficientsam"
        if "original_size" not in skip:
            size(f, "original_size", *original)
        size(f, "input_size", 1024, 1024)
        f.attrs["model_input_size"] = np.int64(1024)
        f.attrs["resize"] = "stretch_bilinear_torch"
        f.attrs["pixel_mean"] = np.array([0.485, 0.456, 0.406])
        f.attrs["pixel_std"] = np.array([0.229, 0.224, 0.225])
        f.attrs["pixel_scale"] = "0..1"
        if "image_embedding" in skip:
            return
        data = np.zeros(shape, dtype=dtype)
        if values == "nan":
            data[3, 10, 20] = np.nan
        chunks = (16,) + tuple(shape[1:]) if len(shape) == 3 else True
        f.create_dataset("image_embedding", data=data, chunks=chunks, compression="gzip", compression_opts=9)


embedding("embedding.good.h5")
embedding("embedding.wrong_kind.h5", schema="vlsam.masks")
embedding("embedding.no_schema.h5", schema=None)
embedding("embedding.newer_version.h5", version=7)
embedding("embedding.missing_dataset.h5", skip=("image_embedding",))
embedding("embedding.missing_attribute.h5", skip=("original_size",))
embedding("embedding.wrong_shape.h5", shape=(256, 32, 32))
embedding("embedding.wrong_rank.h5", shape=(256, 4096))
embedding("embedding.wrong_dtype.h5", dtype=np.int16)
embedding("embedding.nan.h5", values="nan")
embedding("embedding.absurd_size.h5", original=(100000, 100000))

with open(os.path.join(OUT, "embedding.good.h5"), "rb") as good:
    whole = good.read()
with open(path("embedding.truncated.h5"), "wb") as f:
    f.write(whole[: len(whole) // 2])
with open(path("empty.h5"), "wb"):
    pass
with open(path("garbage.h5"), "wb") as f:
    state, noise = 12345, bytearray()
    for _ in range(4096):
        state = (1103515245 * state + 12345) % 2**31
        noise.append(state >> 23)
    f.write(bytes(noise))


# --- vlsam.prompts (a 100 x 150 photo; two sets, "cat" and "dog") ---

def prompts(name, points=((10.0, 20.0), (30.0, 5.0), (12.0, 5.0)), labels=(1, 0, 1), offsets=(0, 2, 3),
            boxes=((0, 0, 0, 0), (0, 0, 0, 0)), has_box=(0, 0), labels_dtype=np.int32, points_as_strings=False,
            absurd_points=None, mask_input=None):
    with h5py.File(path(name), "w") as f:
        provenance(f, "vlsam.prompts", "vlsam-points")
        size(f, "original_size", 100, 150)
        if absurd_points:
            f.create_dataset("points", shape=(absurd_points, 2), dtype=np.float32, chunks=(4096, 2))
            f.create_dataset("point_labels", shape=(absurd_points,), dtype=np.int32, chunks=(4096,))
        elif points_as_strings:
            f["points"] = np.array([[str(v) for v in p] for p in points], dtype=object).astype(h5py.string_dtype())
            f["point_labels"] = np.array(labels, dtype=labels_dtype)
        else:
            f["points"] = np.array(points, dtype=np.float32).reshape(-1, 2)
            f["point_labels"] = np.array(labels, dtype=labels_dtype)
        f["set_point_offsets"] = np.array(offsets, dtype=np.int32)
        f["boxes"] = np.array(boxes, dtype=np.float32)
        f["has_box"] = np.array(has_box, dtype=np.uint8)
        f["set_names"] = np.array(["cat", "dog"], dtype=h5py.string_dtype())
        f["localised"] = np.ones(2, dtype=np.uint8)
        if mask_input is not None:
            f.create_dataset("mask_inputs", data=mask_input, compression="gzip", compression_opts=9)
            f["has_mask_input"] = np.array([1, 0], dtype=np.uint8)


prompts("prompts.good.h5")
prompts("prompts.nan_point.h5", points=((10.0, 20.0), (30.0, 5.0), (np.nan, 5.0)))
prompts("prompts.point_outside.h5", points=((10.0, 20.0), (200.0, 5.0), (12.0, 5.0)))
prompts("prompts.reversed_box.h5", boxes=((40, 10, 20, 30), (0, 0, 0, 0)), has_box=(1, 0))
prompts("prompts.labels_as_floats.h5", labels_dtype=np.float32)
prompts("prompts.points_as_strings.h5", points_as_strings=True)
prompts("prompts.absurd_points.h5", absurd_points=2**40, offsets=(0, 0, 0))
logits = np.zeros((2, 256, 256), dtype=np.float32)
logits[0, 3, 4] = -np.inf
prompts("prompts.inf_mask_input.h5", mask_input=logits)


# --- vlsam.masks (a 20 x 30 photo; two sets, three masks) ---

def masks(name, count=3, mask_dims=(20, 30), nan_logit=False, absurd_count=None):
    with h5py.File(path(name), "w") as f:
        provenance(f, "vlsam.masks", "vlsam-decode")
        size(f, "original_size", 20, 30)
        f.attrs["multimask"] = np.int64(0)
        f.attrs["mask_threshold"] = 0.0
        f.attrs["threshold_rule"] = ">="
        f.attrs["embedding_file"] = "photo.embedding.h5"
        f.attrs["embedding_sha256"] = HEX_AB
        f.attrs["model_family"] = "efficientsam"
        if absurd_count:
            count = absurd_count
            f.create_dataset("masks", shape=(count,) + mask_dims, dtype=np.uint8, chunks=(1,) + mask_dims)
            f.create_dataset("lowres_logits", shape=(count, 256, 256), dtype=np.float32, chunks=(1, 256, 256))
            for dataset, dtype in [("iou_predictions", np.float32), ("stability_scores", np.float32),
                                   ("prompt_set", np.int32), ("mask_index", np.int32)]:
                f.create_dataset(dataset, shape=(count,), dtype=dtype, chunks=(4096,))
        else:
            f.create_dataset("masks", data=np.zeros((count,) + mask_dims, dtype=np.uint8), compression="gzip")
            lowres = np.zeros((count, 256, 256), dtype=np.float32)
            if nan_logit:
                lowres[1, 2, 3] = np.nan
            f.create_dataset("lowres_logits", data=lowres, compression="gzip")
            f["iou_predictions"] = np.full(count, 0.5, dtype=np.float32)
            f["stability_scores"] = np.full(count, 0.9, dtype=np.float32)
            f["prompt_set"] = np.array([0, 1, 1], dtype=np.int32)[:count]
            f["mask_index"] = np.zeros(count, dtype=np.int32)
        f["set_names"] = np.array(["cat", "dog"], dtype=h5py.string_dtype())
        f["set_skipped"] = np.zeros(2, dtype=np.uint8)


masks("masks.good.h5")
masks("masks.nan_logits.h5", nan_logit=True)
masks("masks.dims_disagree.h5", mask_dims=(20, 31))
masks("masks.absurd_count.h5", absurd_count=10**8)


# --- vlsam.attention (a 40 x 60 photo; "cat" and "dog", 8 x 8 maps, 64 image tokens, 2 layers x 3 heads) ---

def attention(name, schema="vlsam.attention", nan_map=False, map_shape=(2, 8, 8), skip=()):
    with h5py.File(path(name), "w") as f:
        provenance(f, schema, "vlsam-attend")
        size(f, "original_size", 40, 60)
        f.attrs["map_rect"] = np.array([0.0, 0.0, 60.0, 40.0])
        f.attrs["objects_file"] = "photo.objects.h5"
        f.attrs["objects_sha256"] = HEX_AB
        for key, value in [("flow", "rollout"), ("regularization", "column"), ("query", "both"), ("tiles", "both")]:
            f.attrs[key] = value
        f.attrs["alpha"] = 0.9
        f["object_names"] = np.array(["cat", "dog"], dtype=h5py.string_dtype())
        if map_shape == (2, 8, 8):
            maps = (np.arange(128, dtype=np.float32) % 64 / 63).reshape(2, 8, 8)
            if nan_map:
                maps[1, 0, 5] = np.nan
            f["maps"] = maps
        else:
            f.create_dataset("maps", shape=map_shape, dtype=np.float32, chunks=(1, 1000, 1000))
        f["token_vectors"] = np.full((2, 64), 1 / 64, dtype=np.float32)
        if "head_weights" not in skip:
            f["head_weights"] = np.full((2, 3), 0.5, dtype=np.float32)
        f["object_row_offsets"] = np.array([0, 1, 2], dtype=np.int32)
        f["object_rows"] = np.array([70, 71], dtype=np.int64)


attention("attention.good.h5")
attention("attention.wrong_kind.h5", schema="vlsam.embedding")
attention("attention.nan_map.h5", nan_map=True)
attention("attention.missing_dataset.h5", skip=("head_weights",))
attention("attention.absurd_map.h5", map_shape=(2, 100000, 100000))

for name in sorted(os.listdir(OUT)):
    if name not in written:
        os.remove(os.path.join(OUT, name))
print(f"{len(written)} files in {os.path.normpath(OUT)}")
