-- scripts/recur/data/stream.lua — data.StreamBatcher: a long token sequence cut into B parallel
-- streams and windows of k steps for truncated BPTT (char-rnn / word_language_model batchify).
local recur = require "recur"
local options = require "recur.options"

local M = {}

local function fail(fmt, ...) error(string.format(fmt, ...), 0) end

local StreamBatcher = {}
StreamBatcher.__index = StreamBatcher
StreamBatcher.__name = "data.StreamBatcher"

--- ids: a 1-D int64 tensor (or a Lua list) of N tokens. Targets are the inputs shifted by one
--- token, so the N-1 input positions are cut into B streams of L = (N-1) // B steps: stream b
--- reads ids[(b-1)L+1 .. bL] and predicts ids[(b-1)L+2 .. bL+1]. The last (N-1) - B*L input
--- positions (fewer than B) are not used; self.unused says how many. Each stream is read in
--- windows of bptt steps, in order, so the hidden state of window w carries to window w+1.
--- Options: batch_size (B), bptt (k), batch_first (false: windows are (k,B); true: (B,k)),
--- drop_last (false: keep the last, shorter window).
function M.StreamBatcher(ids, opts)
  local fn = "data.StreamBatcher"
  opts = options.check(fn, opts, { batch_size = options.NONE, bptt = options.NONE,
                                   batch_first = false, drop_last = false })
  if type(ids) == "table" and not recur.is_tensor(ids) then ids = recur.tensor(ids, { dtype = "int64" }) end
  if not recur.is_tensor(ids) or ids:dim() ~= 1 then
    fail("%s: expected a 1-D tensor of token ids, got %s", fn,
      recur.is_tensor(ids) and (ids:dim() .. " dims") or type(ids))
  end
  local B, k = opts.batch_size, opts.bptt
  if math.type(B) ~= "integer" or B < 1 then
    fail("%s: batch_size must be an integer >= 1, got %s", fn, tostring(B))
  end
  if math.type(k) ~= "integer" or k < 1 then
    fail("%s: bptt must be an integer >= 1, got %s", fn, tostring(k))
  end
  local n = ids:size(1)
  local L = (n - 1) // B
  if L < 1 then
    fail("%s: %d tokens are too few for %d streams (each needs at least 2 tokens: one input, "
      .. "its target)", fn, n, B)
  end
  ids = ids:long():contiguous()
  local self = setmetatable({
    batch_size = B, bptt = k, batch_first = opts.batch_first, drop_last = opts.drop_last,
    stream_length = L, unused = (n - 1) - B * L,
    -- (B, L) views: row b is stream b; targets are the same positions one token later
    inputs = ids:narrow(1, 1, B * L):view(B, L),
    targets = ids:narrow(1, 2, B * L):view(B, L),
  }, StreamBatcher)
  return self
end

--- The number of windows.
function StreamBatcher:__len()
  local L, k = self.stream_length, self.bptt
  if self.drop_last then return L // k end
  return (L + k - 1) // k
end

--- Window w (1-based): inputs and targets, (k,B) or (B,k) with batch_first, int64, contiguous.
--- The last window is shorter when k does not divide the stream length.
function StreamBatcher:window(w)
  local n = #self
  if math.type(w) ~= "integer" or w < 1 or w > n then
    fail("data.StreamBatcher:window: window %s out of range (expected 1..%d)", tostring(w), n)
  end
  local start = (w - 1) * self.bptt + 1
  local len = math.min(self.bptt, self.stream_length - start + 1)
  local x = self.inputs:narrow(2, start, len)
  local y = self.targets:narrow(2, start, len)
  if self.batch_first then return x:contiguous(), y:contiguous() end
  return x:t():contiguous(), y:t():contiguous()
end

--- `for inputs, targets in stream:iter() do ... end`: the windows in order.
function StreamBatcher:iter()
  local w, n = 0, #self
  return function()
    w = w + 1
    if w > n then return nil end
    return self:window(w)
  end
end

M.StreamBatcher_class = StreamBatcher

return M
