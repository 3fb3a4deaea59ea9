/* scripts/examples/embed_host.c — recur embedded in a C program: the host makes data in C,
   trains a Lua model script on it through recur_engine.h, then reads a weight back. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "recur_engine.h"

static const char usage[] =
    "usage: %s [--steps N] [model.lua]\n"
    "Embeds recur's Lua engine in C: loads the model script (a built-in linear model when\n"
    "none is given), trains it N steps (default 50) on 16 points made here in C,\n"
    "y = 2 x1 - 3 x2 + 0.5 on a 4x4 grid over [-1,1]^2, then reads the global `weight`\n"
    "back and prints it. A model script defines train_step(x, y) -> loss, with x (16,2)\n"
    "and y (16,1), and leaves a tensor in the global `weight`.\n";

/* The built-in model: y = x W^T + b fitted by SGD on the mean squared error. */
static const char builtin_model[] =
    "local nn, optim = recur.nn, recur.optim\n"
    "recur.manual_seed(0)\n"
    "local model = nn.Linear(2, 1)\n"
    "local opt = optim.SGD(model:parameters(), {lr = 0.2})\n"
    "local loss_fn = nn.MSELoss()\n"
    "weight = model.weight -- updated in place by opt:step()\n"
    "function train_step(x, y)\n"
    "  opt:zero_grad()\n"
    "  local loss = loss_fn(model(x), y)\n"
    "  loss:backward()\n"
    "  opt:step()\n"
    "  return loss\n"
    "end\n";

/* x (16,2): a 4x4 grid over [-1,1]^2; y (16,1) = 2 x1 - 3 x2 + 0.5. */
static rc_status make_data(rc_tensor **x, rc_tensor **y) {
  const int64_t xshape[2] = {16, 2}, yshape[2] = {16, 1};
  if (rc_empty(x, RC_FLOAT32, 2, xshape) != RC_OK) return RC_ERR_NOMEM;
  if (rc_empty(y, RC_FLOAT32, 2, yshape) != RC_OK) return RC_ERR_NOMEM;
  float *xv = rc_f32(*x), *yv = rc_f32(*y);
  for (int i = 0; i < 16; i++) {
    float x1 = -1.0f + 2.0f * (float)(i % 4) / 3.0f, x2 = -1.0f + 2.0f * (float)(i / 4) / 3.0f;
    xv[2 * i] = x1;
    xv[2 * i + 1] = x2;
    yv[i] = 2.0f * x1 - 3.0f * x2 + 0.5f;
  }
  return RC_OK;
}

static void print_tensor(const char *name, const rc_tensor *t) {
  char shape[64];
  printf("%s %s:", name, rc_shape_str(t, shape, sizeof shape));
  for (int64_t i = 0; i < rc_numel(t); i++) printf(" %.4f", rc_get_flat(t, i));
  printf("\n");
}

int main(int argc, char **argv) {
  const char *prog = argv[0] ? argv[0] : "embed_host", *script = NULL;
  long steps = 50;
  for (int i = 1; i < argc; i++) {
    char *end = NULL;
    bool ok = true;
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      printf(usage, prog);
      return 0;
    } else if (!strcmp(argv[i], "--steps")) {
      ok = i + 1 < argc && (steps = strtol(argv[++i], &end, 10)) > 0 && *end == 0;
    } else if (argv[i][0] != '-' && !script) {
      script = argv[i];
    } else {
      ok = false;
    }
    if (!ok) {
      fprintf(stderr, "%s: bad argument '%s'\n", prog, argv[i]);
      fprintf(stderr, usage, prog);
      return 2;
    }
  }

  recur_engine *e = recur_engine_new();
  if (!e) {
    fprintf(stderr, "%s: out of memory\n", prog);
    return 1;
  }
  rc_tensor *x = NULL, *y = NULL, *loss = NULL, *weight = NULL;
  int failed = 1;
  if (make_data(&x, &y) != RC_OK) {
    fprintf(stderr, "%s: %s\n", prog, rc_last_error());
    goto done;
  }
  /* the model, then the training loop: tensors in, the loss out, no copies either way */
  if (script ? recur_engine_run_file(e, script, 0, NULL)
             : recur_engine_run_string(e, builtin_model, "=builtin model"))
    goto engine_error;
  const rc_tensor *batch[2] = {x, y};
  for (long step = 1; step <= steps; step++) {
    if (recur_engine_call(e, "train_step", 2, batch, 1, &loss)) goto engine_error;
    if (rc_numel(loss) != 1) {
      fprintf(stderr, "%s: train_step returned a loss of %lld values, expected 1\n", prog,
              (long long)rc_numel(loss));
      goto done;
    }
    if (step == 1 || step == steps || step % 10 == 0)
      printf("step %ld loss %.6f\n", step, rc_get_flat(loss, 0));
    rc_release(loss);
    loss = NULL;
  }
  if (recur_engine_get_tensor(e, "weight", &weight)) goto engine_error;
  print_tensor("weight", weight);
  failed = 0;
  goto done;
engine_error:
  fprintf(stderr, "%s: %s\n", prog, recur_engine_error(e));
done:
  rc_release(loss);
  rc_release(weight);
  rc_release(x);
  rc_release(y);
  recur_engine_free(e);
  return failed;
}
