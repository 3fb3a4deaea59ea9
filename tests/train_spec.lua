-- tests/train_spec.lua — end to end: small models learn (loss below a bound) with every
-- optimizer, on data the test makes, through the same loop a user writes.
local recur = require "recur"
local nn = require "recur.nn"
local optim = require "recur.optim"

local function xor_data()
  local x = recur.tensor{ { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } }
  local y = recur.tensor{ { 0 }, { 1 }, { 1 }, { 0 } }
  return x, y
end

-- Train a 2-16-1 tanh MLP on XOR; returns the final loss.
local function train_xor(make_optimizer, steps)
  recur.manual_seed(3)
  local model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
  local loss_fn = nn.BCEWithLogitsLoss()
  local opt = make_optimizer(model:parameters())
  local x, y = xor_data()
  local loss
  for _ = 1, steps do
    opt:zero_grad()
    loss = loss_fn(model(x), y)
    loss:backward()
    nn.clip_grad_norm(model:parameters(), 5.0)
    opt:step()
  end
  return loss:item(), model
end

describe("an MLP learns XOR", function()
  local optimizers = {
    SGD = function(p) return optim.SGD(p, { lr = 0.5, momentum = 0.9 }) end,
    ["SGD nesterov"] = function(p) return optim.SGD(p, { lr = 0.5, momentum = 0.9, nesterov = true }) end,
    Adam = function(p) return optim.Adam(p, { lr = 0.05 }) end,
    AdamW = function(p) return optim.AdamW(p, { lr = 0.05, weight_decay = 1e-4 }) end,
    RMSprop = function(p) return optim.RMSprop(p, { lr = 0.01 }) end,
    Adagrad = function(p) return optim.Adagrad(p, { lr = 0.3 }) end,
  }
  for name, make in pairs(optimizers) do
    it("with " .. name, function()
      local loss, model = train_xor(make, 400)
      assert.is_true(loss < 0.05, name .. ": final loss " .. loss)
      local x = xor_data()
      local predicted = recur.no_grad(function() return model(x):gt(0):totable() end)
      assert.are.same({ { 0 }, { 1 }, { 1 }, { 0 } }, predicted)
    end)
  end
end)

describe("a linear model learns a regression", function()
  -- y = 3 x1 - 2 x2 + 1 plus a little noise: each optimizer must recover the coefficients.
  local optimizers = {
    SGD = function(p) return optim.SGD(p, { lr = 0.1, momentum = 0.9 }) end,
    ["SGD nesterov"] = function(p) return optim.SGD(p, { lr = 0.1, momentum = 0.9, nesterov = true }) end,
    Adam = function(p) return optim.Adam(p, { lr = 0.05 }) end,
    AdamW = function(p) return optim.AdamW(p, { lr = 0.05, weight_decay = 0 }) end,
    RMSprop = function(p) return optim.RMSprop(p, { lr = 0.01 }) end,
    Adagrad = function(p) return optim.Adagrad(p, { lr = 0.5 }) end,
  }
  for name, make in pairs(optimizers) do
    it("with " .. name .. " and MSELoss", function()
      recur.manual_seed(11)
      local x = recur.randn(256, 2)
      local y = x:matmul(recur.tensor{ { 3 }, { -2 } }) + 1 + recur.randn(256, 1) * 0.01
      local model = nn.Linear(2, 1)
      local opt = make(model:parameters())
      local loss
      for _ = 1, 500 do
        opt:zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss:backward()
        opt:step()
      end
      assert.is_true(loss:item() < 1e-3, name .. ": final loss " .. loss:item())
      local w, b = model.weight:totable()[1], model.bias:item()
      assert.is_true(math.abs(w[1] - 3) < 0.02 and math.abs(w[2] + 2) < 0.02 and math.abs(b - 1) < 0.02,
        string.format("%s: w = (%.4f, %.4f), b = %.4f", name, w[1], w[2], b))
    end)
  end
end)
