#!/usr/bin/env python3
# tests/golden/gen_rnn.py — writes tests/golden/rnn.lua: small cases of torch.nn.RNN / LSTM / GRU
# and the three cells with PyTorch's outputs, final states and every gradient, for tests/rnn_spec.lua.
#
# Run once (needs PyTorch; the tests never do):
#     /usr/bin/python3 tests/golden/gen_rnn.py > tests/golden/rnn.lua
# (Debian's python3-torch 1.13 installs for /usr/bin/python3, not a pyenv python3.)
# Inputs and weights are float32 values printed with 9 significant digits (they read back
# exactly); PyTorch runs in float64 on those same values, so the expected numbers are the exact
# answers a float32 implementation must approach. Weights are named as in PyTorch's state_dict,
# which are recur's names too. Variable lengths go through pack_padded_sequence(enforce_sorted=
# False) and pad_packed_sequence(total_length=T): zeros past each length, h_n/c_n at each
# sequence's own last step, in the caller's batch order.
# The loss whose gradients are recorded is sum(out * w_out) + sum(h_n * w_h_n) (+ sum(c_n * w_c_n))
# with the fixed random weights written into each case (for a cell: h and c in place of h_n, c_n).
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

torch.manual_seed(20240612)

IN, OUT = "%.9g", "%.10g"  # 10 digits of the float64 truth: far below the 1e-5 checked


def f32(*shape, scale=1.0):
    """Random float32 values."""
    return (torch.randn(*shape) * scale).float()


def lua(v, fmt):
    """A Lua literal: nested tables for lists, numbers in fmt."""
    if isinstance(v, torch.Tensor):
        v = v.tolist()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return fmt % v
    if isinstance(v, str):
        return '"%s"' % v
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(lua(x, fmt) for x in v) + "}"
    if isinstance(v, dict):
        return "{" + ", ".join("%s = %s" % (k, lua(x, fmt)) for k, x in v.items()
                               if x is not None) + "}"
    raise TypeError(type(v))


def emit(lines, fields_in, fields_out):
    parts = ["%s = %s" % (k, lua(v, IN)) for k, v in fields_in.items() if v is not None]
    parts += ["%s = %s" % (k, lua(v, OUT)) for k, v in fields_out.items() if v is not None]
    lines.append("    {" + ",\n     ".join(parts) + "},")


def weights_of(module):
    """Fresh float32 weights (PyTorch's default init, then rounded to float32), by name."""
    return {name: p.detach().float().clone() for name, p in module.named_parameters()}


def layer_case(lines, name, cls, input_size, hidden_size, options, T, B, lengths=None,
               states=False):
    """One layer case: torch.nn.<cls>(input_size, hidden_size, **options) in float64."""
    torch_options = dict(options)
    module = getattr(torch.nn, cls)(input_size, hidden_size, **torch_options)
    weights = weights_of(module)
    module = module.double()
    with torch.no_grad():
        for n, p in module.named_parameters():
            p.copy_(weights[n].double())
    batch_first = options.get("batch_first", False)
    dirs = 2 if options.get("bidirectional", False) else 1
    nstates = options.get("num_layers", 1) * dirs
    x = f32(B, T, input_size) if batch_first else f32(T, B, input_size)
    h0 = f32(nstates, B, hidden_size, scale=0.5) if states else None
    c0 = f32(nstates, B, hidden_size, scale=0.5) if states and cls == "LSTM" else None
    out_shape = (B, T, dirs * hidden_size) if batch_first else (T, B, dirs * hidden_size)
    w_out, w_h_n = f32(*out_shape), f32(nstates, B, hidden_size)
    w_c_n = f32(nstates, B, hidden_size) if cls == "LSTM" else None

    xd = x.double().requires_grad_()
    h0d = h0.double().requires_grad_() if h0 is not None else None
    c0d = c0.double().requires_grad_() if c0 is not None else None
    state = (h0d, c0d) if cls == "LSTM" and states else h0d
    if lengths is not None:
        packed = pack_padded_sequence(xd, torch.tensor(lengths), batch_first=batch_first,
                                      enforce_sorted=False)
        packed_out, final = module(packed, state)
        out, _ = pad_packed_sequence(packed_out, batch_first=batch_first, total_length=T)
    else:
        out, final = module(xd, state)
    h_n, c_n = final if cls == "LSTM" else (final, None)
    loss = (out * w_out.double()).sum() + (h_n * w_h_n.double()).sum()
    if c_n is not None:
        loss = loss + (c_n * w_c_n.double()).sum()
    loss.backward()
    grads = {"x": xd.grad}
    if h0d is not None:
        grads["h0"] = h0d.grad
    if c0d is not None:
        grads["c0"] = c0d.grad
    for n, p in module.named_parameters():
        grads[n] = p.grad
    emit(lines,
         {"name": name, "class": cls, "input_size": input_size, "hidden_size": hidden_size,
          "options": options, "lengths": lengths, "x": x, "h0": h0, "c0": c0,
          "weights": weights, "w_out": w_out, "w_h_n": w_h_n, "w_c_n": w_c_n},
         {"out": out.detach(), "h_n": h_n.detach(),
          "c_n": c_n.detach() if c_n is not None else None, "grad": grads})


def cell_case(lines, name, cls, input_size, hidden_size, options, B, states=True):
    """One cell case: torch.nn.<cls>(input_size, hidden_size, **options); B None = unbatched."""
    module = getattr(torch.nn, cls)(input_size, hidden_size, **options)
    weights = weights_of(module)
    module = module.double()
    with torch.no_grad():
        for n, p in module.named_parameters():
            p.copy_(weights[n].double())
    shape = (B,) if B is not None else ()
    x = f32(*shape, input_size)
    h0 = f32(*shape, hidden_size, scale=0.5) if states else None
    c0 = f32(*shape, hidden_size, scale=0.5) if states and cls == "LSTMCell" else None
    w_h, w_c = f32(*shape, hidden_size), f32(*shape, hidden_size) if cls == "LSTMCell" else None
    xd = x.double().requires_grad_()
    h0d = h0.double().requires_grad_() if h0 is not None else None
    c0d = c0.double().requires_grad_() if c0 is not None else None
    if cls == "LSTMCell":
        h, c = module(xd, (h0d, c0d) if states else None)
    else:
        h, c = module(xd, h0d), None
    loss = (h * w_h.double()).sum()
    if c is not None:
        loss = loss + (c * w_c.double()).sum()
    loss.backward()
    grads = {"x": xd.grad}
    if h0d is not None:
        grads["h0"] = h0d.grad
    if c0d is not None:
        grads["c0"] = c0d.grad
    for n, p in module.named_parameters():
        grads[n] = p.grad
    emit(lines,
         {"name": name, "class": cls, "input_size": input_size, "hidden_size": hidden_size,
          "options": options, "x": x, "h0": h0, "c0": c0, "weights": weights, "w_h": w_h,
          "w_c": w_c},
         {"h": h.detach(), "c": c.detach() if c is not None else None, "grad": grads})


lines = ["-- tests/golden/rnn.lua — generated by tests/golden/gen_rnn.py with PyTorch %s;"
         % torch.__version__,
         "-- do not edit. Inputs and weights are float32; expected values are PyTorch's, in float64.",
         "return {", '  torch_version = "%s",' % torch.__version__, "  layers = {"]
layer_case(lines, "LSTM, 2 layers, bidirectional, batch_first, unsorted lengths, h0 and c0",
           "LSTM", 3, 4, {"num_layers": 2, "bidirectional": True, "batch_first": True},
           T=5, B=3, lengths=[3, 5, 2], states=True)
layer_case(lines, "LSTM, 1 layer, no bias, zero initial states, every sequence full length",
           "LSTM", 3, 4, {"bias": False}, T=4, B=2)
layer_case(lines, "GRU, 2 layers, bidirectional, lengths, h0",
           "GRU", 3, 4, {"num_layers": 2, "bidirectional": True}, T=5, B=3,
           lengths=[2, 5, 4], states=True)
layer_case(lines, "GRU, 1 layer, batch_first, no bias, h0",
           "GRU", 3, 4, {"batch_first": True, "bias": False}, T=4, B=3, states=True)
layer_case(lines, "RNN relu, 2 layers, lengths, h0",
           "RNN", 3, 4, {"num_layers": 2, "nonlinearity": "relu"}, T=5, B=3,
           lengths=[5, 1, 3], states=True)
layer_case(lines, "RNN tanh, 2 layers, bidirectional, batch_first, zero initial states",
           "RNN", 3, 4, {"num_layers": 2, "bidirectional": True, "batch_first": True}, T=4, B=2)
lines.append("  },")
lines.append("  cells = {")
cell_case(lines, "RNNCell tanh with hx", "RNNCell", 3, 4, {}, B=3)
cell_case(lines, "RNNCell relu with hx", "RNNCell", 3, 4, {"nonlinearity": "relu"}, B=3)
cell_case(lines, "LSTMCell with hx and cx", "LSTMCell", 3, 4, {}, B=3)
cell_case(lines, "LSTMCell without bias, zero state", "LSTMCell", 3, 4, {"bias": False}, B=2,
          states=False)
cell_case(lines, "GRUCell with hx", "GRUCell", 3, 4, {}, B=3)
cell_case(lines, "GRUCell on one unbatched input (D) with hx (H)", "GRUCell", 3, 4, {}, B=None)
lines.append("  },")
lines.append("}")
print("\n".join(lines))
