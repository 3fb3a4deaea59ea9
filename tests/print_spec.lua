-- tests/print_spec.lua — tostring(t) as PyTorch's repr (plus dtype for int64 and the shape),
-- and recur.set_printoptions. Expected strings are worked out by hand from torch's rules.
local recur = require "recur"

local KNOWN = "(expected edgeitems, linewidth, precision, profile, sci_mode or threshold)"

describe("tostring of a tensor", function()
  after_each(function() recur.set_printoptions{profile = "default"} end)

  it("prints fractions with 4 decimals, right-aligned to the widest", function()
    assert.are.equal("tensor([ 0.5000, -1.2500,  3.1250], shape=(3))",
      tostring(recur.tensor{0.5, -1.25, 3.125}))
  end)

  it("rounds to the precision", function()
    -- float32(0.123456) = 0.12345600128..., float32(2/3) = 0.66666668653...
    assert.are.equal("tensor([0.1235, 0.6667], shape=(2))",
      tostring(recur.tensor{0.123456, 2 / 3}))
  end)

  it("prints integral floats with a trailing point", function()
    assert.are.equal("tensor([1., 2., 3.], shape=(3))", tostring(recur.tensor{1, 2, 3}))
  end)

  it("pads integral floats to the widest, sign included", function()
    assert.are.equal("tensor([-1., 10.,  2.], shape=(3))", tostring(recur.tensor{-1, 10, 2}))
  end)

  it("prints all zeros as 0.", function()
    assert.are.equal("tensor([0., 0.], shape=(2))", tostring(recur.tensor{0, 0}))
  end)

  it("puts each row of a matrix on its own line, indented under the first", function()
    assert.are.equal("tensor([[1., 2.],\n" ..
                     "        [3., 4.]], shape=(2,2))",
      tostring(recur.tensor{{1, 2}, {3, 4}}))
  end)

  it("separates the matrices of a 3-D tensor by a blank line", function()
    assert.are.equal("tensor([[[1., 2.],\n" ..
                     "         [3., 4.]],\n" ..
                     "\n" ..
                     "        [[5., 6.],\n" ..
                     "         [7., 8.]]], shape=(2,2,2))",
      tostring(recur.tensor{{{1, 2}, {3, 4}}, {{5, 6}, {7, 8}}}))
  end)

  it("prints a 0-d tensor as its value alone", function()
    assert.are.equal("tensor(3.5000)", tostring(recur.tensor(3.5)))
  end)

  it("prints a 0-d integral float with a trailing point", function()
    assert.are.equal("tensor(-7.)", tostring(recur.tensor{-7}[1]))
  end)

  it("prints int64 values as integers and says the dtype", function()
    assert.are.equal("tensor([  1, -20, 300], dtype=int64, shape=(3))",
      tostring(recur.tensor({1, -20, 300}, {dtype = "int64"})))
  end)

  it("prints a 0-d int64 tensor with its dtype and no shape", function()
    assert.are.equal("tensor(7, dtype=int64)", tostring(recur.tensor(7, {dtype = "int64"})))
  end)

  it("prints int64 values exactly, even past 2^53", function()
    assert.are.equal("tensor([9007199254740993], dtype=int64, shape=(1))",
      tostring(recur.tensor({(1 << 53) + 1}, {dtype = "int64"})))
  end)

  it("summarizes an int64 tensor, padding to the widest shown value", function()
    -- 0..1999 int64: shown 0, 1, 2 and 1997, 1998, 1999; the widest has 4 digits
    assert.are.equal("tensor([   0,    1,    2,  ..., 1997, 1998, 1999], dtype=int64, " ..
                     "shape=(2000))", tostring(recur.arange(2000)))
  end)

  it("prints an empty tensor as [] with its shape", function()
    assert.are.equal("tensor([], shape=(0))", tostring(recur.zeros(0)))
    assert.are.equal("tensor([], shape=(0,3))", tostring(recur.zeros(0, 3)))
  end)

  it("says the dtype of an empty int64 tensor", function()
    assert.are.equal("tensor([], dtype=int64, shape=(2,0))",
      tostring(recur.zeros(2, 0, {dtype = "int64"})))
  end)

  it("summarizes more than 1000 elements to 3 at each end of each dim", function()
    -- (50,50) holding 1000..3499 row-major: rows 1-3 and 48-50, columns 1-3 and 48-50;
    -- every shown value has 4 digits, so the width is 5 ("1000.").
    local t = recur.arange(1000, 3500, {dtype = "float32"}):view(50, 50)
    assert.are.equal(
      "tensor([[1000., 1001., 1002.,  ..., 1047., 1048., 1049.],\n" ..
      "        [1050., 1051., 1052.,  ..., 1097., 1098., 1099.],\n" ..
      "        [1100., 1101., 1102.,  ..., 1147., 1148., 1149.],\n" ..
      "        ...,\n" ..
      "        [3350., 3351., 3352.,  ..., 3397., 3398., 3399.],\n" ..
      "        [3400., 3401., 3402.,  ..., 3447., 3448., 3449.],\n" ..
      "        [3450., 3451., 3452.,  ..., 3497., 3498., 3499.]], shape=(50,50))",
      tostring(t))
  end)

  it("does not summarize 1000 elements", function()
    local s = tostring(recur.arange(1000, {dtype = "float32"}))
    assert.is_nil(s:find("...", 1, true))
    assert.is_truthy(s:find("999.]", 1, true))
  end)

  it("chooses the format from the shown values only and wraps rows at 80 columns", function()
    -- 0..1999: the shown nonzero values 1 and 1999 differ by more than 1000x, so scientific;
    -- width 10, so (80 - 7) // (10 + 2) = 6 items per line, " ..." counting as one.
    assert.are.equal(
      "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n" ..
      "        1.9990e+03], shape=(2000))",
      tostring(recur.arange(2000, {dtype = "float32"})))
  end)

  it("switches to scientific notation when magnitudes differ by more than 1000x", function()
    -- float32(123456.7) = 123456.703125
    assert.are.equal("tensor([1.2346e+05, 5.0000e-01, 2.0000e+00], shape=(3))",
      tostring(recur.tensor{123456.7, 0.5, 2}))
  end)

  it("switches to scientific notation for a nonzero value below 1e-4", function()
    assert.are.equal("tensor([1.0000e-05, 5.0000e-01, 0.0000e+00], shape=(3))",
      tostring(recur.tensor{1e-5, 0.5, 0}))
  end)

  it("switches to scientific notation for integral values above 1e8", function()
    assert.are.equal("tensor([1.0000e+09, 1.0000e+00], shape=(2))",
      tostring(recur.tensor{1e9, 1}))
  end)

  it("prints nan and inf, padded to the width of the finite values", function()
    assert.are.equal("tensor([   nan,    inf,   -inf, 1.5000], shape=(4))",
      tostring(recur.tensor{0 / 0, 1 / 0, -1 / 0, 1.5}))
  end)

  it("keeps the integral style when the only other values are nan and inf", function()
    assert.are.equal("tensor([nan, inf, 2.], shape=(3))", tostring(recur.tensor{0 / 0, 1 / 0, 2}))
  end)

  it("prints a transposed (non-contiguous) view in its own order", function()
    local t = recur.tensor{{1, 2, 3}, {4, 5, 6}}:transpose(1, 2)
    assert.is_false(t:is_contiguous())
    assert.are.equal("tensor([[1., 4.],\n" ..
                     "        [2., 5.],\n" ..
                     "        [3., 6.]], shape=(3,2))", tostring(t))
  end)

  it("prints a row selected from a matrix (a view with an offset)", function()
    local t = recur.tensor{{1, 2}, {3.5, 4}}
    assert.are.equal("tensor([3.5000, 4.0000], shape=(2))", tostring(t[2]))
  end)
end)

describe("recur.set_printoptions", function()
  after_each(function() recur.set_printoptions{profile = "default"} end)

  it("changes the precision", function()
    recur.set_printoptions{precision = 2}
    assert.are.equal("tensor([ 0.50, -1.25,  3.14], shape=(3))",
      tostring(recur.tensor{0.5, -1.25, 3.14159}))
  end)

  it("forces scientific notation with sci_mode = true", function()
    recur.set_printoptions{sci_mode = true}
    assert.are.equal("tensor([1.5000e+00, 2.0000e+00], shape=(2))",
      tostring(recur.tensor{1.5, 2}))
  end)

  it("forces fixed point with sci_mode = false", function()
    recur.set_printoptions{sci_mode = false}
    assert.are.equal("tensor([123456.7031,      0.5000], shape=(2))",
      tostring(recur.tensor{123456.7, 0.5}))
  end)

  it("makes sci_mode automatic again when a later call leaves it out, as torch", function()
    recur.set_printoptions{sci_mode = false}
    recur.set_printoptions{precision = 4}
    assert.are.equal("tensor([1.2346e+05, 5.0000e-01], shape=(2))",
      tostring(recur.tensor{123456.7, 0.5}))
  end)

  it("summarizes above threshold with edgeitems at each end", function()
    recur.set_printoptions{threshold = 5, edgeitems = 2}
    assert.are.equal("tensor([0., 1.,  ..., 8., 9.], shape=(10))",
      tostring(recur.arange(10, {dtype = "float32"})))
  end)

  it("never summarizes with threshold = math.huge", function()
    recur.set_printoptions{threshold = math.huge}
    assert.is_nil(tostring(recur.arange(2000, {dtype = "float32"})):find("...", 1, true))
  end)

  it("wraps rows and the shape suffix at linewidth", function()
    -- width 2 ("1."): (20 - 7) // (2 + 2) = 3 items per line; the suffix no longer fits
    -- after "        4., 5., 6.]" so it goes on its own line, indented like the values.
    recur.set_printoptions{linewidth = 20}
    assert.are.equal("tensor([1., 2., 3.,\n" ..
                     "        4., 5., 6.],\n" ..
                     "       shape=(6))", tostring(recur.tensor{1, 2, 3, 4, 5, 6}))
  end)

  it("applies the short profile: precision 2, 2 items at each end", function()
    recur.set_printoptions{profile = "short"}
    assert.are.same({precision = 2, threshold = 1000, edgeitems = 2, linewidth = 80},
      recur.get_printoptions())
    assert.are.equal("tensor(0.33)", tostring(recur.tensor{1 / 3}[1]))
  end)

  it("restores the defaults with the default profile", function()
    recur.set_printoptions{precision = 7, threshold = 10, edgeitems = 1, linewidth = 40,
                           sci_mode = true}
    recur.set_printoptions{profile = "default"}
    assert.are.same({precision = 4, threshold = 1000, edgeitems = 3, linewidth = 80},
      recur.get_printoptions())
  end)

  it("reports the options it holds", function()
    recur.set_printoptions{precision = 6, sci_mode = false}
    assert.are.same({precision = 6, threshold = 1000, edgeitems = 3, linewidth = 80,
                     sci_mode = false}, recur.get_printoptions())
  end)

  it("rejects an unknown option and lists the known ones", function()
    assert.has_error(function() recur.set_printoptions{precison = 2} end,
      "recur.set_printoptions: unknown option 'precison' " .. KNOWN)
  end)

  it("lists every unknown option, sorted, and changes nothing", function()
    assert.has_error(function() recur.set_printoptions{width = 9, digits = 2, precision = 9} end,
      "recur.set_printoptions: unknown options 'digits', 'width' " .. KNOWN)
    assert.are.equal(4, recur.get_printoptions().precision)
  end)

  it("rejects a precision that is not an integer from 0 to 40", function()
    assert.has_error(function() recur.set_printoptions{precision = 1.5} end,
      "recur.set_printoptions: precision must be an integer from 0 to 40, got 1.5")
    assert.has_error(function() recur.set_printoptions{precision = -1} end,
      "recur.set_printoptions: precision must be an integer from 0 to 40, got -1")
  end)

  it("rejects edgeitems below 1", function()
    assert.has_error(function() recur.set_printoptions{edgeitems = 0} end,
      "recur.set_printoptions: edgeitems must be an integer from 1 to 1073741823, got 0")
  end)

  it("rejects a negative threshold", function()
    assert.has_error(function() recur.set_printoptions{threshold = -1} end,
      "recur.set_printoptions: threshold must be a number >= 0 (math.huge for no summarizing)," ..
      " got -1")
  end)

  it("rejects a sci_mode that is not a boolean", function()
    assert.has_error(function() recur.set_printoptions{sci_mode = 1} end,
      "recur.set_printoptions: sci_mode must be true, false or nil, got 1")
  end)

  it("rejects an unknown profile", function()
    assert.has_error(function() recur.set_printoptions{profile = "long"} end,
      "recur.set_printoptions: profile must be 'default', 'short' or 'full', got long")
  end)

  it("takes its options in a table", function()
    assert.has_error(function() recur.set_printoptions(3) end,
      "recur.set_printoptions: expected an options table such as {precision = 2}, got number")
  end)
end)
