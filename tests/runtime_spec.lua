-- tests/runtime_spec.lua — recur.threads, recur.now, recur.config, and tensor memory being
-- visible to Lua's collector (a loop keeps a flat RSS without collectgarbage()).
local recur = require "recur"

local function rss_kb()
  local f = assert(io.open("/proc/self/status"))
  local kb = f:read("a"):match("VmRSS:%s*(%d+)")
  f:close()
  return tonumber(kb)
end

describe("recur.threads", function()
  after_each(function() recur.threads(recur.config().cores) end)

  it("defaults to every core", function()
    assert.are.equal(recur.config().cores, recur.threads())
  end)

  it("sets and reports the thread count", function()
    assert.are.equal(1, recur.threads(1))
    assert.are.equal(1, recur.config().threads)
  end)

  it("refuses a count below one", function()
    assert.has_error(function() recur.threads(0) end,
      "recur.threads: need a count in 1..4096, got 0")
  end)
end)

describe("recur.now", function()
  it("is monotonic wall-clock seconds", function()
    local t0 = recur.now()
    local c0 = os.clock()
    os.execute("sleep 0.2")
    local wall, cpu = recur.now() - t0, os.clock() - c0
    assert.is_true(wall >= 0.19 and wall < 5, "wall time " .. wall)
    assert.is_true(cpu < wall, "sleeping costs no CPU time, but wall time passes")
  end)
end)

describe("recur.config", function()
  it("names the BLIS kernels in use and where the choice came from", function()
    local c = recur.config()
    assert.are.equal(recur.version, c.version)
    assert.is_string(c.blis_arch)
    assert.are_not.equal("generic", c.blis_arch) -- recur never settles for the slow kernels
    assert.is_truthy(({ ["cpu features"] = 1, ["BLIS_ARCH_TYPE"] = 1, ["BLIS default"] = 1 })
      [c.blis_arch_source])
    assert.is_truthy(({ avx512 = 1, avx2 = 1, sse2 = 1 })[c.simd])
  end)

  it("uses skx kernels whenever the CPU has AVX-512", function()
    local c = recur.config()
    if c.simd == "avx512" and c.blis_arch_source == "cpu features" then
      assert.are.equal("skx", c.blis_arch)
    end
  end)
end)

describe("tensor memory", function()
  it("stays flat in a loop that makes 4 MB tensors without collectgarbage()", function()
    for _ = 1, 50 do local _ = recur.zeros(1024, 1024) end -- settle
    local before = rss_kb()
    for _ = 1, 1000 do -- 8 GB allocated and freed in all
      local t = recur.zeros(1024, 1024)
      t = t + 1
    end
    local grown_mb = (rss_kb() - before) / 1024
    assert.is_true(grown_mb < 200, string.format("RSS grew by %.0f MB", grown_mb))
  end)
end)

describe("out of memory", function()
  it("is an error that says how much was asked for, not a crash", function()
    assert.has_error(function() recur.zeros(100000, 100000, 100) end,
      "recur.empty: out of memory: 4000000000000 bytes (3725.3 GiB) of tensor storage could not be allocated")
    assert.are.equal(3, recur.ones(3):sum():item()) -- and recur goes on working
  end)
end)
