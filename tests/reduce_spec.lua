-- tests/reduce_spec.lua — reductions from Lua: sum, mean, prod, max, min, argmax, argmin, norm,
-- logsumexp, softmax and log_softmax; 1-based dims and indices, keepdim, views, bad input.
local recur = require "recur"

local function is_nan(x) return x ~= x end

-- Every element of `got` (nested tables) within tol of `expected`.
local function assert_near(expected, got, tol)
  if type(expected) ~= "table" then
    assert(math.abs(expected - got) <= tol, ("got %.9g, expected %.9g"):format(got, expected))
    return
  end
  assert.are.equal(#expected, #got)
  for i = 1, #expected do assert_near(expected[i], got[i], tol) end
end

local function long(values) return recur.tensor(values, {dtype = "int64"}) end

-- {{1,2,3},{4,5,6}}: column sums 5,7,9; row sums 6,15.
local function m23() return recur.tensor{{1, 2, 3}, {4, 5, 6}} end

-- (2,3,4) holding 0..23 in order: t[i][j][k] = 12(i-1) + 4(j-1) + (k-1).
local function t234() return recur.arange(0, 24):view(2, 3, 4) end

describe("recur.sum", function()
  it("sums every element into a 0-d tensor without a dim", function()
    local s = m23():sum()
    assert.are.equal(0, s:dim())
    assert.are.equal(21, s:item())
  end)

  it("sums along dim 1 and dim 2 of a matrix", function()
    assert.are.same({5, 7, 9}, m23():sum(1):totable())
    assert.are.same({6, 15}, m23():sum(2):totable())
  end)

  it("counts negative dims from the end", function()
    assert.are.same({6, 15}, m23():sum(-1):totable())
    assert.are.same({5, 7, 9}, m23():sum(-2):totable())
  end)

  it("keeps the reduced dim as size 1 with keepdim", function()
    assert.are.same({{6}, {15}}, m23():sum(2, true):totable())
    assert.are.same({1, 3}, m23():sum(1, true):size())
    assert.are.same({1, 1}, m23():sum(nil, true):size())
  end)

  it("is a function of the module as well as a method", function()
    assert.are.same({5, 7, 9}, recur.sum(m23(), 1):totable())
    assert.are.equal(21, recur.sum(m23()):item())
  end)

  it("reduces each dim of a 3-D tensor", function()
    local t = t234()
    -- over i: 2(4(j-1) + (k-1)) + 12
    assert.are.same({{12, 14, 16, 18}, {20, 22, 24, 26}, {28, 30, 32, 34}}, t:sum(1):totable())
    -- over j: 36(i-1) + 12 + 3(k-1)
    assert.are.same({{12, 15, 18, 21}, {48, 51, 54, 57}}, t:sum(2):totable())
    -- over k: 48(i-1) + 16(j-1) + 6
    assert.are.same({{6, 22, 38}, {54, 70, 86}}, t:sum(3):totable())
    assert.are.same({2, 1, 4}, t:sum(2, true):size())
  end)

  it("sums a transposed (non-contiguous) view like its contiguous copy", function()
    local t = m23():t()
    assert.is_false(t:is_contiguous())
    assert.are.same({6, 15}, t:sum(1):totable())
    assert.are.same({5, 7, 9}, t:sum(2):totable())
  end)

  it("sums a million values of 0.1 to 1e5 within 1e-2", function()
    local s = recur.full({1000000}, 0.1):sum():item()
    assert.is_true(math.abs(s - 1e5) <= 1e-2, ("got %.6f"):format(s))
  end)

  it("keeps int64 as int64", function()
    local s = long{3, -1, 4}:sum()
    assert.are.equal("int64", s:dtype())
    assert.are.equal(6, s:item())
    assert.is_true(math.type(s:item()) == "integer")
  end)

  it("gives 0 for an empty tensor", function()
    assert.are.equal(0, recur.zeros(0, 3):sum():item())
    assert.are.same({0, 0, 0}, recur.zeros(0, 3):sum(1):totable())
  end)
end)

describe("recur.mean and recur.prod", function()
  it("average along each dim and over everything", function()
    assert.are.same({2.5, 3.5, 4.5}, m23():mean(1):totable())
    assert.are.same({2, 5}, m23():mean(2):totable())
    assert.are.equal(3.5, m23():mean():item())
    assert.are.same({{2}, {5}}, m23():mean(-1, true):totable())
  end)

  it("multiply along each dim and over everything", function()
    assert.are.same({4, 10, 18}, m23():prod(1):totable())
    assert.are.same({6, 120}, m23():prod(2):totable())
    assert.are.equal(720, m23():prod():item())
  end)

  it("gives NaN for the mean and 1 for the product of nothing", function()
    assert.is_true(is_nan(recur.zeros(0):mean():item()))
    assert.are.equal(1, recur.zeros(0):prod():item())
  end)

  it("turns the mean of int64 into float32 (where PyTorch refuses)", function()
    local m = long{1, 2, 3, 4}:mean()
    assert.are.equal("float32", m:dtype())
    assert.are.equal(2.5, m:item())
  end)
end)

describe("recur.max and recur.min", function()
  it("return a 0-d tensor without a dim", function()
    local mx, mn = m23():max(), m23():min()
    assert.are.equal(0, mx:dim())
    assert.are.equal(6, mx:item())
    assert.are.equal(1, mn:item())
  end)

  it("return values and 1-based int64 indices along a dim", function()
    local v, i = recur.tensor{{3, 9, 1}, {7, 2, 8}}:max(2)
    assert.are.same({9, 8}, v:totable())
    assert.are.same({2, 3}, i:totable())
    assert.are.equal("int64", i:dtype())
    local mv, mi = recur.tensor{{3, 9, 1}, {7, 2, 8}}:min(1)
    assert.are.same({3, 2, 1}, mv:totable())
    assert.are.same({1, 2, 1}, mi:totable())
  end)

  it("give the first index when values tie", function()
    local _, i = recur.tensor{{1, 5, 5, 5}, {2, 2, 0, 2}}:max(2)
    assert.are.same({2, 1}, i:totable())
    local _, j = recur.tensor{{4, 4}, {4, 1}}:min(1)
    assert.are.same({1, 2}, j:totable())
  end)

  it("keep the reduced dim with keepdim, for values and indices", function()
    local v, i = t234():max(3, true)
    assert.are.same({2, 3, 1}, v:size())
    assert.are.same({2, 3, 1}, i:size())
    assert.are.same({{{3}, {7}, {11}}, {{15}, {19}, {23}}}, v:totable())
    assert.are.same({{{4}, {4}, {4}}, {{4}, {4}, {4}}}, i:totable())
  end)

  it("work on a transposed view", function()
    local v, i = m23():t():max(1) -- rows of the transpose are (1,4), (2,5), (3,6)
    assert.are.same({3, 6}, v:totable())
    assert.are.same({3, 3}, i:totable())
  end)

  it("take the elementwise maximum of two tensors, as torch.max(a, b)", function()
    assert.are.same({4, 5, 3}, recur.max(recur.tensor{1, 5, 3}, recur.tensor{4, 2, 0}):totable())
    assert.are.same({1, 2, 0}, recur.tensor{1, 5, 3}:min(recur.tensor{4, 2, 0}):totable())
  end)

  it("propagate NaN", function()
    assert.is_true(is_nan(recur.tensor{1, 0 / 0, 3}:max():item()))
  end)

  it("keep int64 values as int64", function()
    local v, i = long{{5, -7, 2}}:min(2)
    assert.are.equal("int64", v:dtype())
    assert.are.same({-7}, v:totable())
    assert.are.same({2}, i:totable())
  end)

  it("refuse an empty tensor, which has no maximum", function()
    assert.has_error(function() recur.zeros(0, 3):max() end,
      "recur.max: cannot take the maximum of an empty tensor (shape (0,3)): give a dim of non-zero size")
    assert.has_error(function() recur.zeros(0, 3):min(1) end,
      "recur.min: cannot take the minimum over dim 0 of size 0 (shape (0,3))")
  end)
end)

describe("recur.argmax and recur.argmin", function()
  it("give the 1-based flat position without a dim", function()
    local i = recur.tensor{{1, 8, 3}, {9, 2, 9}}:argmax()
    assert.are.equal(0, i:dim())
    assert.are.equal(4, i:item())
    assert.are.equal(1, recur.tensor{{1, 8, 3}, {9, 2, 9}}:argmin():item())
  end)

  it("give 1-based positions along a dim, the first on ties", function()
    local t = recur.tensor{{1, 8, 8}, {9, 9, 0}}
    assert.are.same({2, 1}, t:argmax(2):totable())
    assert.are.same({2, 2, 1}, t:argmax(1):totable())
    assert.are.same({1, 3}, recur.argmin(t, -1):totable())
  end)

  it("keep the reduced dim with keepdim", function()
    assert.are.same({{3}, {3}}, m23():argmax(2, true):totable())
  end)

  it("return the first of a million equal values", function()
    assert.are.equal(1, recur.full({1000000}, 2):argmax():item())
  end)
end)

describe("recur.norm", function()
  local v = recur.tensor{{3, -4}, {0, 0}}

  it("is the 2-norm by default", function()
    assert.are.equal(5, v:norm():item())
  end)

  it("takes p = 1, p = math.huge (max-abs) and other p", function()
    assert.are.equal(7, v:norm(1):item())
    assert.are.equal(4, v:norm(math.huge):item())
    assert_near((27 + 64) ^ (1 / 3), v:norm(3):item(), 1e-5)
  end)

  it("reduces along a dim with keepdim", function()
    assert.are.same({5, 0}, v:norm(2, 2):totable())
    assert.are.same({{3, 4}}, recur.norm(v, 1, 1, true):totable())
  end)
end)

describe("recur.logsumexp", function()
  it("stays finite where exp overflows: logsumexp{1000, 1000} = 1000 + log 2", function()
    assert_near(1000 + math.log(2), recur.tensor{1000, 1000}:logsumexp(1):item(), 1e-4)
  end)

  it("reduces along a dim with keepdim", function()
    local r = recur.tensor{{0, 0}, {1, 1}}:logsumexp(2, true)
    assert.are.same({2, 1}, r:size())
    assert_near({{math.log(2)}, {1 + math.log(2)}}, r:totable(), 1e-6)
  end)

  it("needs a dim, as torch.logsumexp", function()
    local ok, err = pcall(function() m23():logsumexp() end)
    assert.is_false(ok)
    assert.is_truthy(err:find("to 'logsumexp' (number expected, got no value)", 1, true))
  end)
end)

describe("recur.softmax and recur.log_softmax", function()
  it("make every row sum to 1 along the last dim", function()
    local p = recur.tensor{{1, 2, 3}, {-5, 0, 5}, {7, 7, 7}}:softmax(2):totable()
    for r = 1, 3 do assert_near(1, p[r][1] + p[r][2] + p[r][3], 1e-6) end
    local z = math.exp(1) + math.exp(2) + math.exp(3)
    assert_near({math.exp(1) / z, math.exp(2) / z, math.exp(3) / z}, p[1], 1e-6)
    assert_near({1 / 3, 1 / 3, 1 / 3}, p[3], 1e-6)
  end)

  it("make every column sum to 1 along dim 1", function()
    local p = recur.tensor{{1, 2}, {3, 5}}:softmax(1):totable()
    assert_near(1, p[1][1] + p[2][1], 1e-6)
    assert_near(1 / (1 + math.exp(3)), p[1][2], 1e-6)
  end)

  it("keep log_softmax of logits {1000, 0} finite: {0, -1000}", function()
    local l = recur.tensor{1000, 0}:log_softmax(1):totable()
    assert.is_true(l[1] == l[1] and l[2] == l[2] and l[2] > -math.huge)
    assert_near({0, -1000}, l, 1e-3)
  end)

  it("give log_softmax equal to the log of softmax for moderate values", function()
    local t = recur.tensor{{0.5, -1, 2, 0}}
    local p, l = t:softmax(-1):totable()[1], t:log_softmax(-1):totable()[1]
    for k = 1, 4 do assert_near(math.log(p[k]), l[k], 1e-6) end
  end)

  it("need a dim", function()
    local ok, err = pcall(function() recur.softmax(m23()) end)
    assert.is_false(ok)
    assert.is_truthy(err:find("bad argument #2 to 'softmax' (number expected, got no value)", 1, true))
  end)

  it("work as functions of the module on a transposed view", function()
    local p = recur.softmax(recur.tensor{{1, 2}, {3, 5}}:t(), 2):totable()
    assert_near(1 / (1 + math.exp(2)), p[1][1], 1e-6) -- row (1, 3)
  end)
end)

describe("bad input to reductions", function()
  it("names the op and the valid range for a dim out of range", function()
    assert.has_error(function() m23():sum(3) end,
      "recur.sum: dim 3 out of range for a tensor of 2 dims (expected 1..2 or -2..-1)")
    assert.has_error(function() m23():mean(0) end,
      "recur.mean: dim 0 out of range for a tensor of 2 dims (expected 1..2 or -2..-1)")
    assert.has_error(function() m23():prod(-3) end,
      "recur.prod: dim -3 out of range for a tensor of 2 dims (expected 1..2 or -2..-1)")
    assert.has_error(function() m23():max(3) end,
      "recur.max: dim 3 out of range for a tensor of 2 dims (expected 1..2 or -2..-1)")
    assert.has_error(function() m23():argmin(5) end,
      "recur.argmin: dim 5 out of range for a tensor of 2 dims (expected 1..2 or -2..-1)")
    assert.has_error(function() m23():norm(2, 3) end,
      "recur.norm: dim 3 out of range for a tensor of 2 dims (expected 1..2 or -2..-1)")
    assert.has_error(function() m23():logsumexp(3) end,
      "recur.logsumexp: dim 3 out of range for a tensor of 2 dims (expected 1..2 or -2..-1)")
    assert.has_error(function() m23():softmax(3) end,
      "recur.softmax: dim 3 out of range for a tensor of 2 dims (expected 1..2 or -2..-1)")
    assert.has_error(function() m23():log_softmax(-3) end,
      "recur.log_softmax: dim -3 out of range for a tensor of 2 dims (expected 1..2 or -2..-1)")
  end)

  it("says a 0-d tensor has no dim to reduce", function()
    assert.has_error(function() recur.tensor(5):sum(1) end,
      "recur.sum: dim 1 out of range for a tensor of 0 dims (expected no dim: it is 0-d)")
  end)

  it("wants keepdim to be a boolean", function()
    assert.has_error(function() m23():sum(1, 1) end,
      "recur.sum: keepdim must be a boolean, got number")
    assert.has_error(function() m23():max(1, "yes") end,
      "recur.max: keepdim must be a boolean, got string")
  end)

  it("wants a tensor", function()
    local ok, err = pcall(recur.sum, 5)
    assert.is_false(ok)
    assert.is_truthy(err:find("tensor expected, got number", 1, true))
  end)

  it("refuses p = NaN for the norm", function()
    assert.has_error(function() m23():norm(0 / 0) end, "recur.norm: p must be a number, got nan")
  end)
end)
