-- scripts/bench/rnn.lua — recur's recurrent layers from Lua at the shapes of issue 6: train
-- (forward + backward with input and weight gradients) and inference, as GFLOP/s and as a
-- share of a 2048^3 sgemm measured in the same run; plus the reference model's training step.
local recur = require "recur"
local nn = recur.nn

local usage = [[
usage: recur scripts/bench/rnn.lua [--repeats N] [--threads N] [--only lstm|gru|rnn_tanh|model]
                                   [--ceiling PATH] [--rows]
Prints median ms per call, GFLOP/s (forward flops 2*T*B*G*H*(D+H), G = 1/4/3 for
RNN/LSTM/GRU; train = 3x forward) and that as a % of BLIS's own 2048^3 sgemm at the same
thread count (run by PATH, default build/blis_sgemm), then the reference model's training
step (Embedding(20000,128) -> 2-layer bidirectional LSTM 256 -> Linear(512,1), B=64, T=100,
Adam, clip 5.0) and the peak RSS of the process.
--rows also prints the benchmarks' common machine-readable lines, for scripts/bench/compare.sh:
  row recur <cell> <D>,<H>,<T>,<B> <train_ms or -> <infer_ms>
  model recur <ms>
  meta recur <versions, BLIS kernels, threads>]]

local opts = { repeats = 7, threads = recur.threads(), ceiling = "build/blis_sgemm" }
local i = 1
while i <= #arg do
  local a, v = arg[i], arg[i + 1]
  if a == "-h" or a == "--help" then print(usage) os.exit(0)
  elseif a == "--rows" then opts.rows = true
  elseif a == "--repeats" or a == "--threads" then
    local n = math.tointeger(tonumber(v))
    if not n or n < 1 then io.stderr:write(a, " needs a positive integer\n") os.exit(2) end
    opts[a:sub(3)] = n
    i = i + 1
  elseif a == "--only" or a == "--ceiling" then
    if not v then io.stderr:write(a, " needs a value\n") os.exit(2) end
    opts[a:sub(3)] = v
    i = i + 1
  else
    io.stderr:write("unknown argument '", a, "'\n", usage, "\n")
    os.exit(2)
  end
  i = i + 1
end
recur.threads(opts.threads)

local function median(xs)
  table.sort(xs)
  return xs[(#xs + 1) // 2]
end

-- Median seconds of fn over the repeats, after one warm-up call.
local function time(fn)
  fn()
  local ts = {}
  for r = 1, opts.repeats do
    local t0 = recur.now()
    fn()
    ts[r] = recur.now() - t0
  end
  return median(ts)
end

local function ceiling()
  local p = io.popen(string.format("%q 2048 %d %d 2>&1", opts.ceiling, opts.threads, opts.repeats))
  local line = p:read("a")
  p:close()
  local arch, gflops = line:match("^(%S+) %d+ %d+ ([%d.]+)")
  if not gflops then
    error("could not run " .. opts.ceiling .. " (" .. line .. "); build it with cmake --build build "
      .. "--target blis_sgemm, or pass --ceiling PATH", 0)
  end
  return tonumber(gflops), arch
end

local function peak_rss_mb()
  local f = io.open("/proc/self/status")
  if not f then return 0 end
  local kb = f:read("a"):match("VmHWM:%s*(%d+)")
  f:close()
  return (tonumber(kb) or 0) / 1024
end

local sgemm, arch = ceiling()
local cfg = recur.config()
print(string.format("threads %d, BLIS %s kernels; 2048^3 sgemm (BLIS direct) %.1f GFLOP/s",
  opts.threads, arch, sgemm))
if opts.rows then
  print(string.format("meta recur recur %s, BLIS %s %s kernels (%s), threads %d, repeats %d, "
    .. "sgemm 2048^3 %.1f GFLOP/s", cfg.version, cfg.blis_version, cfg.blis_arch,
    cfg.blis_arch_source, opts.threads, opts.repeats, sgemm))
end
print(string.format("%-9s %-18s %10s %9s %6s %10s %9s %6s", "cell", "D,H,T,B", "train ms",
  "GFLOP/s", "%", "infer ms", "GFLOP/s", "%"))

local cells = {
  { name = "rnn_tanh", make = function(D, H) return nn.RNN(D, H) end, G = 1 },
  { name = "lstm", make = function(D, H) return nn.LSTM(D, H) end, G = 4 },
  { name = "gru", make = function(D, H) return nn.GRU(D, H) end, G = 3 },
}
local shapes = { { 512, 512, 100, 64 }, { 128, 128, 50, 50 }, { 1024, 1024, 35, 64 } }

for _, cell in ipairs(cells) do
  if not opts.only or opts.only == cell.name then
    local rows = {}
    for _, s in ipairs(shapes) do rows[#rows + 1] = { s, true } end
    rows[#rows + 1] = { { 512, 512, 1000, 1 }, false }          -- inference only
    for _, row in ipairs(rows) do
      local D, H, T, B = table.unpack(row[1])
      recur.manual_seed(1)
      local layer = cell.make(D, H)
      local x = recur.randn(T, B, D)
      local flops = 2 * T * B * cell.G * H * (D + H)
      local train_s
      if row[2] then
        local xg = x:clone():requires_grad_()
        train_s = time(function()
          layer:zero_grad()
          xg.grad = nil
          local out, h = layer(xg)
          out:backward(recur.ones(T, B, H))
        end)
      end
      local infer_s = time(function() recur.no_grad(function() layer(x) end) end)
      local function pct(gf) return 100 * gf / sgemm end
      local tg, ig = train_s and 3 * flops / train_s * 1e-9, flops / infer_s * 1e-9
      print(string.format("%-9s %-18s %10s %9s %6s %10.2f %9.1f %5.0f%%", cell.name,
        table.concat(row[1], ","), train_s and string.format("%.2f", train_s * 1e3) or "-",
        tg and string.format("%.1f", tg) or "-", tg and string.format("%.0f%%", pct(tg)) or "-",
        infer_s * 1e3, ig, pct(ig)))
      if opts.rows then
        print(string.format("row recur %s %s %s %.2f", cell.name, table.concat(row[1], ","),
          train_s and string.format("%.2f", train_s * 1e3) or "-", infer_s * 1e3))
      end
    end
  end
end

if not opts.only or opts.only == "model" then
  -- The reference model of DESIGN.md, one full training step (forward, backward, clip, Adam).
  local M = nn.Module:extend("ReferenceModel")
  function M:init()
    self.embedding = nn.Embedding(20000, 128, { padding_idx = 0 })
    self.lstm = nn.LSTM(128, 256, { num_layers = 2, bidirectional = true, dropout = 0.3,
                                    batch_first = true })
    self.fc = nn.Linear(512, 1)
  end
  function M:forward(ids)
    local _, h_n = self.lstm(self.embedding(ids))
    return self.fc(recur.cat({ h_n[-2], h_n[-1] }, 2)):view(-1)
  end
  recur.manual_seed(1)
  local model = M()
  local opt = recur.optim.Adam(model:parameters(), { lr = 1e-3 })
  local ids = recur.randint(1, 20000, { 64, 100 })
  local labels = recur.bernoulli(recur.full({ 64 }, 0.5))
  local step_s = time(function()
    opt:zero_grad()
    local loss = nn.functional.binary_cross_entropy_with_logits(model(ids), labels)
    loss:backward()
    nn.clip_grad_norm(model:parameters(), 5.0)
    opt:step()
  end)
  print(string.format("reference model training step (B=64, T=100): %.1f ms", step_s * 1e3))
  if opts.rows then print(string.format("model recur %.1f", step_s * 1e3)) end
end
print(string.format("peak RSS %.0f MB", peak_rss_mb()))
