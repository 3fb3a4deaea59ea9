-- tests/random_spec.lua — seeding and the generator state, random tensors (rand, randn, randint,
-- bernoulli, multinomial) and the in-place fills, with their error messages.
local recur = require "recur"

local function flat(t)
  local out = {}
  local function walk(v)
    if type(v) == "table" then
      for _, x in ipairs(v) do walk(x) end
    else
      out[#out + 1] = v
    end
  end
  walk(t:totable())
  return out
end

local function mean_std(values)
  local s = 0
  for _, v in ipairs(values) do s = s + v end
  local mean = s / #values
  local s2 = 0
  for _, v in ipairs(values) do s2 = s2 + (v - mean) ^ 2 end
  return mean, math.sqrt(s2 / #values)
end

local function counts(values)
  local c = {}
  for _, v in ipairs(values) do c[v] = (c[v] or 0) + 1 end
  return c
end

describe("seeding", function()
  it("gives the same numbers after the same seed", function()
    recur.manual_seed(1234)
    local a, b = flat(recur.rand(50)), flat(recur.randn(7))
    recur.manual_seed(1234)
    assert.are.same(a, flat(recur.rand(50)))
    assert.are.same(b, flat(recur.randn(7)))
  end)

  it("gives other numbers after another seed", function()
    recur.manual_seed(1)
    local a = flat(recur.rand(20))
    recur.manual_seed(2)
    assert.are_not.same(a, flat(recur.rand(20)))
  end)

  it("reports the current seed", function()
    recur.manual_seed(987654321)
    assert.are.equal(987654321, recur.seed())
    recur.rand(3)
    assert.are.equal(987654321, recur.seed())
  end)

  it("needs an integer seed", function()
    local ok, err = pcall(recur.manual_seed, 1.5)
    assert.is_false(ok)
    assert.matches(
      "bad argument #1 to '[%w.]*manual_seed' %(number has no integer representation%)", err)
  end)
end)

describe("the generator state", function()
  it("is a table of seed and offset, the offset counting blocks of 4 numbers", function()
    recur.manual_seed(5)
    assert.are.same({seed = 5, offset = 0}, recur.get_rng_state())
    recur.rand(10) -- ceil(10 / 4) = 3 blocks
    assert.are.same({seed = 5, offset = 3}, recur.get_rng_state())
    assert.are.equal("integer", math.type(recur.get_rng_state().offset))
  end)

  it("replays a draw when set back", function()
    local state = recur.get_rng_state()
    local first = flat(recur.randn(3, 5))
    recur.rand(100) -- moves on
    recur.set_rng_state(state)
    assert.are.same(first, flat(recur.randn(3, 5)))
  end)

  it("refuses a state that is not a table", function()
    assert.has_error(function() recur.set_rng_state(3) end,
      "recur.set_rng_state: expected a table {seed=..., offset=...}, got number")
  end)

  it("refuses missing, fractional or negative fields", function()
    assert.has_error(function() recur.set_rng_state{seed = 1} end,
      "recur.set_rng_state: field 'offset' must be an integer, got nil")
    assert.has_error(function() recur.set_rng_state{seed = 1.5, offset = 0} end,
      "recur.set_rng_state: field 'seed' must be an integer, got number")
    assert.has_error(function() recur.set_rng_state{seed = 1, offset = -1} end,
      "recur.set_rng_state: field 'offset' must be >= 0, got -1")
  end)
end)

describe("recur.rand and recur.randn", function()
  it("accept sizes as numbers or as a table", function()
    recur.manual_seed(3)
    local a = recur.rand(2, 3)
    recur.manual_seed(3)
    local b = recur.rand{2, 3}
    assert.are.same({2, 3}, a:size())
    assert.are.equal("float32", a:dtype())
    assert.are.same(a:totable(), b:totable())
  end)

  it("draw uniform numbers in [0, 1) with mean 1/2 and std 1/sqrt(12)", function()
    recur.manual_seed(11)
    local v = flat(recur.rand(100000))
    local lo, hi = math.huge, -math.huge
    for _, x in ipairs(v) do lo, hi = math.min(lo, x), math.max(hi, x) end
    assert.is_true(lo >= 0 and hi < 1, ("range [%g, %g]"):format(lo, hi))
    local mean, std = mean_std(v)
    assert.is_true(math.abs(mean - 0.5) < 0.01, "mean " .. mean)
    assert.is_true(math.abs(std - 1 / math.sqrt(12)) < 0.01, "std " .. std)
  end)

  it("draw normal numbers with mean 0 and std 1", function()
    recur.manual_seed(12)
    local mean, std = mean_std(flat(recur.randn(100000)))
    assert.is_true(math.abs(mean) < 0.02, "mean " .. mean)
    assert.is_true(math.abs(std - 1) < 0.02, "std " .. std)
  end)

  it("give the same numbers on 1 thread and on 2", function()
    local threads = recur.threads()
    recur.threads(1)
    recur.manual_seed(21)
    local a, b = flat(recur.randn(50000)), flat(recur.rand(50000))
    recur.threads(2)
    recur.manual_seed(21)
    local c, d = flat(recur.randn(50000)), flat(recur.rand(50000))
    recur.threads(threads)
    assert.is_true(a[1] ~= a[2])
    assert.are.same(a, c)
    assert.are.same(b, d)
  end)

  it("have _like forms that copy the shape", function()
    local model = recur.zeros({4, 2}, {dtype = "int64"})
    assert.are.same({4, 2}, recur.rand_like(model):size())
    assert.are.equal("float32", recur.randn_like(model):dtype())
  end)

  it("refuse negative sizes and stray arguments", function()
    assert.has_error(function() recur.rand(3, -1) end,
      "recur.rand: sizes must be >= 0, got -1 for dim 2")
    assert.has_error(function() recur.randn(2, "x") end,
      "recur.randn: argument 2 should be a size, got string")
  end)
end)

describe("recur.randint", function()
  it("draws int64 values in [low, high)", function()
    recur.manual_seed(4)
    local t = recur.randint(-2, 3, {7000})
    assert.are.equal("int64", t:dtype())
    assert.are.same({7000}, t:size())
    local c = counts(flat(t))
    for v = -2, 2 do
      -- 1/5 each: 1400 expected, standard error about 33
      assert.is_true(math.abs(c[v] - 1400) < 200, ("value %d seen %d times"):format(v, c[v]))
    end
    assert.is_nil(c[3])
    assert.is_nil(c[-3])
  end)

  it("takes just high, starting at 0", function()
    local t = recur.randint(3, {2, 50})
    assert.are.same({2, 50}, t:size())
    local c = counts(flat(t))
    assert.are.equal(100, (c[0] or 0) + (c[1] or 0) + (c[2] or 0))
  end)

  it("draws whole float32 numbers when asked", function()
    local t = recur.randint(0, 10, {100}, {dtype = "float32"})
    assert.are.equal("float32", t:dtype())
    for _, v in ipairs(flat(t)) do assert.is_true(v == math.floor(v) and v >= 0 and v < 10) end
  end)

  it("refuses an empty range", function()
    assert.has_error(function() recur.randint(5, 5, {3}) end,
      "recur.randint: expected low < high, got low=5 high=5")
  end)

  it("wants the shape as a table", function()
    assert.has_error(function() recur.randint(0, 5, 3) end,
      "recur.randint: expected a shape table such as {2, 3} as argument 3, got number")
  end)
end)

describe("recur.bernoulli", function()
  it("draws 1 with each element's probability", function()
    recur.manual_seed(8)
    local rows = {}
    for i = 1, 5000 do rows[i] = {0, 1, 0.25} end
    local out = recur.bernoulli(recur.tensor(rows))
    assert.are.same({5000, 3}, out:size())
    local sums = {0, 0, 0}
    for _, row in ipairs(out:totable()) do
      for j = 1, 3 do sums[j] = sums[j] + row[j] end
    end
    assert.are.equal(0, sums[1])
    assert.are.equal(5000, sums[2])
    -- 1250 expected, standard error about 31
    assert.is_true(math.abs(sums[3] - 1250) < 150, "ones in column 3: " .. sums[3])
  end)

  it("is also a method", function()
    assert.are.same({1, 0, 1}, recur.tensor{1, 0, 1}:bernoulli():totable())
  end)

  it("refuses probabilities outside [0, 1]", function()
    assert.has_error(function() recur.bernoulli(recur.tensor{0.5, 1.5}) end,
      "recur.bernoulli: probabilities must be in [0, 1], got 1.5")
  end)
end)

describe("the in-place fills", function()
  it("bernoulli_ fills with 0/1 at probability p and returns the tensor", function()
    recur.manual_seed(9)
    local t = recur.zeros(20000)
    assert.are.equal(t, t:bernoulli_(0.3))
    local c = counts(flat(t))
    assert.are.equal(20000, (c[0] or 0) + (c[1] or 0))
    -- 6000 expected, standard error about 65
    assert.is_true(math.abs(c[1] - 6000) < 350, "ones: " .. c[1])
  end)

  it("bernoulli_ refuses p outside [0, 1]", function()
    assert.has_error(function() recur.zeros(2):bernoulli_(2) end,
      "recur.bernoulli_: probability must be in [0, 1], got 2")
  end)

  it("uniform_ fills with numbers in [from, to)", function()
    local t = recur.empty(10000)
    assert.are.equal(t, t:uniform_(-3, -1))
    local v = flat(t)
    for _, x in ipairs(v) do assert.is_true(x >= -3 and x < -1) end
    local mean = mean_std(v)
    assert.is_true(math.abs(mean + 2) < 0.05, "mean " .. mean)
  end)

  it("uniform_ refuses from > to and int64 tensors", function()
    assert.has_error(function() recur.zeros(2):uniform_(1, 0) end,
      "recur.uniform_: expected finite bounds with from <= to, got from=1 to=0")
    assert.has_error(function() recur.zeros(2, {dtype = "int64"}):uniform_() end,
      "recur.uniform_: needs a float32 tensor, got int64")
  end)

  it("normal_ fills with the given mean and std", function()
    recur.manual_seed(10)
    local t = recur.empty(40000)
    assert.are.equal(t, recur.normal_(t, 5, 0.5))
    local mean, std = mean_std(flat(t))
    assert.is_true(math.abs(mean - 5) < 0.02, "mean " .. mean)
    assert.is_true(math.abs(std - 0.5) < 0.02, "std " .. std)
  end)

  it("write a transposed view in the view's own row-major order", function()
    recur.manual_seed(50)
    local a = recur.zeros(3, 4)
    a:t():uniform_()
    recur.manual_seed(50)
    local b = recur.rand(4, 3)
    assert.are.same(b:totable(), a:t():totable())
  end)

  it("touch only the elements of a narrowed view", function()
    local base = recur.full({2, 4}, -1)
    base:narrow(2, 2, 2):bernoulli_(1)
    assert.are.same({{-1, 1, 1, -1}, {-1, 1, 1, -1}}, base:totable())
  end)

  it("refuse an expanded view, which names one element several times", function()
    assert.has_error(function() recur.zeros(1, 3):expand(2, 3):normal_() end,
      "recur.normal_: cannot fill an expanded view (a dim of stride 0 names one element several "
        .. "times); call contiguous() first")
  end)

  it("normal_ refuses a negative std", function()
    assert.has_error(function() recur.zeros(2):normal_(0, -1) end,
      "recur.normal_: expected a finite mean and a finite std >= 0, got mean=0 std=-1")
  end)
end)

describe("recur.multinomial", function()
  it("draws 1-based categories as often as their weights say", function()
    recur.manual_seed(13)
    local t = recur.multinomial(recur.tensor{1, 2, 0, 7}, 20000, true)
    assert.are.equal("int64", t:dtype())
    assert.are.same({20000}, t:size())
    local c = counts(flat(t))
    assert.is_nil(c[0])
    assert.is_nil(c[3]) -- weight 0
    assert.is_nil(c[5])
    -- expected 2000, 4000, 14000; standard errors about 42, 57, 65
    assert.is_true(math.abs(c[1] - 2000) < 250, "category 1: " .. c[1])
    assert.is_true(math.abs(c[2] - 4000) < 300, "category 2: " .. c[2])
    assert.is_true(math.abs(c[4] - 14000) < 350, "category 4: " .. c[4])
  end)

  it("draws distinct categories without replacement, the default", function()
    recur.manual_seed(14)
    local t = recur.multinomial(recur.tensor{{1, 1, 1, 1, 1}, {0, 3, 0, 1, 2}}, 3)
    assert.are.same({2, 3}, t:size())
    for _, row in ipairs(t:totable()) do
      local seen = {}
      for _, v in ipairs(row) do
        assert.is_true(v >= 1 and v <= 5)
        assert.is_nil(seen[v])
        seen[v] = true
      end
    end
    local second = t:totable()[2]
    table.sort(second)
    assert.are.same({2, 4, 5}, second) -- the only non-zero weights
  end)

  it("is also a method", function()
    assert.are.same({3}, recur.tensor{0, 0, 4}:multinomial(1):totable())
  end)

  it("refuses more samples than categories without replacement", function()
    assert.has_error(function() recur.multinomial(recur.tensor{1, 2, 3}, 4) end,
      "recur.multinomial: cannot draw 4 samples without replacement from 3 categories")
  end)

  it("refuses weights that sum to 0 or are negative", function()
    assert.has_error(function() recur.multinomial(recur.tensor{{1, 1}, {0, 0}}, 1, true) end,
      "recur.multinomial: the weights sum to 0 (row 2 of 2)")
    assert.has_error(function() recur.multinomial(recur.tensor{1, -1}, 1, true) end,
      "recur.multinomial: weights must be finite and >= 0, got -1")
  end)

  it("leaves the generator alone when it refuses", function()
    local before = recur.get_rng_state()
    pcall(recur.multinomial, recur.tensor{0, 0}, 1)
    pcall(recur.bernoulli, recur.tensor{2})
    assert.are.same(before, recur.get_rng_state())
  end)
end)
