-- scripts/recur/nn/embedding.lua — a lookup table of vectors, as torch.nn.Embedding. Token
-- ids are row numbers 0..num_embeddings-1; with padding_idx = 0 (recur's convention: id 0 is
-- padding) row 0 is zero and never gets a gradient.
local recur = require "recur"
local Module = require "recur.nn.module"
local options = require "recur.options"
local init = require "recur.nn.initializers"

local Embedding = Module:extend("Embedding")

function Embedding:init(num_embeddings, embedding_dim, opts)
  opts = options.check("nn.Embedding", opts, { padding_idx = options.NONE })
  if math.type(num_embeddings) ~= "integer" or math.type(embedding_dim) ~= "integer"
      or num_embeddings < 1 or embedding_dim < 1 then
    error(string.format("nn.Embedding: num_embeddings and embedding_dim must be positive integers, got %s and %s",
      tostring(num_embeddings), tostring(embedding_dim)), 0)
  end
  local pad = opts.padding_idx
  if pad ~= nil then
    if math.type(pad) ~= "integer" or pad < -num_embeddings or pad >= num_embeddings then
      error(string.format("nn.Embedding: padding_idx must be an id in 0..%d (or negative from the end), got %s",
        num_embeddings - 1, tostring(pad)), 0)
    end
    if pad < 0 then pad = pad + num_embeddings end
  end
  self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, pad
  self.weight = Module.Parameter(recur.empty(num_embeddings, embedding_dim))
  self:reset_parameters()
end

-- PyTorch's default: N(0, 1), the padding row zero.
function Embedding:reset_parameters()
  init.normal_(self.weight)
  if self.padding_idx then
    recur.no_grad(function() self.weight[self.padding_idx + 1]:fill_(0) end)
  end
end

function Embedding:forward(ids)
  return recur.embedding(ids, self.weight, self.padding_idx)
end

function Embedding:extra_repr()
  return string.format("%d, %d%s", self.num_embeddings, self.embedding_dim,
    self.padding_idx and ", padding_idx=" .. self.padding_idx or "")
end

return Embedding
