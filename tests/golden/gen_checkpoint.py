#!/usr/bin/python3
# tests/golden/gen_checkpoint.py — writes tests/golden/torch_linear_embedding.safetensors with
# scripts/interop/torch_to_recur.py from a torch module (run once, committed; tests need no torch).
#
#   /usr/bin/python3 tests/golden/gen_checkpoint.py   (Debian's python3-torch)
#
# The weights are set by formulas the spec writes out again, so it checks values, not bytes:
#   linear.weight[i][j] = (3 i + j) / 4 - 1      (2, 3)
#   linear.bias         = [0.5, -1.5]            (2)
#   embedding.weight[i][j] = i + j / 4           (4, 3), padding_idx 0 (row 0 is what torch
#                                                 made it: zeros; overwritten by the formula)
#   counter             = [3, -7, 2^40 + 1]      int64, beyond float32's exact range
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts", "interop"))
from torch_to_recur import save_recur  # noqa: E402

assert torch.__version__.startswith("1.13"), torch.__version__


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(4, 3, padding_idx=0)
        self.linear = torch.nn.Linear(3, 2)


model = Model()
with torch.no_grad():
    for i in range(2):
        for j in range(3):
            model.linear.weight[i, j] = (3 * i + j) / 4 - 1
    model.linear.bias.copy_(torch.tensor([0.5, -1.5]))
    for i in range(4):
        for j in range(3):
            model.embedding.weight[i, j] = i + j / 4
sd = model.state_dict()
sd["counter"] = torch.tensor([3, -7, 2 ** 40 + 1])
save_recur(sd, os.path.join(HERE, "torch_linear_embedding.safetensors"),
           {"source": "torch " + torch.__version__ + ", tests/golden/gen_checkpoint.py"})
print("wrote", ", ".join(f"{k} {tuple(v.shape)}" for k, v in sd.items()))
