-- scripts/recur/nn/normalization.lua — LayerNorm over the last dims, as torch.nn.LayerNorm.
local recur = require "recur"
local Module = require "recur.nn.module"
local options = require "recur.options"

local LayerNorm = Module:extend("LayerNorm")

function LayerNorm:init(normalized_shape, opts)
  opts = options.check("nn.LayerNorm", opts, { eps = 1e-5, elementwise_affine = true })
  if math.type(normalized_shape) == "integer" then normalized_shape = { normalized_shape } end
  if type(normalized_shape) ~= "table" or #normalized_shape == 0 then
    error("nn.LayerNorm: normalized_shape must be a size or a table of sizes, got " .. tostring(normalized_shape), 0)
  end
  self.normalized_shape, self.eps = normalized_shape, opts.eps
  if opts.elementwise_affine then
    self.weight = Module.Parameter(recur.ones(normalized_shape))
    self.bias = Module.Parameter(recur.zeros(normalized_shape))
  end
end

function LayerNorm:forward(x)
  return recur.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
end

function LayerNorm:extra_repr()
  return string.format("(%s), eps=%g, elementwise_affine=%s", table.concat(self.normalized_shape, ","),
    self.eps, tostring(self.weight ~= nil))
end

return LayerNorm
