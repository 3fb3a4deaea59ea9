-- tests/view_spec.lua — views (view, reshape, transpose, permute, narrow, select, unsqueeze,
-- squeeze, expand, flatten), copies and dtype changes, as seen from Lua: 1-based dims and positions.
local recur = require "recur"

-- {{1,2,3},{4,5,6}}, a fresh one per test
local function m23() return recur.tensor{{1, 2, 3}, {4, 5, 6}} end

describe("t:view", function()
  it("reads the same values in a new shape", function()
    assert.are.same({{1, 2}, {3, 4}, {5, 6}}, m23():view(3, 2):totable())
  end)

  it("takes the shape as a table too", function()
    assert.are.same({3, 2}, m23():view{3, 2}:size())
  end)

  it("infers one size given as -1", function()
    assert.are.same({6}, m23():view(-1):size())
    assert.are.same({3, 2}, m23():view(-1, 2):size())
  end)

  it("shares storage with its base, so a write through the view shows in the base", function()
    local a = m23()
    local v = a:view(6)
    assert.is_true(v:shares_storage(a))
    v[5] = 50
    assert.are.same({{1, 2, 3}, {4, 50, 6}}, a:totable())
  end)

  it("is also recur.view", function()
    assert.are.same({6}, recur.view(m23(), 6):size())
  end)

  it("says when the shape does not hold the same number of elements", function()
    assert.has_error(function() m23():view(4, 2) end,
      "recur.view: shape (4,2) is invalid for a tensor of shape (2,3) (6 elements)")
  end)

  it("refuses two -1 sizes", function()
    assert.has_error(function() m23():view(-1, -1) end,
      "recur.view: only one size can be -1, got shape (-1,-1)")
  end)

  it("refuses a size that is not an integer", function()
    assert.has_error(function() m23():view(2, "x") end,
      "recur.view: size 2 is a string, expected an integer")
  end)

  it("points to reshape when the strides do not allow a view", function()
    local ok, err = pcall(function() return m23():t():view(6) end)
    assert.is_false(ok)
    assert.matches("recur%.view: shape %(6%) is not compatible with a tensor of shape %(3,2%) "
      .. "and strides %(1,3%).*use reshape, which copies when it must$", err)
  end)
end)

describe("t:reshape", function()
  it("is a view when the strides allow one", function()
    local a = m23()
    local r = a:reshape(3, 2)
    assert.is_true(r:shares_storage(a))
    assert.are.same({{1, 2}, {3, 4}, {5, 6}}, r:totable())
  end)

  it("copies when the strides do not allow a view", function()
    local a = m23()
    local r = a:t():reshape(6)      -- the transpose read row by row
    assert.is_false(r:shares_storage(a))
    assert.are.same({1, 4, 2, 5, 3, 6}, r:totable())
  end)

  it("takes a table and a -1", function()
    assert.are.same({2, 3}, recur.reshape(m23():t(), {-1, 3}):size())
  end)

  it("says when the shape is invalid", function()
    assert.has_error(function() m23():reshape(5) end,
      "recur.reshape: shape (5) is invalid for a tensor of shape (2,3) (6 elements)")
  end)
end)

describe("t:view_as", function()
  it("takes the shape of another tensor", function()
    local v = m23():view_as(recur.zeros(3, 2))
    assert.are.same({{1, 2}, {3, 4}, {5, 6}}, v:totable())
  end)
end)

describe("t:transpose and t:t", function()
  it("swaps two dims", function()
    assert.are.same({{1, 4}, {2, 5}, {3, 6}}, m23():transpose(1, 2):totable())
  end)

  it("takes negative dims", function()
    assert.are.same({{1, 4}, {2, 5}, {3, 6}}, m23():transpose(-1, -2):totable())
  end)

  it("swaps strides and shares storage", function()
    local a = m23()
    local t = a:t()
    assert.are.same({1, 3}, t:stride())
    assert.is_false(t:is_contiguous())
    t[3][1] = 30   -- t[3][1] is a[1][3]
    assert.are.same({1, 2, 30}, a[1]:totable())
  end)

  it("t() leaves a 1-D tensor as it is", function()
    assert.are.same({1, 2}, recur.tensor{1, 2}:t():totable())
  end)

  it("t() refuses more than 2 dims", function()
    assert.has_error(function() recur.zeros(2, 2, 2):t() end,
      "recur.t: expects a tensor with at most 2 dims, got 3 (use transpose)")
  end)

  it("says when a dim is out of range, in Lua's terms", function()
    assert.has_error(function() m23():transpose(1, 3) end,
      "recur.transpose: dim 3 out of range for a tensor of 2 dims (expected 1..2 or -2..-1)")
  end)
end)

describe("t:permute", function()
  it("reorders dims: result dim i is source dim dims[i]", function()
    local a = recur.tensor{{{1, 2}, {3, 4}, {5, 6}}}     -- (1,3,2)
    local p = a:permute(3, 1, 2)                          -- (2,1,3): p[k][1][j] = a[1][j][k]
    assert.are.same({2, 1, 3}, p:size())
    assert.are.same({{{1, 3, 5}}, {{2, 4, 6}}}, p:totable())
    assert.is_true(p:shares_storage(a))
  end)

  it("takes a table and negative dims", function()
    assert.are.same({2, 1, 3}, recur.zeros(1, 3, 2):permute{-1, 1, 2}:size())
  end)

  it("refuses a dim given twice", function()
    assert.has_error(function() recur.zeros(1, 3, 2):permute(1, 1, 2) end,
      "recur.permute: dim 1 appears twice; dims must be a permutation of 1..3")
  end)

  it("needs one dim per tensor dim", function()
    assert.has_error(function() recur.zeros(1, 3, 2):permute(1, 2) end,
      "recur.permute: needs one dim per tensor dim (3), got 2")
  end)
end)

describe("t:narrow", function()
  it("keeps length positions from a 1-based start", function()
    local a = recur.tensor{{1, 2}, {3, 4}, {5, 6}, {7, 8}}
    assert.are.same({{3, 4}, {5, 6}}, a:narrow(1, 2, 2):totable())
    assert.are.same({{2}, {4}, {6}, {8}}, a:narrow(2, 2, 1):totable())
  end)

  it("counts a negative start from the end", function()
    local a = recur.tensor{1, 2, 3, 4, 5}
    assert.are.same({4, 5}, a:narrow(1, -2, 2):totable())
  end)

  it("writes through to its base", function()
    local a = recur.tensor{1, 2, 3, 4, 5}
    a:narrow(1, 2, 3):fill_(0)
    assert.are.same({1, 0, 0, 0, 5}, a:totable())
  end)

  it("says when start and length run past the end", function()
    assert.has_error(function() recur.tensor{1, 2, 3, 4, 5}:narrow(1, 4, 3) end,
      "recur.narrow: start 4 and length 3 run past the end of dim 1 (size 5)")
  end)

  it("refuses start 0, since positions are 1-based", function()
    assert.has_error(function() recur.tensor{1, 2, 3}:narrow(1, 0, 1) end,
      "recur.narrow: start 0 out of range for dim 1 of size 3 (expected 1..4 or -3..-1)")
  end)
end)

describe("t:select", function()
  it("picks the slice at a 1-based position and drops the dim", function()
    assert.are.same({2, 5}, m23():select(2, 2):totable())
    assert.are.same({4, 5, 6}, m23():select(1, 2):totable())
  end)

  it("counts a negative position from the end", function()
    assert.are.same({3, 6}, m23():select(-1, -1):totable())
  end)

  it("gives a view: writes show in the base", function()
    local a = m23()
    a:select(2, 1):fill_(9)
    assert.are.same({{9, 2, 3}, {9, 5, 6}}, a:totable())
  end)

  it("says when the position is out of range", function()
    assert.has_error(function() m23():select(2, 4) end,
      "recur.select: index 4 out of range for dim 2 of size 3 (expected 1..3 or -3..-1)")
  end)
end)

describe("t:unsqueeze and t:squeeze", function()
  it("unsqueeze inserts a size-1 dim before position d", function()
    assert.are.same({1, 2, 3}, m23():unsqueeze(1):size())
    assert.are.same({2, 1, 3}, m23():unsqueeze(2):size())
  end)

  it("unsqueeze(-1) appends a dim", function()
    assert.are.same({2, 3, 1}, m23():unsqueeze(-1):size())
    assert.are.same({{{1}, {2}, {3}}, {{4}, {5}, {6}}}, m23():unsqueeze(3):totable())
  end)

  it("squeeze() drops every size-1 dim", function()
    assert.are.same({3}, recur.zeros(1, 3, 1):squeeze():size())
  end)

  it("squeeze(d) drops dim d only when its size is 1", function()
    assert.are.same({3, 1}, recur.zeros(1, 3, 1):squeeze(1):size())
    assert.are.same({1, 3}, recur.zeros(1, 3, 1):squeeze(-1):size())
    assert.are.same({1, 3, 1}, recur.zeros(1, 3, 1):squeeze(2):size())
  end)

  it("share storage with the base", function()
    local a = recur.zeros(1, 3)
    assert.is_true(a:squeeze():shares_storage(a))
    assert.is_true(a:unsqueeze(1):shares_storage(a))
  end)

  it("unsqueeze says when the dim is out of range", function()
    assert.has_error(function() m23():unsqueeze(4) end,
      "recur.unsqueeze: dim 4 out of range for a tensor of 2 dims (expected 1..3 or -3..-1)")
  end)
end)

describe("t:expand", function()
  it("repeats size-1 dims without copying (stride 0)", function()
    local a = recur.tensor{{1}, {2}}           -- (2,1)
    local e = a:expand(2, 3)
    assert.are.same({{1, 1, 1}, {2, 2, 2}}, e:totable())
    assert.are.same(0, e:stride(2))
    assert.is_true(e:shares_storage(a))
  end)

  it("adds new leading dims and keeps a size given as -1", function()
    local e = recur.tensor{{1}, {2}}:expand{2, -1, 2}
    assert.are.same({{{1, 1}, {2, 2}}, {{1, 1}, {2, 2}}}, e:totable())
  end)

  it("expand_as takes the other tensor's shape", function()
    assert.are.same({3, 2}, recur.tensor{5, 6}:expand_as(recur.zeros(3, 2)):size())
  end)

  it("refuses to expand a dim whose size is not 1", function()
    assert.has_error(function() recur.zeros(2, 1):expand(3, 4) end,
      "recur.expand: cannot expand shape (2,1) to (3,4) (only size-1 dims expand, and 2 != 3)")
  end)

  it("refuses fewer sizes than dims", function()
    assert.has_error(function() recur.zeros(2, 1):expand(2) end,
      "recur.expand: shape (2) has fewer dims than the tensor's shape (2,1)")
  end)
end)

describe("t:flatten", function()
  it("flattens everything by default", function()
    assert.are.same({1, 2, 3, 4, 5, 6}, m23():flatten():totable())
  end)

  it("merges dims start..end", function()
    assert.are.same({2, 12}, recur.zeros(2, 3, 4):flatten(2):size())
    assert.are.same({6, 4}, recur.zeros(2, 3, 4):flatten(1, 2):size())
    assert.are.same({2, 3, 4}, recur.zeros(2, 3, 4):flatten(2, 2):size())
    assert.are.same({6, 4}, recur.zeros(2, 3, 4):flatten(-3, -2):size())
  end)

  it("is a view when the strides allow, a copy when not", function()
    local a = m23()
    assert.is_true(a:flatten():shares_storage(a))
    local f = a:t():flatten()
    assert.is_false(f:shares_storage(a))
    assert.are.same({1, 4, 2, 5, 3, 6}, f:totable())
  end)

  it("says when start comes after end", function()
    assert.has_error(function() recur.zeros(2, 3, 4):flatten(3, 2) end,
      "recur.flatten: start dim 3 comes after end dim 2")
  end)
end)

describe("t:contiguous and t:clone", function()
  it("contiguous returns the tensor itself when it is already contiguous", function()
    local a = m23()
    assert.are.equal(a, a:contiguous())
  end)

  it("contiguous copies a transposed tensor into row-major order", function()
    local a = m23()
    local c = a:t():contiguous()
    assert.is_true(c:is_contiguous())
    assert.is_false(c:shares_storage(a))
    assert.are.same({3, 2}, c:size())
    assert.are.same({2, 1}, c:stride())
    assert.are.same({{1, 4}, {2, 5}, {3, 6}}, c:totable())
  end)

  it("clone copies, so writes do not reach the original", function()
    local a = m23()
    local c = a:clone()
    c[1][1] = 100
    assert.are.same({{1, 2, 3}, {4, 5, 6}}, a:totable())
    assert.is_false(c:shares_storage(a))
  end)
end)

describe("t:copy_ and t:fill_", function()
  it("copy_ writes src's values into t and returns t", function()
    local a = recur.zeros(2, 3)
    local r = a:copy_(m23())
    assert.are.equal(a, r)
    assert.are.same({{1, 2, 3}, {4, 5, 6}}, a:totable())
  end)

  it("copy_ broadcasts src", function()
    local a = recur.zeros(2, 3)
    a:copy_(recur.tensor{7, 8, 9})
    assert.are.same({{7, 8, 9}, {7, 8, 9}}, a:totable())
  end)

  it("copy_ into a view writes the base", function()
    local a = recur.zeros(2, 2)
    a:t():copy_(recur.tensor{{1, 2}, {3, 4}})
    assert.are.same({{1, 3}, {2, 4}}, a:totable())
  end)

  it("copy_ says when src does not broadcast", function()
    assert.has_error(function() recur.zeros(2, 3):copy_(recur.zeros(2)) end,
      "recur.copy: shape (2) cannot be broadcast to (2,3)")
  end)

  it("fill_ sets every element and returns t", function()
    local a = recur.zeros(2, 2)
    assert.are.equal(a, a:fill_(2.5))
    assert.are.same({{2.5, 2.5}, {2.5, 2.5}}, a:totable())
  end)
end)

describe("dtype changes", function()
  it("long() truncates toward zero into int64", function()
    local l = recur.tensor{1.7, -1.7, 3}:long()
    assert.are.equal("int64", l:dtype())
    assert.are.same({1, -1, 3}, l:totable())
    assert.are.equal("integer", math.type(l:totable()[1]))
  end)

  it("float() turns int64 into float32", function()
    local f = recur.tensor({1, 2}, {dtype = "int64"}):float()
    assert.are.equal("float32", f:dtype())
    assert.are.equal("float", math.type(f:totable()[1]))
  end)

  it("returns the tensor itself when it already has the dtype", function()
    local a = m23()
    assert.are.equal(a, a:float())
    assert.are.equal(a, a:to("float32"))
  end)

  it("to() takes a dtype name", function()
    assert.are.equal("int64", m23():to("int64"):dtype())
  end)

  it("to() says when the dtype is unknown", function()
    assert.has_error(function() m23():to("half") end,
      "recur.to: unknown dtype 'half' (expected 'float32' or 'int64')")
  end)
end)

describe("t:shares_storage", function()
  it("is false for two separately made tensors", function()
    assert.is_false(m23():shares_storage(m23()))
  end)

  it("is true for views of one tensor, however far apart", function()
    local a = recur.zeros(4, 4)
    assert.is_true(a:select(1, 1):shares_storage(a:narrow(2, 3, 2):t()))
  end)
end)
