#!/usr/bin/python3
# tests/golden/gen_optim.py — writes tests/golden/optim.lua: what PyTorch 1.13 computes for the
# optimizers, clip_grad_norm and the lr schedulers on small fixed inputs (run once, committed).
#
#   /usr/bin/python3 tests/golden/gen_optim.py   (Debian's python3-torch; tests never need it)
import math
import os

import torch

torch.set_num_threads(1)
assert torch.__version__.startswith("1.13"), torch.__version__

P0 = [[0.5, -1.25, 2.0], [-0.75, 1.5, 0.1]]
# Gradients for steps 1..4; they shrink, so amsgrad's running maximum matters.
GRADS = [
    [[0.9, -0.4, 0.3], [-1.2, 0.05, 0.7]],
    [[0.2, 0.6, -0.5], [0.3, -0.8, 0.1]],
    [[-0.1, 0.05, 0.2], [0.15, 0.1, -0.25]],
    [[0.05, -0.02, 0.01], [-0.03, 0.04, 0.02]],
]

# name, class, options (PyTorch names; recur takes the same table)
OPTIMIZERS = [
    ("sgd_nesterov", "SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("sgd_dampening_maximize", "SGD", dict(lr=0.1, momentum=0.8, dampening=0.3, maximize=True)),
    ("sgd_plain", "SGD", dict(lr=0.05)),
    ("adam", "Adam", dict(lr=0.01)),
    ("adam_amsgrad_l2", "Adam",
     dict(lr=0.01, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1, amsgrad=True)),
    ("adamw", "AdamW", dict(lr=0.01, weight_decay=0.1)),
    ("adamw_amsgrad_maximize", "AdamW", dict(lr=0.01, amsgrad=True, maximize=True)),
    ("rmsprop", "RMSprop", dict(lr=0.01)),
    ("rmsprop_centered_momentum", "RMSprop",
     dict(lr=0.01, alpha=0.9, eps=1e-6, momentum=0.5, centered=True, weight_decay=0.1)),
    ("adagrad", "Adagrad",
     dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1)),
]


def lua(v, indent=""):
    """A Lua literal for v: dicts with string keys, lists, numbers, booleans, strings."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isinf(v):
            return "math.huge" if v > 0 else "-math.huge"
        return repr(v)
    if isinstance(v, str):
        return '"' + v + '"'
    if isinstance(v, (list, tuple)):
        if all(not isinstance(x, (dict, list, tuple)) for x in v):
            return "{" + ", ".join(lua(x) for x in v) + "}"
        inner = indent + "  "
        return "{\n" + "".join(inner + lua(x, inner) + ",\n" for x in v) + indent + "}"
    if isinstance(v, dict):
        inner = indent + "  "
        return "{\n" + "".join(inner + k + " = " + lua(v[k], inner) + ",\n"
                               for k in sorted(v)) + indent + "}"
    raise TypeError(type(v))


def run_optimizer(cls_name, options):
    p = torch.tensor(P0, dtype=torch.float32, requires_grad=True)
    opt = getattr(torch.optim, cls_name)([p], foreach=False, **options)
    after = []
    for g in GRADS:
        p.grad = torch.tensor(g, dtype=torch.float32)
        opt.step()
        after.append(p.detach().tolist())
    state = {k: (v.tolist() if k != "step" else int(v)) for k, v in opt.state[p].items()
             if v is not None}
    return after, state


def optimizers():
    out = []
    for name, cls_name, options in OPTIMIZERS:
        after, state = run_optimizer(cls_name, options)
        out.append(dict(name=name, class_name=cls_name,
                        options={k: (list(v) if isinstance(v, tuple) else v)
                                 for k, v in options.items()},
                        params=after, state=state))
    return out


def groups():
    """Two parameter groups: the second overrides lr and momentum."""
    a = torch.tensor(P0[0], requires_grad=True)
    b = torch.tensor(P0[1], requires_grad=True)
    opt = torch.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.01, "momentum": 0.5}],
                          lr=0.1, momentum=0.9, foreach=False)
    for g in GRADS[:3]:
        a.grad = torch.tensor(g[0])
        b.grad = torch.tensor(g[1])
        opt.step()
    return dict(a=a.detach().tolist(), b=b.detach().tolist())


def clipping():
    cases = []
    for max_norm, norm_type in [(1.0, 2.0), (0.5, 1.0), (0.3, math.inf), (10.0, 2.0),
                                (0.2, 3.0)]:
        ps = [torch.zeros(2, 3, requires_grad=True), torch.zeros(4, requires_grad=True)]
        ps[0].grad = torch.tensor(GRADS[0])
        ps[1].grad = torch.tensor([0.25, -0.5, 0.125, 1.5])
        total = torch.nn.utils.clip_grad_norm_(ps, max_norm, norm_type=norm_type)
        cases.append(dict(max_norm=max_norm, norm_type=norm_type, total=float(total),
                          grads=[ps[0].grad.tolist(), ps[1].grad.tolist()]))
    return cases


def schedulers():
    S = torch.optim.lr_scheduler
    out = {}

    def lrs(make, steps, groups_lr=(0.1,)):
        ps = [torch.zeros(1, requires_grad=True) for _ in groups_lr]
        opt = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(ps, groups_lr)],
                              lr=groups_lr[0])
        sched = make(opt)
        seq = [sched.get_last_lr()]
        for _ in range(steps):
            opt.step()
            sched.step()
            seq.append(sched.get_last_lr())
        return seq

    out["StepLR"] = lrs(lambda o: S.StepLR(o, step_size=3, gamma=0.5), 10)
    out["ExponentialLR"] = lrs(lambda o: S.ExponentialLR(o, gamma=0.9), 6)
    out["CosineAnnealingLR"] = lrs(lambda o: S.CosineAnnealingLR(o, T_max=5, eta_min=0.001),
                                   16, (0.1, 0.02))
    out["LinearLR"] = lrs(lambda o: S.LinearLR(o, start_factor=0.25, end_factor=1.0,
                                               total_iters=4), 7)
    out["LambdaLR"] = lrs(lambda o: S.LambdaLR(o, lambda epoch: 1.0 / (epoch + 1)), 5)
    # LinearLR warm-up chained with ExponentialLR on one optimizer (both step every epoch)
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    warm = S.LinearLR(opt, start_factor=0.5, total_iters=3)
    decay = S.ExponentialLR(opt, gamma=0.9)
    seq = [opt.param_groups[0]["lr"]]
    for _ in range(6):
        opt.step()
        warm.step()
        decay.step()
        seq.append(opt.param_groups[0]["lr"])
    out["LinearLR_then_ExponentialLR"] = seq
    return out


METRICS_MIN = [1.0, 0.95, 0.96, 0.97, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2]
METRICS_MAX = [0.1, 0.2, 0.205, 0.21, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]


def plateau():
    S = torch.optim.lr_scheduler
    out = {}
    for name, options, metrics in [
        ("min_rel_cooldown", dict(mode="min", factor=0.5, patience=1, threshold=0.1,
                                  cooldown=1, min_lr=0.02), METRICS_MIN),
        ("max_abs", dict(mode="max", factor=0.1, patience=0, threshold=0.01,
                         threshold_mode="abs"), METRICS_MAX),
    ]:
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=0.1)
        sched = S.ReduceLROnPlateau(opt, **options)
        seq = []
        for m in metrics:
            opt.step()
            sched.step(m)
            seq.append(opt.param_groups[0]["lr"])
        out[name] = dict(options=options, metrics=metrics, lrs=seq)
    return out


def main():
    golden = dict(
        torch_version=torch.__version__,
        p0=P0, grads=GRADS,
        optimizers=optimizers(),
        groups=groups(),
        clip_grad_norm=clipping(),
        schedulers=schedulers(),
        plateau=plateau(),
    )
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim.lua")
    with open(path, "w") as f:
        f.write("-- tests/golden/optim.lua — written by tests/golden/gen_optim.py from PyTorch "
                + torch.__version__ + ";\n-- do not edit: change the script and run it again.\n")
        f.write("return " + lua(golden) + "\n")


if __name__ == "__main__":
    main()
