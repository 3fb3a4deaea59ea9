-- scripts/recur/data/series.lua — time series in recur.data: sliding windows (input length,
-- horizon, stride), chronological splits, and a z-score scaler fitted on the train part only.
local recur = require "recur"
local options = require "recur.options"
local loader = require "recur.data.loader"

local M = {}

local function fail(fmt, ...) error(string.format(fmt, ...), 0) end

local function check_series(fn, x)
  if not recur.is_tensor(x) or (x:dim() ~= 1 and x:dim() ~= 2) then
    fail("%s: expected a series tensor (T) or (T,F), got %s", fn,
      recur.is_tensor(x) and (x:dim() .. " dims") or type(x))
  end
end

--- Sliding windows over series x (T) or (T,F): window w (1-based) reads steps
--- s .. s+input_length-1 with s = 1 + (w-1)*stride, and its targets are the horizon steps
--- right after. Returns inputs (N, input_length[, F]) and targets (N, horizon[, F'])
--- with N = (T - input_length - horizon) // stride + 1; target_features (a list of 1-based
--- feature numbers of a (T,F) series) keeps only those features in the targets.
function M.sliding_windows(x, opts)
  local fn = "data.sliding_windows"
  opts = options.check(fn, opts, { input_length = options.NONE, horizon = 1, stride = 1,
                                   target_features = options.NONE })
  check_series(fn, x)
  local len, horizon, stride = opts.input_length, opts.horizon, opts.stride
  for _, check in ipairs({ { "input_length", len }, { "stride", stride } }) do
    local v = check[2]
    if math.type(v) ~= "integer" or v < 1 then
      fail("%s: %s must be an integer >= 1, got %s", fn, check[1], tostring(v))
    end
  end
  if math.type(horizon) ~= "integer" or horizon < 0 then
    fail("%s: horizon must be an integer >= 0, got %s", fn, tostring(horizon))
  end
  local T = x:size(1)
  if T < len + horizon then
    fail("%s: a series of %d steps is shorter than one window (input_length %d + horizon %d)",
      fn, T, len, horizon)
  end
  local N = (T - len - horizon) // stride + 1
  local in_idx, out_idx = {}, {}
  for w = 0, N - 1 do
    local s = w * stride
    for j = 1, len do in_idx[w * len + j] = s + j end
    for j = 1, horizon do out_idx[w * horizon + j] = s + len + j end
  end
  local rest = {}
  for d = 2, x:dim() do rest[#rest + 1] = x:size(d) end
  local function gather(idx, steps)
    local shape = { N, steps, table.unpack(rest) }
    if #idx == 0 then return recur.zeros(shape, { dtype = x:dtype() }) end
    return x:index_select(1, recur.tensor(idx, { dtype = "int64" })):view(shape)
  end
  local inputs, targets = gather(in_idx, len), gather(out_idx, horizon)
  local feats = opts.target_features
  if feats ~= nil then
    if x:dim() ~= 2 then fail("%s: target_features needs a (T,F) series", fn) end
    if type(feats) ~= "table" or #feats == 0 then
      fail("%s: target_features must be a non-empty list of feature numbers", fn)
    end
    for _, f in ipairs(feats) do
      if math.type(f) ~= "integer" or f < 1 or f > x:size(2) then
        fail("%s: target feature %s out of range (expected 1..%d)", fn, tostring(f), x:size(2))
      end
    end
    targets = targets:index_select(3, recur.tensor(feats, { dtype = "int64" }))
  end
  return inputs, targets
end

--- Consecutive parts of x along time (views), by fractions ({0.7, 0.15, 0.15}) or step
--- counts: no shuffling, so the test part is the future of the train part.
function M.split_series(x, parts)
  local fn = "data.split_series"
  if not recur.is_tensor(x) or x:dim() == 0 then
    fail("%s: expected a tensor with a time dim, got %s", fn, recur.is_tensor(x) and "a 0-d tensor" or type(x))
  end
  local sizes = loader.split_sizes(fn, x:size(1), parts)
  local out, at = {}, 0
  for k, size in ipairs(sizes) do
    out[k] = x:narrow(1, at + 1, size)
    at = at + size
  end
  return table.unpack(out, 1, #sizes)
end

-- --- StandardScaler ------------------------------------------------------------------------

local StandardScaler = {}
StandardScaler.__index = StandardScaler
StandardScaler.__name = "data.StandardScaler"

--- A z-score scaler, as sklearn's StandardScaler: fit(x) takes the mean and the population
--- standard deviation over time (dim 1) of x (T) or (T,F), per feature; transform gives
--- (x - mean) / std, inverse_transform undoes it. A constant feature gets std 1.
function M.StandardScaler()
  return setmetatable({}, StandardScaler)
end

local function as_list(t)
  if t:dim() == 0 then return { t:item() } end
  return t:totable()
end

function StandardScaler:fit(x)
  local fn = "data.StandardScaler:fit"
  check_series(fn, x)
  if x:size(1) == 0 then fail("%s: cannot fit on an empty series", fn) end
  x = x:float()
  local mean = x:mean(1, true)
  local std = ((x - mean) ^ 2):mean(1, true):sqrt()
  local m, s = as_list(mean:view(-1)), as_list(std:view(-1))
  for i = 1, #s do
    if s[i] ~= s[i] then fail("%s: the series holds NaN (fill missing values first)", fn) end
    if s[i] == 0 then s[i] = 1 end
  end
  self.mean, self.std, self.features = m, s, x:dim() == 2 and x:size(2) or nil
  return self
end

function StandardScaler:_stats(fn, x)
  if self.mean == nil then fail("%s: the scaler is not fitted (call fit on the train part first)", fn) end
  check_series(fn, x)
  local f = x:dim() == 2 and x:size(2) or nil
  if x:dim() == 1 and self.features == nil then
    return recur.tensor(self.mean), recur.tensor(self.std)
  end
  if f ~= self.features then
    fail("%s: fitted on %s but got %s", fn,
      self.features and ("(T,%d)"):format(self.features) or "(T)",
      f and ("(T,%d)"):format(f) or "(T)")
  end
  return recur.tensor({ self.mean }), recur.tensor({ self.std })
end

function StandardScaler:transform(x)
  local mean, std = self:_stats("data.StandardScaler:transform", x)
  return (x:float() - mean) / std
end

function StandardScaler:inverse_transform(x)
  local mean, std = self:_stats("data.StandardScaler:inverse_transform", x)
  return x:float() * std + mean
end

function StandardScaler:fit_transform(x) return self:fit(x):transform(x) end

--- A plain table (numbers only) for checkpoints; from_state rebuilds the scaler.
function StandardScaler:state()
  if self.mean == nil then fail("data.StandardScaler:state: the scaler is not fitted") end
  return { mean = table.move(self.mean, 1, #self.mean, 1, {}),
           std = table.move(self.std, 1, #self.std, 1, {}), features = self.features }
end

function M.StandardScaler_from_state(state)
  local fn = "data.StandardScaler.from_state"
  if type(state) ~= "table" or type(state.mean) ~= "table" or type(state.std) ~= "table"
      or #state.mean ~= #state.std or #state.mean == 0 then
    fail("%s: expected {mean = {...}, std = {...}} of equal, non-zero lengths", fn)
  end
  local s = setmetatable({}, StandardScaler)
  s.mean = table.move(state.mean, 1, #state.mean, 1, {})
  s.std = table.move(state.std, 1, #state.std, 1, {})
  s.features = state.features
  return s
end

M.StandardScaler_class = StandardScaler

return M
