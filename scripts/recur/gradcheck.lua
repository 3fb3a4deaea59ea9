-- scripts/recur/gradcheck.lua — recur.gradcheck(fn, inputs, opts): analytic gradients (from
-- backward) against central finite differences, as torch.autograd.gradcheck, in float32.
local recur = require "recur"

local defaults = { eps = 1e-3, atol = 1e-3, rtol = 1e-2, raise = true, seed = 1234 }

-- Outputs of fn as a list of float32 tensors (fn may return one tensor or several, or a table).
local function outputs_of(fn, inputs)
  local res = table.pack(fn(table.unpack(inputs, 1, inputs.n or #inputs)))
  local outs = {}
  local list = (res.n == 1 and type(res[1]) == "table" and not recur.is_tensor(res[1])) and res[1] or res
  for i = 1, (list.n or #list) do
    local o = list[i]
    if recur.is_tensor(o) and o:dtype() == "float32" then outs[#outs + 1] = o end
  end
  if #outs == 0 then error("recur.gradcheck: fn returned no float32 tensor", 0) end
  return outs
end

-- The scalar L = sum_i <out_i, w_i> in double precision, from Lua numbers.
local function weighted_sum(outs, weights)
  local total = 0
  for i, o in ipairs(outs) do
    local ov, wv = o:contiguous():view(-1):totable(), weights[i]
    for k = 1, #ov do total = total + ov[k] * wv[k] end
  end
  return total
end

--- Check d L / d x for every input x with requires_grad, where L = sum <fn(...)_i, w_i> with
--- fixed random weights w. Returns true, or (false, message) when raise = false; raises an
--- error naming the input, element, analytic and numeric values otherwise.
local function gradcheck(fn, inputs, opts)
  opts = opts or {}
  for k in pairs(opts) do
    if defaults[k] == nil then
      error(string.format("recur.gradcheck: unknown option '%s' (expected atol, eps, raise, rtol, seed)", k), 0)
    end
  end
  for k, v in pairs(defaults) do if opts[k] == nil then opts[k] = v end end

  -- Random weights for the outputs, drawn without disturbing the caller's generator.
  local saved_rng = recur.get_rng_state()
  local outs = outputs_of(fn, inputs)
  recur.manual_seed(opts.seed)
  local weight_tensors, weights = {}, {}
  for i, o in ipairs(outs) do
    weight_tensors[i] = recur.randn(table.unpack(o:shape()))
    if o:dim() == 0 then weight_tensors[i] = recur.randn(1):view() end
    weights[i] = weight_tensors[i]:view(-1):totable()
  end
  recur.set_rng_state(saved_rng)

  -- Analytic: backward of every output with its weight, accumulated.
  for _, x in ipairs(inputs) do if recur.is_tensor(x) then x.grad = nil end end
  for i, o in ipairs(outs) do
    if o.requires_grad then o:backward(weight_tensors[i], { retain_graph = true }) end
  end

  for index, x in ipairs(inputs) do
    if recur.is_tensor(x) and x.requires_grad then
      local analytic = x.grad and x.grad:contiguous():view(-1):totable() or {}
      local flat = x:detach():view(-1)
      for k = 1, flat:numel() do
        local original = flat[k]:item()
        local function loss_at(v)
          recur.no_grad(function() flat[k] = v end)
          local l = recur.no_grad(function() return weighted_sum(outputs_of(fn, inputs), weights) end)
          return l
        end
        recur.set_rng_state(saved_rng) -- a random fn (dropout) sees the same draws each time
        local plus = loss_at(original + opts.eps)
        recur.set_rng_state(saved_rng)
        local minus = loss_at(original - opts.eps)
        recur.no_grad(function() flat[k] = original end)
        local numeric = (plus - minus) / (2 * opts.eps)
        local a = analytic[k] or 0
        if math.abs(a - numeric) > opts.atol + opts.rtol * math.abs(numeric) then
          local msg = string.format("recur.gradcheck: gradient of input %d, element %d: analytic %.6g, numeric %.6g",
            index, k, a, numeric)
          if opts.raise then error(msg, 0) end
          return false, msg
        end
      end
    end
  end
  recur.set_rng_state(saved_rng)
  return true
end

return gradcheck
