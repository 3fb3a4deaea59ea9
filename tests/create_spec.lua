-- tests/create_spec.lua — making tensors: empty/zeros/ones/full and their _like forms, arange,
-- linspace, eye, and recur.tensor from nested Lua tables (shapes, dtypes, values, bad input).
local recur = require "recur"

describe("recur.zeros, ones, empty and full", function()
  it("makes zeros from sizes given as numbers", function()
    local t = recur.zeros(2, 3)
    assert.are.same({2, 3}, t:size())
    assert.are.equal("float32", t:dtype())
    assert.are.same({{0, 0, 0}, {0, 0, 0}}, t:totable())
  end)

  it("makes ones from sizes given as a table", function()
    local t = recur.ones{3, 2}
    assert.are.same({3, 2}, t:size())
    assert.are.same({{1, 1}, {1, 1}, {1, 1}}, t:totable())
  end)

  it("takes a dtype in an options table after the sizes", function()
    local a = recur.zeros(2, 2, {dtype = "int64"})
    local b = recur.ones({4}, {dtype = "int64"})
    assert.are.equal("int64", a:dtype())
    assert.are.equal("int64", b:dtype())
    assert.are.same({1, 1, 1, 1}, b:totable())
    assert.are.equal("integer", math.type(b:totable()[1]))
  end)

  it("makes a 0-d tensor when no size is given", function()
    assert.are.equal(0, recur.zeros():dim())
    assert.are.equal(1, recur.ones():item())
    assert.are.equal("int64", recur.zeros{dtype = "int64"}:dtype())
  end)

  it("makes an empty tensor of the asked shape and dtype", function()
    local t = recur.empty(4, 0, 2)
    assert.are.same({4, 0, 2}, t:size())
    assert.are.equal(0, t:numel())
    assert.are.equal("int64", recur.empty({5}, {dtype = "int64"}):dtype())
  end)

  it("fills with a value as torch.full does", function()
    local t = recur.full({2, 2}, 7.5)
    assert.are.equal("float32", t:dtype())
    assert.are.same({{7.5, 7.5}, {7.5, 7.5}}, t:totable())
    assert.are.same({-3, -3, -3}, recur.full({3}, -3, {dtype = "int64"}):totable())
  end)

  it("says which size is negative, counting dims from 1", function()
    assert.has_error(function() recur.zeros(2, -3) end,
      "recur.zeros: sizes must be >= 0, got -3 for dim 2")
    assert.has_error(function() recur.full({-1}, 0) end,
      "recur.full: sizes must be >= 0, got -1 for dim 1")
  end)

  it("refuses an unknown dtype and an unknown option", function()
    assert.has_error(function() recur.ones(2, {dtype = "float64"}) end,
      "recur.ones: unknown dtype 'float64' (expected 'float32' or 'int64')")
    assert.has_error(function() recur.ones(2, {dtyp = "int64"}) end,
      "recur.ones: unknown option 'dtyp' (expected dtype)")
  end)

  it("refuses what is neither a size nor an options table", function()
    assert.has_error(function() recur.zeros(2, "3") end,
      "recur.zeros: argument 2 should be an options table such as {dtype='int64'}, got string")
    assert.has_error(function() recur.zeros(2.5) end,
      "recur.zeros: size 1 is not an integer")
  end)

  it("asks for sizes and options in separate tables", function()
    assert.has_error(function() recur.zeros{2, 3, dtype = "int64"} end,
      "recur.zeros: sizes and options go in separate tables, e.g. zeros({2, 3}, {dtype = 'int64'})")
  end)

  it("wants the shape of full as a table", function()
    assert.has_error(function() recur.full(2, 3) end,
      "recur.full: expected a shape table such as {2, 3} as argument 1, got number")
  end)
end)

describe("the _like functions", function()
  it("keep the shape and dtype of their model", function()
    local model = recur.zeros({2, 3}, {dtype = "int64"})
    local ones = recur.ones_like(model)
    assert.are.same({2, 3}, ones:size())
    assert.are.equal("int64", ones:dtype())
    assert.are.same({{1, 1, 1}, {1, 1, 1}}, ones:totable())
    assert.are.same({{0, 0, 0}, {0, 0, 0}}, recur.zeros_like(recur.ones(2, 3)):totable())
    assert.are.same({2, 3}, recur.empty_like(model):size())
  end)

  it("fill with a value and take a dtype override", function()
    local t = recur.full_like(recur.zeros(3), 2.5)
    assert.are.same({2.5, 2.5, 2.5}, t:totable())
    local i = recur.full_like(recur.zeros(2), 4, {dtype = "int64"})
    assert.are.equal("int64", i:dtype())
    assert.are.same({4, 4}, i:totable())
  end)

  it("want a tensor first", function()
    local ok, err = pcall(recur.zeros_like, {1, 2})
    assert.is_false(ok)
    -- Lua names the function 'zeros_like' or 'recur.zeros_like' depending on how it was called
    assert.matches("bad argument #1 to '[%w.]*zeros_like' %(tensor expected, got table%)", err)
  end)
end)

describe("recur.arange", function()
  it("counts from 0 to end - 1 in int64 for an integer end", function()
    local t = recur.arange(5)
    assert.are.equal("int64", t:dtype())
    assert.are.same({0, 1, 2, 3, 4}, t:totable())
  end)

  it("takes start, end and step", function()
    assert.are.same({2, 4, 6}, recur.arange(2, 8, 2):totable())
    assert.are.same({5, 3, 1}, recur.arange(5, 0, -2):totable())
  end)

  it("is float32 when any argument is a float", function()
    local t = recur.arange(0, 1, 0.25)
    assert.are.equal("float32", t:dtype())
    assert.are.same({0, 0.25, 0.5, 0.75}, t:totable())
    assert.are.equal("float32", recur.arange(3.0):dtype())
  end)

  it("takes a dtype option", function()
    local t = recur.arange(3, {dtype = "float32"})
    assert.are.equal("float32", t:dtype())
    assert.are.same({0, 1, 2}, t:totable())
  end)

  it("refuses a step that never reaches end", function()
    assert.has_error(function() recur.arange(1, 0) end,
      "recur.arange: step 1 goes away from end (start 1, end 0)")
    assert.has_error(function() recur.arange(0, 3, 0) end,
      "recur.arange: start, end and step must be finite and step non-zero (got 0, 3, 0)")
  end)

  it("needs at least the end", function()
    assert.has_error(function() recur.arange() end,
      "recur.arange: expected arange(end), arange(start, end) or arange(start, end, step), "
        .. "got no value")
  end)
end)

describe("recur.linspace", function()
  it("spaces steps values evenly from start to end inclusive", function()
    local t = recur.linspace(0, 1, 5)
    assert.are.equal("float32", t:dtype())
    assert.are.same({0, 0.25, 0.5, 0.75, 1}, t:totable())
    assert.are.same({-2, 0, 2}, recur.linspace(-2, 2, 3):totable())
  end)

  it("converts to int64 when asked", function()
    local t = recur.linspace(0, 6, 4, {dtype = "int64"})
    assert.are.equal("int64", t:dtype())
    assert.are.same({0, 2, 4, 6}, t:totable())
  end)

  it("refuses negative steps", function()
    assert.has_error(function() recur.linspace(0, 1, -1) end,
      "recur.linspace: steps must be >= 0, got -1")
  end)
end)

describe("recur.eye", function()
  it("makes a square identity", function()
    assert.are.same({{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}, recur.eye(3):totable())
  end)

  it("makes a rectangular one, int64 if asked", function()
    local t = recur.eye(2, 3, {dtype = "int64"})
    assert.are.equal("int64", t:dtype())
    assert.are.same({{1, 0, 0}, {0, 1, 0}}, t:totable())
    assert.are.same({{1}, {0}}, recur.eye(2, 1):totable())
  end)

  it("refuses negative sizes", function()
    assert.has_error(function() recur.eye(2, -1) end, "recur.eye: sizes must be >= 0, got n=2 m=-1")
  end)
end)

describe("recur.tensor", function()
  it("round-trips a matrix through totable", function()
    local rows = {{1, 2, 3}, {4, 5, 6}}
    local t = recur.tensor(rows)
    assert.are.same({2, 3}, t:size())
    assert.are.equal("float32", t:dtype())
    assert.are.same(rows, t:totable())
  end)

  it("round-trips three levels of nesting", function()
    local cube = {{{1, 2}, {3, 4}}, {{5, 6}, {7, 8}}, {{9, 10}, {11, 12}}}
    local t = recur.tensor(cube)
    assert.are.same({3, 2, 2}, t:size())
    assert.are.same(cube, t:totable())
  end)

  it("keeps fractions as float32 does", function()
    assert.are.same({0.5, -1.25, 0.125}, recur.tensor{0.5, -1.25, 0.125}:totable())
  end)

  it("makes int64 tensors that keep large integers exactly", function()
    local big = 2^53 // 1 + 1 -- 9007199254740993: not a float64 value
    local t = recur.tensor({{1, big}, {-3, 0}}, {dtype = "int64"})
    assert.are.equal("int64", t:dtype())
    assert.are.same({{1, big}, {-3, 0}}, t:totable())
  end)

  it("truncates fractions toward zero for int64, as PyTorch", function()
    assert.are.same({1, -2}, recur.tensor({1.9, -2.7}, {dtype = "int64"}):totable())
  end)

  it("makes a 0-d tensor from a plain number", function()
    local t = recur.tensor(2.5)
    assert.are.equal(0, t:dim())
    assert.are.equal(2.5, t:item())
    assert.are.equal(7, recur.tensor(7, {dtype = "int64"}):item())
  end)

  it("makes shape (0) from an empty table and (2,0) from two empty rows", function()
    assert.are.same({0}, recur.tensor({}):size())
    assert.are.same({2, 0}, recur.tensor({{}, {}}):size())
  end)

  it("copies a tensor, converting its dtype if asked", function()
    local c = recur.tensor(recur.arange(3), {dtype = "float32"})
    assert.are.equal("float32", c:dtype())
    assert.are.same({0, 1, 2}, c:totable())
    assert.are.equal("int64", recur.tensor(recur.arange(3)):dtype())
  end)

  it("names the row of a ragged table", function()
    assert.has_error(function() recur.tensor{{1, 2}, {3, 4, 5}} end,
      "recur.tensor: ragged nested table: row 2 has 3 elements but row 1 has 2")
  end)

  it("names deeper positions of a ragged table", function()
    assert.has_error(function() recur.tensor{{{1, 2}, {3, 4}}, {{5}, {6, 7}}} end,
      "recur.tensor: ragged nested table: [2][1] has 1 element but [1][1] has 2")
  end)

  it("says where a number stands in for a row, and the reverse", function()
    assert.has_error(function() recur.tensor{{1, 2}, 3} end,
      "recur.tensor: ragged nested table: row 2 is a number but row 1 is a table of 2 elements")
    assert.has_error(function() recur.tensor{1, {2}} end,
      "recur.tensor: ragged nested table: row 2 is a table but row 1 is a number")
  end)

  it("names a non-number element", function()
    assert.has_error(function() recur.tensor{{1, 2}, {3, "4"}} end,
      "recur.tensor: element [2][2] is a string, expected a number")
    assert.has_error(function() recur.tensor{true} end,
      "recur.tensor: element [1] is a boolean, expected a number")
  end)

  it("refuses a value that is not a table, number or tensor", function()
    assert.has_error(function() recur.tensor("1") end,
      "recur.tensor: expected a number, a tensor or a nested table of numbers, got string")
  end)

  it("refuses a float outside the int64 range", function()
    assert.has_error(function() recur.tensor({1e30}, {dtype = "int64"}) end,
      "recur.tensor: element [1] is 1e+30, outside the int64 range")
  end)

  it("refuses more than 8 levels of nesting", function()
    assert.has_error(function() recur.tensor{{{{{{{{{1}}}}}}}}} end,
      "recur.tensor: more than 8 levels of nesting")
  end)
end)
