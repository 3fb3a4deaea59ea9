-- scripts/recur/optim.lua — recur.optim: SGD, Adam, AdamW, RMSprop and Adagrad as torch.optim
-- (PyTorch 1.13 semantics; each update is one fused C pass per parameter), and lr_scheduler.
--
--   local optim = require "recur.optim"
--   local opt = optim.Adam(model:parameters(), {lr = 1e-3})
--   opt:zero_grad(); loss:backward(); opt:step()
--
-- Differences from PyTorch: zero_grad() sets p.grad = nil by default (PyTorch 2.x's default;
-- 1.13 zeroed), state_dict() numbers parameters from 1 and returns copies, and step counts are
-- Lua integers rather than tensors.
local recur = require "recur"
local Optimizer = require "recur.optim.optimizer"

local optim = { Optimizer = Optimizer }

-- --- SGD ---------------------------------------------------------------------------------

optim.SGD = Optimizer:extend("SGD", {
  defaults = { lr = Optimizer.required, momentum = 0, dampening = 0, weight_decay = 0,
               nesterov = false, maximize = false },
  nonnegative = { lr = "learning rate", momentum = "momentum value",
                  weight_decay = "weight_decay value" },
  state_keys = { "momentum_buffer" },
  validate = function(fn, group)
    if group.nesterov and (group.momentum <= 0 or group.dampening ~= 0) then
      Optimizer.fail("%s: Nesterov momentum requires a momentum and zero dampening (got "
        .. "momentum %s, dampening %s)", fn, tostring(group.momentum), tostring(group.dampening))
    end
  end,
  -- The momentum buffer is made on the first step with momentum, from that step's update.
  update = function(self, p, g, state, group)
    state.momentum_buffer = recur._sgd_step(p, g, state.momentum_buffer, group)
  end,
})

-- --- Adam and AdamW -------------------------------------------------------------------------

local function adam_update(kernel)
  return function(self, p, g, state, group)
    if state.step == nil then
      state.step = 0
      state.exp_avg = recur.zeros_like(p)
      state.exp_avg_sq = recur.zeros_like(p)
    end
    if group.amsgrad and state.max_exp_avg_sq == nil then
      state.max_exp_avg_sq = recur.zeros_like(p)
    end
    local step = state.step + 1
    kernel(p, g, state.exp_avg, state.exp_avg_sq, group.amsgrad and state.max_exp_avg_sq or nil,
      step, group)
    state.step = step -- only once the update went through
  end
end

local adam_nonnegative = { lr = "learning rate", eps = "epsilon value",
                           weight_decay = "weight_decay value" }

optim.Adam = Optimizer:extend("Adam", {
  defaults = { lr = 1e-3, betas = { 0.9, 0.999 }, eps = 1e-8, weight_decay = 0, amsgrad = false,
               maximize = false },
  nonnegative = adam_nonnegative,
  state_keys = { "step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq" },
  update = adam_update(recur._adam_step),
})

-- Decoupled weight decay: param *= 1 - lr * weight_decay, then Adam without L2.
optim.AdamW = Optimizer:extend("AdamW", {
  defaults = { lr = 1e-3, betas = { 0.9, 0.999 }, eps = 1e-8, weight_decay = 1e-2,
               amsgrad = false, maximize = false },
  nonnegative = adam_nonnegative,
  state_keys = { "step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq" },
  update = adam_update(recur._adamw_step),
})

-- --- RMSprop --------------------------------------------------------------------------------

optim.RMSprop = Optimizer:extend("RMSprop", {
  defaults = { lr = 1e-2, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0,
               centered = false, maximize = false },
  nonnegative = { lr = "learning rate", eps = "epsilon value", momentum = "momentum value",
                  weight_decay = "weight_decay value", alpha = "alpha value" },
  state_keys = { "step", "square_avg", "momentum_buffer", "grad_avg" },
  update = function(self, p, g, state, group)
    if state.step == nil then
      state.step = 0
      state.square_avg = recur.zeros_like(p)
    end
    local momentum = group.momentum > 0
    if momentum and state.momentum_buffer == nil then state.momentum_buffer = recur.zeros_like(p) end
    if group.centered and state.grad_avg == nil then state.grad_avg = recur.zeros_like(p) end
    recur._rmsprop_step(p, g, state.square_avg, group.centered and state.grad_avg or nil,
      momentum and state.momentum_buffer or nil, group)
    state.step = state.step + 1
  end,
})

-- --- Adagrad --------------------------------------------------------------------------------

optim.Adagrad = Optimizer:extend("Adagrad", {
  defaults = { lr = 1e-2, lr_decay = 0, weight_decay = 0, initial_accumulator_value = 0,
               eps = 1e-10, maximize = false },
  nonnegative = { lr = "learning rate", lr_decay = "lr_decay value",
                  weight_decay = "weight_decay value", eps = "epsilon value",
                  initial_accumulator_value = "initial_accumulator_value value" },
  state_keys = { "step", "sum" },
  update = function(self, p, g, state, group)
    if state.step == nil then
      state.step = 0
      state.sum = recur.full_like(p, group.initial_accumulator_value)
    end
    local step = state.step + 1
    recur._adagrad_step(p, g, state.sum, step, group)
    state.step = step
  end,
})

optim.lr_scheduler = require "recur.optim.lr_scheduler"

return optim
