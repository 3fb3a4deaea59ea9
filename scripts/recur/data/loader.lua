-- scripts/recur/data/loader.lua — datasets and batching of recur.data: SequenceDataset,
-- TensorDataset, Subset, random_split and the DataLoader (padding, shuffling, bucketing).
local recur = require "recur"
local options = require "recur.options"

local M = {}

local function fail(fmt, ...) error(string.format(fmt, ...), 0) end

--- A random permutation of 1..n (a Lua list) from recur's seeded generator, so
--- recur.manual_seed makes it reproducible. Fisher-Yates over 62-bit draws: the modulo bias
--- is below n / 2^62.
function M.randperm(n)
  if math.type(n) ~= "integer" or n < 0 then
    fail("data.randperm: n must be an integer >= 0, got %s", tostring(n))
  end
  local p = {}
  for i = 1, n do p[i] = i end
  if n < 2 then return p end
  local draws = recur.randint(0, 1 << 62, { n }):totable()
  for i = n, 2, -1 do
    local j = draws[i] % i + 1
    p[i], p[j] = p[j], p[i]
  end
  return p
end

-- Runs f with recur's generator seeded by seed, then puts the generator back as it was, so
-- a seeded split leaves the training run's random stream untouched.
local function with_seed(seed, f)
  if seed == nil then return f() end
  local saved = recur.get_rng_state()
  recur.manual_seed(seed)
  local ok, a = pcall(f)
  recur.set_rng_state(saved)
  if not ok then error(a, 0) end
  return a
end
M.with_seed = with_seed

-- The length of a sequence given as a Lua list or a 1-D tensor.
local function seq_length(fn, seq, i)
  if recur.is_tensor(seq) then
    if seq:dim() ~= 1 then fail("%s: sequence %d must be 1-D, got %d dims", fn, i, seq:dim()) end
    return seq:size(1)
  end
  if type(seq) ~= "table" then
    fail("%s: sequence %d must be a list of ids or a 1-D tensor, got %s", fn, i, type(seq))
  end
  return #seq
end

-- --- SequenceDataset ----------------------------------------------------------------------

local SequenceDataset = {}
SequenceDataset.__index = SequenceDataset
SequenceDataset.__name = "data.SequenceDataset"

--- Variable-length sequences of ids (Lua lists or 1-D int64 tensors) with optional targets:
--- a list of numbers, a list of sequences (padded like the inputs), or a tensor whose first
--- dim indexes the examples. ds[i] is {ids = ..., target = ..., length = n}.
function M.SequenceDataset(sequences, targets)
  local fn = "data.SequenceDataset"
  if type(sequences) ~= "table" then fail("%s: expected a list of sequences, got %s", fn, type(sequences)) end
  local lengths = {}
  for i = 1, #sequences do lengths[i] = seq_length(fn, sequences[i], i) end
  if targets ~= nil then
    local n = recur.is_tensor(targets) and (targets:dim() > 0 and targets:size(1) or -1)
              or (type(targets) == "table" and #targets or -1)
    if n ~= #sequences then
      fail("%s: %d sequences but %s targets", fn, #sequences,
        n < 0 and ("a " .. type(targets) .. " of") or tostring(n))
    end
  end
  return setmetatable({ sequences = sequences, targets = targets, lengths = lengths }, SequenceDataset)
end

function SequenceDataset:__len() return #self.sequences end

function SequenceDataset:get(i)
  local t = self.targets
  if recur.is_tensor(t) then t = t[i] elseif t then t = t[i] end
  return { ids = self.sequences[i], target = t, length = self.lengths[i] }
end

function SequenceDataset:length(i) return self.lengths[i] end

-- --- TensorDataset ------------------------------------------------------------------------

local TensorDataset = {}
TensorDataset.__index = TensorDataset
TensorDataset.__name = "data.TensorDataset"

--- Tensors sharing their first dim (N): example i is row i of each. A batch is each tensor's
--- rows at the batch's indices (one index_select per tensor).
function M.TensorDataset(...)
  local tensors = { ... }
  if #tensors == 0 then fail("data.TensorDataset: expected at least one tensor") end
  local n
  for k, t in ipairs(tensors) do
    if not recur.is_tensor(t) or t:dim() == 0 then
      fail("data.TensorDataset: argument %d must be a tensor with at least 1 dim, got %s", k,
        recur.is_tensor(t) and "a 0-d tensor" or type(t))
    end
    if n and t:size(1) ~= n then
      fail("data.TensorDataset: tensors must share their first dim, got %d and %d", n, t:size(1))
    end
    n = t:size(1)
  end
  return setmetatable({ tensors = tensors, n = n }, TensorDataset)
end

function TensorDataset:__len() return self.n end

function TensorDataset:get(i)
  local out = {}
  for k, t in ipairs(self.tensors) do out[k] = t[i] end
  return out
end

function TensorDataset:batch(indices)
  local idx = recur.tensor(indices, { dtype = "int64" })
  local out = {}
  for k, t in ipairs(self.tensors) do out[k] = t:index_select(1, idx) end
  return out
end

-- --- Subset and splits ----------------------------------------------------------------------

local Subset = {}
Subset.__index = Subset
Subset.__name = "data.Subset"

--- The examples of dataset at indices (a list), in that order.
function M.Subset(dataset, indices)
  return setmetatable({ dataset = dataset, indices = indices }, Subset)
end

function Subset:__len() return #self.indices end

local function get_example(dataset, i)
  if type(dataset.get) == "function" then return dataset:get(i) end
  return dataset[i]
end
M.get_example = get_example

function Subset:get(i) return get_example(self.dataset, self.indices[i]) end

function Subset:length(i)
  local d = self.dataset
  if type(d.length) == "function" then return d:length(self.indices[i]) end
  return nil
end

function Subset:batch(indices)
  if type(self.dataset.batch) ~= "function" then return nil end
  local mapped = {}
  for k, i in ipairs(indices) do mapped[k] = self.indices[i] end
  return self.dataset:batch(mapped)
end

-- Split sizes from fractions (summing to 1) or counts (summing to n). Fractions round down
-- and the remainder goes one each to the first parts, as PyTorch's random_split.
local function split_sizes(fn, n, parts)
  if type(parts) ~= "table" or #parts == 0 then
    fail("%s: expected a list of fractions or sizes, got %s", fn, type(parts))
  end
  local all_integer, sum = true, 0
  for i, p in ipairs(parts) do
    if type(p) ~= "number" or p < 0 then
      fail("%s: part %d must be a number >= 0, got %s", fn, i, tostring(p))
    end
    if math.type(p) ~= "integer" then all_integer = false end
    sum = sum + p
  end
  local sizes = {}
  if all_integer and sum == n then
    for i, p in ipairs(parts) do sizes[i] = p end
    return sizes
  end
  if math.abs(sum - 1) > 1e-6 then
    fail("%s: fractions must sum to 1 (or sizes to %d), got a sum of %s", fn, n, tostring(sum))
  end
  local used = 0
  for i, p in ipairs(parts) do
    sizes[i] = math.floor(p * n)
    used = used + sizes[i]
  end
  for i = 1, n - used do
    local k = (i - 1) % #parts + 1
    sizes[k] = sizes[k] + 1
  end
  return sizes
end
M.split_sizes = split_sizes

--- Subsets of dataset after a random permutation: parts are fractions ({0.8, 0.1, 0.1})
--- or sizes. With seed the split is the same on every run and recur's generator is left as
--- it was; without, it draws from recur's generator.
function M.random_split(dataset, parts, opts)
  local fn = "data.random_split"
  opts = options.check(fn, opts, { seed = options.NONE })
  local n = #dataset
  local sizes = split_sizes(fn, n, parts)
  local perm = with_seed(opts.seed, function() return M.randperm(n) end)
  local out, at = {}, 0
  for k, size in ipairs(sizes) do
    out[k] = M.Subset(dataset, table.move(perm, at + 1, at + size, 1, {}))
    at = at + size
  end
  return table.unpack(out, 1, #sizes)
end

-- --- collate: examples -> batch ----------------------------------------------------------

-- A (B, T) int64 tensor of the sequences padded with value, and lengths (B) int64.
local function pad_sequences(fn, seqs, value, batch_first)
  local B, T, lengths = #seqs, 0, {}
  for b = 1, B do
    lengths[b] = seq_length(fn, seqs[b], b)
    if lengths[b] > T then T = lengths[b] end
  end
  local ids
  local all_lists = true
  for b = 1, B do if recur.is_tensor(seqs[b]) then all_lists = false end end
  if all_lists then
    local flat, k = {}, 0
    for b = 1, B do
      local s, len = seqs[b], lengths[b]
      for t = 1, len do flat[k + t] = s[t] end
      for t = len + 1, T do flat[k + t] = value end
      k = k + T
    end
    ids = recur.tensor(flat, { dtype = "int64" }):view(B, T)
  else
    ids = recur.full({ B, T }, value, { dtype = "int64" })
    for b = 1, B do
      local s, len = seqs[b], lengths[b]
      if len > 0 then
        if not recur.is_tensor(s) then s = recur.tensor(s, { dtype = "int64" }) end
        ids[b]:narrow(1, 1, len):copy_(s)
      end
    end
  end
  if not batch_first then ids = ids:t():contiguous() end
  return ids, recur.tensor(lengths, { dtype = "int64" })
end
M.pad_sequences = pad_sequences

-- Targets of a batch: numbers -> (B) (int64 when all integers, else float32); Lua lists (and
-- 1-D tensors with pad_targets) -> padded (B, T) plus their lengths; tensors -> stacked.
local function collate_targets(fn, targets, opts)
  local first = targets[1]
  if first == nil then return nil end
  if type(first) == "number" then
    local dtype = opts.target_dtype
    if dtype == nil then
      dtype = "int64"
      for _, v in ipairs(targets) do
        if math.type(v) ~= "integer" then dtype = "float32" break end
      end
    end
    return recur.tensor(targets, { dtype = dtype })
  end
  if type(first) == "table" or (recur.is_tensor(first) and opts.pad_targets) then
    return pad_sequences(fn, targets, opts.target_padding_value, opts.batch_first)
  end
  if recur.is_tensor(first) then
    local t = recur.stack(targets)
    if opts.target_dtype and t:dtype() ~= opts.target_dtype then t = t:to(opts.target_dtype) end
    return t
  end
  fail("%s: cannot batch targets of type %s (give a collate function)", fn, type(first))
end

--- The default collate: examples {ids = ..., target = ...} become a batch
--- {ids (B,T) int64 padded, lengths (B) int64, targets, target_lengths (sequence targets)}.
function M.collate(examples, opts)
  local fn = "data.collate"
  -- the loader's options, or defaults when called directly
  local o = { padding_value = 0, batch_first = true, target_padding_value = 0 }
  for k, v in pairs(opts or {}) do o[k] = v end
  opts = o
  local seqs, targets, with_target = {}, {}, 0
  for b, ex in ipairs(examples) do
    if type(ex) ~= "table" or ex.ids == nil then
      fail("%s: example %d must be a table with ids (and target), got %s", fn, b, type(ex))
    end
    seqs[b] = ex.ids
    targets[b] = ex.target
    if ex.target ~= nil then with_target = with_target + 1 end
  end
  if with_target ~= 0 and with_target ~= #seqs then
    fail("%s: %d of %d examples have a target (all or none must)", fn, with_target, #seqs)
  end
  local batch = {}
  batch.ids, batch.lengths = pad_sequences(fn, seqs, opts.padding_value, opts.batch_first)
  batch.targets, batch.target_lengths = collate_targets(fn, targets, opts)
  return batch
end

-- --- DataLoader ----------------------------------------------------------------------------

local DataLoader = {}
DataLoader.__index = DataLoader
DataLoader.__name = "data.DataLoader"

--- Batches of dataset (a SequenceDataset, TensorDataset, Subset, or any table with #ds and
--- ds[i] / ds:get(i)). Options:
---   batch_size (32), shuffle (false; a new permutation from recur's generator each epoch),
---   drop_last (false: keep the last, smaller batch), batch_first (true: ids (B,T), else (T,B)),
---   bucket (false, or the number of batches per pool: examples are drawn into pools of
---     bucket * batch_size, sorted by length in the pool and cut into batches, so a batch
---     holds sequences of similar length; true means 100),
---   padding_value (0), target_dtype ("int64"/"float32": numbers are int64 when all are
---     integers), pad_targets (false: pad 1-D tensor targets as sequences, as Lua lists always
---     are), target_padding_value (0),
---   collate (function(examples, opts) -> batch; the default pads sequences).
--- A batch is a table: {ids, lengths, targets, target_lengths, indices} for sequences, the
--- list of row batches for a TensorDataset; batch.indices lists the dataset positions.
function M.DataLoader(dataset, opts)
  local fn = "data.DataLoader"
  opts = options.check(fn, opts, { batch_size = 32, shuffle = false, drop_last = false,
                                   batch_first = true, bucket = false, padding_value = 0,
                                   target_dtype = options.NONE, pad_targets = false,
                                   target_padding_value = 0, collate = options.NONE })
  if type(dataset) ~= "table" then fail("%s: expected a dataset table, got %s", fn, type(dataset)) end
  local bs = opts.batch_size
  if math.type(bs) ~= "integer" or bs < 1 then
    fail("%s: batch_size must be an integer >= 1, got %s", fn, tostring(bs))
  end
  local bucket = opts.bucket
  if bucket == true then bucket = 100 end
  if bucket and (math.type(bucket) ~= "integer" or bucket < 1) then
    fail("%s: bucket must be false, true or a number of batches >= 1, got %s", fn, tostring(bucket))
  end
  opts.bucket = bucket
  if opts.collate ~= nil and type(opts.collate) ~= "function" then
    fail("%s: collate must be a function, got %s", fn, type(opts.collate))
  end
  return setmetatable({ dataset = dataset, opts = opts, epoch = 0 }, DataLoader)
end

--- The number of batches per epoch.
function DataLoader:__len()
  local n, bs = #self.dataset, self.opts.batch_size
  if self.opts.drop_last then return n // bs end
  return (n + bs - 1) // bs
end

-- The length of example i, for bucketing.
function DataLoader:_length(i)
  local d = self.dataset
  if type(d.length) == "function" then
    local len = d:length(i)
    if len then return len end
  end
  local ex = get_example(d, i)
  if type(ex) == "table" and ex.ids ~= nil then return seq_length("data.DataLoader", ex.ids, i) end
  fail("data.DataLoader: bucketing needs sequence lengths, and example %d has no ids", i)
end

--- The batches of one epoch as lists of dataset indices.
function DataLoader:batch_indices()
  local o, n = self.opts, #self.dataset
  local bs = o.batch_size
  local order
  if o.shuffle then order = M.randperm(n) else
    order = {}
    for i = 1, n do order[i] = i end
  end
  local batches = {}
  if o.bucket then
    local pool = o.bucket * bs
    local lengths = {}
    for i = 1, n do lengths[i] = self:_length(i) end
    for start = 1, n, pool do
      local chunk = table.move(order, start, math.min(start + pool - 1, n), 1, {})
      local rank = {}
      for k, i in ipairs(chunk) do rank[i] = k end
      table.sort(chunk, function(a, b)
        if lengths[a] ~= lengths[b] then return lengths[a] < lengths[b] end
        return rank[a] < rank[b]
      end)
      for s = 1, #chunk, bs do
        batches[#batches + 1] = table.move(chunk, s, math.min(s + bs - 1, #chunk), 1, {})
      end
    end
    -- Only the last pool can end in a short batch; it stays last so drop_last can drop it,
    -- and the full batches are shuffled so an epoch does not run short to long.
    local last = #batches > 0 and #batches[#batches] < bs and table.remove(batches) or nil
    if o.shuffle then
      local perm, shuffled = M.randperm(#batches), {}
      for k, p in ipairs(perm) do shuffled[k] = batches[p] end
      batches = shuffled
    end
    batches[#batches + 1] = last
  else
    for s = 1, n, bs do
      batches[#batches + 1] = table.move(order, s, math.min(s + bs - 1, n), 1, {})
    end
  end
  if o.drop_last and #batches > 0 and #batches[#batches] < bs then table.remove(batches) end
  return batches
end

--- The batch made of the dataset examples at indices.
function DataLoader:make_batch(indices)
  local d, o = self.dataset, self.opts
  local batch
  if o.collate == nil and type(d.batch) == "function" then batch = d:batch(indices) end
  if batch == nil then
    local examples = {}
    for k, i in ipairs(indices) do examples[k] = get_example(d, i) end
    batch = (o.collate or M.collate)(examples, o)
  end
  if type(batch) == "table" and batch.indices == nil then batch.indices = indices end
  return batch
end

--- An iterator over one epoch's batches: `for batch in loader:iter() do ... end`. Each call
--- starts a new epoch (a new shuffle).
function DataLoader:iter()
  self.epoch = self.epoch + 1
  local batches, k = self:batch_indices(), 0
  return function()
    k = k + 1
    if batches[k] == nil then return nil end
    return self:make_batch(batches[k])
  end
end

M.DataLoader_class = DataLoader
M.SequenceDataset_class = SequenceDataset
M.TensorDataset_class = TensorDataset
M.Subset_class = Subset

return M
