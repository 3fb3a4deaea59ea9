#!/usr/bin/python3
# scripts/bench/torch_rnn.py — PyTorch's RNN/LSTM/GRU and the reference model's training step at
# issue 6's shapes, as common-format rows so scripts/bench/compare.sh can set recur beside them.
"""Times torch.nn.RNN (tanh) / LSTM / GRU and the reference model, as rows:

    row <impl> <cell> <D>,<H>,<T>,<B> <train_ms or -> <infer_ms or ->
    model <impl> <ms>
    meta <impl> <torch version, BLAS mapped in this process, threads>

Single layer, unidirectional, (T,B,D) input. train = forward in training mode + backward of an
all-ones output gradient with input and weight gradients (zero_grad every call); infer = forward
under torch.no_grad(). One warm-up call, then the median of --repeats calls, in ms.

Which BLAS torch uses is chosen by the dynamic loader: Debian's torch links libblas.so.3, so run
    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread  ... --impl torch-openblas
    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/blis-openmp:/usr/lib/x86_64-linux-gnu/lapack \\
        ... --impl torch-blis
and check the meta line (it reads /proc/self/maps). Only /usr/bin/python3 has torch."""
import argparse
import ctypes
import os
import re
import statistics
import sys
import tempfile
import time

SHAPES = [(512, 512, 100, 64), (128, 128, 50, 50), (1024, 1024, 35, 64)]
INFER_ONLY = [(512, 512, 1000, 1)]
CELLS = ["rnn_tanh", "lstm", "gru"]


def parse_args():
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--impl", default="torch",
                   help="label in the rows: torch-openblas or torch-blis (default: torch)")
    p.add_argument("--threads", type=int, default=2, help="intra-op threads (default 2)")
    p.add_argument("--repeats", type=int, default=7, help="timed calls per row (default 7)")
    p.add_argument("--only", choices=CELLS + ["model"], help="one cell, or the model step only")
    a = p.parse_args()
    if a.threads < 1 or a.repeats < 1:
        p.error("--threads and --repeats need a positive integer")
    if not a.impl or any(c.isspace() for c in a.impl):
        p.error("--impl needs a label without spaces")
    return a


args = parse_args()
# Both BLAS libraries read their thread count from the environment when they start (BLIS's BLAS
# interface only there: libblas.so.3 does not export bli_thread_set_num_threads), so set it before
# torch loads them. OpenBLAS also gets openblas_set_num_threads below.
for var in ("OMP_NUM_THREADS", "BLIS_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = str(args.threads)
# BLIS names the kernels it picked on stderr when it starts, which happens as torch loads.
os.environ["BLIS_ARCH_DEBUG"] = "1"


def with_stderr_captured(fn):
    """Runs fn() with file descriptor 2 sent to a temporary file; returns (fn(), the text)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as f:
        os.dup2(f.fileno(), 2)
        try:
            result = fn()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        f.seek(0)
        return result, f.read().decode(errors="replace")


def load_torch():
    import torch as t
    t.randn(64, 64) @ t.randn(64, 64)  # the BLAS has initialised after this, whatever it is
    return t


torch, startup_err = with_stderr_captured(load_torch)
match = re.search(r"libblis: selecting sub-configuration '(\w+)'\.?\n?", startup_err)
BLIS_KERNELS = match.group(1) if match else None
sys.stderr.write(startup_err.replace(match.group(0), "") if match else startup_err)

torch.set_num_threads(args.threads)
torch.set_num_interop_threads(1)


def mapped_libraries():
    """Paths of the BLAS/LAPACK shared objects mapped into this process, in first-seen order."""
    keys = ("libopenblas", "libblis", "libblas", "liblapack", "libmkl")
    seen = []
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and any(k in os.path.basename(parts[5]) for k in keys):
                if parts[5] not in seen:
                    seen.append(parts[5])
    return seen


class DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


def sgemm_provider():
    """The file whose sgemm_ libtorch_cpu's dependency tree resolves to (dlsym on its handle)."""
    with open("/proc/self/maps") as f:
        torch_cpu = next((p for p in f.read().split()
                          if os.path.basename(p).startswith("libtorch_cpu.so")), None)
    if torch_cpu is None:
        return "?"
    libc = ctypes.CDLL(None)
    libc.dlsym.restype = ctypes.c_void_p
    libc.dlsym.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    libc.dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(DlInfo)]
    handle = ctypes.CDLL(torch_cpu)._handle  # already loaded: the same object, refcount + 1
    addr = libc.dlsym(handle, b"sgemm_")
    info = DlInfo()
    if not addr or not libc.dladdr(addr, ctypes.byref(info)):
        return "none"
    return os.path.realpath(info.dli_fname.decode())


def blas_facts():
    """'blas=<family> sgemm_=<file> mapped=<paths>' and the library's kernels and threads."""
    libs = mapped_libraries()
    provider = sgemm_provider()
    if "openblas" in provider:
        family = "OpenBLAS"
    elif "blis" in provider:
        family = "BLIS"
    elif "/blas/" in provider:
        family = "reference-BLAS"
    else:
        family = "unknown"
    extra = ""
    openblas = next((p for p in libs if "libopenblas" in os.path.basename(p)), None)
    if openblas:
        ob = ctypes.CDLL(openblas)
        ob.openblas_set_num_threads(args.threads)
        ob.openblas_get_corename.restype = ctypes.c_char_p
        ob.openblas_get_config.restype = ctypes.c_char_p
        ob.openblas_get_num_threads.restype = ctypes.c_int
        extra += " openblas=[%s core=%s threads=%d]" % (
            ob.openblas_get_config().decode(), ob.openblas_get_corename().decode(),
            ob.openblas_get_num_threads())
    if family == "BLIS":
        extra += " blis=[kernels=%s BLIS_NUM_THREADS=%s BLIS_ARCH_TYPE=%s]" % (
            BLIS_KERNELS or "?", os.environ.get("BLIS_NUM_THREADS"),
            os.environ.get("BLIS_ARCH_TYPE", "unset"))
    # By path: BLIS's BLAS interface is a libblas.so.3 in a blis-* directory.
    families = {"OpenBLAS" if "openblas" in p else "BLIS" if "blis" in p else "other" for p in libs}
    families.discard("other")
    warn = " WARNING: both OpenBLAS and BLIS mapped" if len(families) > 1 else ""
    return "blas=%s sgemm_=%s mapped=%s%s%s" % (family, provider, ",".join(libs), extra, warn)


def median_ms(fn, repeats):
    fn()  # warm-up
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return sorted(ts)[(len(ts) - 1) // 2] * 1e3  # lower median, as rnn.lua


def make_layer(cell, D, H):
    if cell == "rnn_tanh":
        return torch.nn.RNN(D, H, nonlinearity="tanh")
    if cell == "lstm":
        return torch.nn.LSTM(D, H)
    return torch.nn.GRU(D, H)


def bench_cell(cell):
    rows = [(s, True) for s in SHAPES] + [(s, False) for s in INFER_ONLY]
    for (D, H, T, B), train in rows:
        torch.manual_seed(1)
        layer = make_layer(cell, D, H)
        x = torch.randn(T, B, D)
        train_ms = "-"
        if train:
            layer.train()
            xg = x.clone().requires_grad_()
            gout = torch.ones(T, B, H)  # d(sum of outputs)/d(outputs)

            def step():
                layer.zero_grad(set_to_none=True)
                xg.grad = None
                out, _ = layer(xg)
                out.backward(gout)
            train_ms = "%.2f" % median_ms(step, args.repeats)

        def infer():
            with torch.no_grad():
                layer(x)
        infer_ms = "%.2f" % median_ms(infer, args.repeats)
        print("row %s %s %d,%d,%d,%d %s %s" % (args.impl, cell, D, H, T, B, train_ms, infer_ms),
              flush=True)


class ReferenceModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(20000, 128, padding_idx=0)
        self.lstm = torch.nn.LSTM(128, 256, num_layers=2, bidirectional=True, dropout=0.3,
                                  batch_first=True)
        self.fc = torch.nn.Linear(512, 1)

    def forward(self, ids):
        _, (h_n, _) = self.lstm(self.embedding(ids))
        return self.fc(torch.cat([h_n[-2], h_n[-1]], dim=1)).view(-1)


def bench_model():
    torch.manual_seed(1)
    model = ReferenceModel().train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    ids = torch.randint(1, 20000, (64, 100))
    labels = torch.randint(0, 2, (64,)).float()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(ids), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
    print("model %s %.1f" % (args.impl, median_ms(step, args.repeats)), flush=True)


def main():
    torch.manual_seed(1)
    print("meta %s torch %s, %s, threads %d (interop %d), mkldnn %s, repeats %d" % (
        args.impl, torch.__version__, blas_facts(), torch.get_num_threads(),
        torch.get_num_interop_threads(), "on" if torch.backends.mkldnn.is_available() else "off",
        args.repeats), flush=True)
    for cell in CELLS:
        if args.only in (None, cell):
            bench_cell(cell)
    if args.only in (None, "model"):
        bench_model()
    return 0


if __name__ == "__main__":
    sys.exit(main())
