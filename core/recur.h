/* core/recur.h — the public C API of recur's core (what `cmake --install` ships).
   Include this one header: tensors, ops, RNG, runtime, GEMM. No Lua anywhere. */
#ifndef RECUR_H
#define RECUR_H

#include "error.h"
#include "alloc.h"
#include "tensor.h"
#include "ops.h"
#include "random.h"
#include "runtime.h"
#include "gemm.h"
#include "autograd.h"
#include "grad.h"
#include "optim.h"
#include "nn_ops.h"
#include "safetensors.h"
#include "rnn.h"

#endif
