-- tests/grad_view_spec.lua — gradients through views, copies and indexing from Lua: each op's
-- backward with an explicit gradient, expected values derived by hand in the test.
local recur = require "recur"

local function long(t) return recur.tensor(t, {dtype = "int64"}) end
local function leaf(t) return recur.tensor(t):requires_grad_() end

describe("gradients of views", function()
  it("view: the gradient is g read in the input's shape", function()
    local x = leaf{{1, 2, 3}, {4, 5, 6}}
    local y = x:view(3, 2)
    assert.is_true(y:shares_storage(x))
    assert.are.equal("ViewBackward", y.grad_fn)
    y:backward(recur.tensor{{10, 20}, {30, 40}, {50, 60}})
    assert.are.same({{10, 20, 30}, {40, 50, 60}}, x.grad:totable())
  end)

  it("reshape of a transposed tensor (a copy) still sends g back in order", function()
    local x = leaf{{1, 2, 3}, {4, 5, 6}}
    local y = x:t():reshape(6)          -- {1, 4, 2, 5, 3, 6}
    assert.are.equal("ReshapeBackward", y.grad_fn)
    y:backward(recur.tensor{1, 2, 3, 4, 5, 6})
    -- y[k] came from x^T's flat position k: x[j][i] <- g[2(i-1) + j]
    assert.are.same({{1, 3, 5}, {2, 4, 6}}, x.grad:totable())
  end)

  it("flatten, unsqueeze and squeeze name themselves and reshape g back", function()
    local x = leaf{{{1}, {2}}, {{3}, {4}}}  -- (2,2,1)
    local f = x:flatten()
    assert.are.equal("FlattenBackward", f.grad_fn)
    f:backward(recur.tensor{5, 6, 7, 8})
    assert.are.same({{{5}, {6}}, {{7}, {8}}}, x.grad:totable())

    local s = x:squeeze()
    assert.are.equal("SqueezeBackward", s.grad_fn)
    x.grad = nil
    s:backward(recur.tensor{{1, 2}, {3, 4}})
    assert.are.same({{{1}, {2}}, {{3}, {4}}}, x.grad:totable())

    local v = leaf{1, 2, 3}
    local u = v:unsqueeze(1)
    assert.are.equal("UnsqueezeBackward", u.grad_fn)
    u:backward(recur.tensor{{7, 8, 9}})
    assert.are.same({7, 8, 9}, v.grad:totable())
  end)

  it("transpose: g is transposed back", function()
    local x = leaf{{1, 2, 3}, {4, 5, 6}}
    local y = x:transpose(1, -1)
    assert.is_true(y:shares_storage(x))
    assert.are.equal("TransposeBackward", y.grad_fn)
    y:backward(recur.tensor{{1, 2}, {3, 4}, {5, 6}})
    assert.are.same({{1, 3, 5}, {2, 4, 6}}, x.grad:totable())
  end)

  it("permute: g goes back through the inverse permutation", function()
    local x = leaf{{{1, 2, 3}, {4, 5, 6}}}  -- (1,2,3)
    local y = x:permute(3, 1, 2)             -- (3,1,2): y[k][1][i] = x[1][i][k]
    assert.are.equal("PermuteBackward", y.grad_fn)
    y:backward(recur.tensor{{{1, 2}}, {{3, 4}}, {{5, 6}}})
    assert.are.same({{{1, 3, 5}, {2, 4, 6}}}, x.grad:totable())
  end)

  it("narrow: g lands in the narrowed columns, zeros elsewhere", function()
    local x = leaf{{1, 2, 3}, {4, 5, 6}}
    local y = x:narrow(2, 2, 2)
    assert.is_true(y:shares_storage(x))
    assert.are.equal("NarrowBackward", y.grad_fn)
    y:backward(recur.tensor{{1, 2}, {3, 4}})
    assert.are.same({{0, 1, 2}, {0, 3, 4}}, x.grad:totable())
  end)

  it("narrow from the end (negative start) and along a negative dim", function()
    local x = leaf{{1, 2, 3}, {4, 5, 6}}
    x:narrow(-1, -1, 1):backward(recur.tensor{{7}, {8}})
    assert.are.same({{0, 0, 7}, {0, 0, 8}}, x.grad:totable())
  end)

  it("select: g lands in the selected row; t[i] indexing is the same op", function()
    local x = leaf{{1, 2, 3}, {4, 5, 6}}
    local y = x:select(1, 2)
    assert.are.equal("SelectBackward", y.grad_fn)
    y:backward(recur.tensor{1, 2, 3})
    assert.are.same({{0, 0, 0}, {1, 2, 3}}, x.grad:totable())
    x[1]:backward(recur.tensor{10, 20, 30})  -- accumulates into row 1
    assert.are.same({{10, 20, 30}, {1, 2, 3}}, x.grad:totable())
  end)

  it("select along the last dim with a negative index", function()
    local x = leaf{{1, 2, 3}, {4, 5, 6}}
    x:select(-1, -1):backward(recur.tensor{5, 6})
    assert.are.same({{0, 0, 5}, {0, 0, 6}}, x.grad:totable())
  end)

  it("expand: g is summed over the repeats of a size-1 dim", function()
    local x = leaf{{1}, {2}}
    local y = x:expand(2, 3)
    assert.is_true(y:shares_storage(x))
    assert.are.equal("ExpandBackward", y.grad_fn)
    y:backward(recur.tensor{{1, 2, 3}, {4, 5, 6}})
    assert.are.same({{6}, {15}}, x.grad:totable())
  end)

  it("expand: g is summed over new leading dims", function()
    local x = leaf{1, 2, 3}
    x:expand(2, 3):backward(recur.tensor{{1, 2, 3}, {4, 5, 6}})
    assert.are.same({5, 7, 9}, x.grad:totable())
  end)

  it("expand_as works like expand", function()
    local x = leaf{{1, 2}}
    x:expand_as(recur.zeros(3, 2)):backward(recur.ones(3, 2))
    assert.are.same({{3, 3}}, x.grad:totable())
  end)

  it("a chain of views: t, narrow, select", function()
    local x = leaf{{1, 2, 3}, {4, 5, 6}}
    -- x:t() (3,2); narrow(1, 2, 2) = rows 2..3 of x^T = columns 2..3 of x;
    -- select(2, 1) takes x's row 1 there: {x[1][2], x[1][3]}
    local y = x:t():narrow(1, 2, 2):select(2, 1)
    assert.are.same({2, 3}, y:totable())
    y:backward(recur.tensor{10, 20})
    assert.are.same({{0, 10, 20}, {0, 0, 0}}, x.grad:totable())
  end)
end)

describe("gradients of copies and dtype changes", function()
  it("contiguous of a transposed tensor copies and passes g through", function()
    local x = leaf{{1, 2}, {3, 4}}
    local y = x:t():contiguous()
    assert.is_false(y:shares_storage(x))
    assert.are.equal("ContiguousBackward", y.grad_fn)
    y:backward(recur.tensor{{1, 2}, {3, 4}})
    assert.are.same({{1, 3}, {2, 4}}, x.grad:totable())
  end)

  it("contiguous of a contiguous leaf is the leaf itself", function()
    local x = leaf{1, 2}
    local y = x:contiguous()
    assert.is_true(rawequal(x, y))
    assert.is_true(y.is_leaf)
  end)

  it("clone passes g through unchanged", function()
    local x = leaf{1, 2, 3}
    local y = x:clone()
    assert.are.equal("CloneBackward", y.grad_fn)
    y:backward(recur.tensor{4, 5, 6})
    assert.are.same({4, 5, 6}, x.grad:totable())
  end)

  it("float() of a float32 tensor is the tensor itself", function()
    local x = leaf{1, 2}
    assert.is_true(rawequal(x, x:float()))
    assert.is_true(rawequal(x, x:to("float32")))
  end)

  it("long() gives an int64 tensor that does not require grad", function()
    local y = leaf{1.5, 2.5}:long()
    assert.are.equal("int64", y:dtype())
    assert.is_false(y.requires_grad)
    assert.is_nil(y.grad_fn)
  end)
end)

describe("gradients of indexing", function()
  it("index_select: rows picked twice get both gradients", function()
    local x = leaf{{1, 2}, {3, 4}, {5, 6}}
    local y = x:index_select(1, long{3, 1, 3})
    assert.are.equal("IndexSelectBackward", y.grad_fn)
    y:backward(recur.tensor{{1, 2}, {3, 4}, {5, 6}})
    -- row 1 <- {3,4}; row 3 <- {1,2} + {5,6}
    assert.are.same({{3, 4}, {0, 0}, {6, 8}}, x.grad:totable())
  end)

  it("index_select along the last dim", function()
    local x = leaf{{1, 2, 3}, {4, 5, 6}}
    x:index_select(-1, long{2, 2}):backward(recur.tensor{{1, 2}, {3, 4}})
    assert.are.same({{0, 3, 0}, {0, 7, 0}}, x.grad:totable())
  end)

  it("gather: each gradient goes to the position it was read from, repeats add", function()
    local x = leaf{{1, 2, 3}, {4, 5, 6}}
    local y = x:gather(2, long{{3, 1}, {2, 2}})
    assert.are.same({{3, 1}, {5, 5}}, y:totable())
    assert.are.equal("GatherBackward", y.grad_fn)
    y:backward(recur.tensor{{1, 2}, {3, 4}})
    assert.are.same({{2, 0, 1}, {0, 7, 0}}, x.grad:totable())
  end)

  it("scatter_add: the tensor gets g, src gets g read at the index", function()
    local a = leaf{{1, 2, 3}, {4, 5, 6}}
    local src = leaf{{10, 20, 30}}
    local y = a:scatter_add(2, long{{2, 1, 2}}, src)
    assert.are.same({{21, 42, 3}, {4, 5, 6}}, y:totable())
    assert.are.equal("ScatterAddBackward", y.grad_fn)
    y:backward(recur.tensor{{1, 2, 3}, {4, 5, 6}})
    assert.are.same({{1, 2, 3}, {4, 5, 6}}, a.grad:totable())
    assert.are.same({{2, 1, 2}}, src.grad:totable())
  end)

  it("scatter_add: elements of src the index does not reach get zero", function()
    local a = recur.zeros(1, 3)
    local src = leaf{{1, 2, 3}, {4, 5, 6}}
    a:scatter_add(1, long{{1, 1}}, src):backward(recur.tensor{{7, 8, 9}})
    assert.are.same({{7, 8, 0}, {0, 0, 0}}, src.grad:totable())
    assert.is_nil(a.grad)
  end)

  it("scatter_add_ refuses to write into a leaf that requires grad", function()
    local a = leaf{1, 2}
    assert.has_error(function() a:scatter_add_(1, long{1}, recur.tensor{5}) end,
      "recur.scatter_add_: a leaf tensor that requires grad cannot be changed in place (its "
      .. "gradient would be wrong); do it inside recur.no_grad, or on a clone()")
    assert.are.same({1, 2}, a:totable())
  end)

  it("scatter_add_ still works on a tensor outside any graph", function()
    local a = recur.zeros(3)
    a:scatter_add_(1, long{3, 3}, recur.tensor{1, 2})
    assert.are.same({0, 0, 3}, a:totable())
  end)
end)

describe("gradients of cat, stack, split and chunk", function()
  it("cat: each input gets its stretch of g", function()
    local a, b = leaf{{1}, {2}}, leaf{{3, 4}, {5, 6}}
    local y = recur.cat({a, b}, 2)
    assert.are.equal("CatBackward", y.grad_fn)
    y:backward(recur.tensor{{1, 2, 3}, {4, 5, 6}})
    assert.are.same({{1}, {4}}, a.grad:totable())
    assert.are.same({{2, 3}, {5, 6}}, b.grad:totable())
  end)

  it("cat: an input that does not require grad gets none, the others still do", function()
    local a, b, c = leaf{1}, recur.tensor{2, 3}, leaf{4, 5}
    recur.cat({a, b, c}, -1):backward(recur.tensor{10, 20, 30, 40, 50})
    assert.are.same({10}, a.grad:totable())
    assert.is_nil(b.grad)
    assert.are.same({40, 50}, c.grad:totable())
  end)

  it("stack: each input gets its slice of g", function()
    local a, b = leaf{1, 2}, leaf{3, 4}
    local y = recur.stack({a, b}, 2)  -- (2,2): y[i][k] = input k's element i
    assert.are.equal("StackBackward", y.grad_fn)
    y:backward(recur.tensor{{1, 2}, {3, 4}})
    assert.are.same({1, 3}, a.grad:totable())
    assert.are.same({2, 4}, b.grad:totable())
  end)

  it("split: pieces that get no gradient give zeros", function()
    local x = leaf{1, 2, 3, 4, 5}
    local p = x:split(2)  -- {1,2}, {3,4}, {5}
    assert.are.equal(3, #p)
    assert.are.equal("SplitBackward", p[1].grad_fn)
    assert.is_true(p[2]:shares_storage(x))
    recur.cat({p[3], p[1]}):backward(recur.tensor{1, 2, 3})
    assert.are.same({2, 3, 0, 0, 1}, x.grad:totable())
  end)

  it("split with sizes names its own node", function()
    local x = leaf{1, 2, 3, 4}
    local p = x:split({1, 3})
    assert.are.equal("SplitWithSizesBackward", p[2].grad_fn)
    p[2]:backward(recur.tensor{7, 8, 9})
    assert.are.same({0, 7, 8, 9}, x.grad:totable())
  end)

  it("chunk: a piece times a weight, backward with ones", function()
    local x = leaf{{1, 2, 3, 4}, {5, 6, 7, 8}}
    local p = x:chunk(2, 2)  -- two (2,2) pieces, columns 1..2 and 3..4
    assert.are.equal("ChunkBackward", p[2].grad_fn)
    local w = recur.tensor{{1, 2}, {3, 4}}
    local y = p[2] * w
    y:backward(recur.ones(2, 2))
    -- d sum(p2 * w) / d p2 = w, in columns 3..4
    assert.are.same({{0, 0, 1, 2}, {0, 0, 3, 4}}, x.grad:totable())
  end)

  it("chunk: gradients of several pieces used in one expression all arrive", function()
    local x = leaf{1, 2, 3, 4, 5, 6}
    local p = x:chunk(3)  -- {1,2}, {3,4}, {5,6}
    local y = p[1] * p[3] + p[2]
    y:backward(recur.ones(2))
    -- d/dp1 = p3 = {5,6}; d/dp2 = 1; d/dp3 = p1 = {1,2}
    assert.are.same({5, 6, 1, 1, 1, 2}, x.grad:totable())
  end)
end)

describe("recording rules for views", function()
  it("nothing is recorded inside recur.no_grad", function()
    local x = leaf{1, 2, 3}
    local y = recur.no_grad(function() return x:narrow(1, 1, 2) end)
    assert.is_false(y.requires_grad)
    assert.is_nil(y.grad_fn)
  end)

  it("a view of a tensor that needs no grad records nothing", function()
    local y = recur.tensor{{1, 2}, {3, 4}}:t()
    assert.is_false(y.requires_grad)
    assert.is_nil(y.grad_fn)
  end)

  it("an in-place write through a recorded view is refused", function()
    local x = leaf{{1, 2}, {3, 4}}
    assert.has_error(function() x:select(1, 1):fill_(0) end,
      "recur.fill_: in-place operations on a tensor that is part of a graph are not supported; "
      .. "use the out-of-place form")
    assert.are.same({{1, 2}, {3, 4}}, x:totable())
  end)

  it("a bad call on a tensor that requires grad fails with the op's message", function()
    local x = leaf{{1, 2, 3}, {4, 5, 6}}
    assert.has_error(function() x:view(4, 2) end,
      "recur.view: shape (4,2) is invalid for a tensor of shape (2,3) (6 elements)")
    assert.has_error(function() x:narrow(2, 3, 2) end,
      "recur.narrow: start 3 and length 2 run past the end of dim 2 (size 3)")
  end)
end)
