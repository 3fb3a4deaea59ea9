-- tests/index_spec.lua — index_select, gather, scatter_add, cat, stack, split and chunk from Lua:
-- index tensors are int64 holding 1-based positions; dims are 1-based, negative from the end.
local recur = require "recur"

local function long(t) return recur.tensor(t, {dtype = "int64"}) end

describe("t:index_select", function()
  it("picks rows at 1-based positions, repeats allowed", function()
    local a = recur.tensor{{1, 2}, {3, 4}, {5, 6}}
    assert.are.same({{5, 6}, {1, 2}, {5, 6}}, a:index_select(1, long{3, 1, 3}):totable())
  end)

  it("picks columns along dim 2 or -1", function()
    local a = recur.tensor{{1, 2, 3}, {4, 5, 6}}
    assert.are.same({{3, 1}, {6, 4}}, a:index_select(2, long{3, 1}):totable())
    assert.are.same({{2}, {5}}, recur.index_select(a, -1, long{2}):totable())
  end)

  it("copies: the result does not share storage", function()
    local a = recur.tensor{1, 2, 3}
    assert.is_false(a:index_select(1, long{1}):shares_storage(a))
  end)

  it("keeps int64 values and leaves the index as it was", function()
    local idx = long{2, 2}
    local r = long{10, 20, 30}:index_select(1, idx)
    assert.are.equal("int64", r:dtype())
    assert.are.same({20, 20}, r:totable())
    assert.are.same({2, 2}, idx:totable())
  end)

  it("names an out-of-range position in 1-based terms", function()
    assert.has_error(function() recur.zeros(3, 2):index_select(1, long{1, 4}) end,
      "recur.index_select: index 4 out of range for dim 1 of size 3 (expected 1..3)")
  end)

  it("refuses position 0", function()
    assert.has_error(function() recur.zeros(3, 2):index_select(2, long{0}) end,
      "recur.index_select: index 0 out of range for dim 2 of size 2 (expected 1..2)")
  end)

  it("needs an int64 index", function()
    assert.has_error(function() recur.zeros(3):index_select(1, recur.tensor{1}) end,
      "recur.index_select: index must be an int64 tensor of 1-based positions, got float32")
  end)

  it("needs a 1-D index", function()
    assert.has_error(function() recur.zeros(3):index_select(1, long{{1, 2}}) end,
      "recur.index_select: index must be 1-D, got shape (1,2)")
  end)
end)

describe("t:gather", function()
  it("along dim 2: out[i][j] = t[i][index[i][j]]", function()
    local a = recur.tensor{{1, 2, 3}, {4, 5, 6}}
    assert.are.same({{3, 1}, {5, 5}}, a:gather(2, long{{3, 1}, {2, 2}}):totable())
  end)

  it("along dim 1: out[i][j] = t[index[i][j]][j]", function()
    local a = recur.tensor{{1, 2, 3}, {4, 5, 6}}
    assert.are.same({{4, 2, 6}}, recur.gather(a, 1, long{{2, 1, 2}}):totable())
  end)

  it("names an out-of-range position in 1-based terms", function()
    assert.has_error(function() recur.zeros(2, 3):gather(2, long{{1}, {4}}) end,
      "recur.gather: index 4 out of range for dim 2 of size 3 (expected 1..3)")
  end)

  it("needs an index with as many dims as the input", function()
    assert.has_error(function() recur.zeros(2, 3):gather(2, long{1, 2}) end,
      "recur.gather: index has shape (2) but input has shape (2,3); they need the same number "
      .. "of dims")
  end)
end)

describe("t:scatter_add", function()
  it("adds src into the positions of index, summing repeats", function()
    local r = recur.zeros(3):scatter_add(1, long{1, 3, 1, 1}, recur.tensor{1, 2, 3, 4})
    assert.are.same({8, 0, 2}, r:totable())
  end)

  it("works along dim 1 of a matrix: t[index[i][j]][j] += src[i][j]", function()
    local r = recur.zeros(2, 3):scatter_add(1, long{{1, 2, 1}, {2, 1, 1}},
      recur.tensor{{1, 2, 3}, {4, 5, 6}})
    assert.are.same({{1, 5, 9}, {4, 2, 0}}, r:totable())
  end)

  it("scatter_add leaves t alone; scatter_add_ writes into t and returns it", function()
    local a = recur.zeros(2)
    a:scatter_add(1, long{2}, recur.tensor{5})
    assert.are.same({0, 0}, a:totable())
    assert.are.equal(a, a:scatter_add_(1, long{2}, recur.tensor{5}))
    assert.are.same({0, 5}, a:totable())
  end)

  it("leaves t unchanged when a position is out of range", function()
    local a = recur.tensor{1, 1}
    assert.has_error(function() a:scatter_add_(1, long{1, 3}, recur.tensor{5, 5}) end,
      "recur.scatter_add_: index 3 out of range for dim 1 of size 2 (expected 1..2)")
    assert.are.same({1, 1}, a:totable())
  end)

  it("needs src of t's dtype", function()
    assert.has_error(function() recur.zeros(2):scatter_add(1, long{1}, long{1}) end,
      "recur.scatter_add: src is int64 but the tensor is float32; they must match")
  end)
end)

describe("recur.cat", function()
  it("joins along dim 1 by default", function()
    local r = recur.cat{recur.tensor{{1, 2}}, recur.tensor{{3, 4}, {5, 6}}}
    assert.are.same({{1, 2}, {3, 4}, {5, 6}}, r:totable())
  end)

  it("joins along a given dim, negative from the end", function()
    local a, b = recur.tensor{{1}, {2}}, recur.tensor{{3, 4}, {5, 6}}
    assert.are.same({{1, 3, 4}, {2, 5, 6}}, recur.cat({a, b}, 2):totable())
    assert.are.same({{1, 3, 4}, {2, 5, 6}}, recur.cat({a, b}, -1):totable())
  end)

  it("copies, so the result shares nothing with its parts", function()
    local a = recur.tensor{1, 2}
    local r = recur.cat{a, a}
    assert.are.same({1, 2, 1, 2}, r:totable())
    assert.is_false(r:shares_storage(a))
  end)

  it("refuses float32 and int64 together", function()
    assert.has_error(function() recur.cat{recur.tensor{1}, long{1}} end,
      "recur.cat: tensors must share a dtype, got float32 and int64")
  end)

  it("names both shapes when they differ outside the joined dim", function()
    assert.has_error(function() recur.cat({recur.zeros(2, 3), recur.zeros(2, 4)}, 1) end,
      "recur.cat: shapes (2,3) and (2,4) must match in every dim except the one joined along")
  end)

  it("needs a non-empty table of tensors", function()
    assert.has_error(function() recur.cat{} end, "recur.cat: expects a non-empty table of tensors")
    assert.has_error(function() recur.cat{recur.zeros(1), 5} end,
      "recur.cat: element 2 of the table is a number, expected a tensor")
  end)

  it("says when the dim is out of range", function()
    assert.has_error(function() recur.cat({recur.zeros(2), recur.zeros(2)}, 2) end,
      "recur.cat: dim 2 out of range for a tensor of 1 dims (expected 1..1 or -1..-1)")
  end)
end)

describe("recur.stack", function()
  it("joins along a new first dim by default", function()
    local r = recur.stack{recur.tensor{1, 2}, recur.tensor{3, 4}, recur.tensor{5, 6}}
    assert.are.same({{1, 2}, {3, 4}, {5, 6}}, r:totable())
  end)

  it("puts the new dim where asked, -1 at the end", function()
    local a, b = recur.tensor{1, 2}, recur.tensor{3, 4}
    assert.are.same({{1, 3}, {2, 4}}, recur.stack({a, b}, 2):totable())
    assert.are.same({{1, 3}, {2, 4}}, recur.stack({a, b}, -1):totable())
  end)

  it("names both shapes when they differ", function()
    assert.has_error(function() recur.stack{recur.zeros(2, 3), recur.zeros(3, 2)} end,
      "recur.stack: shapes (2,3) and (3,2) differ; stack needs tensors of one shape")
  end)

  it("refuses float32 and int64 together", function()
    assert.has_error(function() recur.stack{recur.tensor{1}, long{1}} end,
      "recur.stack: tensors must share a dtype, got float32 and int64")
  end)
end)

describe("t:split", function()
  it("cuts pieces of a size, the last one shorter, as a table", function()
    local pieces = recur.tensor{1, 2, 3, 4, 5}:split(2)
    assert.are.equal(3, #pieces)
    assert.are.same({1, 2}, pieces[1]:totable())
    assert.are.same({3, 4}, pieces[2]:totable())
    assert.are.same({5}, pieces[3]:totable())
  end)

  it("returns views: writing a piece writes the base", function()
    local a = recur.tensor{1, 2, 3, 4}
    local pieces = a:split(2)
    pieces[2]:fill_(0)
    assert.are.same({1, 2, 0, 0}, a:totable())
    assert.is_true(pieces[1]:shares_storage(a))
  end)

  it("takes a table of sizes and a dim", function()
    local a = recur.tensor{{1, 2, 3}, {4, 5, 6}}
    local pieces = recur.split(a, {1, 2}, 2)
    assert.are.same({{1}, {4}}, pieces[1]:totable())
    assert.are.same({{2, 3}, {5, 6}}, pieces[2]:totable())
  end)

  it("says when the sizes do not add up to the dim's size", function()
    assert.has_error(function() recur.zeros(5):split{1, 2} end,
      "recur.split: sizes (1,2) add up to 3 but the split dim has size 5")
  end)

  it("says a 0-d tensor has no dim to cut along", function()
    assert.has_error(function() recur.tensor(3):split(1) end,
      "recur.split: a 0-d tensor has no dim to cut along")
  end)

  it("refuses a size of 0", function()
    assert.has_error(function() recur.zeros(5):split(0) end,
      "recur.split: split size must be >= 1 (0 only for a dim of size 0), got 0")
  end)
end)

describe("t:chunk", function()
  it("cuts into n pieces of ceil(size / n)", function()
    local pieces = recur.tensor{1, 2, 3, 4, 5}:chunk(3)
    assert.are.equal(3, #pieces)
    assert.are.same({5}, pieces[3]:totable())
  end)

  it("may give fewer pieces than asked, as PyTorch", function()
    local pieces = recur.zeros(2, 6):chunk(4, 2)    -- ceil(6/4) = 2 per piece
    assert.are.equal(3, #pieces)
    assert.are.same({2, 2}, pieces[3]:size())
  end)

  it("refuses fewer than one chunk", function()
    assert.has_error(function() recur.zeros(4):chunk(0) end,
      "recur.chunk: chunks must be >= 1, got 0")
  end)
end)
