-- tests/optim_spec.lua — recur.optim (SGD, Adam, AdamW, RMSprop, Adagrad), its lr schedulers and
-- recur.clip, against PyTorch 1.13's numbers (tests/golden/optim.lua) and values worked by hand.
local recur = require "recur"
local optim = require "recur.optim"
local clip = require "recur.clip"
local golden = require "golden.optim"

local S = optim.lr_scheduler

-- a and b (numbers or nested tables of them) agree within rel * max(1, |b|) everywhere.
local function near(a, b, rel, path)
  path = path or ""
  if type(b) == "table" then
    assert(type(a) == "table", "expected a table at " .. path .. ", got " .. type(a))
    assert(#a == #b, ("length %d at %s, expected %d"):format(#a, path, #b))
    for i = 1, #b do near(a[i], b[i], rel, path .. "[" .. i .. "]") end
    return
  end
  local ok = math.abs(a - b) <= rel * math.max(1, math.abs(b))
  assert(ok, ("%s: got %.10g, expected %.10g"):format(path, a, b))
end

local function param(values)
  return recur.tensor(values):requires_grad_()
end

-- The message of the error fn raises.
local function error_of(fn)
  local ok, err = pcall(fn)
  assert(not ok, "expected an error")
  return err
end

-- The updates round op for op as PyTorch's CPU kernels (core/optim.h), so parameters and
-- state equal PyTorch's bit for bit.
describe("recur.optim against PyTorch 1.13", function()
  for _, case in ipairs(golden.optimizers) do
    it(("%s (%s) gives PyTorch's parameters after each of 4 steps"):format(case.name, case.class_name), function()
      local p = param(golden.p0)
      local opt = optim[case.class_name]({ p }, case.options)
      for s, g in ipairs(golden.grads) do
        p.grad = recur.tensor(g)
        opt:step()
        assert.are.same(case.params[s], p:totable())
      end
    end)

    it(("%s (%s) keeps PyTorch's state"):format(case.name, case.class_name), function()
      local p = param(golden.p0)
      local opt = optim[case.class_name]({ p }, case.options)
      for _, g in ipairs(golden.grads) do
        p.grad = recur.tensor(g)
        opt:step()
      end
      local state = opt:state_dict().state[1] or {}
      local keys = {}
      for k in pairs(case.state) do keys[#keys + 1] = k end
      for k in pairs(state) do assert(case.state[k] ~= nil, "extra state " .. k) end
      for _, k in ipairs(keys) do
        local v = state[k]
        assert(v ~= nil, "missing state " .. k)
        if k == "step" then
          assert.are.equal(case.state.step, v)
        else
          assert.are.same(case.state[k], v:totable())
        end
      end
    end)
  end

  it("applies each parameter group's own options (SGD, lr and momentum overridden)", function()
    local a, b = param(golden.p0[1]), param(golden.p0[2])
    local opt = optim.SGD({ { params = { a } }, { params = { b }, lr = 0.01, momentum = 0.5 } },
      { lr = 0.1, momentum = 0.9 })
    for s = 1, 3 do
      a.grad = recur.tensor(golden.grads[s][1])
      b.grad = recur.tensor(golden.grads[s][2])
      opt:step()
    end
    assert.are.same(golden.groups.a, a:totable())
    assert.are.same(golden.groups.b, b:totable())
  end)
end)

describe("optim updates worked by hand", function()
  it("SGD moves against the gradient by lr times it", function()
    local p = param({ 1, 2 })
    local opt = optim.SGD({ p }, { lr = 0.5 })
    p.grad = recur.tensor({ 0.5, -1 })
    opt:step()
    assert.are.same({ 0.75, 2.5 }, p:totable())
  end)

  it("Adam's first step moves each element by lr against its gradient's sign", function()
    -- m/(1-beta1) = g and sqrt(v/(1-beta2)) = |g|: the step is lr * g/(|g| + eps)
    local p = param({ 1, 1, 1 })
    local opt = optim.Adam({ p }, { lr = 0.1 })
    p.grad = recur.tensor({ 2, -0.5, 1e-3 })
    opt:step()
    near(p:totable(), { 0.9, 1.1, 0.9 }, 1e-6)
  end)

  it("AdamW decays the parameter by lr * weight_decay even where the gradient is zero", function()
    -- g = 0: m = v = 0, so only the decay acts: p * (1 - 0.1 * 0.5)
    local p = param({ 2, -4 })
    local opt = optim.AdamW({ p }, { lr = 0.1, weight_decay = 0.5 })
    p.grad = recur.tensor({ 0, 0 })
    opt:step()
    near(p:totable(), { 1.9, -3.8 }, 1e-7)
  end)

  it("Adagrad divides by the root of the summed squared gradients", function()
    -- step 1: sum = 0.1 + 4, p = 1 - 0.1 * 2 / sqrt(4.1)
    local p = param({ 1 })
    local opt = optim.Adagrad({ p }, { lr = 0.1, initial_accumulator_value = 0.1 })
    p.grad = recur.tensor({ 2 })
    opt:step()
    near(p:totable(), { 1 - 0.2 / math.sqrt(4.1) }, 1e-7)
  end)

  it("RMSprop's first step divides by sqrt(1 - alpha) * |g|", function()
    -- square_avg = (1 - 0.99) * g^2, so p = 1 - 0.01 * g / (0.1 * |g|) = 1 -+ 0.1
    local p = param({ 1, 1 })
    local opt = optim.RMSprop({ p })
    p.grad = recur.tensor({ 3, -0.25 })
    opt:step()
    near(p:totable(), { 0.9, 1.1 }, 1e-6)
  end)
end)

describe("opt:step", function()
  it("skips parameters whose grad is nil and keeps no state for them", function()
    local a, b = param({ 1, 2 }), param({ 3, 4 })
    local opt = optim.Adam({ a, b }, { lr = 0.1 })
    a.grad = recur.tensor({ 1, 1 })
    opt:step()
    assert.are.same({ 3, 4 }, b:totable())
    assert.are_not.same({ 1, 2 }, a:totable())
    local sd = opt:state_dict()
    assert.is_not_nil(sd.state[1])
    assert.is_nil(sd.state[2])
  end)

  it("runs the closure with grad mode on and returns its result", function()
    local p = param({ 1 })
    local opt = optim.SGD({ p }, { lr = 0.5 })
    local loss = recur.no_grad(function()
      return opt:step(function()
        assert.is_true(recur.is_grad_enabled())
        p.grad = recur.tensor({ 2 })
        return 42
      end)
    end)
    assert.are.equal(42, loss)
    assert.are.same({ 0 }, p:totable())
  end)

  it("bumps the parameter's version, so a graph that saved it refuses backward", function()
    local p = param({ 1, 2 })
    local y = (p * p):sum()
    local opt = optim.SGD({ p }, { lr = 0.1 })
    p.grad = recur.tensor({ 1, 1 })
    opt:step()
    assert.matches("changed by an in-place operation", error_of(function() y:backward() end), 1, true)
  end)

  it("works on a gradient that is a strided view", function()
    local p = param({ { 1, 2 }, { 3, 4 } })
    local opt = optim.SGD({ p }, { lr = 1 })
    p.grad = recur.tensor({ { 1, 2 }, { 3, 4 } }):t()
    opt:step()
    assert.are.same({ { 0, -1 }, { 1, 0 } }, p:totable())
  end)

  it("says a closure must be a function", function()
    local opt = optim.SGD({ param({ 1 }) }, { lr = 0.1 })
    assert.has_error(function() opt:step(5) end, "optim.SGD:step: closure must be a function, got number")
  end)
end)

describe("opt:zero_grad", function()
  it("sets every gradient to nil", function()
    local a, b = param({ 1 }), param({ 2 })
    local opt = optim.SGD({ { params = { a } }, { params = { b } } }, { lr = 0.1 })
    a.grad, b.grad = recur.tensor({ 1 }), recur.tensor({ 2 })
    opt:zero_grad()
    assert.is_nil(a.grad)
    assert.is_nil(b.grad)
  end)

  it("fills the gradients with zeros when set_to_none is false", function()
    local a = param({ 1, 2 })
    local opt = optim.SGD({ a }, { lr = 0.1 })
    a.grad = recur.tensor({ 3, 4 })
    opt:zero_grad({ set_to_none = false })
    assert.are.same({ 0, 0 }, a.grad:totable())
  end)
end)

describe("optimizer options", function()
  it("names an unknown option and lists the known ones", function()
    assert.has_error(function() optim.Adam({ param({ 1 }) }, { lrr = 0.1 }) end,
      "optim.Adam: unknown option 'lrr' (expected amsgrad, betas, eps, lr, maximize or weight_decay)")
  end)

  it("names every unknown option, sorted", function()
    assert.has_error(function() optim.SGD({ param({ 1 }) }, { lr = 1, zeta = 1, alpha = 2 }) end,
      "optim.SGD: unknown options 'alpha', 'zeta' (expected dampening, lr, maximize, momentum, "
      .. "nesterov or weight_decay)")
  end)

  it("uses PyTorch's defaults", function()
    local opt = optim.Adam({ param({ 1 }) })
    local g = opt.param_groups[1]
    assert.are.same({ 1e-3, { 0.9, 0.999 }, 1e-8, 0, false, false },
      { g.lr, g.betas, g.eps, g.weight_decay, g.amsgrad, g.maximize })
    assert.are.equal(1e-2, optim.AdamW({ param({ 1 }) }).param_groups[1].weight_decay)
    assert.are.equal(0.99, optim.RMSprop({ param({ 1 }) }).param_groups[1].alpha)
    assert.are.equal(1e-10, optim.Adagrad({ param({ 1 }) }).param_groups[1].eps)
  end)

  it("refuses a negative learning rate", function()
    assert.has_error(function() optim.Adam({ param({ 1 }) }, { lr = -1 }) end,
      "optim.Adam: invalid learning rate -1 (expected >= 0)")
  end)

  it("refuses a beta outside [0, 1)", function()
    assert.has_error(function() optim.AdamW({ param({ 1 }) }, { betas = { 0.9, 1 } }) end,
      "optim.AdamW: invalid beta parameter at index 2: 1 (expected 0 <= beta < 1)")
  end)

  it("refuses an option of the wrong type", function()
    assert.has_error(function() optim.RMSprop({ param({ 1 }) }, { centered = 1 }) end,
      "optim.RMSprop: option 'centered' must be a boolean, got number")
  end)

  it("needs SGD's learning rate", function()
    assert.has_error(function() optim.SGD({ param({ 1 }) }) end,
      "optim.SGD: parameter group 1: option 'lr' is required (no default): give it in the "
      .. "options or in every parameter group")
  end)

  it("refuses Nesterov momentum without momentum", function()
    assert.has_error(function() optim.SGD({ param({ 1 }) }, { lr = 0.1, nesterov = true }) end,
      "optim.SGD: Nesterov momentum requires a momentum and zero dampening (got momentum 0, "
      .. "dampening 0)")
  end)

  it("refuses an empty parameter list", function()
    assert.has_error(function() optim.Adam({}) end, "optim.Adam: got an empty parameter list")
  end)

  it("refuses a bare tensor for params", function()
    assert.has_error(function() optim.Adam(param({ 1 })) end,
      "optim.Adam: params must be a list of tensors or of parameter groups, got one tensor (wrap it: {t})")
  end)

  it("refuses a parameter that is not a tensor", function()
    assert.has_error(function() optim.Adam({ param({ 1 }), 5 }) end,
      "optim.Adam: parameter 2 of group 1 is not a tensor (got number)")
  end)

  it("refuses a parameter computed from others", function()
    local p = param({ 1 })
    assert.has_error(function() optim.Adam({ p * 2 }) end,
      "optim.Adam: parameter 1 of group 1 is not a leaf (it was computed from other tensors, "
      .. "MulBackward): optimize the leaf, or a detach()ed copy")
  end)

  it("refuses a parameter given twice", function()
    local p = param({ 1 })
    assert.has_error(function() optim.SGD({ { params = { p } }, { params = { p } } }, { lr = 1 }) end,
      "optim.SGD: parameter 1 of group 2 is also parameter 1 of group 1: a parameter can be in one group only")
  end)

  it("checks a group's own options", function()
    assert.has_error(function()
      optim.Adam({ { params = { param({ 1 }) }, eps = -1 } })
    end, "optim.Adam: parameter group 1: invalid epsilon value -1 (expected >= 0)")
    assert.has_error(function()
      optim.Adam({ { params = { param({ 1 }) }, lr_ = 1 } })
    end, "optim.Adam: unknown option 'lr_' (expected amsgrad, betas, eps, initial_lr, lr, "
      .. "maximize, params or weight_decay)")
  end)

  it("lets a group's learning rate be changed between steps", function()
    local p = param({ 1 })
    local opt = optim.SGD({ p }, { lr = 1 })
    p.grad = recur.tensor({ 1 })
    opt:step()
    opt.param_groups[1].lr = 0.5
    opt:step()
    assert.are.same({ -0.5 }, p:totable())
  end)

  it("prints as its class with each group's options", function()
    local opt = optim.SGD({ { params = { param({ 1 }), param({ 2 }) } }, { params = { param({ 3 }) }, lr = 0.5 } },
      { lr = 1 })
    assert.are.equal("optim.SGD (3 parameters in 2 groups)\n"
      .. "  group 1: dampening = 0, lr = 1, maximize = false, momentum = 0, nesterov = false, weight_decay = 0\n"
      .. "  group 2: dampening = 0, lr = 0.5, maximize = false, momentum = 0, nesterov = false, weight_decay = 0",
      tostring(opt))
    assert.are.equal("optim.Adam (1 parameter in 1 group)\n"
      .. "  group 1: amsgrad = false, betas = {0.9, 0.999}, eps = 1e-08, lr = 0.001, maximize = false, "
      .. "weight_decay = 0", tostring(optim.Adam({ param({ 1 }) })))
  end)
end)

describe("opt:state_dict and opt:load_state_dict", function()
  local grads = golden.grads

  -- Three steps, snapshot, three more: a new optimizer loaded from the snapshot, on the
  -- snapshot's parameters, must end bit for bit where the first did.
  local function resume_is_exact(class_name, options)
    local p = param(golden.p0)
    local opt = optim[class_name]({ p }, options)
    for s = 1, 2 do
      p.grad = recur.tensor(grads[s])
      opt:step()
    end
    local sd, saved_p = opt:state_dict(), p:totable()
    for s = 3, 4 do
      p.grad = recur.tensor(grads[s])
      opt:step()
    end
    local q = param(saved_p)
    local opt2 = optim[class_name]({ q }, options)
    opt2:load_state_dict(sd)
    for s = 3, 4 do
      q.grad = recur.tensor(grads[s])
      opt2:step()
    end
    assert.are.same(p:totable(), q:totable())
  end

  it("resumes SGD with Nesterov momentum bit for bit", function()
    resume_is_exact("SGD", { lr = 0.1, momentum = 0.9, nesterov = true })
  end)
  it("resumes Adam with amsgrad bit for bit", function()
    resume_is_exact("Adam", { lr = 0.01, amsgrad = true, weight_decay = 0.1 })
  end)
  it("resumes AdamW bit for bit", function() resume_is_exact("AdamW", { lr = 0.01 }) end)
  it("resumes centered RMSprop with momentum bit for bit", function()
    resume_is_exact("RMSprop", { lr = 0.01, centered = true, momentum = 0.5 })
  end)
  it("resumes Adagrad with lr_decay bit for bit", function()
    resume_is_exact("Adagrad", { lr = 0.1, lr_decay = 0.01 })
  end)

  it("numbers parameters from 1 across the groups and gives plain tables", function()
    local a, b, c = param({ 1 }), param({ 2 }), param({ 3 })
    local opt = optim.Adam({ { params = { a, b } }, { params = { c }, lr = 0.5 } })
    a.grad, c.grad = recur.tensor({ 1 }), recur.tensor({ 1 })
    opt:step()
    local sd = opt:state_dict()
    assert.are.same({ 1, 2 }, sd.param_groups[1].params)
    assert.are.same({ 3 }, sd.param_groups[2].params)
    assert.are.equal(0.5, sd.param_groups[2].lr)
    assert.are.same({ 1, 3 }, (function()
      local ks = {}
      for k in pairs(sd.state) do ks[#ks + 1] = k end
      table.sort(ks)
      return ks
    end)())
    assert.are.equal(1, sd.state[3].step)
    assert.is_true(recur.is_tensor(sd.state[3].exp_avg))
  end)

  it("gives copies that later steps do not change", function()
    local p = param({ 1 })
    local opt = optim.Adam({ p })
    p.grad = recur.tensor({ 1 })
    opt:step()
    local sd = opt:state_dict()
    local before = sd.state[1].exp_avg:totable()
    opt:step()
    assert.are.same(before, sd.state[1].exp_avg:totable())
  end)

  it("takes the saved options, such as a learning rate a scheduler changed", function()
    local opt = optim.SGD({ param({ 1 }) }, { lr = 0.1 })
    opt.param_groups[1].lr = 0.025
    local sd = opt:state_dict()
    local opt2 = optim.SGD({ param({ 1 }) }, { lr = 0.1 })
    opt2:load_state_dict(sd)
    assert.are.equal(0.025, opt2.param_groups[1].lr)
  end)

  it("refuses a state dict with another number of groups", function()
    local opt = optim.Adam({ { params = { param({ 1 }) } }, { params = { param({ 2 }) } } })
    local other = optim.Adam({ param({ 1 }) })
    assert.has_error(function() other:load_state_dict(opt:state_dict()) end,
      "optim.Adam:load_state_dict: the state dict has 2 parameter groups but this optimizer has 1")
  end)

  it("refuses a group of another size", function()
    local opt = optim.Adam({ param({ 1 }), param({ 2 }) })
    local other = optim.Adam({ param({ 1 }) })
    assert.has_error(function() other:load_state_dict(opt:state_dict()) end,
      "optim.Adam:load_state_dict: parameter group 1 of the state dict has 2 parameters but "
      .. "this optimizer's has 1")
  end)

  it("refuses state of another shape, naming both shapes", function()
    local p = param({ { 1, 2, 3 }, { 4, 5, 6 } })
    local opt = optim.Adam({ p })
    p.grad = recur.ones(2, 3)
    opt:step()
    local other = optim.Adam({ param({ 1, 2, 3 }) })
    assert.has_error(function() other:load_state_dict(opt:state_dict()) end,
      "optim.Adam:load_state_dict: state[1].exp_avg has shape (2,3) but parameter 1 has shape (3)")
  end)

  it("refuses state that another optimizer keeps", function()
    local p = param({ 1 })
    local sgd = optim.SGD({ p }, { lr = 0.1, momentum = 0.9 })
    p.grad = recur.tensor({ 1 })
    sgd:step()
    local sd = sgd:state_dict()
    sd.param_groups[1] = { params = { 1 } }
    local adam = optim.Adam({ param({ 1 }) })
    assert.has_error(function() adam:load_state_dict(sd) end,
      "optim.Adam:load_state_dict: state[1] has 'momentum_buffer', which optim.Adam does not "
      .. "keep (it keeps step, exp_avg, exp_avg_sq or max_exp_avg_sq)")
  end)

  it("changes nothing when any part of the state dict is bad", function()
    local a, b = param({ 1 }), param({ 2, 3 })
    local opt = optim.Adam({ a, b }, { lr = 0.1 })
    a.grad, b.grad = recur.tensor({ 1 }), recur.tensor({ 1, 1 })
    opt:step()
    local sd = opt:state_dict()
    sd.param_groups[1].lr = 0.5
    sd.state[2].exp_avg = recur.zeros(3) -- the bad part
    local before = opt:state_dict()
    assert.has_error(function() opt:load_state_dict(sd) end)
    assert.are.equal(0.1, opt.param_groups[1].lr)
    assert.are.same(before.state[1].exp_avg:totable(), opt:state_dict().state[1].exp_avg:totable())
  end)

  it("refuses something that is not a state dict", function()
    assert.has_error(function() optim.SGD({ param({ 1 }) }, { lr = 1 }):load_state_dict({}) end,
      "optim.SGD:load_state_dict: expected a table with 'state' and 'param_groups' (from "
      .. "state_dict()), got a table without them")
  end)
end)

describe("optim.lr_scheduler against PyTorch 1.13", function()
  local function lrs(make, steps, group_lrs)
    group_lrs = group_lrs or { 0.1 }
    local groups = {}
    for i, lr in ipairs(group_lrs) do groups[i] = { params = { param({ 0 }) }, lr = lr } end
    local opt = optim.SGD(groups, { lr = group_lrs[1] })
    local sched = make(opt)
    local seq = { sched:get_last_lr() }
    for _ = 1, steps do
      opt:step()
      sched:step()
      seq[#seq + 1] = sched:get_last_lr()
    end
    return seq
  end

  it("StepLR halves every 3 epochs", function()
    near(lrs(function(o) return S.StepLR(o, 3, { gamma = 0.5 }) end, 10), golden.schedulers.StepLR, 1e-12)
  end)

  it("ExponentialLR multiplies by gamma every epoch", function()
    near(lrs(function(o) return S.ExponentialLR(o, 0.9) end, 6), golden.schedulers.ExponentialLR, 1e-12)
  end)

  it("CosineAnnealingLR goes down to eta_min and back up, per group", function()
    near(lrs(function(o) return S.CosineAnnealingLR(o, 5, { eta_min = 0.001 }) end, 16, { 0.1, 0.02 }),
      golden.schedulers.CosineAnnealingLR, 1e-12)
  end)

  it("LinearLR warms up from start_factor to end_factor", function()
    near(lrs(function(o)
      return S.LinearLR(o, { start_factor = 0.25, end_factor = 1.0, total_iters = 4 })
    end, 7), golden.schedulers.LinearLR, 1e-12)
  end)

  it("LambdaLR multiplies the base lr by the function of the epoch", function()
    near(lrs(function(o) return S.LambdaLR(o, function(epoch) return 1.0 / (epoch + 1) end) end, 5),
      golden.schedulers.LambdaLR, 1e-12)
  end)

  it("LinearLR and ExponentialLR on one optimizer compose", function()
    local opt = optim.SGD({ param({ 0 }) }, { lr = 0.1 })
    local warm = S.LinearLR(opt, { start_factor = 0.5, total_iters = 3 })
    local decay = S.ExponentialLR(opt, 0.9)
    local seq = { opt.param_groups[1].lr }
    for _ = 1, 6 do
      opt:step()
      warm:step()
      decay:step()
      seq[#seq + 1] = opt.param_groups[1].lr
    end
    near(seq, golden.schedulers.LinearLR_then_ExponentialLR, 1e-12)
  end)

  for name, case in pairs(golden.plateau) do
    it("ReduceLROnPlateau (" .. name .. ") reduces when the metric stalls", function()
      local opt = optim.SGD({ param({ 0 }) }, { lr = 0.1 })
      local sched = S.ReduceLROnPlateau(opt, case.options)
      local seq = {}
      for _, m in ipairs(case.metrics) do
        opt:step()
        sched:step(m)
        seq[#seq + 1] = opt.param_groups[1].lr
      end
      near(seq, case.lrs, 1e-12)
    end)
  end
end)

describe("optim.lr_scheduler by hand", function()
  it("StepLR(2, gamma 0.5) from lr 1 gives 1, 1, 0.5, 0.5, 0.25", function()
    local opt = optim.SGD({ param({ 0 }) }, { lr = 1 })
    local sched = S.StepLR(opt, 2, { gamma = 0.5 })
    local seq = { opt.param_groups[1].lr }
    for _ = 1, 4 do
      sched:step()
      seq[#seq + 1] = opt.param_groups[1].lr
    end
    assert.are.same({ 1, 1, 0.5, 0.5, 0.25 }, seq)
  end)

  it("ReduceLROnPlateau takes a one-element tensor and never goes below min_lr", function()
    local opt = optim.SGD({ param({ 0 }) }, { lr = 1 })
    local sched = S.ReduceLROnPlateau(opt, { patience = 0, factor = 0.5, min_lr = 0.3 })
    sched:step(recur.tensor(1.0)) -- best = 1
    sched:step(recur.tensor(2.0)) -- worse: 0.5
    sched:step(3)                 -- worse: max(0.25, 0.3) = 0.3
    sched:step(4)                 -- 0.3 - 0.3 = 0 <= eps: stays
    assert.are.same({ 0.3 }, sched:get_last_lr())
  end)

  it("remembers each group's initial_lr", function()
    local opt = optim.SGD({ param({ 0 }) }, { lr = 0.2 })
    S.ExponentialLR(opt, 0.5)
    assert.are.equal(0.2, opt.param_groups[1].initial_lr)
  end)
end)

describe("scheduler state_dict", function()
  it("resumes a schedule where it stopped", function()
    local function make()
      local opt = optim.SGD({ param({ 0 }) }, { lr = 0.1 })
      return opt, S.CosineAnnealingLR(opt, 7, { eta_min = 0.01 })
    end
    local opt, sched = make()
    for _ = 1, 3 do sched:step() end
    local osd, ssd = opt:state_dict(), sched:state_dict()
    for _ = 1, 3 do sched:step() end
    local opt2, sched2 = make()
    opt2:load_state_dict(osd)
    sched2:load_state_dict(ssd)
    for _ = 1, 3 do sched2:step() end
    assert.are.same(sched:get_last_lr(), sched2:get_last_lr())
    assert.are.equal(sched.last_epoch, sched2.last_epoch)
  end)

  it("leaves LambdaLR's functions out", function()
    local opt = optim.SGD({ param({ 0 }) }, { lr = 0.1 })
    local sched = S.LambdaLR(opt, function(e) return 0.5 ^ e end)
    sched:step()
    local sd = sched:state_dict()
    assert.is_nil(sd.lr_lambdas)
    assert.is_nil(sd.optimizer)
    assert.are.equal(1, sd.last_epoch)
    local sched2 = S.LambdaLR(optim.SGD({ param({ 0 }) }, { lr = 0.1 }), function(e) return 0.5 ^ e end)
    sched2:load_state_dict(sd)
    sched2:step()
    assert.are.same({ 0.025 }, sched2:get_last_lr())
  end)

  it("saves ReduceLROnPlateau's counters", function()
    local opt = optim.SGD({ param({ 0 }) }, { lr = 0.1 })
    local sched = S.ReduceLROnPlateau(opt, { patience = 2 })
    sched:step(1)
    sched:step(2)
    local sd = sched:state_dict()
    assert.are.same({ 1, 1, 2 }, { sd.best, sd.num_bad_epochs, sd.last_epoch })
  end)

  it("refuses a key the scheduler does not have", function()
    local sched = S.StepLR(optim.SGD({ param({ 0 }) }, { lr = 0.1 }), 2)
    local sd = sched:state_dict()
    sd.T_max = 3
    assert.has_error(function() sched:load_state_dict(sd) end,
      "optim.lr_scheduler.StepLR:load_state_dict: unknown key 'T_max' (expected _last_lr, "
      .. "_step_count, base_lrs, gamma, last_epoch or step_size)")
  end)
end)

describe("scheduler arguments", function()
  local opt = optim.SGD({ param({ 0 }) }, { lr = 0.1 })

  it("needs an optimizer", function()
    assert.has_error(function() S.StepLR(nil, 3) end,
      "optim.lr_scheduler.StepLR: the first argument must be an optimizer (optim.SGD, optim.Adam ...), got nil")
  end)

  it("needs a positive integer step_size", function()
    assert.has_error(function() S.StepLR(opt, 0) end,
      "optim.lr_scheduler.StepLR: step_size must be a positive integer, got 0")
  end)

  it("names an unknown option", function()
    assert.has_error(function() S.CosineAnnealingLR(opt, 5, { eta_max = 1 }) end,
      "optim.lr_scheduler.CosineAnnealingLR: unknown option 'eta_max' (expected eta_min or last_epoch)")
  end)

  it("refuses LinearLR's start_factor 0", function()
    assert.has_error(function() S.LinearLR(opt, { start_factor = 0 }) end,
      "optim.lr_scheduler.LinearLR: start_factor must be in (0, 1], got 0")
  end)

  it("refuses an epoch argument to step", function()
    local sched = S.ExponentialLR(opt, 0.9)
    assert.has_error(function() sched:step(3) end,
      "optim.lr_scheduler.ExponentialLR:step: takes no arguments (PyTorch's epoch argument is "
      .. "deprecated); to start elsewhere, make the scheduler with {last_epoch = n}")
  end)

  it("refuses an unknown ReduceLROnPlateau mode", function()
    assert.has_error(function() S.ReduceLROnPlateau(opt, { mode = "lowest" }) end,
      "optim.lr_scheduler.ReduceLROnPlateau: mode must be 'min' or 'max', got lowest")
  end)

  it("wants one lambda per group", function()
    local two = optim.SGD({ { params = { param({ 0 }) } }, { params = { param({ 0 }) } } }, { lr = 1 })
    assert.has_error(function() S.LambdaLR(two, { function() return 1 end }) end,
      "optim.lr_scheduler.LambdaLR: expected 2 lr_lambdas (one per group), got 1")
  end)

  it("needs initial_lr to resume with last_epoch", function()
    local fresh = optim.SGD({ param({ 0 }) }, { lr = 0.1 })
    assert.has_error(function() S.StepLR(fresh, 2, { last_epoch = 4 }) end,
      "optim.lr_scheduler.StepLR: param_groups[1] has no initial_lr, which resuming with "
      .. "last_epoch = 4 needs (load the optimizer's state_dict first)")
  end)
end)

describe("recur.clip.clip_grad_norm", function()
  local function two_params()
    local a, b = param({ { 0, 0, 0 }, { 0, 0, 0 } }), param({ 0, 0, 0, 0 })
    a.grad = recur.tensor(golden.grads[1])
    b.grad = recur.tensor({ 0.25, -0.5, 0.125, 1.5 })
    return a, b
  end

  -- recur.norm sums in another order than torch.norm: the last bit may differ
  for _, case in ipairs(golden.clip_grad_norm) do
    it(("gives PyTorch's total and gradients for max_norm %g, norm_type %g"):format(case.max_norm, case.norm_type), function()
      local a, b = two_params()
      local total = clip.clip_grad_norm({ a, b }, case.max_norm, { norm_type = case.norm_type })
      near(total, case.total, 1e-6, "total")
      near(a.grad:totable(), case.grads[1], 1e-6, "a")
      near(b.grad:totable(), case.grads[2], 1e-6, "b")
    end)
  end

  it("returns the norm before clipping and scales by max_norm / (total + 1e-6)", function()
    -- grads (3, 4) and (12): norms 5 and 12, total 13
    local a, b = param({ 0, 0 }), param({ 0 })
    a.grad, b.grad = recur.tensor({ 3, 4 }), recur.tensor({ 12 })
    local g = a.grad
    local total = clip.clip_grad_norm({ a, b }, 1.3)
    assert.are.equal(13, total)
    local scale = 1.3 / (13 + 1e-6)
    near(a.grad:totable(), { 3 * scale, 4 * scale }, 1e-6)
    near(b.grad:totable(), { 12 * scale }, 1e-6)
    near(g:totable(), { 3 * scale, 4 * scale }, 1e-6) -- in place: the same gradient tensor
  end)

  it("adds 1e-6 to the total before dividing, as PyTorch", function()
    -- total 1e-5, max_norm 5e-6: scale 5e-6 / 1.1e-5 = 5/11, not 1/2
    local a = param({ 0 })
    a.grad = recur.tensor({ 1e-5 })
    clip.clip_grad_norm({ a }, 5e-6)
    local got, want = a.grad:totable()[1], 1e-5 * 5 / 11
    assert(math.abs(got - want) <= 1e-6 * want, ("got %.9g, expected %.9g"):format(got, want))
  end)

  it("leaves gradients below max_norm untouched", function()
    local a = param({ 0, 0 })
    a.grad = recur.tensor({ 3, 4 })
    assert.are.equal(5, clip.clip_grad_norm({ a }, 5.5))
    assert.are.same({ 3, 4 }, a.grad:totable())
  end)

  it("takes the largest absolute value for norm_type math.huge", function()
    local a, b = param({ 0, 0 }), param({ 0 })
    a.grad, b.grad = recur.tensor({ 3, -7 }), recur.tensor({ 5 })
    assert.are.equal(7, clip.clip_grad_norm({ a, b }, 100, { norm_type = math.huge }))
  end)

  it("skips parameters without a gradient and gives 0 when none has one", function()
    local a, b = param({ 0 }), param({ 0 })
    assert.are.equal(0, clip.clip_grad_norm({ a, b }, 1))
    b.grad = recur.tensor({ -2 })
    assert.are.equal(2, clip.clip_grad_norm({ a, b }, 1))
    assert.is_nil(a.grad)
  end)

  it("accepts a single tensor", function()
    local a = param({ 0, 0 })
    a.grad = recur.tensor({ 6, 8 })
    assert.are.equal(10, clip.clip_grad_norm(a, 20))
  end)

  it("raises on a non-finite total when asked to", function()
    local a = param({ 0, 0 })
    a.grad = recur.tensor({ 1, math.huge })
    assert.has_error(function() clip.clip_grad_norm({ a }, 1, { error_if_nonfinite = true }) end,
      "clip_grad_norm: the total norm of order 2 of the gradients is non-finite (inf), so it "
      .. "cannot be clipped; to scale the gradients by it anyway, pass {error_if_nonfinite = false}")
    assert.are.same({ 1, math.huge }, a.grad:totable())
  end)

  it("says what is wrong with its arguments", function()
    assert.has_error(function() clip.clip_grad_norm({ param({ 0 }), "w" }, 1) end,
      "clip_grad_norm: params[2] is not a tensor (got string)")
    assert.has_error(function() clip.clip_grad_norm({}, "1") end,
      "clip_grad_norm: max_norm must be a number, got string")
    assert.has_error(function() clip.clip_grad_norm({}, 1, { norm = 2 }) end,
      "clip_grad_norm: unknown option 'norm' (expected error_if_nonfinite or norm_type)")
  end)
end)

describe("recur.clip.clip_grad_value", function()
  it("clamps every gradient in place to [-v, v]", function()
    local a, b = param({ 0, 0, 0 }), param({ 0 })
    a.grad, b.grad = recur.tensor({ -3, 0.5, 2 }), recur.tensor({ -0.25 })
    clip.clip_grad_value({ a, b }, 1)
    assert.are.same({ -1, 0.5, 1 }, a.grad:totable())
    assert.are.same({ -0.25 }, b.grad:totable())
  end)

  it("needs a number", function()
    assert.has_error(function() clip.clip_grad_value({ param({ 0 }) }, nil) end,
      "clip_grad_value: clip_value must be a number, got nil")
  end)
end)

describe("the internal update functions", function()
  it("say which shapes do not fit", function()
    local p, g = recur.zeros(2, 3), recur.zeros(2, 3)
    assert.has_error(function()
      recur._adam_step(p, g, recur.zeros(3), recur.zeros(2, 3), nil, 1,
        { lr = 0.1, betas = { 0.9, 0.999 }, eps = 1e-8, weight_decay = 0 })
    end, "recur.adam_step: exp_avg has shape (3) but the parameter has shape (2,3)")
  end)

  it("say which option is missing", function()
    assert.has_error(function()
      recur._sgd_step(recur.zeros(2), recur.zeros(2), nil, { lr = 0.1 })
    end, "recur._sgd_step: option 'momentum' must be a number, got nil")
  end)
end)
