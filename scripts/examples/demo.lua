-- scripts/examples/demo.lua — a first look at recur: fit a linear model by gradient descent
-- with hand-written gradients (autograd comes next), then time a large matmul.
local recur = require "recur"

local usage = [[
usage: recur scripts/examples/demo.lua [--steps N] [--seed S]
Fits y = X w + noise (1000 samples, 8 features) by gradient descent, prints the loss as it
falls and the recovered weights, then times a 1024^3 matmul on this machine.]]

local opts = { steps = 200, seed = 42 }
local i = 1
while i <= #arg do
  local a, v = arg[i], arg[i + 1]
  if a == "-h" or a == "--help" then print(usage) os.exit(0)
  elseif a == "--steps" or a == "--seed" then
    opts[a:sub(3)] = math.tointeger(tonumber(v))
    if not opts[a:sub(3)] or opts[a:sub(3)] < 1 then
      io.stderr:write(a, " needs a positive integer\n", usage, "\n")
      os.exit(2)
    end
    i = i + 1
  else
    io.stderr:write("unknown argument '", a, "'\n", usage, "\n")
    os.exit(2)
  end
  i = i + 1
end

local cfg = recur.config()
print(string.format("recur %s on %d threads, BLIS %s kernels", cfg.version, cfg.threads, cfg.blis_arch))

recur.manual_seed(opts.seed)
local n, d = 1000, 8
local X = recur.randn(n, d)
local w_true = recur.arange(1, d + 1):float():view(d, 1) / d -- 0.125, 0.25, ..., 1
local y = X:matmul(w_true) + recur.randn(n, 1) * 0.1

local w = recur.zeros(d, 1)
local lr = 0.1
for step = 1, opts.steps do
  local err = X:matmul(w) - y                    -- (n, 1)
  local loss = (err * err):mean():item()
  local grad = X:t():matmul(err) * (2 / n)       -- d loss / d w, (d, 1)
  w:sub_(grad * lr)
  if step == 1 or step % (opts.steps // 5) == 0 then
    print(string.format("step %4d  loss %.5f", step, loss))
  end
end
print("true weights:")
print(w_true:view(d))
print("learned weights:")
print(w:view(d))

local a, b = recur.rand(1024, 1024), recur.rand(1024, 1024)
recur.matmul(a, b)
local t0 = recur.now()
for _ = 1, 5 do recur.matmul(a, b) end
local s = (recur.now() - t0) / 5
print(string.format("1024^3 matmul: %.1f ms, %.1f GFLOP/s", s * 1e3, 2 * 1024 ^ 3 / s * 1e-9))
