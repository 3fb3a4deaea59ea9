-- scripts/recur/nn/linear.lua — y = x W^T + b, as torch.nn.Linear (weight (out, in)).
local recur = require "recur"
local Module = require "recur.nn.module"
local options = require "recur.options"
local init = require "recur.nn.initializers"

local Linear = Module:extend("Linear")

function Linear:init(in_features, out_features, opts)
  opts = options.check("nn.Linear", opts, { bias = true })
  if math.type(in_features) ~= "integer" or math.type(out_features) ~= "integer"
      or in_features < 1 or out_features < 1 then
    error(string.format("nn.Linear: in_features and out_features must be positive integers, got %s and %s",
      tostring(in_features), tostring(out_features)), 0)
  end
  self.in_features, self.out_features = in_features, out_features
  self.weight = Module.Parameter(recur.empty(out_features, in_features))
  if opts.bias then self.bias = Module.Parameter(recur.empty(out_features)) end
  self:reset_parameters()
end

-- PyTorch's default: kaiming_uniform(a = sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)) for both.
function Linear:reset_parameters()
  init.kaiming_uniform_(self.weight, { a = math.sqrt(5) })
  if self.bias then
    local bound = 1 / math.sqrt(self.in_features)
    init.uniform_(self.bias, -bound, bound)
  end
end

function Linear:forward(x)
  return require("recur.nn.functional").linear(x, self.weight, self.bias)
end

function Linear:extra_repr()
  return string.format("in_features=%d, out_features=%d, bias=%s", self.in_features,
    self.out_features, tostring(self.bias ~= nil))
end

return Linear
