#!/usr/bin/python3
# scripts/interop/recur_to_torch.py — reads a recur safetensors file (recur.save or a training
# checkpoint) into a PyTorch state_dict; needs only torch (the format is read here, checked).
"""Load recur weights into PyTorch.

    recur_to_torch.py run.safetensors                    # list tensors and metadata
    recur_to_torch.py run.safetensors --out model.pt     # torch.save the state_dict

From Python:

    from recur_to_torch import load_recur
    state_dict, metadata = load_recur("run.safetensors")
    model.load_state_dict(state_dict)        # recur's names are PyTorch's

A training checkpoint (recur.save_checkpoint) holds the model under "model.<name>" next to the
optimizer's state: load_recur then returns the model's tensors with the prefix removed.
"""
import argparse
import collections
import json
import sys

import torch

DTYPES = {"F32": (torch.float32, 4), "I64": (torch.int64, 8)}
MAX_HEADER = 100_000_000

assert sys.byteorder == "little", "safetensors data is little-endian; this reads memory as is"


def read_safetensors(path):
    """All tensors (name -> tensor, header order) and the __metadata__ dict of a file; every
    size is checked before it is used, and the tensors must tile the data exactly."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: {len(blob)} bytes, too short for the header length")
    n = int.from_bytes(blob[:8], "little")
    if n > MAX_HEADER or n > len(blob) - 8:
        raise ValueError(f"{path}: header length {n} runs past the end of the file")
    header = json.loads(blob[8:8 + n].decode("utf-8"),
                        object_pairs_hook=collections.OrderedDict)
    if not isinstance(header, dict):
        raise ValueError(f"{path}: the header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    data = memoryview(blob)[8 + n:]
    tensors, spans = collections.OrderedDict(), []
    for name, e in header.items():
        if e.get("dtype") not in DTYPES:
            raise ValueError(f"{path}: tensor {name!r} has dtype {e.get('dtype')!r}")
        dtype, size = DTYPES[e["dtype"]]
        shape, (begin, end) = e["shape"], e["data_offsets"]
        numel = 1
        for s in shape:
            numel *= s
        if not 0 <= begin <= end <= len(data) or end - begin != numel * size:
            raise ValueError(f"{path}: tensor {name!r}: data_offsets {[begin, end]} do not fit "
                             f"shape {shape} or the data ({len(data)} bytes)")
        spans.append((begin, end, name))
        flat = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype) if numel else \
            torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(shape)
    at = 0
    for begin, end, name in sorted(spans):
        if begin != at:
            raise ValueError(f"{path}: tensor {name!r} starts at {begin}, expected {at}")
        at = end
    if at != len(data):
        raise ValueError(f"{path}: {len(data) - at} bytes after the last tensor")
    return tensors, metadata


def load_recur(path, prefix=None):
    """(state_dict, metadata) of a recur file. For a training checkpoint the prefix defaults
    to "model." (the model's tensors, prefix removed); pass prefix="" to get every tensor."""
    tensors, metadata = read_safetensors(path)
    if prefix is None:
        prefix = "model." if "recur_checkpoint_version" in metadata else ""
    sd = collections.OrderedDict(
        (name[len(prefix):], t) for name, t in tensors.items() if name.startswith(prefix))
    return sd, metadata


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Read a recur safetensors file (recur.save or recur.save_checkpoint) as a "
                    "PyTorch state_dict.")
    parser.add_argument("input", help="the .safetensors file recur wrote")
    parser.add_argument("--out", help="torch.save the state_dict to this file")
    parser.add_argument("--prefix", help="keep tensors whose names start with this, prefix "
                        "removed (default: 'model.' for checkpoints, '' otherwise)")
    args = parser.parse_args(argv)
    sd, metadata = load_recur(args.input, args.prefix)
    for name, t in sd.items():
        print(f"{name}: {tuple(t.shape)} {t.dtype}")
    for key, value in metadata.items():
        print(f"metadata {key}: {value if len(value) <= 200 else value[:200] + '...'}")
    if args.out:
        torch.save(sd, args.out)
        print(f"saved {len(sd)} tensors to {args.out}")


if __name__ == "__main__":
    main()
