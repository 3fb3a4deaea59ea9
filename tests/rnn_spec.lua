-- tests/rnn_spec.lua — correctness of the fused recurrent layers and cells (nn.RNN, nn.LSTM,
-- nn.GRU, nn.RNNCell, nn.LSTMCell, nn.GRUCell) against an unfused Lua reference, finite
-- differences and PyTorch 1.13; final states, truncated BPTT, dropout, the reference model.
local recur = require "recur"
local nn = recur.nn
local optim = recur.optim
local ref = require "rnn_reference"
local golden = require "golden.rnn"

local TOL = 1e-5 -- max abs difference to the reference and to PyTorch (issue 6)
local D, H = 3, 4

local function long(values) return recur.tensor(values, { dtype = "int64" }) end

-- expected (a tensor or nested Lua tables) and got have the same shape and differ by <= tol.
local function assert_close(what, expected, got, tol)
  assert(got ~= nil, what .. ": missing (nil)")
  if not recur.is_tensor(expected) then expected = recur.tensor(expected) end
  assert.are.same(expected:shape(), got:shape(), what .. ": shapes differ")
  local diff = (expected - got):abs():max():item()
  assert(diff <= (tol or TOL), ("%s: max abs difference %.3g > %.0e"):format(what, diff, tol or TOL))
end

-- The recur class and constructor options of a reference mode.
local function class_of(mode) return (mode == "RNN_TANH" or mode == "RNN_RELU") and "RNN" or mode end
local function module_options(mode, cfg)
  local o = { num_layers = cfg.num_layers, bidirectional = cfg.bidirectional,
              batch_first = cfg.batch_first, bias = cfg.bias }
  if mode == "RNN_RELU" then o.nonlinearity = "relu" end
  return o
end

-- The state argument of a module call: h0 for RNN/GRU, {h0, c0} (or nil) for LSTM.
local function state_arg(mode, h0, c0)
  if mode ~= "LSTM" then return h0 end
  if h0 == nil and c0 == nil then return nil end
  return { h0, c0 }
end

-- A leaf copy of t (same values, fresh history), or nil.
local function leaf(t) return t and t:detach():clone():requires_grad_() or nil end

-- The test loss: every output and state against fixed random weights, so that every
-- element's gradient differs.
local function weighted_loss(w, out, h_n, c_n)
  local loss = (out * w.out):sum() + (h_n * w.h_n):sum()
  if c_n ~= nil then loss = loss + (c_n * w.c_n):sum() end
  return loss
end

-- A random problem for mode and cfg {num_layers, bidirectional, batch_first, bias, lengths
-- (Lua list or nil), states (bool), T, B}: the module, the inputs and the loss weights.
local function make_problem(mode, cfg, seed)
  recur.manual_seed(seed)
  local T, B = cfg.T or 5, cfg.B or 3
  local dirs = cfg.bidirectional and 2 or 1
  local m = nn[class_of(mode)](D, H, module_options(mode, cfg))
  local p = { module = m, mode = mode, cfg = cfg }
  p.x = cfg.batch_first and recur.randn(B, T, D) or recur.randn(T, B, D)
  if cfg.states then
    p.h0 = recur.randn(cfg.num_layers * dirs, B, H) * 0.5
    if mode == "LSTM" then p.c0 = recur.randn(cfg.num_layers * dirs, B, H) * 0.5 end
  end
  local out_shape = cfg.batch_first and { B, T, dirs * H } or { T, B, dirs * H }
  p.w = { out = recur.randn(table.unpack(out_shape)), h_n = recur.randn(cfg.num_layers * dirs, B, H) }
  if mode == "LSTM" then p.w.c_n = recur.randn(cfg.num_layers * dirs, B, H) end
  return p
end

-- The fused layer on p: results and the gradients of the weighted loss.
local function run_fused(p)
  local x, h0, c0 = leaf(p.x), leaf(p.h0), leaf(p.c0)
  p.module:zero_grad()
  local out, h_n, c_n = p.module(x, state_arg(p.mode, h0, c0), p.cfg.lengths and long(p.cfg.lengths))
  weighted_loss(p.w, out, h_n, c_n):backward()
  local grads = { x = x.grad, h0 = h0 and h0.grad, c0 = c0 and c0.grad }
  for name, param in p.module:named_parameters() do grads[name] = param.grad end
  return { out = out, h_n = h_n, c_n = c_n, grads = grads }
end

-- The unfused reference on p with copies of the module's weights: the same results.
local function run_reference_sized(p, hidden_size)
  local x, h0, c0 = leaf(p.x), leaf(p.h0), leaf(p.c0)
  local params = {}
  for name, param in p.module:named_parameters() do params[name] = leaf(param) end
  local out, h_n, c_n = ref.layer(p.mode, params, x, h0, c0, p.cfg.lengths,
    { hidden_size = hidden_size, num_layers = p.cfg.num_layers, bidirectional = p.cfg.bidirectional,
      batch_first = p.cfg.batch_first })
  weighted_loss(p.w, out, h_n, c_n):backward()
  local grads = { x = x.grad, h0 = h0 and h0.grad, c0 = c0 and c0.grad }
  for name, param in pairs(params) do grads[name] = param.grad end
  return { out = out, h_n = h_n, c_n = c_n, grads = grads }
end
local function run_reference(p) return run_reference_sized(p, H) end

-- Results a and b agree: out, h_n, c_n and the gradient of x, h0, c0 and every parameter.
local function assert_same_results(expected, got, names)
  assert_close("out", expected.out, got.out)
  assert_close("h_n", expected.h_n, got.h_n)
  if expected.c_n ~= nil then assert_close("c_n", expected.c_n, got.c_n) end
  for _, name in ipairs(names) do
    assert(expected.grads[name] ~= nil, "the reference has no gradient for " .. name)
    assert_close("grad of " .. name, expected.grads[name], got.grads[name])
  end
end

local function gradient_names(p)
  local names = { "x" }
  if p.h0 then names[#names + 1] = "h0" end
  if p.c0 then names[#names + 1] = "c0" end
  for name in p.module:named_parameters() do names[#names + 1] = name end
  return names
end

local function describe_mode(mode, cfg)
  return ("%s, %d layer%s, %s%s, %s, %s"):format(mode, cfg.num_layers, cfg.num_layers > 1 and "s" or "",
    cfg.bidirectional and "bidirectional" or "unidirectional", cfg.batch_first and ", batch_first" or "",
    cfg.lengths and "lengths {" .. table.concat(cfg.lengths, ",") .. "}" or "no lengths",
    cfg.states and "initial states" or "zero initial states") .. (cfg.bias == false and ", no bias" or "")
end

local MODES = { "RNN_TANH", "RNN_RELU", "LSTM", "GRU" }

describe("recurrent layers against the unfused Lua reference (tests/rnn_reference.lua)", function()
  local seed = 100
  for _, mode in ipairs(MODES) do
    for _, num_layers in ipairs { 1, 2 } do
      for _, bidirectional in ipairs { false, true } do
        for _, batch_first in ipairs { false, true } do
          for _, lengths in ipairs { false, { 3, 5, 1 } } do
            for _, states in ipairs { false, true } do
              seed = seed + 1
              local cfg = { num_layers = num_layers, bidirectional = bidirectional,
                            batch_first = batch_first, lengths = lengths or nil, states = states }
              local case_seed = seed
              it(describe_mode(mode, cfg) .. ": outputs, states and every gradient match", function()
                local p = make_problem(mode, cfg, case_seed)
                assert_same_results(run_reference(p), run_fused(p), gradient_names(p))
              end)
            end
          end
        end
      end
    end
  end

  for i, mode in ipairs(MODES) do
    local cfg = { num_layers = 2, bidirectional = true, batch_first = false, bias = false,
                  lengths = { 4, 2, 5 }, states = true }
    it(describe_mode(mode, cfg) .. ": outputs, states and every gradient match", function()
      local p = make_problem(mode, cfg, 300 + i)
      for name in p.module:named_parameters() do assert.is_nil(name:find("^bias"), name) end
      assert_same_results(run_reference(p), run_fused(p), gradient_names(p))
    end)
  end

  it("gives zeros past every length when all sequences are shorter than T", function()
    for i, mode in ipairs(MODES) do
      local p = make_problem(mode, { num_layers = 2, bidirectional = true, lengths = { 2, 3, 1 },
                                     states = true, T = 5 }, 400 + i)
      local got = run_fused(p)
      assert_same_results(run_reference(p), got, gradient_names(p))
      assert.are.equal(0, got.out:narrow(1, 4, 2):abs():max():item())
      assert.are.equal(0, got.grads.x:narrow(1, 4, 2):abs():max():item())
    end
  end)

  it("gives with lengths all equal to T what it gives without lengths", function()
    for i, mode in ipairs(MODES) do
      local p = make_problem(mode, { num_layers = 2, bidirectional = true, states = true }, 410 + i)
      local plain = run_fused(p)
      p.cfg.lengths = { 5, 5, 5 }
      assert_same_results(plain, run_fused(p), gradient_names(p))
    end
  end)

  it("takes lengths as a Lua list, an int64 tensor or a strided int64 view alike", function()
    local p = make_problem("GRU", { num_layers = 1, bidirectional = true, states = false }, 420)
    local a = p.module(p.x, nil, { 2, 5, 3 })
    local b = p.module(p.x, nil, long { 2, 5, 3 })
    local strided = long({ { 9, 2 }, { 9, 5 }, { 9, 3 } }):select(2, 2)
    assert.is_false(strided:is_contiguous())
    local c = p.module(p.x, nil, strided)
    assert_close("out (list)", b, a, 0)
    assert_close("out (strided)", b, c, 0)
  end)

  it("gives without autograd (recur.no_grad, the inference path) what the reference gives", function()
    for i, mode in ipairs(MODES) do
      local p = make_problem(mode, { num_layers = 2, bidirectional = true, batch_first = true,
                                     lengths = { 3, 5, 1 }, states = true }, 425 + i)
      local expected = run_reference(p)
      local out, h_n, c_n = recur.no_grad(function()
        return p.module(p.x, state_arg(mode, p.h0, p.c0), long(p.cfg.lengths))
      end)
      assert.is_false(out.requires_grad)
      assert_close(mode .. " out", expected.out, out)
      assert_close(mode .. " h_n", expected.h_n, h_n)
      if mode == "LSTM" then assert_close(mode .. " c_n", expected.c_n, c_n) end
    end
  end)

  it("gives the gradient of x alone with frozen weights, and of the weights alone when x needs none", function()
    for i, mode in ipairs(MODES) do
      local p = make_problem(mode, { num_layers = 2, bidirectional = true, lengths = { 3, 5, 1 },
                                     states = true }, 435 + i)
      local expected = run_reference(p)
      local lengths = long(p.cfg.lengths)
      -- Weights alone: x, h0, c0 are plain tensors.
      p.module:zero_grad()
      local out, h_n, c_n = p.module(p.x, state_arg(mode, p.h0, p.c0), lengths)
      weighted_loss(p.w, out, h_n, c_n):backward()
      for name, param in p.module:named_parameters() do
        assert_close(mode .. " grad of " .. name, expected.grads[name], param.grad)
      end
      -- x alone: every weight frozen.
      p.module:zero_grad()
      for _, param in ipairs(p.module:parameters()) do param:requires_grad_(false) end
      local x = leaf(p.x)
      out, h_n, c_n = p.module(x, state_arg(mode, p.h0, p.c0), lengths)
      weighted_loss(p.w, out, h_n, c_n):backward()
      assert_close(mode .. " grad of x", expected.grads.x, x.grad)
      for _, param in ipairs(p.module:parameters()) do assert.is_nil(param.grad) end
    end
  end)

  it("reads a non-contiguous input view as its contiguous copy", function()
    local p = make_problem("LSTM", { num_layers = 2, bidirectional = true, states = true }, 430)
    local strided = p.x:transpose(1, 2):contiguous():transpose(1, 2) -- (T,B,D) with B outermost
    assert.is_false(strided:is_contiguous())
    local a_out, a_h, a_c = p.module(strided, { p.h0, p.c0 }, long { 3, 5, 1 })
    local b_out, b_h, b_c = p.module(p.x:contiguous(), { p.h0, p.c0 }, long { 3, 5, 1 })
    assert_close("out", b_out, a_out, 0)
    assert_close("h_n", b_h, a_h, 0)
    assert_close("c_n", b_c, a_c, 0)
  end)

  -- Tiny sizes may keep to the simplest code paths; this shape has odd sizes (edge panels of the
  -- packed W_hh) and longer sums, so the tolerance grows with them (float32, ~100-term sums).
  it("matches the reference at a larger, odd shape (D=40, H=70, T=7, B=5) in every mode", function()
    for i, mode in ipairs(MODES) do
      recur.manual_seed(450 + i)
      local cfg = { num_layers = 2, bidirectional = true, lengths = { 7, 3, 5, 1, 6 }, states = true }
      local m = nn[class_of(mode)](40, 70, module_options(mode, cfg))
      local p = { module = m, mode = mode, cfg = cfg, x = recur.randn(7, 5, 40),
                  h0 = recur.randn(4, 5, 70) * 0.5 }
      if mode == "LSTM" then p.c0 = recur.randn(4, 5, 70) * 0.5 end
      p.w = { out = recur.randn(7, 5, 140), h_n = recur.randn(4, 5, 70), c_n = recur.randn(4, 5, 70) }
      if mode ~= "LSTM" then p.w.c_n = nil end
      local expected, got = run_reference_sized(p, 70), run_fused(p)
      assert_close(mode .. " out", expected.out, got.out, 5e-5)
      assert_close(mode .. " h_n", expected.h_n, got.h_n, 5e-5)
      if mode == "LSTM" then assert_close(mode .. " c_n", expected.c_n, got.c_n, 5e-5) end
      for _, name in ipairs(gradient_names(p)) do
        assert_close(mode .. " grad of " .. name, expected.grads[name], got.grads[name], 5e-5)
      end
    end
  end)

  it("gives bit-identical results on 1 and on 2 threads", function()
    local saved = recur.threads()
    finally(function() recur.threads(saved) end)
    for i, mode in ipairs(MODES) do
      recur.manual_seed(460 + i)
      local m = nn[class_of(mode)](64, 256, { num_layers = 2, bidirectional = true, batch_first = true })
      local x = recur.randn(16, 20, 64)
      local lengths = long { 20, 3, 7, 20, 11, 5, 9, 1, 20, 19, 2, 8, 13, 17, 4, 6 }
      local w = recur.randn(16, 20, 512)
      local function run(threads)
        recur.threads(threads)
        m:zero_grad()
        local xx = leaf(x)
        local out, h_n = m(xx, nil, lengths)
        ;((out * w):sum() + h_n:sum()):backward()
        return { out, h_n, xx.grad, m.weight_ih_l0.grad, m.weight_hh_l1_reverse.grad }
      end
      local one, two = run(1), run(2)
      for k = 1, #one do assert_close(mode .. " result " .. k, one[k], two[k], 0) end
    end
  end)

  it("gives every copy of a sequence the same bits wherever it sits in the batch, on 1 and 2 threads", function()
    -- The batch's last rows (and a thread's share of a split batch) may go through recur's own
    -- few-row tile instead of BLIS's microkernel: both must round alike. Unidirectional, so
    -- two threads split the batch; sizes leave tails of every length for 6- to 16-row tiles.
    local saved = recur.threads()
    finally(function() recur.threads(saved) end)
    for i, mode in ipairs(MODES) do
      for _, B in ipairs { 7, 13, 17 } do
        recur.manual_seed(470 + i)
        local m = nn[class_of(mode)](40, 96, module_options(mode, { num_layers = 1 }))
        local x = recur.randn(9, 1, 40):expand(9, B, 40):contiguous()
        for _, threads in ipairs { 1, 2 } do
          recur.threads(threads)
          m:zero_grad()
          local xx = leaf(x)
          local out = m(xx)
          out:sum():backward()
          for b = 2, B do
            assert_close(("%s B=%d threads=%d out row %d"):format(mode, B, threads, b),
              out:select(2, 1), out:select(2, b), 0)
            assert_close(("%s B=%d threads=%d dx row %d"):format(mode, B, threads, b),
              xx.grad:select(2, 1), xx.grad:select(2, b), 0)
          end
        end
      end
    end
  end)

  it("records the whole multi-layer layer as one autograd node", function()
    local names = { RNN_TANH = "RNNBackward", RNN_RELU = "RNNBackward", LSTM = "LSTMBackward",
                    GRU = "GRUBackward" }
    for _, mode in ipairs(MODES) do
      local p = make_problem(mode, { num_layers = 2, bidirectional = true }, 440)
      local out, h_n = p.module(p.x)
      assert.are.equal(names[mode], out.grad_fn)
      assert.are.equal(names[mode], h_n.grad_fn)
    end
  end)
end)

describe("recurrent layers and cells against finite differences (recur.gradcheck)", function()
  local TOLS = { atol = 2e-3, rtol = 2e-2 }

  -- gradcheck of the layer over x, h0, c0 and every parameter.
  local function check_layer(mode, cfg, seed)
    local p = make_problem(mode, cfg, seed)
    local x, h0, c0 = leaf(p.x), leaf(p.h0), leaf(p.c0)
    local list = { x }
    if h0 then list[#list + 1] = h0 end
    if c0 then list[#list + 1] = c0 end
    for _, param in ipairs(p.module:parameters()) do list[#list + 1] = param end
    local lengths = cfg.lengths and long(cfg.lengths)
    return recur.gradcheck(function() return p.module(x, state_arg(mode, h0, c0), lengths) end, list, TOLS)
  end

  it("RNN tanh, 2 layers, bidirectional, lengths, h0", function()
    assert.is_true(check_layer("RNN_TANH", { num_layers = 2, bidirectional = true, lengths = { 2, 3 },
                                             states = true, T = 3, B = 2 }, 501))
  end)

  -- relu has a kink at 0: a seed whose pre-activations all stay further than eps from it
  -- (with others a central difference straddles the kink and disagrees, as in PyTorch).
  it("RNN relu, 1 layer, batch_first, h0", function()
    assert.is_true(check_layer("RNN_RELU", { num_layers = 1, batch_first = true, states = true,
                                             T = 3, B = 2 }, 504))
  end)

  it("LSTM, 2 layers, bidirectional, batch_first, lengths, h0 and c0", function()
    assert.is_true(check_layer("LSTM", { num_layers = 2, bidirectional = true, batch_first = true,
                                         lengths = { 3, 1 }, states = true, T = 3, B = 2 }, 503))
  end)

  it("GRU, 2 layers, lengths, h0, no bias", function()
    assert.is_true(check_layer("GRU", { num_layers = 2, lengths = { 1, 3 }, states = true, bias = false,
                                        T = 3, B = 2 }, 504))
  end)

  it("LSTM with dropout between layers in training (the same mask in every evaluation)", function()
    recur.manual_seed(505)
    local m = nn.LSTM(D, H, { num_layers = 2, dropout = 0.5 })
    local x = recur.randn(3, 2, D):requires_grad_()
    local inputs = { x }
    for _, param in ipairs(m:parameters()) do inputs[#inputs + 1] = param end
    assert.is_true(recur.gradcheck(function() return m(x) end, inputs, TOLS))
  end)

  it("RNNCell, LSTMCell and GRUCell with states", function()
    recur.manual_seed(506)
    for _, cls in ipairs { "RNNCell", "LSTMCell", "GRUCell" } do
      local cell = nn[cls](D, H)
      local x, h, c = recur.randn(2, D):requires_grad_(), (recur.randn(2, H) * 0.5):requires_grad_(),
        (recur.randn(2, H) * 0.5):requires_grad_()
      local inputs = { x, h }
      if cls == "LSTMCell" then inputs[3] = c end
      for _, param in ipairs(cell:parameters()) do inputs[#inputs + 1] = param end
      local state = cls == "LSTMCell" and { h, c } or h
      assert.is_true(recur.gradcheck(function() return cell(x, state) end, inputs, TOLS), cls)
    end
  end)
end)

describe("recurrent layers and cells against PyTorch 1.13 (tests/golden/rnn.lua)", function()
  -- The module of a golden case with its weights loaded by PyTorch's names.
  local function module_of(case)
    local m = nn[case.class](case.input_size, case.hidden_size, case.options)
    local sd = {}
    for name, values in pairs(case.weights) do sd[name] = recur.tensor(values) end
    m:load_state_dict(sd)
    return m
  end

  local function grads_match(case, m, x, h0, c0)
    assert_close("grad of x", case.grad.x, x.grad)
    if case.h0 then assert_close("grad of h0", case.grad.h0, h0.grad) end
    if case.c0 then assert_close("grad of c0", case.grad.c0, c0.grad) end
    local n = 0
    for name, param in m:named_parameters() do
      assert_close("grad of " .. name, case.grad[name], param.grad)
      n = n + 1
    end
    local expected = 0
    for name in pairs(case.weights) do expected = expected + 1 end
    assert.are.equal(expected, n)
  end

  for _, case in ipairs(golden.layers) do
    it(case.name .. ": outputs, states and every gradient", function()
      local m = module_of(case)
      local x = recur.tensor(case.x):requires_grad_()
      local h0 = case.h0 and recur.tensor(case.h0):requires_grad_()
      local c0 = case.c0 and recur.tensor(case.c0):requires_grad_()
      local state = case.class == "LSTM" and (h0 and { h0, c0 }) or h0
      local out, h_n, c_n = m(x, state, case.lengths and long(case.lengths))
      assert_close("out", case.out, out)
      assert_close("h_n", case.h_n, h_n)
      if case.c_n then assert_close("c_n", case.c_n, c_n) end
      local w = { out = recur.tensor(case.w_out), h_n = recur.tensor(case.w_h_n),
                  c_n = case.w_c_n and recur.tensor(case.w_c_n) }
      weighted_loss(w, out, h_n, c_n):backward()
      grads_match(case, m, x, h0, c0)
    end)
  end

  for _, case in ipairs(golden.cells) do
    it(case.name .. ": h, c and every gradient", function()
      local m = module_of(case)
      local x = recur.tensor(case.x):requires_grad_()
      local h0 = case.h0 and recur.tensor(case.h0):requires_grad_()
      local c0 = case.c0 and recur.tensor(case.c0):requires_grad_()
      local state = case.class == "LSTMCell" and (h0 and { h0, c0 }) or h0
      local h, c = m(x, state)
      assert_close("h", case.h, h)
      if case.c then assert_close("c", case.c, c) end
      local loss = (h * recur.tensor(case.w_h)):sum()
      if c then loss = loss + (c * recur.tensor(case.w_c)):sum() end
      loss:backward()
      grads_match(case, m, x, h0, c0)
    end)
  end
end)

describe("final states", function()
  it("h_n[-2] and h_n[-1] are the last layer's forward and backward final states", function()
    for i, mode in ipairs(MODES) do
      local lengths = { 3, 5, 1 }
      local p = make_problem(mode, { num_layers = 2, bidirectional = true, batch_first = true,
                                     states = true }, 600 + i)
      local out, h_n = p.module(p.x, state_arg(mode, p.h0, p.c0), long(lengths))
      -- out (B, T, 2H): forward units 1..H end at each sequence's last step, backward units
      -- H+1..2H end at its first step.
      for b, len in ipairs(lengths) do
        assert_close(mode .. " forward, sequence " .. b, out[b][len]:narrow(1, 1, H), h_n[-2][b], 0)
        assert_close(mode .. " backward, sequence " .. b, out[b][1]:narrow(1, H + 1, H), h_n[-1][b], 0)
      end
    end
  end)

  it("h_n of a unidirectional stack is each layer's last output, layer by layer", function()
    local p = make_problem("GRU", { num_layers = 2, states = true }, 610)
    local out, h_n = p.module(p.x, p.h0)
    assert_close("last layer", out[-1], h_n[2], 0)
    -- The first layer alone, with the first layer's weights and state.
    local first = nn.GRU(D, H)
    first:load_state_dict({ weight_ih_l0 = p.module.weight_ih_l0, weight_hh_l0 = p.module.weight_hh_l0,
                            bias_ih_l0 = p.module.bias_ih_l0, bias_hh_l0 = p.module.bias_hh_l0 })
    local _, h1 = first(p.x, p.h0:narrow(1, 1, 1))
    assert_close("first layer", h1[1], h_n[1], 0)
  end)
end)

describe("unbatched input", function()
  it("(T,D) with states (layers*dirs, H) gives the batch-of-one result without its batch dim", function()
    for i, mode in ipairs(MODES) do
      recur.manual_seed(650 + i)
      local opts = module_options(mode, { num_layers = 2, bidirectional = true, batch_first = true })
      local m = nn[class_of(mode)](D, H, opts)
      local x, h0, c0 = recur.randn(5, D), recur.randn(4, H), recur.randn(4, H)
      local xu, xb = leaf(x), leaf(x:unsqueeze(2))
      local out, h_n, c_n = m(xu, state_arg(mode, h0, c0))
      -- batch_first does not apply to unbatched input (as in PyTorch): time stays dim 1.
      m.batch_first = false
      local ob, hb, cb = m(xb, state_arg(mode, h0:unsqueeze(2), c0:unsqueeze(2)))
      assert.are.same({ 5, 2 * H }, out:shape())
      assert.are.same({ 4, H }, h_n:shape())
      assert_close(mode .. " out", ob:squeeze(2), out, 0)
      assert_close(mode .. " h_n", hb:squeeze(2), h_n, 0)
      if mode == "LSTM" then assert_close(mode .. " c_n", cb:squeeze(2), c_n, 0) end
      out:sum():backward()
      ob:sum():backward()
      assert_close(mode .. " grad of x", xb.grad:squeeze(2), xu.grad, 0)
    end
  end)
end)

describe("truncated BPTT", function()
  -- Windows of 2 steps over a (6, B, D) sequence; the state is carried detached.
  local function detach_state(mode, h, c)
    if mode == "LSTM" then return { h:detach(), c:detach() } end
    return h:detach()
  end

  it("carrying h:detach() across windows gives the outputs of one run over the whole sequence", function()
    for i, mode in ipairs(MODES) do
      local p = make_problem(mode, { num_layers = 2, T = 6, states = true }, 700 + i)
      local full_out, full_h, full_c = p.module(p.x, state_arg(mode, p.h0, p.c0))
      local state, outs, h, c = state_arg(mode, p.h0, p.c0), {}, nil, nil
      for w = 1, 3 do
        local out
        out, h, c = p.module(p.x:narrow(1, 2 * w - 1, 2), state)
        outs[w] = out
        state = detach_state(mode, h, c)
      end
      assert_close(mode .. " out", full_out, recur.cat(outs, 1))
      assert_close(mode .. " h_n", full_h, h)
      if mode == "LSTM" then assert_close(mode .. " c_n", full_c, c) end
    end
  end)

  it("stops gradients at the window: each window's gradients are the reference's on that window alone", function()
    for i, mode in ipairs(MODES) do
      local p = make_problem(mode, { num_layers = 2, T = 6, B = 3, states = true }, 710 + i)
      local m = p.module
      local params = {}
      for name, param in m:named_parameters() do params[name] = param:detach() end
      local x = p.x:clone():requires_grad_() -- one leaf for the whole sequence
      local state = state_arg(mode, p.h0, p.c0)
      local ref_h, ref_c = p.h0, p.c0
      local w_out = recur.randn(2, 3, H)
      for w = 1, 3 do
        m:zero_grad()
        x.grad = nil
        local out, h, c = m(x:narrow(1, 2 * w - 1, 2), state)
        assert.is_true(out.requires_grad)
        ;(out * w_out):sum():backward()
        -- Only this window's steps of x get a gradient: the carried state has no history.
        for t = 1, 6 do
          local inside = t >= 2 * w - 1 and t <= 2 * w
          assert.are.equal(inside, x.grad[t]:abs():max():item() > 0, ("window %d, step %d"):format(w, t))
        end
        -- The reference on this window alone, from the carried (constant) state.
        local rparams = {}
        for name, t in pairs(params) do rparams[name] = leaf(t) end
        local xw = leaf(p.x:narrow(1, 2 * w - 1, 2))
        local rout, rh, rc = ref.layer(mode, rparams, xw, ref_h, ref_c, nil, { hidden_size = H, num_layers = 2 })
        ;(rout * w_out):sum():backward()
        assert_close(mode .. " window " .. w .. " out", rout, out)
        assert_close(mode .. " window " .. w .. " grad of x", xw.grad, x.grad:narrow(1, 2 * w - 1, 2))
        for name, param in m:named_parameters() do
          assert_close(mode .. " window " .. w .. " grad of " .. name, rparams[name].grad, param.grad)
        end
        state = detach_state(mode, h, c)
        local carried = mode == "LSTM" and state[1] or state
        assert.is_false(carried.requires_grad)
        ref_h, ref_c = rh:detach(), rc and rc:detach()
      end
    end
  end)
end)

describe("cells", function()
  local CELLS = { RNN_TANH = "RNNCell", RNN_RELU = "RNNCell", LSTM = "LSTMCell", GRU = "GRUCell" }

  local function make_cell(mode, seed, bias)
    recur.manual_seed(seed)
    local opts = { bias = bias }
    if mode == "RNN_RELU" then opts.nonlinearity = "relu" end
    return nn[CELLS[mode]](D, H, opts)
  end

  it("each cell equals one step of its one-layer layer with the same weights (values and gradients)", function()
    for i, mode in ipairs(MODES) do
      for _, bias in ipairs { true, false } do
        local cell = make_cell(mode, 800 + i, bias)
        local opts = { bias = bias }
        if mode == "RNN_RELU" then opts.nonlinearity = "relu" end
        local layer = nn[class_of(mode)](D, H, opts)
        local sd = {}
        for name, param in cell:named_parameters() do sd[name .. "_l0"] = param end
        layer:load_state_dict(sd)
        local x, h, c = recur.randn(3, D), recur.randn(3, H) * 0.5, recur.randn(3, H) * 0.5
        local w_h, w_c = recur.randn(3, H), recur.randn(3, H)

        local xc, hc, cc = leaf(x), leaf(h), leaf(c)
        local h1, c1 = cell(xc, state_arg(mode, hc, cc))
        local loss = (h1 * w_h):sum()
        if c1 then loss = loss + (c1 * w_c):sum() end
        loss:backward()

        local xl, hl, cl = leaf(x:unsqueeze(1)), leaf(h:unsqueeze(1)), leaf(c:unsqueeze(1))
        local out, h_n, c_n = layer(xl, state_arg(mode, hl, mode == "LSTM" and cl or nil))
        loss = (h_n[1] * w_h):sum()
        if c_n then loss = loss + (c_n[1] * w_c):sum() end
        loss:backward()

        local what = mode .. (bias and "" or " without bias")
        assert_close(what .. " h", h_n[1], h1)
        assert_close(what .. " out = h", out[1], h1)
        if mode == "LSTM" then assert_close(what .. " c", c_n[1], c1) end
        assert_close(what .. " grad of x", xl.grad[1], xc.grad)
        assert_close(what .. " grad of h", hl.grad[1], hc.grad)
        if mode == "LSTM" then assert_close(what .. " grad of c", cl.grad[1], cc.grad) end
        for name, param in cell:named_parameters() do
          assert_close(what .. " grad of " .. name, layer[name .. "_l0"].grad, param.grad)
        end
      end
    end
  end)

  it("a cell stepped 4 times (a decoder loop) matches the reference cell, gradients included", function()
    for i, mode in ipairs(MODES) do
      local cell = make_cell(mode, 810 + i, true)
      local xs = recur.randn(4, 2, D)
      local w = recur.randn(4, 2, H)
      local function unroll(step, x)
        local h, c, loss = recur.zeros(2, H), recur.zeros(2, H), nil
        for t = 1, 4 do
          h, c = step(x[t], h, c)
          local l = (h * w[t]):sum()
          loss = loss and loss + l or l
        end
        return loss, h
      end
      local xf = leaf(xs)
      local loss, h = unroll(function(x, h, c) return cell(x, state_arg(mode, h, c)) end, xf)
      loss:backward()
      local params = {}
      for name, param in cell:named_parameters() do params[name] = leaf(param) end
      local xr = leaf(xs)
      local rloss, rh = unroll(function(x, h, c)
        return ref.cell(mode, x, h, c, params.weight_ih, params.weight_hh, params.bias_ih, params.bias_hh)
      end, xr)
      rloss:backward()
      assert_close(mode .. " h", rh, h)
      assert_close(mode .. " grad of x", xr.grad, xf.grad)
      for name, param in cell:named_parameters() do
        assert_close(mode .. " grad of " .. name, params[name].grad, param.grad)
      end
    end
  end)

  it("takes an unbatched input (D) with a state (H) and gives the batched result's row", function()
    for i, mode in ipairs(MODES) do
      local cell = make_cell(mode, 820 + i, true)
      local x, h, c = recur.randn(D), recur.randn(H), recur.randn(H)
      local h1, c1 = cell(x, state_arg(mode, h, c))
      local hb, cb = cell(x:unsqueeze(1), state_arg(mode, h:unsqueeze(1), c:unsqueeze(1)))
      assert.are.same({ H }, h1:shape())
      assert_close(mode .. " h", hb[1], h1, 0)
      if mode == "LSTM" then assert_close(mode .. " c", cb[1], c1, 0) end
    end
  end)

  it("treats a nil state as zeros", function()
    for i, mode in ipairs(MODES) do
      local cell = make_cell(mode, 830 + i, true)
      local x = recur.randn(2, D)
      local h1, c1 = cell(x)
      local h2, c2 = cell(x, state_arg(mode, recur.zeros(2, H), recur.zeros(2, H)))
      assert_close(mode .. " h", h2, h1, 0)
      if mode == "LSTM" then assert_close(mode .. " c", c2, c1, 0) end
    end
  end)
end)

describe("dropout between layers", function()
  local function make(seed, opts)
    recur.manual_seed(seed)
    local m = nn.LSTM(D, H, opts)
    return m, recur.randn(5, 3, D)
  end

  it("is off in eval mode: the layer equals the reference without dropout", function()
    local m, x = make(900, { num_layers = 2, bidirectional = true, dropout = 0.5 })
    m:eval()
    local params = {}
    for name, param in m:named_parameters() do params[name] = param:detach() end
    local out, h_n, c_n = m(x)
    local rout, rh, rc = ref.layer("LSTM", params, x, nil, nil, nil,
      { hidden_size = H, num_layers = 2, bidirectional = true })
    assert_close("out", rout, out)
    assert_close("h_n", rh, h_n)
    assert_close("c_n", rc, c_n)
  end)

  it("is on in training: outputs differ from eval mode and from one call to the next", function()
    local m, x = make(901, { num_layers = 2, dropout = 0.5 })
    local a = m(x)
    local b = m(x)
    m:eval()
    local e = m(x)
    assert.is_true((a - e):abs():max():item() > 1e-3)
    assert.is_true((a - b):abs():max():item() > 1e-3)
    -- The first layer sees no dropout: its final states agree with eval mode.
    m:train()
    local _, h_train = m(x)
    m:eval()
    local _, h_eval = m(x)
    assert_close("first layer's h_n", h_eval[1], h_train[1], 0)
  end)

  it("is reproducible with recur.manual_seed: same seed, same outputs and gradients", function()
    local m, x = make(902, { num_layers = 2, bidirectional = true, dropout = 0.3 })
    local function run()
      m:zero_grad()
      local out, h_n, c_n = m(x)
      ;(out:sum() + h_n:sum() + c_n:sum()):backward()
      return out, m.weight_ih_l0.grad
    end
    recur.manual_seed(7)
    local out1, g1 = run()
    recur.manual_seed(7)
    local out2, g2 = run()
    assert_close("out", out1, out2, 0)
    assert_close("grad of weight_ih_l0", g1, g2, 0)
  end)

  it("with p = 1 in training feeds zeros to the second layer", function()
    local m, x = make(903, { num_layers = 2, bidirectional = true, dropout = 1 })
    local h0, c0 = recur.randn(4, 3, H) * 0.5, recur.randn(4, 3, H) * 0.5
    local out, h_n, c_n = m(x, { h0, c0 })
    local first, second = {}, {}
    for name, param in m:named_parameters() do
      local target = name:find("_l0") and first or second
      target[(name:gsub("_l1", "_l0"))] = param:detach()
    end
    local opts = { hidden_size = H, bidirectional = true }
    local _, rh1, rc1 = ref.layer("LSTM", first, x, h0:narrow(1, 1, 2), c0:narrow(1, 1, 2), nil, opts)
    local rout, rh2, rc2 = ref.layer("LSTM", second, recur.zeros(5, 3, 2 * H), h0:narrow(1, 3, 2),
      c0:narrow(1, 3, 2), nil, opts)
    assert_close("out", rout, out)
    assert_close("h_n", recur.cat({ rh1, rh2 }, 1), h_n)
    assert_close("c_n", recur.cat({ rc1, rc2 }, 1), c_n)
  end)

  it("does nothing to a single layer (there is no layer after it)", function()
    local m, x = make(904, { num_layers = 1, dropout = 0.5 })
    local a = m(x)
    m:eval()
    assert_close("out", m(x), a, 0)
  end)
end)

describe("the reference model from DESIGN.md", function()
  local Sentiment = nn.Module:extend("SentimentLSTM")
  function Sentiment:init(vocab_size)
    self.embedding = nn.Embedding(vocab_size, 128, { padding_idx = 0 })
    self.lstm = nn.LSTM(128, 256, { num_layers = 2, bidirectional = true, dropout = 0.3, batch_first = true })
    self.fc = nn.Linear(512, 1)
  end
  function Sentiment:forward(ids, lengths)
    local _, h_n = self.lstm(self.embedding(ids), nil, lengths)
    return self.fc(recur.cat({ h_n[-2], h_n[-1] }, -1)) -- (B, 1)
  end

  it("builds with PyTorch's parameter names, shapes and count", function()
    local model = Sentiment(20000)
    local shapes = {}
    for name, p in model:named_parameters() do shapes[name] = p:shape() end
    assert.are.same({ 4 * 256, 128 }, shapes["lstm.weight_ih_l0"])
    assert.are.same({ 4 * 256, 512 }, shapes["lstm.weight_ih_l1_reverse"])
    assert.are.same({ 4 * 256, 256 }, shapes["lstm.weight_hh_l1"])
    assert.are.same({ 4 * 256 }, shapes["lstm.bias_hh_l0_reverse"])
    -- 20000*128 + 2 * (4*256*(128+256) + 2*1024) + 2 * (4*256*(512+256) + 2*1024) + 512 + 1
    assert.are.equal(2560000 + 790528 + 1576960 + 513, model:num_parameters())
  end)

  it("trains: Adam 1e-3 with clipping at 5 makes the loss fall on synthetic data", function()
    recur.manual_seed(1000)
    local V, B, T = 200, 8, 12
    local model = Sentiment(V)
    -- Label 1 when the sequence's first token is in the upper half of the vocabulary.
    math.randomseed(1000)
    local ids, lengths, labels = {}, {}, {}
    for b = 1, B do
      local len = 4 + (b * 5) % 9 -- 4..12, unsorted
      lengths[b], ids[b] = len, {}
      for t = 1, T do ids[b][t] = t <= len and math.random(1, V - 1) or 0 end
      labels[b] = { ids[b][1] > V / 2 and 1 or 0 }
    end
    local x, len_t, y = long(ids), long(lengths), recur.tensor(labels)
    local loss_fn = nn.BCEWithLogitsLoss()
    local opt = optim.Adam(model:parameters(), { lr = 1e-3 })
    local losses = {}
    for step = 1, 12 do
      opt:zero_grad()
      local loss = loss_fn(model(x, len_t), y)
      loss:backward()
      nn.clip_grad_norm(model:parameters(), 5.0)
      opt:step()
      losses[step] = loss:item()
    end
    assert(losses[12] < 0.5 * losses[1],
      ("loss %.4f after 12 steps, %.4f at the start"):format(losses[12], losses[1]))
  end)
end)
