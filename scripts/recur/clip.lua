-- scripts/recur/clip.lua — gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_
-- (1.13); recur.nn re-exports them as nn.clip_grad_norm and nn.clip_grad_value.
local recur = require "recur"
local options = require "recur.options"

local clip = {}

local function fail(fmt, ...) error(string.format(fmt, ...), 0) end

-- x rounded to float32, so the scalar arithmetic below rounds where PyTorch's 0-d float32
-- tensors do.
local function f32(x) return (string.unpack("f", string.pack("f", x))) end

-- The gradients of params (a tensor or a list of tensors) that have one.
local function grads_of(fn, params)
  if recur.is_tensor(params) then params = { params } end
  if type(params) ~= "table" then
    fail("%s: params must be a tensor or a list of tensors, got %s", fn, type(params))
  end
  local grads = {}
  for i = 1, #params do
    local p = params[i]
    if not recur.is_tensor(p) then fail("%s: params[%d] is not a tensor (got %s)", fn, i, type(p)) end
    local g = p.grad
    if g ~= nil then grads[#grads + 1] = g end
  end
  return grads
end

local function format_norm_type(p)
  if p == math.huge then return "inf" end
  return tostring(p)
end

-- clip_grad_norm(params, max_norm, [{norm_type = 2, error_if_nonfinite = false}]) -> total
-- total: the norm of all gradients together (the norm of their norms; norm_type = math.huge
-- for the largest absolute value), before clipping, as a number. When total exceeds max_norm
-- every gradient is scaled in place by max_norm / (total + 1e-6).
function clip.clip_grad_norm(params, max_norm, opts)
  local fn = "clip_grad_norm"
  local grads = grads_of(fn, params)
  if type(max_norm) ~= "number" then fail("%s: max_norm must be a number, got %s", fn, type(max_norm)) end
  opts = options.check(fn, opts, { norm_type = 2, error_if_nonfinite = false })
  local norm_type = opts.norm_type
  if type(norm_type) ~= "number" then
    fail("%s: norm_type must be a number (math.huge for the max norm), got %s", fn, type(norm_type))
  end
  if #grads == 0 then return 0.0 end

  local _ <close> = recur.no_grad()
  local norms = {}
  for i, g in ipairs(grads) do norms[i] = recur.norm(g, norm_type):item() end
  local total
  if norm_type == math.huge then
    total = norms[1]
    for i = 2, #norms do
      if norms[i] > total or norms[i] ~= norms[i] then total = norms[i] end
    end
  else
    total = recur.norm(recur.tensor(norms), norm_type):item()
  end
  if opts.error_if_nonfinite and (total ~= total or total == math.huge) then
    fail("%s: the total norm of order %s of the gradients is non-finite (%s), so it cannot be "
      .. "clipped; to scale the gradients by it anyway, pass {error_if_nonfinite = false}", fn,
      format_norm_type(norm_type), total ~= total and "nan" or "inf")
  end
  -- PyTorch: max_norm / (total + 1e-6) in float32, which it computes as reciprocal * max_norm;
  -- clamped to 1, so nothing changes below max_norm (a NaN total spreads, as there)
  local coef = f32(f32(1 / f32(total + f32(1e-6))) * f32(max_norm))
  if not (coef >= 1) then
    for _, g in ipairs(grads) do g:mul_(coef) end
  end
  return total
end

-- clip_grad_value(params, clip_value): every gradient clamped in place to
-- [-clip_value, clip_value].
function clip.clip_grad_value(params, clip_value)
  local fn = "clip_grad_value"
  local grads = grads_of(fn, params)
  if type(clip_value) ~= "number" then
    fail("%s: clip_value must be a number, got %s", fn, type(clip_value))
  end
  local _ <close> = recur.no_grad()
  for _, g in ipairs(grads) do g:clamp_(-clip_value, clip_value) end
end

return clip
