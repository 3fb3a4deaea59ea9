-- scripts/bench/gemm.lua — GFLOP/s of recur.matmul on square sizes at 1 and 2 threads,
-- beside BLIS's own sgemm measured in the same run (the ceiling recur is held to).
local recur = require "recur"

local usage = [[
usage: recur scripts/bench/gemm.lua [--sizes 256,512,1024,2048] [--threads 1,2] [--repeats 7]
                                    [--ceiling PATH]
Times recur.matmul (median of repeats) and BLIS's sgemm called directly at 2048^3 by the
helper program PATH (default: build/blis_sgemm), and prints recur as a % of that ceiling.
The target (issue 4): 2048^3 at >= 80 % of BLIS's sgemm at 1 and 2 threads.]]

local function parse_args(argv)
  local opts = { sizes = { 256, 512, 1024, 2048 }, threads = { 1, 2 }, repeats = 7,
                 ceiling = "build/blis_sgemm" }
  local i = 1
  while i <= #argv do
    local a, v = argv[i], argv[i + 1]
    if a == "-h" or a == "--help" then print(usage) os.exit(0)
    elseif a == "--sizes" or a == "--threads" then
      local list = {}
      for n in (v or ""):gmatch("%d+") do list[#list + 1] = tonumber(n) end
      if #list == 0 then error(a .. " needs a comma-separated list of integers\n" .. usage, 0) end
      opts[a:sub(3)] = list
      i = i + 1
    elseif a == "--repeats" then
      opts.repeats = math.tointeger(tonumber(v))
      if not opts.repeats or opts.repeats < 1 then error("--repeats needs a positive integer", 0) end
      i = i + 1
    elseif a == "--ceiling" then
      opts.ceiling = v or error("--ceiling needs a path", 0)
      i = i + 1
    else
      error("unknown argument '" .. a .. "'\n" .. usage, 0)
    end
    i = i + 1
  end
  return opts
end

local function median(xs)
  table.sort(xs)
  return xs[(#xs + 1) // 2]
end

-- Median seconds of one n x n x n recur.matmul.
local function time_matmul(n, repeats)
  local a, b = recur.rand(n, n), recur.rand(n, n)
  recur.matmul(a, b) -- warm-up: BLIS's packing buffers, page faults
  local times = {}
  for r = 1, repeats do
    local t0 = recur.now()
    local c <close> = recur.matmul(a, b)
    times[r] = recur.now() - t0
  end
  return median(times)
end

local function blis_ceiling(path, n, threads, repeats)
  local p = io.popen(string.format("%q %d %d %d 2>&1", path, n, threads, repeats))
  local line = p:read("a")
  p:close()
  local arch, gflops = line:match("^(%S+) %d+ %d+ ([%d.]+)")
  if not gflops then
    error(string.format("could not run the BLIS ceiling helper '%s' (%s); build it with "
      .. "cmake --build build --target blis_sgemm, or pass --ceiling PATH", path, line), 0)
  end
  return tonumber(gflops), arch
end

local function cpu_name()
  local f = io.open("/proc/cpuinfo")
  if not f then return "unknown CPU" end
  local info = f:read("a")
  f:close()
  return string.format("%s (cpu family %s, model %s)", info:match("model name%s*:%s*([^\n]+)") or "?",
    info:match("cpu family%s*:%s*(%d+)") or "?", info:match("model%s*:%s*(%d+)") or "?")
end

local opts = parse_args(arg)
local cfg = recur.config()
print(string.format("host: %s; BLIS %s, %s kernels (%s), SIMD %s", cpu_name(), cfg.blis_version,
  cfg.blis_arch, cfg.blis_arch_source, cfg.simd))
print(string.format("%6s %8s %10s %10s", "n", "threads", "ms", "GFLOP/s"))
local at_2048 = {}
for _, threads in ipairs(opts.threads) do
  recur.threads(threads)
  for _, n in ipairs(opts.sizes) do
    local s = time_matmul(n, opts.repeats)
    local gflops = 2 * n ^ 3 / s * 1e-9
    if n == 2048 then at_2048[threads] = gflops end
    print(string.format("%6d %8d %10.2f %10.1f", n, threads, s * 1e3, gflops))
  end
end
print()
for _, threads in ipairs(opts.threads) do
  if at_2048[threads] then
    local ceiling, arch = blis_ceiling(opts.ceiling, 2048, threads, opts.repeats)
    print(string.format("2048^3 on %d thread(s): recur %.1f GFLOP/s, BLIS %s sgemm %.1f -> %.0f %%",
      threads, at_2048[threads], arch, ceiling, 100 * at_2048[threads] / ceiling))
  end
end
