-- tests/nn_backward_spec.lua — every nn module with a forward has a working backward: each
-- is gradchecked (analytic against finite differences) on its input and its parameters.
local recur = require "recur"
local nn = require "recur.nn"

-- gradcheck of m's forward at x, over x (when it is float32) and every parameter of m.
local function check_module(m, x, extra)
  local inputs = {}
  if x:dtype() == "float32" then inputs[1] = x:requires_grad_() end
  for _, p in ipairs(m:parameters()) do inputs[#inputs + 1] = p end
  return recur.gradcheck(function() return m(x, extra) end, inputs, { atol = 2e-3, rtol = 2e-2 })
end

describe("every nn module has a backward that matches finite differences", function()
  before_each(function() recur.manual_seed(7) end)

  it("Linear (2-D and 3-D inputs, with and without bias)", function()
    assert.is_true(check_module(nn.Linear(3, 2), recur.randn(4, 3)))
    assert.is_true(check_module(nn.Linear(3, 2, { bias = false }), recur.randn(2, 4, 3)))
  end)

  it("Embedding (the weight; the padding row gets no gradient)", function()
    local ids = recur.tensor({ { 1, 0, 4 }, { 4, 2, 0 } }, { dtype = "int64" })
    -- gradcheck without padding: the padding row is used forward but, as in PyTorch, is
    -- never trained, so finite differences would (rightly) disagree there.
    assert.is_true(check_module(nn.Embedding(5, 3), ids))
    local e = nn.Embedding(5, 3, { padding_idx = 0 })
    e(ids):sum():backward()
    assert.are.same({ 0, 0, 0 }, e.weight.grad[1]:totable())
    assert.are.same({ 2, 2, 2 }, e.weight.grad[5]:totable()) -- id 4 used twice
  end)

  it("Dropout in training mode (same mask for every evaluation)", function()
    assert.is_true(check_module(nn.Dropout(0.3), recur.randn(4, 5)))
  end)

  it("Sequential of Linear, Tanh, Linear, Sigmoid", function()
    local s = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2), nn.Sigmoid())
    assert.is_true(check_module(s, recur.randn(5, 3)))
  end)

  it("Identity, ReLU, Softmax and LogSoftmax", function()
    assert.is_true(check_module(nn.Identity(), recur.randn(3, 2)))
    assert.is_true(check_module(nn.ReLU(), recur.randn(3, 4) + 0.05))
    assert.is_true(check_module(nn.Softmax(-1), recur.randn(3, 4)))
    assert.is_true(check_module(nn.LogSoftmax(1), recur.randn(3, 4)))
  end)

  it("LayerNorm", function()
    local ln = nn.LayerNorm(4)
    recur.no_grad(function() ln.weight:normal_(1, 0.2); ln.bias:normal_(0, 0.2) end)
    assert.is_true(check_module(ln, recur.randn(3, 4)))
  end)

  it("MSELoss and BCEWithLogitsLoss (with pos_weight)", function()
    local target = recur.rand(3, 2)
    assert.is_true(check_module(nn.MSELoss(), recur.randn(3, 2), target))
    local bce = nn.BCEWithLogitsLoss({ pos_weight = recur.tensor{ 2, 0.5 } })
    assert.is_true(check_module(bce, recur.randn(3, 2), recur.bernoulli(recur.full({ 3, 2 }, 0.5))))
  end)

  it("CrossEntropyLoss (ignore_index, label_smoothing) and NLLLoss", function()
    local targets = recur.tensor({ 2, 0, 1, 3 }, { dtype = "int64" })
    local ce = nn.CrossEntropyLoss({ ignore_index = 0, label_smoothing = 0.1 })
    assert.is_true(check_module(ce, recur.randn(4, 4), targets))
    assert.is_true(check_module(nn.NLLLoss(), recur.randn(4, 4):log_softmax(-1), targets))
  end)
end)
