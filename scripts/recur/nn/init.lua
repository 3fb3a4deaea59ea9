-- scripts/recur/nn/init.lua — `recur.nn`: modules, layers, losses, functional forms,
-- initialisers and gradient clipping, with PyTorch's names.
local Module = require "recur.nn.module"
local activation = require "recur.nn.activation"
local loss = require "recur.nn.loss"

local nn = {
  Module = Module,
  Parameter = Module.Parameter,
  Linear = require "recur.nn.linear",
  Embedding = require "recur.nn.embedding",
  Dropout = require "recur.nn.dropout",
  Sequential = require "recur.nn.container",
  LayerNorm = require "recur.nn.normalization",
  functional = require "recur.nn.functional",
  init = require "recur.nn.initializers",
}
for name, cls in pairs(activation) do nn[name] = cls end
for name, cls in pairs(loss) do nn[name] = cls end
for name, cls in pairs(require "recur.nn.rnn") do nn[name] = cls end

-- Gradient clipping lives in recur.clip (it is about gradients, not layers); re-exported here
-- under PyTorch's names (torch.nn.utils.clip_grad_norm_).
setmetatable(nn, {
  __index = function(t, key)
    if key == "clip_grad_norm" or key == "clip_grad_value" then
      local clip = require "recur.clip"
      rawset(t, "clip_grad_norm", clip.clip_grad_norm)
      rawset(t, "clip_grad_value", clip.clip_grad_value)
      return rawget(t, key)
    end
  end,
})

return nn
