-- scripts/recur/nn/functional.lua — nn.functional: the stateless forms of the layers and
-- losses (torch.nn.functional's names); the modules call these.
local recur = require "recur"
local options = require "recur.options"

local F = {}

--- x (..., in) W^T (out, in) + b (out). A 2-D x with a bias is one GEMM (addmm).
function F.linear(x, weight, bias)
  if bias and x:dim() == 2 then return recur.addmm(bias, x, weight:t()) end
  local y = x:matmul(weight:t())
  if bias then y = y + bias end
  return y
end

function F.relu(x) return x:relu() end
function F.tanh(x) return x:tanh() end
function F.sigmoid(x) return x:sigmoid() end
function F.softmax(x, dim) return x:softmax(dim) end
function F.log_softmax(x, dim) return x:log_softmax(dim) end

function F.dropout(x, p, training)
  if training == nil then training = true end
  return recur.dropout(x, p == nil and 0.5 or p, training)
end

function F.embedding(ids, weight, padding_idx) return recur.embedding(ids, weight, padding_idx) end

function F.layer_norm(x, normalized_shape, weight, bias, eps)
  return recur.layer_norm(x, normalized_shape, weight, bias, eps or 1e-5)
end

function F.mse_loss(input, target, opts)
  opts = options.check("nn.functional.mse_loss", opts, { reduction = "mean" })
  return recur.mse_loss(input, target, opts.reduction)
end

--- opts.weight rescales each element's loss (broadcast to input), opts.pos_weight the
--- positive term, as torch.nn.functional.
function F.binary_cross_entropy_with_logits(input, target, opts)
  opts = options.check("nn.functional.binary_cross_entropy_with_logits", opts,
    { reduction = "mean", weight = options.NONE, pos_weight = options.NONE })
  return recur.binary_cross_entropy_with_logits(input, target, opts)
end

--- target: int64 class numbers 0..C-1, or float32 class probabilities of the logits' shape;
--- opts.weight: a (C) tensor of class weights.
function F.cross_entropy(logits, target, opts)
  opts = options.check("nn.functional.cross_entropy", opts,
    { reduction = "mean", weight = options.NONE, ignore_index = -100, label_smoothing = 0 })
  return recur.cross_entropy(logits, target, opts)
end

function F.nll_loss(log_probs, target, opts)
  opts = options.check("nn.functional.nll_loss", opts,
    { reduction = "mean", weight = options.NONE, ignore_index = -100 })
  return recur.nll_loss(log_probs, target, opts)
end

return F
