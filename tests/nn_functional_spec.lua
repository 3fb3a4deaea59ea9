-- tests/nn_functional_spec.lua — recur.embedding, dropout, the losses and layer_norm from Lua:
-- values worked out by hand, PyTorch's values (tests/golden/nn_ops.lua), gradients, bad input.
local recur = require "recur"

local function long(values) return recur.tensor(values, {dtype = "int64"}) end

-- |got - expected| <= rel * |expected| + abs, elementwise through nested tables.
local function assert_close(expected, got, rel, abs, where)
  rel, abs, where = rel or 1e-5, abs or 1e-6, where or "value"
  if type(expected) == "table" then
    assert(type(got) == "table", where .. ": expected a table, got " .. tostring(got))
    assert(#expected == #got, ("%s: %d elements expected, got %d"):format(where, #expected, #got))
    for i = 1, #expected do
      assert_close(expected[i], got[i], rel, abs, where .. "[" .. i .. "]")
    end
    return
  end
  assert(type(got) == "number", where .. ": expected a number, got " .. tostring(got))
  assert(math.abs(got - expected) <= rel * math.abs(expected) + abs,
    ("%s: got %.9g, expected %.9g"):format(where, got, expected))
end

local function grad_of(t) return t.grad and t.grad:totable() end

describe("recur.embedding", function()
  -- row v of w is (10v, 10v + 1), rows 0..2
  local function table3() return recur.tensor{{0, 1}, {10, 11}, {20, 21}} end

  it("looks rows up by their 0-based id, unshifted (id 0 is row 0, the padding row)", function()
    local out = recur.embedding(long{{2, 0}, {1, 1}}, table3())
    assert.are.same({2, 2, 2}, out:size())
    assert.are.same({{{20, 21}, {0, 1}}, {{10, 11}, {10, 11}}}, out:totable())
  end)

  it("looks the padding row up like any other row", function()
    assert.are.same({{0, 1}, {20, 21}}, recur.embedding(long{0, 2}, table3(), 0):totable())
  end)

  it("sums the gradient of a repeated id and gives the padding row none", function()
    local w = table3():requires_grad_()
    local out = recur.embedding(long{0, 2, 0, 1, 2, 2}, w, 0)
    assert.are.equal("EmbeddingBackward", out.grad_fn)
    out:backward(recur.ones(6, 2))
    -- row 0 (padding) named twice but gets 0; row 1 once; row 2 three times
    assert.are.same({{0, 0}, {1, 1}, {3, 3}}, grad_of(w))
  end)

  it("is also a method of the ids tensor", function()
    assert.are.same({{10, 11}}, long{1}:embedding(table3()):totable())
  end)

  it("names the id and the row count when an id is out of range", function()
    assert.has_error(function() recur.embedding(long{0, 3}, table3()) end,
      "recur.embedding: id 3 out of range for 3 rows (expected 0..2)")
    assert.has_error(function() recur.embedding(long{-1}, table3()) end,
      "recur.embedding: id -1 out of range for 3 rows (expected 0..2)")
  end)

  it("refuses float ids and a padding_idx outside the table", function()
    assert.has_error(function() recur.embedding(recur.tensor{1, 2}, table3()) end,
      "recur.embedding: ids must be int64, got float32")
    assert.has_error(function() recur.embedding(long{1}, table3(), 3) end,
      "recur.embedding: padding_idx 3 out of range for 3 rows (expected 0..2)")
    assert.has_error(function() recur.embedding(long{1}, table3(), -1) end,
      "recur.embedding: padding_idx must be a row number >= 0 or nil, got -1")
  end)
end)

describe("recur.dropout", function()
  it("returns its input itself when not training or when p is 0", function()
    local x = recur.tensor{1, 2, 3}
    recur.dropout(x, 0.5, false):mul_(2) -- writes through to x
    assert.are.same({2, 4, 6}, x:totable())
    recur.dropout(x, 0):mul_(2)
    assert.are.same({4, 8, 12}, x:totable())
  end)

  it("zeroes about a fraction p and scales the rest by 1/(1-p)", function()
    recur.manual_seed(1)
    local out = recur.dropout(recur.ones(20000), 0.2):totable()
    local zeros = 0
    for _, v in ipairs(out) do
      assert(v == 0 or math.abs(v - 1.25) < 1e-6, "value " .. v)
      if v == 0 then zeros = zeros + 1 end
    end
    assert.is_true(math.abs(zeros / 20000 - 0.2) < 0.02, "dropped " .. zeros)
  end)

  it("draws the same mask after the same seed", function()
    recur.manual_seed(5)
    local a = recur.dropout(recur.ones(64), 0.5):totable()
    recur.manual_seed(5)
    assert.are.same(a, recur.dropout(recur.ones(64), 0.5):totable())
  end)

  it("drops everything with p = 1", function()
    assert.are.same({0, 0, 0}, recur.dropout(recur.tensor{1, -2, 3}, 1):totable())
  end)

  it("passes the gradient through the same mask", function()
    local x = recur.ones(100):requires_grad_()
    local y = recur.dropout(x, 0.5)
    assert.are.equal("DropoutBackward", y.grad_fn)
    y:backward(recur.ones(100))
    -- x is all ones, so the output is the (scaled) mask itself, and so is the gradient
    assert.are.same(y:detach():totable(), grad_of(x))
  end)

  it("refuses p outside [0, 1] and a training flag that is not a boolean", function()
    assert.has_error(function() recur.dropout(recur.ones(2), 1.5) end,
      "recur.dropout: p must be in [0, 1], got 1.5")
    assert.has_error(function() recur.dropout(recur.ones(2), -0.5, false) end,
      "recur.dropout: p must be in [0, 1], got -0.5")
    assert.has_error(function() recur.dropout(recur.ones(2), 0.5, 1) end,
      "recur.dropout: training must be a boolean, got number")
  end)
end)

describe("recur.mse_loss", function()
  -- differences 1, 0, -2: squares 1, 0, 4
  local function xy() return recur.tensor{1, 2, 3}, recur.tensor{0, 2, 5} end

  it("averages, sums or keeps the squared differences", function()
    local x, y = xy()
    assert_close(5 / 3, recur.mse_loss(x, y):item())
    assert_close(5, recur.mse_loss(x, y, "sum"):item())
    assert.are.same({1, 0, 4}, recur.mse_loss(x, y, {reduction = "none"}):totable())
  end)

  it("has the gradient 2 (x - y) / n for both sides", function()
    local x, y = xy()
    x:requires_grad_()
    y:requires_grad_()
    local loss = recur.mse_loss(x, y)
    assert.are.equal("MseLossBackward", loss.grad_fn)
    loss:backward()
    assert_close({2 / 3, 0, -4 / 3}, grad_of(x))
    assert_close({-2 / 3, 0, 4 / 3}, grad_of(y))
  end)

  it("names both shapes when they differ", function()
    assert.has_error(function() recur.mse_loss(recur.zeros(3), recur.zeros(2, 3)) end,
      "recur.mse_loss: input shape (3) and target shape (2,3) must be the same")
  end)

  it("refuses an unknown reduction", function()
    assert.has_error(function() recur.mse_loss(recur.zeros(3), recur.zeros(3), "avg") end,
      "recur.mse_loss: reduction must be 'mean', 'sum' or 'none', got 'avg'")
    assert.has_error(function()
      recur.mse_loss(recur.zeros(3), recur.zeros(3), {reduce = "sum"})
    end,
      "recur.mse_loss: unknown option 'reduce' (expected reduction)")
  end)
end)

describe("recur.binary_cross_entropy_with_logits", function()
  it("is log 2 at logit 0, whatever the target", function()
    local l = recur.binary_cross_entropy_with_logits(recur.tensor{0, 0}, recur.tensor{1, 0})
    assert_close(math.log(2), l:item())
  end)

  it("weighs the positive term by pos_weight", function()
    local l = recur.binary_cross_entropy_with_logits(recur.tensor{0, 0}, recur.tensor{1, 0},
      {pos_weight = recur.tensor{3}, reduction = "none"})
    assert_close({3 * math.log(2), math.log(2)}, l:totable())
  end)

  it("stays finite at logits of +-1e4 and has the gradient sigmoid(x) - y", function()
    local x = recur.tensor{1e4, -1e4, 0}:requires_grad_()
    local l = recur.binary_cross_entropy_with_logits(x, recur.tensor{0, 0, 1}, {reduction = "sum"})
    assert_close(1e4 + math.log(2), l:item())
    l:backward()
    assert_close({1, 0, -0.5}, grad_of(x))
  end)

  it("refuses a pos_weight that does not broadcast, or is not a tensor", function()
    assert.has_error(function()
      recur.binary_cross_entropy_with_logits(recur.zeros(2, 3), recur.zeros(2, 3),
        {pos_weight = recur.ones(2)})
    end, "recur.binary_cross_entropy_with_logits: pos_weight shape (2) does not broadcast to "
      .. "input shape (2,3)")
    assert.has_error(function()
      recur.binary_cross_entropy_with_logits(recur.zeros(2), recur.zeros(2), {pos_weight = 2})
    end, "recur.binary_cross_entropy_with_logits: pos_weight must be a tensor, got number")
  end)
end)

describe("recur.cross_entropy", function()
  it("is log C for equal logits, with the gradient softmax - onehot", function()
    local x = recur.zeros(1, 4):requires_grad_()
    local l = recur.cross_entropy(x, long{2})
    assert_close(math.log(4), l:item())
    assert.are.equal("CrossEntropyLossBackward", l.grad_fn)
    l:backward()
    assert_close({{0.25, 0.25, -0.75, 0.25}}, grad_of(x))
  end)

  it("takes 0-based class ids unshifted, so ignore_index = 0 skips padding", function()
    -- row 1 is padding; the mean is over row 2 alone: logits (0, 0, log 2) for class 2
    local x = recur.tensor{{5, 1, 1}, {0, 0, math.log(2)}}:requires_grad_()
    local l = recur.cross_entropy(x, long{0, 2}, {ignore_index = 0})
    assert_close(-math.log(2 / 4), l:item())
    l:backward()
    assert_close({{0, 0, 0}, {0.25, 0.25, -0.5}}, grad_of(x))
  end)

  it("mixes in the uniform distribution with label_smoothing", function()
    -- equal logits: every -logp is log 4, so the loss stays log 4; the gradient is
    -- p - (1 - s) onehot - s / C = 0.25 - 0.8 onehot - 0.05
    local x = recur.zeros(1, 4):requires_grad_()
    local l = recur.cross_entropy(x, long{1}, {label_smoothing = 0.2, reduction = "sum"})
    assert_close(math.log(4), l:item())
    l:backward()
    assert_close({{0.2, -0.6, 0.2, 0.2}}, grad_of(x))
  end)

  it("stays finite at logits of +-1e4", function()
    local x = recur.tensor{{1e4, -1e4, 0}}:requires_grad_()
    local l = recur.cross_entropy(x, long{1})
    assert_close(2e4, l:item())
    l:backward()
    assert_close({{1, -1, 0}}, grad_of(x))
  end)

  it("gives one loss per target with reduction none", function()
    local l = recur.cross_entropy(recur.zeros(3, 2), long{1, -100, 0}, {reduction = "none"})
    assert_close({math.log(2), 0, math.log(2)}, l:totable())
  end)

  it("names the bad target and the class count", function()
    assert.has_error(function() recur.cross_entropy(recur.zeros(2, 4), long{1, 4}) end,
      "recur.cross_entropy: target 4 out of range for 4 classes (expected 0..3, or "
      .. "ignore_index -100)")
  end)

  it("names both shapes when the target does not fit the input", function()
    assert.has_error(function() recur.cross_entropy(recur.zeros(2, 4), long{1, 2, 3}) end,
      "recur.cross_entropy: target shape (3) does not match input shape (2,4) (expected "
      .. "target shape (2))")
  end)

  it("refuses float targets, unknown options and bad option values", function()
    assert.has_error(function() recur.cross_entropy(recur.zeros(2, 4), recur.tensor{1, 2}) end,
      "recur.cross_entropy: target must be int64 class ids, got float32")
    assert.has_error(function()
      recur.cross_entropy(recur.zeros(2, 4), long{1, 2}, {label_smooting = 0.1})
    end, "recur.cross_entropy: unknown option 'label_smooting' (expected ignore_index, "
      .. "label_smoothing or reduction)")
    assert.has_error(function()
      recur.cross_entropy(recur.zeros(2, 4), long{1, 2}, {label_smoothing = 2})
    end, "recur.cross_entropy: label_smoothing must be in [0, 1], got 2")
    assert.has_error(function()
      recur.cross_entropy(recur.zeros(2, 4), long{1, 2}, {ignore_index = 0.5})
    end, "recur.cross_entropy: ignore_index must be an integer, got a fraction")
    assert.has_error(function() recur.cross_entropy(recur.zeros(2, 4), long{1, 2}, "sum") end,
      "recur.cross_entropy: options must be a table, got string")
  end)
end)

describe("recur.nll_loss", function()
  it("picks -log_probs at the target, leaving out ignored ones", function()
    local lp = recur.tensor{{-1, -2, -3}, {-0.5, -1.5, -2.5}}:requires_grad_()
    local l = recur.nll_loss(lp, long{1, 2})
    assert_close((2 + 2.5) / 2, l:item())
    l:backward()
    assert_close({{0, -0.5, 0}, {0, 0, -0.5}}, grad_of(lp))
    assert_close(2, recur.nll_loss(lp, long{1, 2}, {ignore_index = 2}):item())
  end)

  it("names the bad target and the class count", function()
    assert.has_error(function() recur.nll_loss(recur.zeros(1, 3), long{3}) end,
      "recur.nll_loss: target 3 out of range for 3 classes (expected 0..2, or ignore_index -100)")
  end)
end)

describe("recur.layer_norm", function()
  it("normalizes each row over the last dim", function()
    -- (1, 2, 3): mean 2, biased variance 2/3
    local r = 1 / math.sqrt(2 / 3 + 1e-5)
    assert_close({{-r, 0, r}}, recur.layer_norm(recur.tensor{{1, 2, 3}}, {3}):totable())
  end)

  it("scales by weight and shifts by bias", function()
    local r = 1 / math.sqrt(2 / 3 + 1e-5)
    local out = recur.layer_norm(recur.tensor{{1, 2, 3}}, 3, recur.tensor{2, 2, 2},
      recur.tensor{1, 1, 1})
    assert_close({{1 - 2 * r, 1, 1 + 2 * r}}, out:totable())
  end)

  it("gives the bias the sum of the gradient over rows", function()
    local b = recur.zeros(2):requires_grad_()
    local out = recur.layer_norm(recur.tensor{{1, 2}, {5, 3}, {0, 0}}, {2}, nil, b)
    assert.are.equal("LayerNormBackward", out.grad_fn)
    out:backward(recur.tensor{{1, 2}, {3, 4}, {5, 6}})
    assert_close({9, 12}, grad_of(b))
  end)

  it("names the normalized shape and the input shape when they do not fit", function()
    assert.has_error(function() recur.layer_norm(recur.zeros(2, 3), {4}) end,
      "recur.layer_norm: normalized_shape (4) does not match the last dims of input shape (2,3)")
    assert.has_error(function() recur.layer_norm(recur.zeros(2, 3), {3}, recur.ones(2)) end,
      "recur.layer_norm: weight shape (2) must equal normalized_shape (3)")
    assert.has_error(function() recur.layer_norm(recur.zeros(2, 3), "3") end,
      "recur.layer_norm: normalized_shape must be a table of sizes or a size, got string")
  end)
end)

-- --- PyTorch's values (tests/golden/gen_nn_ops.py) ---------------------------------------

local golden = require "golden.nn_ops"

-- Leaves that require grad (float tables), or int64 ids (integer tables).
local function leaf(values) return recur.tensor(values):requires_grad_() end

-- Run a golden case: check the output, backpropagate grad_out, check each gradient.
local function check_case(c, out, grads)
  assert_close(c.out, out:totable(), 1e-5, 1e-6, "out")
  out:backward(recur.tensor(c.grad_out)) -- a number for a 0-d loss
  for name, t in pairs(grads) do
    assert_close(c[name], t.grad:totable(), 1e-5, 1e-6, name)
  end
end

describe("the fused nn ops against PyTorch " .. golden.torch_version, function()
  for _, c in ipairs(golden.embedding) do
    it("embedding: " .. c.name, function()
      local w = leaf(c.weight)
      check_case(c, recur.embedding(long(c.ids), w, c.padding_idx), {grad_weight = w})
    end)
  end

  for _, c in ipairs(golden.mse_loss) do
    it("mse_loss: " .. c.name, function()
      local x, y = leaf(c.input), leaf(c.target)
      check_case(c, recur.mse_loss(x, y, c.reduction), {grad_input = x, grad_target = y})
    end)
  end

  for _, c in ipairs(golden.binary_cross_entropy_with_logits) do
    it("binary_cross_entropy_with_logits: " .. c.name, function()
      local x, y = leaf(c.input), leaf(c.target)
      local pw = c.pos_weight and recur.tensor(c.pos_weight)
      local out = recur.binary_cross_entropy_with_logits(x, y,
        {reduction = c.reduction, pos_weight = pw})
      check_case(c, out, {grad_input = x, grad_target = y})
    end)
  end

  for _, c in ipairs(golden.cross_entropy) do
    it("cross_entropy: " .. c.name, function()
      local x = leaf(c.input)
      check_case(c, recur.cross_entropy(x, long(c.target), c.options), {grad_input = x})
    end)
  end

  for _, c in ipairs(golden.nll_loss) do
    it("nll_loss: " .. c.name, function()
      local x = leaf(c.input)
      check_case(c, recur.nll_loss(x, long(c.target), c.options), {grad_input = x})
    end)
  end

  for _, c in ipairs(golden.layer_norm) do
    it("layer_norm: " .. c.name, function()
      local x = leaf(c.input)
      local w, b = c.weight and leaf(c.weight), c.bias and leaf(c.bias)
      local out = recur.layer_norm(x, c.normalized_shape, w, b, c.eps)
      check_case(c, out, {grad_input = x, grad_weight = w, grad_bias = b})
    end)
  end
end)
