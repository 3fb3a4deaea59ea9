#!/usr/bin/python3
# scripts/interop/torch_to_recur.py — writes a PyTorch state_dict as a safetensors file that
# recur.load reads; needs only torch (the format is written here, no `safetensors` package).
"""Export a PyTorch state_dict for recur.

    torch_to_recur.py model.pt model.safetensors          # a torch.save'd state_dict
    torch_to_recur.py ckpt.pt out.safetensors --key model # the state_dict under ckpt["model"]

then in Lua:  model:load_state_dict(recur.load("model.safetensors"))

From Python:  from torch_to_recur import save_recur; save_recur(model.state_dict(), path)

recur computes in float32 and indexes in int64: floating tensors are written as F32 and
integer/bool ones as I64. Parameter names are kept as they are; recur's layers use PyTorch's.
"""
import argparse
import collections
import json
import os
import sys

import torch

assert sys.byteorder == "little", "safetensors data is little-endian; this writes memory as is"


def recur_tensor(name, t):
    """t as a contiguous CPU tensor of a dtype recur reads (float32 or int64)."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name}: expected a tensor, got {type(t).__name__}")
    if t.is_complex():
        raise TypeError(f"{name}: complex tensors have no recur dtype")
    t = t.detach().cpu()
    t = t.to(torch.float32) if t.is_floating_point() else t.to(torch.int64)
    return t.contiguous()


def save_recur(state_dict, path, metadata=None):
    """Write name -> tensor (and optional str -> str metadata) to path as safetensors, the way
    recur does: int64 tensors first, then float32, each sorted by name; header padded with
    spaces to 8 bytes; atomic (temp file, fsync, rename)."""
    tensors = [(name, recur_tensor(name, t)) for name, t in state_dict.items()]
    tensors.sort(key=lambda nt: (nt[1].dtype != torch.int64, nt[0]))
    header, offset = {}, 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in tensors:
        nbytes = t.numel() * t.element_size()
        header[name] = {"dtype": "I64" if t.dtype == torch.int64 else "F32",
                        "shape": list(t.shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = f"{path}.tmp-{os.getpid()}-0"
    try:
        with open(tmp, "wb") as f:
            f.write(len(text).to_bytes(8, "little"))
            f.write(text)
            for _, t in tensors:
                f.write(t.numpy().tobytes())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def state_dict_of(obj, key=None):
    """The name -> tensor mapping inside what torch.load returned."""
    if key is not None:
        obj = obj[key]
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if not isinstance(obj, dict):
        raise TypeError(f"expected a state_dict (a dict of tensors), got {type(obj).__name__}; "
                        "use --key to pick it out of a larger checkpoint")
    bad = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise TypeError(f"not a state_dict: entries {bad[:5]} are not tensors (use --key)")
    return collections.OrderedDict(obj)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Write a PyTorch state_dict (a file made by torch.save) as safetensors for "
                    "recur.load.")
    parser.add_argument("input", help="a torch.save'd state_dict, module or checkpoint dict")
    parser.add_argument("output", help="the .safetensors file to write")
    parser.add_argument("--key", help="take the state_dict from this key of a checkpoint dict")
    parser.add_argument("--metadata", action="append", default=[], metavar="KEY=VALUE",
                        help="a string pair for the file's __metadata__ (repeatable)")
    args = parser.parse_args(argv)
    for m in args.metadata:
        if "=" not in m:
            parser.error(f"--metadata {m!r}: expected KEY=VALUE")
    metadata = dict(m.split("=", 1) for m in args.metadata)
    sd = state_dict_of(torch.load(args.input, map_location="cpu"), args.key)
    save_recur(sd, args.output, metadata)
    for name, t in sd.items():
        print(f"{name}: {tuple(t.shape)} {t.dtype}")
    print(f"wrote {len(sd)} tensors to {args.output}")


if __name__ == "__main__":
    main()
