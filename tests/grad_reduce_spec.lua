-- tests/grad_reduce_spec.lua — gradients of reductions and softmaxes from Lua: sum, mean, prod,
-- max/min (all dims, with a dim, elementwise), norm, logsumexp, softmax, log_softmax.
local recur = require "recur"

-- Every element of `got` (nested tables) within tol of `expected`.
local function assert_near(expected, got, tol)
  if type(expected) ~= "table" then
    assert(math.abs(expected - got) <= tol, ("got %.9g, expected %.9g"):format(got, expected))
    return
  end
  assert.are.equal(#expected, #got)
  for i = 1, #expected do assert_near(expected[i], got[i], tol) end
end

local function param(values) return recur.tensor(values):requires_grad_() end

-- softmax of {0, ln 3} is {1/4, 3/4}.
local LN3 = math.log(3)

describe("the gradient of recur.sum", function()
  it("is one for every element when summing everything", function()
    local x = param{{1, 2, 3}, {4, 5, 6}}
    local s = x:sum()
    assert.are.equal("SumBackward", s.grad_fn)
    s:backward()
    assert.are.same({{1, 1, 1}, {1, 1, 1}}, x.grad:totable())
  end)

  it("spreads each output's gradient over its row, with keepdim and a negative dim", function()
    local x = param{{1, 2, 3}, {4, 5, 6}}
    local c = recur.tensor{{10}, {20}}
    local loss = (x:sum(-1, true) * c):sum()
    loss:backward()
    assert.are.same({{10, 10, 10}, {20, 20, 20}}, x.grad:totable())
  end)

  it("accumulates over two backward calls and restarts after x.grad = nil", function()
    local x = param{1, 2}
    x:sum():backward()
    x:sum():backward()
    assert.are.same({2, 2}, x.grad:totable())
    x.grad = nil
    x:sum():backward()
    assert.are.same({1, 1}, x.grad:totable())
  end)
end)

describe("the gradient of recur.mean", function()
  it("divides by the count of the reduced dim", function()
    local x = param{{1, 2, 3}, {4, 5, 6}}
    -- mean over dim 1 averages 2 rows: d/dx[i][j] = c[j] / 2
    local loss = (x:mean(1) * recur.tensor{1, 2, 3}):sum()
    loss:backward()
    assert.are.same({{0.5, 1, 1.5}, {0.5, 1, 1.5}}, x.grad:totable())
  end)

  it("divides by the element count over all dims", function()
    local x = param{{1, 2}, {3, 4}}
    x:mean():backward()
    assert.are.same({{0.25, 0.25}, {0.25, 0.25}}, x.grad:totable())
  end)
end)

describe("the gradient of recur.prod", function()
  it("is the product of the other elements", function()
    local x = param{2, 3, 4}
    x:prod():backward()
    assert.are.same({12, 8, 6}, x.grad:totable())
  end)

  it("goes only to the zero when one element is zero", function()
    local x = param{2, 0, 3}
    x:prod():backward()
    assert.are.same({0, 6, 0}, x.grad:totable())
  end)

  it("is zero everywhere in a row with two zeros", function()
    local x = param{{0, 5, 0}, {1, 2, 3}}
    x:prod(2):sum():backward()
    assert.are.same({{0, 0, 0}, {6, 3, 2}}, x.grad:totable())
  end)
end)

describe("the gradient of recur.max and recur.min", function()
  it("goes to the returned index when a dim is given", function()
    local x = param{{1, 5, 2}, {7, 3, 4}}
    local v, i = x:max(2)
    assert.are.equal("MaxBackward", v.grad_fn)
    assert.is_false(i.requires_grad)
    local loss = (v * recur.tensor{10, 20}):sum()
    loss:backward()
    assert.are.same({{0, 10, 0}, {20, 0, 0}}, x.grad:totable())
    assert.are.same({2, 1}, i:totable()) -- still 1-based after backward
  end)

  it("gives a tie along a dim to the first index only", function()
    local x = param{{3, 1, 3}, {2, 0, 0}}
    local m = x:max(2)
    local n = x:min(-1, true)
    local loss = m:sum() + n:sum()
    loss:backward()
    -- row 1: max 3 at 1 and 3, gives to 1; min 1 at 2. row 2: max 2 at 1; min 0 at 2 and 3
    assert.are.same({{1, 1, 0}, {1, 1, 0}}, x.grad:totable())
  end)

  it("shares the gradient of the max of everything among tied elements", function()
    local x = param{1, 3, 3}
    x:max():backward()
    assert.are.same({0, 0.5, 0.5}, x.grad:totable())
  end)

  it("sends the gradient of the elementwise maximum to the larger operand", function()
    local x = param{1, 5}
    local y = param{2, 4}
    x:max(y):sum():backward()
    assert.are.same({0, 1}, x.grad:totable())
    assert.are.same({1, 0}, y.grad:totable())
  end)

  it("does not record argmax, which is not differentiable", function()
    local x = param{1, 5, 2}
    local i = x:argmax()
    assert.is_false(i.requires_grad)
    assert.are.equal(2, i:item())
  end)
end)

describe("the gradient of recur.norm", function()
  it("is x / norm for the 2-norm", function()
    local x = param{3, 4}
    x:norm():backward()
    assert_near({0.6, 0.8}, x.grad:totable(), 1e-6)
  end)

  it("is the sign for the 1-norm, per row with a dim", function()
    local x = param{{-1, 2}, {3, -4}}
    x:norm(1, 2):sum():backward()
    assert.are.same({{-1, 1}, {1, -1}}, x.grad:totable())
  end)

  it("goes to the largest magnitudes, shared, for the max norm", function()
    local x = param{-2, 1, 2}
    x:norm(math.huge):backward()
    assert.are.same({-0.5, 0, 0.5}, x.grad:totable())
  end)
end)

describe("the gradient of recur.logsumexp", function()
  it("is the softmax along the dim", function()
    local x = param{0, LN3}
    x:logsumexp(1):backward()
    assert_near({0.25, 0.75}, x.grad:totable(), 1e-6)
  end)
end)

describe("the gradient of recur.softmax", function()
  it("is y * (g - sum(g * y)) along the dim", function()
    -- y = {1/4, 3/4}, g = {1, 0}: sum(g y) = 1/4, so {1/4 * 3/4, 3/4 * -1/4}
    local x = param{0, LN3}
    local loss = (x:softmax(1) * recur.tensor{1, 0}):sum()
    loss:backward()
    assert.are.equal("SoftmaxBackward", x:softmax(1).grad_fn)
    assert_near({3 / 16, -3 / 16}, x.grad:totable(), 1e-6)
  end)

  it("works row by row along dim 2 of a matrix", function()
    -- row 2: y = {3/4, 1/4}, g = {1, 0}: sum(g y) = 3/4, so {3/4 * 1/4, 1/4 * -3/4}
    local x = param{{0, LN3}, {LN3, 0}}
    local loss = (x:softmax(2) * recur.tensor{{1, 0}, {1, 0}}):sum()
    loss:backward()
    assert_near({{3 / 16, -3 / 16}, {3 / 16, -3 / 16}}, x.grad:totable(), 1e-6)
  end)

  it("has a zero gradient when the loss is the sum of the probabilities", function()
    local x = param{{1, 2, 3}, {-1, 0, 5}}
    x:softmax(-1):sum():backward()
    assert_near({{0, 0, 0}, {0, 0, 0}}, x.grad:totable(), 1e-6)
  end)
end)

describe("the gradient of recur.log_softmax", function()
  it("is g - softmax * sum(g) along the dim", function()
    -- y = {1/4, 3/4}, g = {1, 0}: {1 - 1/4, 0 - 3/4}
    local x = param{0, LN3}
    local loss = (x:log_softmax(-1) * recur.tensor{1, 0}):sum()
    loss:backward()
    assert_near({0.75, -0.75}, x.grad:totable(), 1e-6)
  end)

  it("gives the cross-entropy gradient softmax - onehot down the columns", function()
    -- dim 1: each column is a slice; picking row 1 of column 1 and row 2 of column 2
    local x = param{{0, LN3}, {LN3, 0}}
    local picked = x:log_softmax(1) * recur.tensor{{1, 0}, {0, 1}}
    local loss = (-picked):sum()
    loss:backward()
    -- column 1: softmax {1/4, 3/4} minus onehot {1, 0}; column 2: {3/4, 1/4} minus {0, 1}
    assert_near({{-0.75, 0.75}, {0.75, -0.75}}, x.grad:totable(), 1e-6)
  end)
end)

describe("reductions of tensors that require grad", function()
  it("still check their dim", function()
    local x = param{{1, 2}, {3, 4}}
    assert.has_error(function() x:sum(3) end,
      "recur.sum: dim 3 out of range for a tensor of 2 dims (expected 1..2 or -2..-1)")
  end)

  it("record nothing under no_grad", function()
    local x = param{1, 2}
    local s = recur.no_grad(function() return x:softmax(1) end)
    assert.is_false(s.requires_grad)
    assert.is_nil(s.grad_fn)
  end)
end)
