-- scripts/recur/nn/rnn.lua — nn.RNN, nn.LSTM, nn.GRU (whole sequences, fused C kernels: one
-- autograd node per call) and nn.RNNCell, nn.LSTMCell, nn.GRUCell (one step), as PyTorch's.
local recur = require "recur"
local Module = require "recur.nn.module"
local options = require "recur.options"
local init = require "recur.nn.initializers"

local M = {}

local function check_sizes(fn, input_size, hidden_size)
  if math.type(input_size) ~= "integer" or input_size < 1 or math.type(hidden_size) ~= "integer"
      or hidden_size < 1 then
    error(string.format("%s: input_size and hidden_size must be positive integers, got %s and %s",
      fn, tostring(input_size), tostring(hidden_size)), 0)
  end
end

-- PyTorch's default for every recurrent weight and bias: U(-1/sqrt(H), 1/sqrt(H)).
local function reset_uniform(params, hidden_size)
  local bound = 1 / math.sqrt(hidden_size)
  for _, p in ipairs(params) do init.uniform_(p, -bound, bound) end
end

-- A lengths argument as an int64 tensor: a tensor as it is, or a Lua list of integers.
local function as_lengths(fn, lengths)
  if lengths == nil or recur.is_tensor(lengths) then return lengths end
  if type(lengths) == "table" then
    for i, v in ipairs(lengths) do
      if math.type(v) ~= "integer" then
        error(string.format("%s: lengths must be integers, got %s at position %d", fn, tostring(v), i), 0)
      end
    end
    return recur.tensor(lengths, { dtype = "int64" })
  end
  error(string.format("%s: lengths must be an int64 tensor or a list of integers, got %s", fn, type(lengths)), 0)
end

-- --- the layers ------------------------------------------------------------------------

local function layer_class(name, mode_of)
  local cls = Module:extend(name)

  function cls:init(input_size, hidden_size, opts)
    local fn = "nn." .. name
    local defaults = { num_layers = 1, bias = true, batch_first = false, dropout = 0,
                       bidirectional = false }
    if name == "RNN" then defaults.nonlinearity = "tanh" end
    opts = options.check(fn, opts, defaults)
    check_sizes(fn, input_size, hidden_size)
    if math.type(opts.num_layers) ~= "integer" or opts.num_layers < 1 then
      error(fn .. ": num_layers must be a positive integer, got " .. tostring(opts.num_layers), 0)
    end
    if type(opts.dropout) ~= "number" or opts.dropout < 0 or opts.dropout > 1 then
      error(fn .. ": dropout must be a probability in [0, 1], got " .. tostring(opts.dropout), 0)
    end
    if name == "RNN" and opts.nonlinearity ~= "tanh" and opts.nonlinearity ~= "relu" then
      error(fn .. ": nonlinearity must be 'tanh' or 'relu', got " .. tostring(opts.nonlinearity), 0)
    end
    self.mode = mode_of(opts)
    self.input_size, self.hidden_size = input_size, hidden_size
    self.num_layers, self.bias, self.batch_first = opts.num_layers, opts.bias, opts.batch_first
    self.dropout, self.bidirectional, self.nonlinearity = opts.dropout, opts.bidirectional, opts.nonlinearity
    -- Parameters in PyTorch's names and flat order (weight_ih_l0, weight_hh_l0, bias_ih_l0, ...).
    self._flat = {}
    for _, w in ipairs(recur._rnn_weights(self.mode, self:_config())) do
      local p = Module.Parameter(recur.empty(w.shape))
      self[w.name] = p
      self._flat[#self._flat + 1] = w.name
    end
    self:reset_parameters()
  end

  function cls:_config()
    return { input_size = self.input_size, hidden_size = self.hidden_size,
             num_layers = self.num_layers, bidirectional = self.bidirectional,
             dropout = self.dropout, training = self.training, bias = self.bias }
  end

  function cls:reset_parameters() reset_uniform(self:parameters(), self.hidden_size) end

  --- rnn(x, h0, lengths) -> out, h_n;  lstm(x, {h0, c0}, lengths) -> out, h_n, c_n.
  --- x (T,B,D), or (B,T,D) with batch_first, or (T,D) unbatched; states (layers*dirs, B, H),
  --- (layers*dirs, H) when unbatched, nil = zeros. lengths: one per sequence (batched only).
  function cls:forward(x, state, lengths)
    local fn = "nn." .. name
    if not recur.is_tensor(x) then error(fn .. ": input must be a tensor, got " .. type(x), 0) end
    local h0, c0
    if self.mode == "LSTM" then
      if state ~= nil then
        -- Both or neither, as PyTorch: a half-given state would silently become zeros.
        if type(state) ~= "table" or recur.is_tensor(state) or not recur.is_tensor(state[1])
            or not recur.is_tensor(state[2]) or #state ~= 2 then
          error(fn .. ": the state must be a table {h0, c0} (or nil for zeros)", 0)
        end
        h0, c0 = state[1], state[2]
      end
    else
      h0 = state
    end
    -- Shape errors in the caller's layout; the C core only ever sees (T,B,D).
    local layout = self.batch_first and "(B,T,D)" or "(T,B,D)"
    local unbatched = x:dim() == 2
    if unbatched then layout = "(T,D)" end
    if x:dim() ~= 2 and x:dim() ~= 3 then
      error(string.format("%s: input must be %s, or (T,D) for one unbatched sequence; got a %d-D tensor",
        fn, self.batch_first and "(B,T,D) (batch_first)" or "(T,B,D)", x:dim()), 0)
    end
    local shape = x:shape()
    if shape[#shape] ~= self.input_size then
      error(string.format("%s: input %s has D=%d, but the layer's input_size is %d", fn, layout,
        shape[#shape], self.input_size), 0)
    end
    if x:numel() == 0 then
      error(string.format("%s: input %s must hold at least one step of one sequence, got (%s)", fn,
        layout, table.concat(shape, ",")), 0)
    end
    if unbatched then
      -- PyTorch's unbatched form: a batch of one, states without the batch dim.
      if lengths ~= nil then error(fn .. ": lengths need batched input (one length per sequence)", 0) end
      local n_states = self.num_layers * (self.bidirectional and 2 or 1)
      for _, st in ipairs({ { "h0", h0 }, { "c0", c0 } }) do
        local what, s = st[1], st[2]
        if s ~= nil and (not recur.is_tensor(s) or s:dim() ~= 2) then
          error(string.format("%s: with unbatched (T,D) input, %s must be 2-D (num_layers*num_directions, hidden_size), got %s",
            fn, what, recur.is_tensor(s) and s:dim() .. " dims" or type(s)), 0)
        end
        if s ~= nil and (s:size(1) ~= n_states or s:size(2) ~= self.hidden_size) then
          error(string.format("%s: with unbatched (T,D) input, %s must have shape (%d,%d) (num_layers*num_directions, hidden_size), got (%d,%d)",
            fn, what, n_states, self.hidden_size, s:size(1), s:size(2)), 0)
        end
      end
      x = x:unsqueeze(2)
      h0 = h0 and h0:unsqueeze(2)
      c0 = c0 and c0:unsqueeze(2)
    elseif self.batch_first then
      x = x:transpose(1, 2)
    end
    local weights = {}
    for i, pname in ipairs(self._flat) do weights[i] = self[pname] end
    local out, h_n, c_n = recur._rnn(self.mode, self:_config(), x, h0, c0,
      as_lengths(fn, lengths), weights)
    if unbatched then
      return out:squeeze(2), h_n:squeeze(2), c_n and c_n:squeeze(2)
    end
    if self.batch_first then out = out:transpose(1, 2):contiguous() end
    return out, h_n, c_n
  end

  function cls:extra_repr()
    local s = string.format("%d, %d", self.input_size, self.hidden_size)
    if self.num_layers ~= 1 then s = s .. ", num_layers=" .. self.num_layers end
    if name == "RNN" and self.nonlinearity ~= "tanh" then s = s .. ", nonlinearity='" .. self.nonlinearity .. "'" end
    if not self.bias then s = s .. ", bias=false" end
    if self.batch_first then s = s .. ", batch_first=true" end
    if self.dropout ~= 0 then s = s .. ", dropout=" .. self.dropout end
    if self.bidirectional then s = s .. ", bidirectional=true" end
    return s
  end

  return cls
end

M.RNN = layer_class("RNN", function(o) return o.nonlinearity == "relu" and "RNN_RELU" or "RNN_TANH" end)
M.LSTM = layer_class("LSTM", function() return "LSTM" end)
M.GRU = layer_class("GRU", function() return "GRU" end)

-- --- the cells ----------------------------------------------------------------------------

local function cell_class(name, mode_of, gates)
  local cls = Module:extend(name)

  function cls:init(input_size, hidden_size, opts)
    local fn = "nn." .. name
    local defaults = { bias = true }
    if name == "RNNCell" then defaults.nonlinearity = "tanh" end
    opts = options.check(fn, opts, defaults)
    check_sizes(fn, input_size, hidden_size)
    if name == "RNNCell" and opts.nonlinearity ~= "tanh" and opts.nonlinearity ~= "relu" then
      error(fn .. ": nonlinearity must be 'tanh' or 'relu', got " .. tostring(opts.nonlinearity), 0)
    end
    self.mode = mode_of(opts)
    self.input_size, self.hidden_size, self.nonlinearity = input_size, hidden_size, opts.nonlinearity
    self.weight_ih = Module.Parameter(recur.empty(gates * hidden_size, input_size))
    self.weight_hh = Module.Parameter(recur.empty(gates * hidden_size, hidden_size))
    if opts.bias then
      self.bias_ih = Module.Parameter(recur.empty(gates * hidden_size))
      self.bias_hh = Module.Parameter(recur.empty(gates * hidden_size))
    end
    self:reset_parameters()
  end

  function cls:reset_parameters() reset_uniform(self:parameters(), self.hidden_size) end

  --- cell(x, h) -> h';  lstm_cell(x, {h, c}) -> h', c'. x (B,D) or (D); nil state = zeros.
  function cls:forward(x, state)
    local hx, cx
    if self.mode == "LSTM" then
      if state ~= nil then
        if type(state) ~= "table" or recur.is_tensor(state) then
          error("nn." .. name .. ": the state must be a table {h, c} (or nil for zeros)", 0)
        end
        hx, cx = state[1], state[2]
      end
    else
      hx = state
    end
    return recur._rnn_cell(self.mode, x, hx, cx, self.weight_ih, self.weight_hh, self.bias_ih,
      self.bias_hh)
  end

  function cls:extra_repr()
    local s = string.format("%d, %d", self.input_size, self.hidden_size)
    if self.bias_ih == nil then s = s .. ", bias=false" end
    if name == "RNNCell" and self.nonlinearity ~= "tanh" then s = s .. ", nonlinearity='" .. self.nonlinearity .. "'" end
    return s
  end

  return cls
end

M.RNNCell = cell_class("RNNCell", function(o) return o.nonlinearity == "relu" and "RNN_RELU" or "RNN_TANH" end, 1)
M.LSTMCell = cell_class("LSTMCell", function() return "LSTM" end, 4)
M.GRUCell = cell_class("GRUCell", function() return "GRU" end, 3)

return M
