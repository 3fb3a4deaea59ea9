-- tests/grad_linalg_spec.lua — gradients of matmul, addmm, bmm and dot from Lua: loss:backward()
-- fills x.grad and w.grad with values derived by hand, they accumulate, and x.grad = nil resets.
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

-- x (2,3) and w (3,2). For loss = sum(x @ w):
--   d loss / d x[i][k] = sum_j w[k][j]  (row sums of w: 0, 2, 1), the same for every row i;
--   d loss / d w[k][j] = sum_i x[i][k]  (column sums of x: 5, 7, 9), the same for every j.
local function xw()
  local x = recur.tensor{{1, 2, 3}, {4, 5, 6}}:requires_grad_()
  local w = recur.tensor{{1, -1}, {2, 0}, {0.5, 0.5}}:requires_grad_()
  return x, w
end

describe("the gradient of recur.matmul", function()
  it("gives x.grad and w.grad of sum(x @ w)", function()
    local x, w = xw()
    local loss = (x:matmul(w)):sum()
    loss:backward()
    assert.are.same({{0, 2, 1}, {0, 2, 1}}, x.grad:totable())
    assert.are.same({{5, 5}, {7, 7}, {9, 9}}, w.grad:totable())
  end)

  it("accumulates over two backward calls, so the gradients double", function()
    local x, w = xw()
    x:matmul(w):sum():backward()
    x:matmul(w):sum():backward()
    assert.are.same({{0, 4, 2}, {0, 4, 2}}, x.grad:totable())
    assert.are.same({{10, 10}, {14, 14}, {18, 18}}, w.grad:totable())
  end)

  it("starts again from zero after x.grad = nil", function()
    local x, w = xw()
    x:matmul(w):sum():backward()
    x:matmul(w):sum():backward()
    x.grad = nil
    assert.is_nil(x.grad)
    x:matmul(w):sum():backward()
    assert.are.same({{0, 2, 1}, {0, 2, 1}}, x.grad:totable())
    assert.are.same({{15, 15}, {21, 21}, {27, 27}}, w.grad:totable()) -- w kept accumulating
  end)

  it("weights each output by the gradient passed to backward", function()
    local x, w = xw()
    -- g = {{1, 0}, {0, 2}}: x.grad = g @ w^T, w.grad = x^T @ g
    x:matmul(w):backward(recur.tensor{{1, 0}, {0, 2}})
    assert.are.same({{1, 2, 0.5}, {-2, 0, 1}}, x.grad:totable())
    assert.are.same({{1, 8}, {2, 10}, {3, 12}}, w.grad:totable())
  end)

  it("gives a 1-D operand a 1-D gradient", function()
    local v = recur.tensor{1, 2}:requires_grad_()
    local m = recur.tensor{{1, 2, 3}, {4, 5, 6}}:requires_grad_()
    v:matmul(m):sum():backward()
    -- (v @ m)[j] = sum_i v[i] m[i][j]: d/dv[i] = row sums of m, d/dm[i][j] = v[i]
    assert.are.same({6, 15}, v.grad:totable())
    assert.are.same({{1, 1, 1}, {2, 2, 2}}, m.grad:totable())
  end)

  it("multiplies two vectors into a 0-d dot product with gradients b and a", function()
    local a = recur.tensor{1, 2, 3}:requires_grad_()
    local b = recur.tensor{4, 5, 6}:requires_grad_()
    local d = a:matmul(b)
    assert.are.equal(0, d:dim())
    assert.are.equal("DotBackward", d.grad_fn)
    d:backward()
    assert.are.same({4, 5, 6}, a.grad:totable())
    assert.are.same({1, 2, 3}, b.grad:totable())
  end)

  it("sums over broadcast batch dims: (2,1,4,3) @ (5,3,6)", function()
    local x = recur.ones(2, 1, 4, 3):requires_grad_()
    local w = recur.ones(5, 3, 6):requires_grad_()
    local y = x:matmul(w)
    assert.are.same({2, 5, 4, 6}, y:size())
    y:sum():backward()
    -- each x element meets 5 batches of w times 6 columns; each w element 2 batches x 4 rows
    assert.are.same({2, 1, 4, 3}, x.grad:size())
    assert.are.same({5, 3, 6}, w.grad:size())
    assert.are.equal(30, x.grad:min():item())
    assert.are.equal(30, x.grad:max():item())
    assert.are.equal(8, w.grad:min():item())
    assert.are.equal(8, w.grad:max():item())
  end)

  it("folds a batched input against a weight matrix", function()
    -- x (2,2,2) @ w (2,1): w.grad[k] = sum over batch and rows of x[.][.][k]
    local x = recur.tensor{{{1, 2}, {3, 4}}, {{5, 6}, {7, 8}}}:requires_grad_()
    local w = recur.tensor{{1}, {-1}}:requires_grad_()
    x:matmul(w):sum():backward()
    assert.are.same({{16}, {20}}, w.grad:totable())
    assert.are.same({{{1, -1}, {1, -1}}, {{1, -1}, {1, -1}}}, x.grad:totable())
  end)

  it("records MmBackward for two matrices and nothing under no_grad", function()
    local x, w = xw()
    assert.are.equal("MmBackward", x:matmul(w).grad_fn)
    assert.are.equal("MmBackward", recur.mm(x, w).grad_fn)
    local y = recur.no_grad(function() return x:matmul(w) end)
    assert.is_false(y.requires_grad)
    assert.is_nil(y.grad_fn)
  end)

  it("still says which shapes cannot be multiplied when inputs require grad", function()
    local a = recur.zeros(3, 4):requires_grad_()
    assert.has_error(function() a:matmul(recur.zeros(5, 2)) end,
      "recur.matmul: shapes (3,4) and (5,2) cannot be multiplied (4 != 5)")
  end)
end)

describe("the gradient of recur.addmm", function()
  it("gives the bias the row count and the matrices alpha times the products", function()
    local c = recur.tensor{1, 1}:requires_grad_()
    local x, w = xw()
    local out = recur.addmm(c, x, w, {beta = 2, alpha = 3})
    assert.are.equal("AddmmBackward", out.grad_fn)
    out:sum():backward()
    assert.are.same({4, 4}, c.grad:totable()) -- beta * (2 rows)
    assert.are.same({{0, 6, 3}, {0, 6, 3}}, x.grad:totable())
    assert.are.same({{15, 15}, {21, 21}, {27, 27}}, w.grad:totable())
  end)
end)

describe("the gradient of recur.bmm", function()
  it("gives each batch its own product's gradients", function()
    local a = recur.tensor{{{1, 2}}, {{3, 4}}}:requires_grad_()       -- (2,1,2)
    local b = recur.tensor{{{1}, {0}}, {{0}, {2}}}:requires_grad_()   -- (2,2,1)
    a:bmm(b):sum():backward()
    assert.are.same({{{1, 0}}, {{0, 2}}}, a.grad:totable())
    assert.are.same({{{1}, {2}}, {{3}, {4}}}, b.grad:totable())
  end)
end)

describe("the gradient of recur.dot", function()
  it("is the other vector times the incoming gradient", function()
    local a = recur.tensor{1, -2}:requires_grad_()
    local b = recur.tensor{3, 0.5}:requires_grad_()
    recur.dot(a, b):backward(recur.tensor(2))
    assert_near({6, 1}, a.grad:totable(), 0)
    assert_near({2, -4}, b.grad:totable(), 0)
  end)
end)
