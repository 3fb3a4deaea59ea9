-- scripts/recur/nn/initializers.lua — nn.init: in-place initialisers with PyTorch's names and
-- formulas (fan-in/fan-out, gains, kaiming/xavier bounds, orthogonal).
local recur = require "recur"

local init = {}

local function fans(t, fn)
  if t:dim() < 2 then
    error(string.format("nn.init.%s: fan in and fan out need a tensor of 2 or more dims, got %d", fn, t:dim()), 0)
  end
  local receptive = 1
  for d = 3, t:dim() do receptive = receptive * t:size(d) end
  return t:size(2) * receptive, t:size(1) * receptive
end

--- The recommended gain of a nonlinearity, as torch.nn.init.calculate_gain.
function init.calculate_gain(nonlinearity, param)
  if nonlinearity == "linear" or nonlinearity == "sigmoid" or nonlinearity == "conv1d" then return 1 end
  if nonlinearity == "tanh" then return 5 / 3 end
  if nonlinearity == "relu" then return math.sqrt(2) end
  if nonlinearity == "leaky_relu" then
    local slope = param or 0.01
    return math.sqrt(2 / (1 + slope ^ 2))
  end
  if nonlinearity == "selu" then return 3 / 4 end
  error("nn.init.calculate_gain: unknown nonlinearity '" .. tostring(nonlinearity) ..
    "' (expected linear, sigmoid, tanh, relu, leaky_relu or selu)", 0)
end

local function no_grad(fn) return recur.no_grad(fn) end

function init.uniform_(t, a, b)
  return no_grad(function() return t:uniform_(a or 0, b or 1) end)
end

function init.normal_(t, mean, std)
  return no_grad(function() return t:normal_(mean or 0, std or 1) end)
end

function init.constant_(t, v)
  return no_grad(function() return t:fill_(v) end)
end

function init.zeros_(t) return init.constant_(t, 0) end
function init.ones_(t) return init.constant_(t, 1) end

function init.xavier_uniform_(t, gain)
  local fan_in, fan_out = fans(t, "xavier_uniform_")
  local bound = (gain or 1) * math.sqrt(6 / (fan_in + fan_out))
  return init.uniform_(t, -bound, bound)
end

function init.xavier_normal_(t, gain)
  local fan_in, fan_out = fans(t, "xavier_normal_")
  return init.normal_(t, 0, (gain or 1) * math.sqrt(2 / (fan_in + fan_out)))
end

-- opts: {a = 0, mode = "fan_in", nonlinearity = "leaky_relu"} as PyTorch.
local function kaiming_std(t, opts, fn)
  opts = require("recur.options").check("nn.init." .. fn, opts,
    { a = 0, mode = "fan_in", nonlinearity = "leaky_relu" })
  local fan_in, fan_out = fans(t, fn)
  local fan = opts.mode == "fan_in" and fan_in or opts.mode == "fan_out" and fan_out
  if not fan then error("nn.init." .. fn .. ": mode must be 'fan_in' or 'fan_out', got " .. tostring(opts.mode), 0) end
  return init.calculate_gain(opts.nonlinearity, opts.a) / math.sqrt(fan)
end

function init.kaiming_uniform_(t, opts)
  local bound = math.sqrt(3) * kaiming_std(t, opts, "kaiming_uniform_")
  return init.uniform_(t, -bound, bound)
end

function init.kaiming_normal_(t, opts)
  return init.normal_(t, 0, kaiming_std(t, opts, "kaiming_normal_"))
end

--- A (semi-)orthogonal matrix, as torch.nn.init.orthogonal_: QR of a normal matrix with the
--- signs of R's diagonal folded in. Modified Gram-Schmidt on the columns of the tall side.
function init.orthogonal_(t, gain)
  if t:dim() < 2 then error("nn.init.orthogonal_: needs a tensor of 2 or more dims, got " .. t:dim(), 0) end
  return no_grad(function()
    local rows = t:size(1)
    local cols = t:numel() // rows
    local a = recur.randn(rows, cols)
    if rows < cols then a = a:t() end
    a = a:contiguous()                 -- (n, k) with n >= k: orthonormalise the k columns
    local k = a:size(2)
    local q = recur.zeros(a:size(1), k)
    for j = 1, k do
      local v = a:select(2, j):clone()
      for i = 1, j - 1 do
        local qi = q:select(2, i)
        v:sub_(qi * recur.dot(qi, v):item())
      end
      local r = v:norm():item()
      if r == 0 then error("nn.init.orthogonal_: a degenerate random draw; try again", 0) end
      -- sign(R_jj) is positive here by construction, as QR with the sign fix gives.
      q:select(2, j):copy_(v / r)
    end
    if rows < cols then q = q:t() end
    t:view(rows, cols):copy_(q * (gain or 1))
    return t
  end)
end

return init
