-- scripts/recur/nn/loss.lua — loss modules: MSELoss, BCEWithLogitsLoss, CrossEntropyLoss,
-- NLLLoss, each `loss(input, target)` with reduction 'mean' | 'sum' | 'none' as PyTorch.
-- Class targets are int64 class numbers 0..C-1, so ignore_index = 0 skips padding;
-- CrossEntropyLoss also takes float32 class probabilities. weight = a (C) tensor of class
-- weights (per-element weights for BCEWithLogitsLoss).
local Module = require "recur.nn.module"
local options = require "recur.options"
local F = require "recur.nn.functional"

local M = {}

local function loss_class(name, fn, defaults)
  local cls = Module:extend(name)
  function cls:init(opts)
    self.opts = options.check("nn." .. name, opts, defaults)
  end
  function cls:forward(input, target) return fn(input, target, self.opts) end
  function cls:extra_repr()
    local keys = {}
    for k in pairs(defaults) do keys[#keys + 1] = k end
    table.sort(keys)
    local parts = {}
    for _, k in ipairs(keys) do
      local v = self.opts[k]
      if v ~= nil then
        parts[#parts + 1] = k .. "=" .. (type(v) == "string" and "'" .. v .. "'" or tostring(v))
      end
    end
    return table.concat(parts, ", ")
  end
  return cls
end

M.MSELoss = loss_class("MSELoss", F.mse_loss, { reduction = "mean" })
M.BCEWithLogitsLoss = loss_class("BCEWithLogitsLoss", F.binary_cross_entropy_with_logits,
  { reduction = "mean", weight = options.NONE, pos_weight = options.NONE })
M.CrossEntropyLoss = loss_class("CrossEntropyLoss", F.cross_entropy,
  { reduction = "mean", weight = options.NONE, ignore_index = -100, label_smoothing = 0 })
M.NLLLoss = loss_class("NLLLoss", F.nll_loss,
  { reduction = "mean", weight = options.NONE, ignore_index = -100 })

return M
