-- scripts/recur/nn/dropout.lua — zeroes elements with probability p while training, scaling
-- the rest by 1/(1-p); the identity in eval mode, as torch.nn.Dropout.
local recur = require "recur"
local Module = require "recur.nn.module"

local Dropout = Module:extend("Dropout")

function Dropout:init(p)
  p = p == nil and 0.5 or p
  if type(p) ~= "number" or p < 0 or p > 1 then
    error("nn.Dropout: p must be a probability in [0, 1], got " .. tostring(p), 0)
  end
  self.p = p
end

function Dropout:forward(x) return recur.dropout(x, self.p, self.training) end

function Dropout:extra_repr() return "p=" .. self.p end

return Dropout
