-- scripts/recur/nn/activation.lua — the parameter-free layers: Identity, Tanh, Sigmoid, ReLU,
-- Softmax(dim), LogSoftmax(dim), as their torch.nn namesakes (dims 1-based, -1 = last).
local Module = require "recur.nn.module"

local M = {}

local function elementwise(name, method)
  local cls = Module:extend(name)
  function cls:forward(x) return x[method](x) end
  return cls
end

M.Identity = Module:extend("Identity")
function M.Identity:init() end
function M.Identity:forward(x) return x end

M.Tanh = elementwise("Tanh", "tanh")
M.Sigmoid = elementwise("Sigmoid", "sigmoid")
M.ReLU = elementwise("ReLU", "relu")

local function along_dim(name, method)
  local cls = Module:extend(name)
  function cls:init(dim)
    if math.type(dim) ~= "integer" or dim == 0 then
      error(string.format("nn.%s: a dim is needed (1-based, -1 = last), got %s", name, tostring(dim)), 0)
    end
    self.dim = dim
  end
  function cls:forward(x) return x[method](x, self.dim) end
  function cls:extra_repr() return "dim=" .. self.dim end
  return cls
end

M.Softmax = along_dim("Softmax", "softmax")
M.LogSoftmax = along_dim("LogSoftmax", "log_softmax")

return M
