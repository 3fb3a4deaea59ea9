-- tests/math_spec.lua — elementwise math from Lua: arithmetic with broadcasting, comparisons,
-- unary functions, clamp, where, masked_fill, the in-place `_` forms, dtypes and bad input.
local recur = require "recur"

local function is_nan(x) return x ~= x end

-- Every element of `got` (nested tables) within tol of `expected`.
local function assert_near(expected, got, tol)
  assert.are.equal(#expected, #got)
  for i = 1, #expected do
    if type(expected[i]) == "table" then
      assert_near(expected[i], got[i], tol)
    else
      assert(math.abs(expected[i] - got[i]) <= tol,
        ("element %d is %.9g, expected %.9g"):format(i, got[i], expected[i]))
    end
  end
end

local function long(values) return recur.tensor(values, {dtype = "int64"}) end

describe("binary arithmetic", function()
  it("adds two tensors of the same shape as a function, a method and an operator", function()
    local a, b = recur.tensor{1, 2, 3}, recur.tensor{10, 20, 30}
    assert.are.same({11, 22, 33}, recur.add(a, b):totable())
    assert.are.same({11, 22, 33}, a:add(b):totable())
    assert.are.same({11, 22, 33}, (a + b):totable())
  end)

  it("subtracts, multiplies, divides and raises to a power elementwise", function()
    local a, b = recur.tensor{1, -2, 3, 8}, recur.tensor{2, 4, 3, -0.5}
    assert.are.same({-1, -6, 0, 8.5}, a:sub(b):totable())
    assert.are.same({2, -8, 9, -4}, a:mul(b):totable())
    assert.are.same({0.5, -0.5, 1, -16}, a:div(b):totable())
    -- 1^2, (-2)^4, 3^3 exactly; 8^-0.5 = 1/sqrt(8)
    local p = a:pow(b):totable()
    assert.are.same({1, 16, 27}, {p[1], p[2], p[3]})
    assert.is_true(math.abs(p[4] - 1 / math.sqrt(8)) < 1e-7)
  end)

  it("broadcasts a (3,1) against a (1,4) to a (3,4)", function()
    local col = recur.tensor{{0}, {10}, {20}}
    local row = recur.tensor{{1, 2, 3, 4}}
    local r = col + row
    assert.are.same({3, 4}, r:size())
    assert.are.same({{1, 2, 3, 4}, {11, 12, 13, 14}, {21, 22, 23, 24}}, r:totable())
  end)

  it("broadcasts a missing leading dim as size 1", function()
    local m = recur.tensor{{1, 2}, {3, 4}, {5, 6}}
    assert.are.same({{0, 0}, {2, 2}, {4, 4}}, (m - recur.tensor{1, 2}):totable())
  end)

  it("takes a number on either side", function()
    local t = recur.tensor{1, 2, 4}
    assert.are.same({3, 4, 6}, recur.add(2, t):totable())
    assert.are.same({3, 4, 6}, t:add(2):totable())
    assert.are.same({9, 8, 6}, recur.sub(10, t):totable())
    assert.are.same({-9, -8, -6}, t:sub(10):totable())
    assert.are.same({4, 2, 1}, recur.div(4, t):totable())
    assert.are.same({0.25, 0.5, 1}, t:div(4):totable())
    assert.are.same({2, 4, 16}, recur.pow(2, t):totable())
    assert.are.same({1, 4, 16}, t:pow(2):totable())
  end)

  it("works through the operators with numbers on either side", function()
    local t = recur.tensor{1, 2, 4}
    assert.are.same({0, 1, 3}, (t - 1):totable())
    assert.are.same({0, -1, -3}, (1 - t):totable())
    assert.are.same({2, 4, 8}, (2 * t):totable())
    assert.are.same({2, 1, 0.5}, (2 / t):totable())
    assert.are.same({1, 8, 64}, (t ^ 3):totable())
    assert.are.same({-1, -2, -4}, (-t):totable())
  end)

  it("combines a 0-d tensor with a tensor of any shape", function()
    local s = recur.tensor(3)
    local m = recur.tensor{{1, 2}, {3, 4}}
    assert.are.same({{3, 6}, {9, 12}}, (s * m):totable())
    assert.are.same({{2, 1}, {0, -1}}, (s - m):totable())
    local z = s + recur.tensor(4)
    assert.are.equal(0, z:dim())
    assert.are.equal(7, z:item())
  end)

  it("scales the other operand by alpha in add and sub, as torch.add", function()
    local t, o = recur.tensor{1, 2}, recur.tensor{10, 20}
    assert.are.same({21, 42}, t:add(o, 2):totable())
    assert.are.same({-29, -58}, recur.sub(t, o, 3):totable())
    assert.are.same({7, 8}, t:add(3, 2):totable())
    assert.are.same({21, 42}, t:add(o, 2):totable())
    assert.are.same({1, 2}, t:totable()) -- the out-of-place form leaves t alone
  end)

  it("takes the elementwise maximum and minimum", function()
    local a, b = recur.tensor{1, 5, -3}, recur.tensor{2, 4, -3}
    assert.are.same({2, 5, -3}, recur.maximum(a, b):totable())
    assert.are.same({1, 4, -3}, a:minimum(b):totable())
    assert.are.same({1, 5, 0}, a:maximum(0):totable())
  end)

  it("propagates NaN through maximum and minimum from either side", function()
    local a, b = recur.tensor{0 / 0, 1}, recur.tensor{1, 0 / 0}
    for _, v in ipairs(a:maximum(b):totable()) do assert.is_true(is_nan(v)) end
    for _, v in ipairs(b:minimum(a):totable()) do assert.is_true(is_nan(v)) end
  end)

  it("divides by zero as IEEE floats do", function()
    local r = recur.tensor{1, -1, 0} / 0
    local v = r:totable()
    assert.are.equal(math.huge, v[1])
    assert.are.equal(-math.huge, v[2])
    assert.is_true(is_nan(v[3]))
  end)
end)

describe("comparisons", function()
  local a, b = recur.tensor{1, 2, 3}, recur.tensor{2, 2, 2}

  it("give 1 where they hold and 0 elsewhere, in float32 for float32 inputs", function()
    assert.are.same({0, 1, 0}, a:eq(b):totable())
    assert.are.same({1, 0, 1}, a:ne(b):totable())
    assert.are.same({1, 0, 0}, a:lt(b):totable())
    assert.are.same({1, 1, 0}, a:le(b):totable())
    assert.are.same({0, 0, 1}, a:gt(b):totable())
    assert.are.same({0, 1, 1}, a:ge(b):totable())
    assert.are.equal("float32", a:gt(b):dtype())
  end)

  it("take a number on either side", function()
    assert.are.same({0, 0, 1}, a:gt(2):totable())
    assert.are.same({1, 0, 0}, recur.gt(2, a):totable())
  end)

  it("are false for NaN except ne", function()
    local n = recur.tensor{0 / 0}
    assert.are.same({0}, n:eq(n):totable())
    assert.are.same({1}, n:ne(n):totable())
    assert.are.same({0}, n:le(1):totable())
  end)

  it("stay int64 for int64 inputs", function()
    local r = long{1, 5}:ge(long{3, 3})
    assert.are.equal("int64", r:dtype())
    assert.are.same({0, 1}, r:totable())
  end)

  it("have in-place forms that write 1 and 0 into the tensor", function()
    local t = recur.tensor{1, 2, 3}
    assert.are.equal(t, t:lt_(2))
    assert.are.same({1, 0, 0}, t:totable())
  end)
end)

describe("int64 arithmetic", function()
  it("keeps int64 for add, sub, mul, maximum and minimum", function()
    local a, b = long{7, -3, 4}, long{2, 2, -8}
    local r = a + b
    assert.are.equal("int64", r:dtype())
    assert.are.same({9, -1, -4}, r:totable())
    assert.are.equal("integer", math.type(r:totable()[1]))
    assert.are.same({5, -5, 12}, (a - b):totable())
    assert.are.same({14, -6, -32}, (a * b):totable())
    assert.are.same({7, 2, 4}, a:maximum(b):totable())
    assert.are.same({2, -3, -8}, a:minimum(b):totable())
  end)

  it("gives float32 for division and pow", function()
    local a, b = long{7, -3}, long{2, 2}
    local d = a / b
    assert.are.equal("float32", d:dtype())
    assert.are.same({3.5, -1.5}, d:totable())
    assert.are.equal("float32", a:pow(b):dtype())
    assert.are.same({49, 9}, a:pow(b):totable())
  end)

  it("stays int64 with a whole number and becomes float32 with a fraction", function()
    local a = long{1, 2}
    assert.are.equal("int64", (a * 3):dtype())
    assert.are.same({3, 6}, (a * 3):totable())
    assert.are.equal("float32", (a * 0.5):dtype())
    assert.are.same({0.5, 1}, (a * 0.5):totable())
  end)

  it("promotes int64 with float32 to float32", function()
    local r = long{1, 2} + recur.tensor{0.5, 0.5}
    assert.are.equal("float32", r:dtype())
    assert.are.same({1.5, 2.5}, r:totable())
  end)

  it("keeps exact values past 2^53, where float32 would not see a difference of 2", function()
    local big = long{1 << 62}
    local bigger = big + 2
    assert.are.same({2}, (bigger - big):totable())
    assert.are.same({1}, bigger:gt(big):totable())
  end)

  it("keeps int64 for neg, abs, sign, square and relu, and gives float32 for exp", function()
    local a = long{-3, 0, 2}
    assert.are.same({3, 0, -2}, a:neg():totable())
    assert.are.same({3, 0, 2}, a:abs():totable())
    assert.are.same({-1, 0, 1}, a:sign():totable())
    assert.are.same({9, 0, 4}, a:square():totable())
    assert.are.same({0, 0, 2}, a:relu():totable())
    assert.are.equal("int64", a:square():dtype())
    assert.are.equal("float32", a:exp():dtype())
    assert.are.same({1}, long{0}:exp():totable())
  end)
end)

describe("unary functions", function()
  local x = recur.tensor{-1.5, 0, 0.5, 2}

  it("compute neg, abs, relu, floor, ceil, sign, square and reciprocal exactly", function()
    assert.are.same({1.5, 0, -0.5, -2}, x:neg():totable())
    assert.are.same({1.5, 0, 0.5, 2}, x:abs():totable())
    assert.are.same({0, 0, 0.5, 2}, x:relu():totable())
    assert.are.same({-2, 0, 0, 2}, x:floor():totable())
    assert.are.same({-1, 0, 1, 2}, x:ceil():totable())
    assert.are.same({-1, 0, 1, 1}, x:sign():totable())
    assert.are.same({2.25, 0, 0.25, 4}, x:square():totable())
    assert.are.same({2, 0.5}, recur.tensor{0.5, 2}:reciprocal():totable())
  end)

  it("round halves to the even neighbour, as torch.round", function()
    assert.are.same({0, 2, 2, -2, 3}, recur.tensor{0.5, 1.5, 2.5, -2.5, 2.75}:round():totable())
  end)

  it("compute exp, log, sqrt, tanh, sigmoid, sin, cos and log1p", function()
    local v = recur.tensor{0, 1, 4}
    assert_near({1, 2.718281828, 54.59815003}, v:exp():totable(), 1e-4)
    assert_near({0, 1, 2}, v:sqrt():totable(), 0)
    assert_near({0, 1.386294361}, recur.tensor{1, 4}:log():totable(), 1e-6)
    assert_near({0, 0.7615941560, 0.9993292997}, v:tanh():totable(), 1e-7)
    assert_near({0.5, 0.7310585786, 0.9820137900}, v:sigmoid():totable(), 1e-7)
    assert_near({0, 0.8414709848, -0.7568024953}, v:sin():totable(), 1e-7)
    assert_near({1, 0.5403023059, -0.6536436209}, v:cos():totable(), 1e-7)
    assert_near({0, 0.6931471806, 1.609437912}, v:log1p():totable(), 1e-6)
  end)

  it("are also recur.<name> functions", function()
    assert.are.same({1.5, 0, 0.5, 2}, recur.abs(x):totable())
    assert_near({0.5}, recur.sigmoid(recur.tensor{0}):totable(), 0)
  end)

  it("saturate sigmoid at large |x| without NaN", function()
    local s = recur.tensor{-1000, -100, 100, 1000, -math.huge, math.huge}:sigmoid():totable()
    assert.are.same({0, 1, 1, 0, 1}, {s[1], s[3], s[4], s[5], s[6]})
    -- e^-100 ~ 3.72e-44 survives as a float32 denormal
    assert.is_true(s[2] > 3.6e-44 and s[2] < 3.8e-44)
  end)

  it("keep NaN in sigmoid, relu, tanh and exp", function()
    local n = recur.tensor{0 / 0}
    for _, name in ipairs{"sigmoid", "relu", "tanh", "exp", "abs", "sqrt"} do
      assert.is_true(is_nan(n[name](n):item()), name .. "(NaN) is not NaN")
    end
  end)

  it("give -inf for log(0) and NaN for the log of a negative number", function()
    local r = recur.tensor{0, -1}:log():totable()
    assert.are.equal(-math.huge, r[1])
    assert.is_true(is_nan(r[2]))
    assert.is_true(is_nan(recur.tensor{-1}:sqrt():item()))
  end)
end)

describe("in-place ops", function()
  it("return the tensor itself, the same userdata", function()
    local t = recur.tensor{1, 2}
    assert.are.equal(t, t:add_(1))
    assert.are.equal(t, t:exp_():log_())
    assert.are.equal(t, t:clamp_(0, 10))
    assert.are.equal(t, t:masked_fill_(recur.tensor{1, 0}, 0))
  end)

  it("write the result into the tensor for binary ops", function()
    local t = recur.tensor{1, 2, 4}
    t:add_(recur.tensor{1, 1, 1})
    assert.are.same({2, 3, 5}, t:totable())
    t:sub_(1):mul_(2):div_(4)
    assert.are.same({0.5, 1, 2}, t:totable())
    t:pow_(2)
    assert.are.same({0.25, 1, 4}, t:totable())
    t:add_(recur.tensor{1, 2, 3}, 4)
    assert.are.same({4.25, 9, 16}, t:totable())
  end)

  it("broadcast the other operand to the tensor's shape", function()
    local m = recur.zeros(2, 3)
    m:add_(recur.tensor{1, 2, 3})
    m:add_(recur.tensor{{10}, {20}})
    assert.are.same({{11, 12, 13}, {21, 22, 23}}, m:totable())
  end)

  it("have a form for every unary function", function()
    local function check(name, input, expected)
      local t = recur.tensor(input)
      t[name .. "_"](t)
      assert_near(expected, t:totable(), 1e-6)
    end
    check("neg", {1, -2}, {-1, 2})
    check("abs", {1, -2}, {1, 2})
    check("exp", {0, 1}, {1, 2.718281828})
    check("log", {1, 4}, {0, 1.386294361})
    check("sqrt", {4, 9}, {2, 3})
    check("tanh", {0, 1}, {0, 0.7615941560})
    check("sigmoid", {0, 1}, {0.5, 0.7310585786})
    check("relu", {-1, 2}, {0, 2})
    check("sin", {0, 1}, {0, 0.8414709848})
    check("cos", {0, 1}, {1, 0.5403023059})
    check("floor", {1.5, -1.5}, {1, -2})
    check("ceil", {1.5, -1.5}, {2, -1})
    check("round", {1.5, 2.5}, {2, 2})
    check("sign", {-3, 3}, {-1, 1})
    check("reciprocal", {2, 4}, {0.5, 0.25})
    check("square", {3, -2}, {9, 4})
    check("log1p", {0, 1}, {0, 0.6931471806})
  end)

  it("write through a narrowed view into the base tensor", function()
    local base = recur.tensor{1, 2, 3, 4, 5}
    base:narrow(1, 2, 3):mul_(10)
    assert.are.same({1, 20, 30, 40, 5}, base:totable())
  end)

  it("write through a column of a matrix (a strided view)", function()
    local m = recur.tensor{{1, 2, 3}, {4, 5, 6}}
    m:select(2, 2):neg_()
    m:select(2, 3):clamp_(nil, 4)
    assert.are.same({{1, -2, 3}, {4, -5, 4}}, m:totable())
  end)

  it("write through a transposed view", function()
    local m = recur.tensor{{1, 2, 3}, {4, 5, 6}}
    m:t():add_(recur.tensor{100, 200}) -- row i of m gets the i-th value
    assert.are.same({{101, 102, 103}, {204, 205, 206}}, m:totable())
  end)

  it("read the old values when the other operand is a view of the same tensor", function()
    local m = recur.tensor{{1, 2}, {3, 4}, {5, 6}}
    m:add_(m[1]) -- every row gets the original first row
    assert.are.same({{2, 4}, {4, 6}, {6, 8}}, m:totable())
    local v = recur.tensor{1, 2, 3, 4}
    v:narrow(1, 2, 3):sub_(v:narrow(1, 1, 3)) -- each element minus its old left neighbour
    assert.are.same({1, 1, 1, 1}, v:totable())
  end)

  it("accept the tensor itself as the other operand", function()
    local t = recur.tensor{1, 2, 3}
    t:mul_(t)
    assert.are.same({1, 4, 9}, t:totable())
  end)
end)

describe("clamp", function()
  local t = recur.tensor{-2, -0.5, 0.5, 3}

  it("limits values to [min, max]", function()
    assert.are.same({-1, -0.5, 0.5, 1}, t:clamp(-1, 1):totable())
    assert.are.same({-1, -0.5, 0.5, 1}, recur.clamp(t, -1, 1):totable())
  end)

  it("takes nil for a missing bound", function()
    assert.are.same({0, 0, 0.5, 3}, t:clamp(0):totable())
    assert.are.same({0, 0, 0.5, 3}, t:clamp(0, nil):totable())
    assert.are.same({-2, -0.5, 0, 0}, t:clamp(nil, 0):totable())
  end)

  it("gives max everywhere when min > max, as torch.clamp", function()
    assert.are.same({1, 1, 1, 1}, t:clamp(2, 1):totable())
  end)

  it("keeps NaN", function()
    assert.is_true(is_nan(recur.tensor{0 / 0}:clamp(0, 1):item()))
  end)

  it("keeps int64", function()
    local r = long{-5, 0, 9}:clamp(-1, 3)
    assert.are.equal("int64", r:dtype())
    assert.are.same({-1, 0, 3}, r:totable())
  end)

  it("says when no bound is given", function()
    assert.has_error(function() t:clamp() end,
      "recur.clamp: at least one of min and max must be given")
    assert.has_error(function() t:clamp_(nil, nil) end,
      "recur.clamp_: at least one of min and max must be given")
  end)
end)

describe("where", function()
  it("picks from a where the condition is non-zero and from b elsewhere", function()
    local r = recur.where(recur.tensor{1, 0, -2}, recur.tensor{1, 2, 3}, recur.tensor{-1, -2, -3})
    assert.are.same({1, -2, 3}, r:totable())
  end)

  it("broadcasts the condition and both values together", function()
    local r = recur.where(recur.tensor{1, 0, 1}, recur.tensor{{10}, {20}}, recur.tensor(0))
    assert.are.same({{10, 0, 10}, {20, 0, 20}}, r:totable())
  end)

  it("takes numbers for either value: integers as int64, fractions as float32", function()
    local c = recur.tensor{1, 0}
    local r = recur.where(c, 5, 0)
    assert.are.equal("int64", r:dtype())
    assert.are.same({5, 0}, r:totable())
    assert.are.same({0.5, -1}, recur.where(c, 0.5, -1):totable())
    assert.are.same({7, 2}, recur.where(c, 7, recur.tensor{1, 2}):totable())
    assert.are.same({1, 7}, recur.where(c, recur.tensor{1, 2}, 7):totable())
  end)

  it("keeps int64 values int64 with an int64 condition", function()
    local r = recur.where(long{0, 3}, long{1, 2}, 9)
    assert.are.equal("int64", r:dtype())
    assert.are.same({9, 2}, r:totable())
  end)

  it("as a method puts the tensor first, as torch.Tensor.where", function()
    local x = recur.tensor{1, 2, 3}
    assert.are.same({1, -1, 3}, x:where(recur.tensor{1, 0, 1}, -1):totable())
  end)

  it("says which shapes do not broadcast", function()
    assert.has_error(function()
      recur.where(recur.zeros(3), recur.zeros(2, 1), recur.zeros(4))
    end, "recur.where: shapes (3), (2,1) and (4) cannot be broadcast together")
  end)
end)

describe("masked_fill", function()
  it("puts the value where the mask is non-zero, broadcasting the mask", function()
    local t = recur.tensor{{1, 2, 3}, {4, 5, 6}}
    local r = t:masked_fill(recur.tensor{1, 0, 1}, -1)
    assert.are.same({{-1, 2, -1}, {-1, 5, -1}}, r:totable())
    assert.are.same({{1, 2, 3}, {4, 5, 6}}, t:totable())
  end)

  it("takes a comparison result as the mask", function()
    local t = recur.tensor{-1, 2, -3}
    assert.are.same({0, 2, 0}, recur.masked_fill(t, t:lt(0), 0):totable())
  end)

  it("fills -inf, as attention masks need", function()
    local r = recur.tensor{1, 2}:masked_fill(long{0, 1}, -math.huge):totable()
    assert.are.same({1, -math.huge}, r)
  end)

  it("takes a one-element tensor as the value", function()
    local r = recur.tensor{1, 2}:masked_fill(recur.tensor{1, 0}, recur.tensor(7))
    assert.are.same({7, 2}, r:totable())
  end)

  it("fills in place with masked_fill_", function()
    local m = recur.tensor{{1, 2}, {3, 4}}
    m:masked_fill_(recur.tensor{{0}, {1}}, 0)
    assert.are.same({{1, 2}, {0, 0}}, m:totable())
  end)

  it("says when the mask does not broadcast to the tensor", function()
    assert.has_error(function() recur.zeros(3):masked_fill(recur.zeros(2, 3), 1) end,
      "recur.masked_fill: shape (2,3) cannot be broadcast to (3)")
  end)
end)

describe("bad input", function()
  it("says which shapes cannot be broadcast", function()
    assert.has_error(function() recur.add(recur.zeros(2, 3), recur.zeros(4, 3)) end,
      "recur.add: shapes (2,3) and (4,3) cannot be broadcast (2 vs 4)")
    assert.has_error(function() local _ = recur.zeros(2, 3) * recur.zeros(3, 2) end,
      "recur.mul: shapes (2,3) and (3,2) cannot be broadcast (2 vs 3)")
  end)

  it("refuses an in-place op that would change the tensor's shape", function()
    assert.has_error(function() recur.zeros(3, 1):add_(recur.zeros(1, 4)) end,
      "recur.add_: the result must keep the tensor's shape (3,1), but (3,1) and (1,4) " ..
      "broadcast to (3,4)")
  end)

  it("leaves the tensor unchanged when an in-place op fails", function()
    local t = recur.tensor{{1}, {2}}
    pcall(function() t:add_(recur.zeros(1, 3)) end)
    assert.are.same({{1}, {2}}, t:totable())
  end)

  it("refuses an in-place op that would change the dtype", function()
    assert.has_error(function() long{1, 2}:div_(2) end,
      "recur.div_: the result is float32 but the tensor is int64 (an in-place op cannot " ..
      "change the dtype)")
    assert.has_error(function() long{1, 2}:exp_() end,
      "recur.exp_: the result is float32 but the tensor is int64 (an in-place op cannot " ..
      "change the dtype)")
    assert.has_error(function() long{1, 2}:add_(recur.tensor{1, 2}) end,
      "recur.add_: the result is float32 but the tensor is int64 (an in-place op cannot " ..
      "change the dtype)")
  end)

  it("refuses to write in place into an expanded view", function()
    assert.has_error(function() recur.zeros(3, 1):expand(3, 4):add_(1) end,
      "recur.add_: cannot write in place into a tensor whose elements share memory " ..
      "(an expanded view); clone it first")
  end)

  it("names the argument that is not a tensor", function()
    local t = recur.zeros(2)
    assert.has_error(function() recur.add(t, "x") end,
      "bad argument #2 to 'add' (tensor expected, got string)")
    assert.has_error(function() t:mul("x") end,
      "bad argument #1 to 'mul' (tensor expected, got string)")
    assert.has_error(function() recur.exp("x") end,
      "bad argument #1 to 'exp' (tensor expected, got string)")
    assert.has_error(function() t:add_({}) end,
      "bad argument #1 to 'add_' (tensor expected, got table)")
    assert.has_error(function() recur.where(t, "a", 1) end,
      "bad argument #2 to 'where' (tensor expected, got string)")
  end)

  it("needs a tensor on at least one side", function()
    assert.has_error(function() recur.add(1, 2) end,
      "bad argument #2 to 'add' (tensor expected, got number)")
  end)

  it("needs numbers for clamp's bounds, alpha and the fill value", function()
    local t = recur.zeros(2)
    assert.has_error(function() t:clamp("a") end,
      "bad argument #1 to 'clamp' (number expected, got string)")
    assert.has_error(function() t:add(t, "z") end,
      "bad argument #2 to 'add' (number expected, got string)")
    assert.has_error(function() t:masked_fill(t, "v") end,
      "bad argument #2 to 'masked_fill' (number or one-element tensor expected, got string)")
  end)
end)
