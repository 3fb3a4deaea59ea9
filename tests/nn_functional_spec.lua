-- tests/nn_functional_spec.lua — recur.embedding, dropout, the losses and layer_norm from Lua:
-- values worked out by hand, PyTorch's values (tests/golden/nn_ops.lua), gradients, bad input.
local recur = require "recur"
local nn = require "recur.nn"

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

  it("refuses float class ids, unknown options and bad option values", function()
    -- a float32 target is one of class probabilities, so it must have the logits' shape
    assert.has_error(function() recur.cross_entropy(recur.zeros(2, 4), recur.tensor{1, 2}) end,
      "recur.cross_entropy: probability target shape (2) must equal input shape (2,4) "
      .. "(class-index targets are int64)")
    assert.has_error(function()
      recur.cross_entropy(recur.zeros(2, 4), long{1, 2}, {label_smooting = 0.1})
    end, "recur.cross_entropy: unknown option 'label_smooting' (expected ignore_index, "
      .. "label_smoothing, reduction or weight)")
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

-- The three forms of a loss: recur.<name>, nn.functional.<name> and the nn module.
local function loss_forms(name, module)
  return {
    {"recur." .. name, function(x, t, opts) return recur[name](x, t, opts) end},
    {"nn.functional." .. name, function(x, t, opts) return nn.functional[name](x, t, opts) end},
    {"nn." .. module, function(x, t, opts) return nn[module](opts)(x, t) end},
  }
end

local log2, log3, log4 = math.log(2), math.log(3), math.log(4)

describe("class weights of cross_entropy and nll_loss", function()
  -- row 1: logits (0, 0), target 0, weight 2: loss 2 log 2;
  -- row 2: logits (0, log 3), softmax (1/4, 3/4), target 1, weight 1: loss log(4/3)
  local function rows() return recur.tensor{{0, 0}, {0, log3}}:requires_grad_() end
  local w = function() return recur.tensor{2, 1} end

  for _, form in ipairs(loss_forms("cross_entropy", "CrossEntropyLoss")) do
    local name, ce = form[1], form[2]

    it(name .. " multiplies each loss by weight[target]", function()
      assert_close({2 * log2, math.log(4 / 3)},
        ce(rows(), long{0, 1}, {weight = w(), reduction = "none"}):totable())
      assert_close(2 * log2 + math.log(4 / 3),
        ce(rows(), long{0, 1}, {weight = w(), reduction = "sum"}):item())
    end)

    it(name .. " divides the mean by the sum of weight[target], not by N", function()
      local x = rows()
      local l = ce(x, long{0, 1}, {weight = w()})
      assert_close((2 * log2 + math.log(4 / 3)) / 3, l:item())
      l:backward()
      -- w_t (softmax - onehot) / 3: row 1 2 (-1/2, 1/2) / 3, row 2 (1/4, -1/4) / 3
      assert_close({{-1 / 3, 1 / 3}, {1 / 12, -1 / 12}}, grad_of(x))
    end)
  end

  it("leaves ignored targets out of the weight sum", function()
    local x = recur.tensor{{0, 0}, {5, -5}, {0, log3}}
    local l = recur.cross_entropy(x, long{0, -100, 1}, {weight = recur.tensor{2, 1}})
    assert_close((2 * log2 + math.log(4 / 3)) / 3, l:item())
  end)

  it("weighs the smoothing term per class", function()
    -- equal logits over 4 classes: every -logp is log 4; target 1 (weight 2), s = 0.2:
    -- (1 - s) w_t log 4 + s/4 (1 + 2 + 3 + 4) log 4 = (1.6 + 0.5) log 4, mean over w_t = 2
    local x = recur.zeros(1, 4):requires_grad_()
    local opts = {weight = recur.tensor{1, 2, 3, 4}, label_smoothing = 0.2, reduction = "sum"}
    local l = recur.cross_entropy(x, long{1}, opts)
    assert_close(2.1 * log4, l:item())
    opts.reduction = "mean"
    assert_close(2.1 * log4 / 2, recur.cross_entropy(x, long{1}, opts):item())
    -- gradient: 2.1 softmax_c - s/4 w_c - (1 - s) w_t [c = t], softmax_c = 1/4
    l:backward()
    assert_close({{0.525 - 0.05, 0.525 - 0.1 - 1.6, 0.525 - 0.15, 0.525 - 0.2}}, grad_of(x))
  end)

  it("gives NaN for a mean over nothing but ignored targets, as PyTorch", function()
    local l = recur.cross_entropy(recur.zeros(2, 3), long{-100, -100},
      {weight = recur.ones(3)})
    assert.is_true(l:item() ~= l:item())
  end)

  for _, form in ipairs(loss_forms("nll_loss", "NLLLoss")) do
    it(form[1] .. " picks -weight[t] log_probs[t], the mean over the weights", function()
      local lp = recur.tensor{{-1, -2, -3}, {-0.5, -1.5, -2.5}}:requires_grad_()
      local l = form[2](lp, long{1, 2}, {weight = recur.tensor{1, 2, 4}})
      assert_close((2 * 2 + 4 * 2.5) / 6, l:item())
      l:backward()
      assert_close({{0, -2 / 6, 0}, {0, 0, -4 / 6}}, grad_of(lp))
    end)
  end

  it("refuses a weight of the wrong size, rank or dtype, or not a tensor", function()
    local x, t = recur.zeros(2, 4), long{1, 2}
    assert.has_error(function() recur.cross_entropy(x, t, {weight = recur.ones(3)}) end,
      "recur.cross_entropy: weight shape (3) must be (4), one entry per class")
    assert.has_error(function() recur.cross_entropy(x, t, {weight = recur.ones(1, 4)}) end,
      "recur.cross_entropy: weight shape (1,4) must be (4), one entry per class")
    assert.has_error(function() recur.cross_entropy(x, t, {weight = long{1, 1, 1, 1}}) end,
      "recur.cross_entropy: weight must be float32, got int64")
    assert.has_error(function() recur.cross_entropy(x, t, {weight = 2}) end,
      "recur.cross_entropy: weight must be a tensor, got number")
    assert.has_error(function() recur.nll_loss(recur.zeros(2, 3), t, {weight = recur.ones(2)}) end,
      "recur.nll_loss: weight shape (2) must be (3), one entry per class")
  end)

  it("gives the module form's errors too", function()
    assert.has_error(function()
      nn.CrossEntropyLoss({weight = recur.ones(3)})(recur.zeros(2, 4), long{1, 2})
    end, "recur.cross_entropy: weight shape (3) must be (4), one entry per class")
    assert.has_error(function() nn.CrossEntropyLoss({weights = recur.ones(4)}) end,
      "nn.CrossEntropyLoss: unknown option 'weights' (expected ignore_index, label_smoothing, "
      .. "reduction or weight)")
    assert.has_error(function() nn.NLLLoss({weights = recur.ones(4)}) end,
      "nn.NLLLoss: unknown option 'weights' (expected ignore_index, reduction or weight)")
  end)

  it("still names a target out of range", function()
    assert.has_error(function()
      recur.cross_entropy(recur.zeros(2, 4), long{1, 4}, {weight = recur.ones(4)})
    end, "recur.cross_entropy: target 4 out of range for 4 classes (expected 0..3, or "
      .. "ignore_index -100)")
  end)

  it("refuses a weight that requires grad with class targets, as PyTorch", function()
    local w4 = recur.ones(4):requires_grad_()
    assert.has_error(function()
      recur.cross_entropy(recur.zeros(2, 4), long{1, 2}, {weight = w4})
    end, "recur.cross_entropy: weight requires grad, but no gradient is computed for it with "
      .. "class-index targets (as in PyTorch); detach it")
    assert.has_error(function() recur.nll_loss(recur.zeros(2, 4), long{1, 2}, {weight = w4}) end,
      "recur.nll_loss: weight requires grad, but no gradient is computed for it (as in "
      .. "PyTorch); detach it")
  end)

  it("takes a weight that requires grad under no_grad, or detached", function()
    local w4 = recur.ones(4):requires_grad_()
    local l = recur.no_grad(function()
      return recur.cross_entropy(recur.zeros(2, 4), long{1, 2}, {weight = w4})
    end)
    assert_close(log4, l:item())
    assert_close(log4, recur.cross_entropy(recur.zeros(2, 4), long{1, 2},
      {weight = w4:detach()}):item())
  end)
end)

describe("probability targets of cross_entropy", function()
  for _, form in ipairs(loss_forms("cross_entropy", "CrossEntropyLoss")) do
    local name, ce = form[1], form[2]

    it(name .. " takes float32 class probabilities of the logits' shape", function()
      -- logits (0, log 3): softmax (1/4, 3/4); target (1/2, 1/2)
      local x = recur.tensor{{0, log3}}:requires_grad_()
      local p = recur.tensor{{0.5, 0.5}}:requires_grad_()
      local l = ce(x, p)
      assert_close(0.5 * log4 + 0.5 * math.log(4 / 3), l:item())
      l:backward()
      assert_close({{-0.25, 0.25}}, grad_of(x))                   -- softmax - p
      assert_close({{log4, math.log(4 / 3)}}, grad_of(p))         -- -logp
    end)
  end

  it("takes a (C) input with a (C) target", function()
    local l = recur.cross_entropy(recur.tensor{0, log3}, recur.tensor{0.5, 0.5})
    assert.are.same({}, l:size())
    assert_close(0.5 * log4 + 0.5 * math.log(4 / 3), l:item())
  end)

  it("averages over the rows, not over the weights", function()
    -- rows: one-hot on class 1 (weight 2) and class 2 (weight 4), each -logp = log 2
    local l = recur.cross_entropy(recur.zeros(2, 2), recur.tensor{{1, 0}, {0, 1}},
      {weight = recur.tensor{2, 4}})
    assert_close((2 * log2 + 4 * log2) / 2, l:item())
  end)

  it("smooths the probabilities toward uniform and weighs each class", function()
    -- equal logits: -logp = log 4; q = 0.8 (1, 0, 0, 0) + 0.05 = (0.85, 0.05, 0.05, 0.05)
    local l = recur.cross_entropy(recur.zeros(1, 4), recur.tensor{{1, 0, 0, 0}},
      {weight = recur.tensor{1, 2, 3, 4}, label_smoothing = 0.2})
    assert_close((0.85 + 2 * 0.05 + 3 * 0.05 + 4 * 0.05) * log4, l:item())
  end)

  it("gives the weight its gradient, as PyTorch", function()
    local w = recur.tensor{2, 4}:requires_grad_()
    local p = recur.tensor{{1, 0}}:requires_grad_()
    local l = recur.cross_entropy(recur.zeros(1, 2), p, {weight = w, reduction = "sum"})
    l:backward()
    assert_close({log2, 0}, grad_of(w))               -- -q logp
    assert_close({{2 * log2, 4 * log2}}, grad_of(p))  -- -w logp
  end)

  it("refuses an ignore_index of a class, as PyTorch; a negative one plays no part", function()
    local x, p = recur.zeros(2, 2), recur.tensor{{1, 0}, {0, 1}}
    assert.has_error(function() recur.cross_entropy(x, p, {ignore_index = 0}) end,
      "recur.cross_entropy: ignore_index 0 applies to class-index targets only, not to "
      .. "probability targets")
    assert_close(log2, recur.cross_entropy(x, p, {ignore_index = -1}):item())
  end)

  it("refuses probabilities of another shape and int64 targets of the logits' shape", function()
    assert.has_error(function()
      recur.cross_entropy(recur.zeros(2, 3), recur.zeros(2, 2))
    end, "recur.cross_entropy: probability target shape (2,2) must equal input shape (2,3) "
      .. "(class-index targets are int64)")
    assert.has_error(function()
      nn.CrossEntropyLoss()(recur.zeros(2, 3), long{{0, 1, 0}, {1, 0, 0}})
    end, "recur.cross_entropy: a target of the input's shape (2,3) holds class probabilities "
      .. "and must be float32, got int64")
    assert.has_error(function()
      recur.cross_entropy(recur.zeros(2, 3), recur.zeros(2, 3), {weight = recur.ones(2)})
    end, "recur.cross_entropy: weight shape (2) must be (3), one entry per class")
  end)
end)

describe("the weight of binary_cross_entropy_with_logits", function()
  for _, form in ipairs(loss_forms("binary_cross_entropy_with_logits", "BCEWithLogitsLoss")) do
    it(form[1] .. " rescales each element's loss; the mean still divides by N", function()
      local x = recur.tensor{0, 0}:requires_grad_()
      local y = recur.tensor{1, 0}
      local l = form[2](x, y, {weight = recur.tensor{1, 3}})
      assert_close((log2 + 3 * log2) / 2, l:item())
      l:backward()
      assert_close({1 * (0.5 - 1) / 2, 3 * 0.5 / 2}, grad_of(x)) -- w (sigmoid(x) - y) / N
    end)
  end

  it("broadcasts the weight to the input, with pos_weight", function()
    -- logit 0: each term is log 2; row weights 1 and 2; pos_weight 3 on the positive column
    local y = recur.tensor{{1, 0}, {1, 0}}
    local l = recur.binary_cross_entropy_with_logits(recur.zeros(2, 2), y,
      {weight = recur.tensor{{1}, {2}}, pos_weight = recur.tensor{3, 1}, reduction = "none"})
    assert_close({{3 * log2, log2}, {6 * log2, 2 * log2}}, l:totable())
  end)

  it("refuses a weight that does not broadcast, is not float32, or requires grad", function()
    local x = recur.zeros(2, 2)
    assert.has_error(function()
      recur.binary_cross_entropy_with_logits(x, x, {weight = recur.ones(3)})
    end, "recur.binary_cross_entropy_with_logits: weight shape (3) does not broadcast to input "
      .. "shape (2,2)")
    assert.has_error(function()
      recur.binary_cross_entropy_with_logits(x, x, {weight = long{1, 1}})
    end, "recur.binary_cross_entropy_with_logits: weight must be float32, got int64")
    assert.has_error(function()
      nn.BCEWithLogitsLoss({weight = recur.ones(2):requires_grad_()})(x, x)
    end, "recur.binary_cross_entropy_with_logits: weight requires grad, but no gradient is "
      .. "computed for it (as in PyTorch); detach it")
    assert.has_error(function()
      nn.BCEWithLogitsLoss({pos_weight = recur.ones(2):requires_grad_()})(x, x)
    end, "recur.binary_cross_entropy_with_logits: pos_weight requires grad, but no gradient is "
      .. "computed for it (as in PyTorch); detach it")
    -- Under no_grad nothing is recorded, so nothing is refused.
    recur.no_grad(function()
      nn.BCEWithLogitsLoss({pos_weight = recur.ones(2):requires_grad_()})(x, x)
    end)
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

  -- options with a weight tensor added (c.options itself stays as read)
  local function with_weight(opts, weight)
    local o = {weight = weight}
    for k, v in pairs(opts) do o[k] = v end
    return o
  end

  -- Each case of a golden list through the three forms of a loss; call(loss, c) gives the
  -- output and the leaves whose gradients are checked.
  local function golden_forms(list, label, name, module, call)
    for _, c in ipairs(list) do
      for _, form in ipairs(loss_forms(name, module)) do
        it(form[1] .. " with " .. label .. ": " .. c.name, function()
          check_case(c, call(form[2], c))
        end)
      end
    end
  end

  -- class-index targets and a constant weight: the input's gradient alone
  local function weighted_ids(loss, c)
    local x = leaf(c.input)
    local out = loss(x, long(c.target), with_weight(c.options, recur.tensor(c.weight)))
    return out, {grad_input = x}
  end

  golden_forms(golden.cross_entropy_weight, "weight", "cross_entropy", "CrossEntropyLoss",
    weighted_ids)
  golden_forms(golden.nll_loss_weight, "weight", "nll_loss", "NLLLoss", weighted_ids)

  golden_forms(golden.cross_entropy_probs, "probabilities", "cross_entropy", "CrossEntropyLoss",
    function(loss, c)
      local x, p, w = leaf(c.input), leaf(c.target), c.weight and leaf(c.weight)
      return loss(x, p, with_weight(c.options, w)),
        {grad_input = x, grad_target = p, grad_weight = w}
    end)

  golden_forms(golden.binary_cross_entropy_with_logits_weight, "weight",
    "binary_cross_entropy_with_logits", "BCEWithLogitsLoss", function(loss, c)
      local x, y = leaf(c.input), leaf(c.target)
      local out = loss(x, y, {reduction = c.reduction, weight = recur.tensor(c.weight),
        pos_weight = c.pos_weight and recur.tensor(c.pos_weight)})
      return out, {grad_input = x, grad_target = y}
    end)

  for _, c in ipairs(golden.layer_norm) do
    it("layer_norm: " .. c.name, function()
      local x = leaf(c.input)
      local w, b = c.weight and leaf(c.weight), c.bias and leaf(c.bias)
      local out = recur.layer_norm(x, c.normalized_shape, w, b, c.eps)
      check_case(c, out, {grad_input = x, grad_weight = w, grad_bias = b})
    end)
  end
end)
