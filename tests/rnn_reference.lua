-- tests/rnn_reference.lua — an UNFUSED reference of nn.RNN / nn.LSTM / nn.GRU and their cells
-- for tests/rnn_spec.lua: PyTorch's equations gate by gate, step by step, with plain ops.
--
-- Everything here is ordinary recur ops (matmul, sigmoid, tanh, relu, narrow, select, cat,
-- stack), so autograd gives the reference gradients; nothing calls the fused kernels. The
-- weights are PyTorch's (stacked gates, rows k*H+1..(k+1)*H are gate k; LSTM i, f, g, o; GRU
-- r, z, n), taken by name from a table {weight_ih_l0 = ..., bias_hh_l1_reverse = ...}.
-- Dropout is not modelled (the spec compares with dropout = 0 or in eval mode).
local recur = require "recur"

local R = {}

--- Gates per hidden unit, by the mode strings of recur._rnn.
R.gate_count = { RNN_TANH = 1, RNN_RELU = 1, LSTM = 4, GRU = 3 }

-- Gate k (0-based, PyTorch's order) of a stacked weight (G*H, n) or bias (G*H); nil stays nil.
local function gate(w, k, H)
  if w == nil then return nil end
  return w:narrow(1, k * H + 1, H)
end

-- x W^T + b for x (B, n), W (H, n), b (H) or nil.
local function affine(x, w, b)
  local y = recur.matmul(x, w:t())
  if b ~= nil then y = y + b end
  return y
end

-- W_i? x + b_i? + W_h? h + b_h? for gate k: the sum every gate of every cell starts from.
local function gate_pre(k, H, x, h, w_ih, w_hh, b_ih, b_hh)
  return affine(x, gate(w_ih, k, H), gate(b_ih, k, H)) + affine(h, gate(w_hh, k, H), gate(b_hh, k, H))
end

--- One step, as torch.nn.RNNCell / LSTMCell / GRUCell document it.
--- x (B, D); h, c (B, H) (c only for LSTM; both required: the caller passes zeros);
--- w_ih (G*H, D), w_hh (G*H, H), b_ih, b_hh (G*H) or nil. Returns h' (B, H) and, for LSTM, c'.
function R.cell(mode, x, h, c, w_ih, w_hh, b_ih, b_hh)
  local H = w_hh:size(2)
  if mode == "RNN_TANH" then
    return gate_pre(0, H, x, h, w_ih, w_hh, b_ih, b_hh):tanh()
  elseif mode == "RNN_RELU" then
    return gate_pre(0, H, x, h, w_ih, w_hh, b_ih, b_hh):relu()
  elseif mode == "LSTM" then
    -- i = s(W_ii x + b_ii + W_hi h + b_hi)   f = s(W_if x + b_if + W_hf h + b_hf)
    -- g = tanh(W_ig x + b_ig + W_hg h + b_hg)   o = s(W_io x + b_io + W_ho h + b_ho)
    -- c' = f * c + i * g   h' = o * tanh(c')
    local i = gate_pre(0, H, x, h, w_ih, w_hh, b_ih, b_hh):sigmoid()
    local f = gate_pre(1, H, x, h, w_ih, w_hh, b_ih, b_hh):sigmoid()
    local g = gate_pre(2, H, x, h, w_ih, w_hh, b_ih, b_hh):tanh()
    local o = gate_pre(3, H, x, h, w_ih, w_hh, b_ih, b_hh):sigmoid()
    local c_next = f * c + i * g
    return o * c_next:tanh(), c_next
  elseif mode == "GRU" then
    -- r = s(W_ir x + b_ir + W_hr h + b_hr)   z = s(W_iz x + b_iz + W_hz h + b_hz)
    -- n = tanh(W_in x + b_in + r * (W_hn h + b_hn))   h' = (1 - z) * n + z * h
    local r = gate_pre(0, H, x, h, w_ih, w_hh, b_ih, b_hh):sigmoid()
    local z = gate_pre(1, H, x, h, w_ih, w_hh, b_ih, b_hh):sigmoid()
    local n = (affine(x, gate(w_ih, 2, H), gate(b_ih, 2, H)) +
               r * affine(h, gate(w_hh, 2, H), gate(b_hh, 2, H))):tanh()
    return (1 - z) * n + z * h
  end
  error("rnn_reference: unknown mode " .. tostring(mode))
end

-- The whole stack over x (T, B, D) where every sequence runs all T steps.
-- h0, c0 (L*dirs, B, H) or nil. Returns out (T, B, dirs*H), h_n, c_n (L*dirs, B, H) (c_n nil
-- unless LSTM).
local function run_full(mode, params, x, h0, c0, opts)
  local T, B, H = x:size(1), x:size(2), opts.hidden_size
  local dirs = opts.bidirectional and 2 or 1
  local input, h_n, c_n = x, {}, {}
  for l = 0, opts.num_layers - 1 do
    local outs = {}
    for d = 0, dirs - 1 do
      local suffix = "_l" .. l .. (d == 1 and "_reverse" or "")
      local w_ih, w_hh = params["weight_ih" .. suffix], params["weight_hh" .. suffix]
      local b_ih, b_hh = params["bias_ih" .. suffix], params["bias_hh" .. suffix]
      local k = l * dirs + d + 1 -- states are layer-major, then direction
      local h = h0 and h0:select(1, k) or recur.zeros(B, H)
      local c = mode == "LSTM" and (c0 and c0:select(1, k) or recur.zeros(B, H)) or nil
      local steps = {}
      -- The forward direction reads t = 1..T, the reverse one t = T..1.
      local first, last, step = 1, T, 1
      if d == 1 then first, last, step = T, 1, -1 end
      for t = first, last, step do
        h, c = R.cell(mode, input:select(1, t), h, c, w_ih, w_hh, b_ih, b_hh)
        steps[t] = h
      end
      outs[d + 1] = recur.stack(steps, 1) -- (T, B, H)
      h_n[k], c_n[k] = h, c
    end
    -- The next layer reads both directions side by side, forward first.
    input = dirs == 2 and recur.cat(outs, 3) or outs[1]
  end
  return input, recur.stack(h_n, 1), mode == "LSTM" and recur.stack(c_n, 1) or nil
end

--- The layer, as torch.nn.RNN / LSTM / GRU.
--- mode "RNN_TANH" | "RNN_RELU" | "LSTM" | "GRU"; params name -> tensor (PyTorch's names);
--- x (T, B, D), or (B, T, D) with opts.batch_first; h0, c0 (L*dirs, B, H) or nil (zeros);
--- lengths a Lua list of B integers in 1..T, or nil (all T);
--- opts {hidden_size, num_layers = 1, bidirectional = false, batch_first = false}.
--- Returns out (T, B, dirs*H) (or (B, T, dirs*H)), h_n, c_n (L*dirs, B, H); c_n nil unless LSTM.
--- With lengths each sequence is run on its own, over its own steps only, as if it were alone
--- in a batch of 1: its reverse direction starts at its own last element, its h_n/c_n are its
--- states after its own last step, and its outputs past its length are zero (padding).
function R.layer(mode, params, x, h0, c0, lengths, opts)
  opts = {
    hidden_size = opts.hidden_size, num_layers = opts.num_layers or 1,
    bidirectional = opts.bidirectional or false, batch_first = opts.batch_first or false,
  }
  if opts.batch_first then x = x:transpose(1, 2) end
  local out, h_n, c_n
  if lengths == nil then
    out, h_n, c_n = run_full(mode, params, x, h0, c0, opts)
  else
    local T, B = x:size(1), x:size(2)
    local width = (opts.bidirectional and 2 or 1) * opts.hidden_size
    local outs, hs, cs = {}, {}, {}
    for b = 1, B do
      local len = lengths[b]
      local xb = x:narrow(2, b, 1):narrow(1, 1, len) -- (len, 1, D)
      local h0b = h0 and h0:narrow(2, b, 1) or nil
      local c0b = c0 and c0:narrow(2, b, 1) or nil
      local ob, hb, cb = run_full(mode, params, xb, h0b, c0b, opts)
      if len < T then ob = recur.cat({ ob, recur.zeros(T - len, 1, width) }, 1) end
      outs[b], hs[b], cs[b] = ob, hb, cb
    end
    out, h_n = recur.cat(outs, 2), recur.cat(hs, 2)
    c_n = mode == "LSTM" and recur.cat(cs, 2) or nil
  end
  if opts.batch_first then out = out:transpose(1, 2) end
  return out, h_n, c_n
end

return R
