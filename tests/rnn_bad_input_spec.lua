-- tests/rnn_bad_input_spec.lua — bad calls of nn.RNN / nn.LSTM / nn.GRU and the cells: each is
-- refused with an exact message (from rnn.lua or the C core, core/rnn_plan.c, core/grad_rnn.c).
local recur = require "recur"
local nn = recur.nn

local function long(values) return recur.tensor(values, { dtype = "int64" }) end

-- Modules and an input that fit them: T = 5, B = 2, input_size 3, hidden_size 4.
local lstm, gru, rnn, x
before_each(function()
  recur.manual_seed(1)
  lstm = nn.LSTM(3, 4, { num_layers = 2 })
  gru = nn.GRU(3, 4, { bidirectional = true, batch_first = true })
  rnn = nn.RNN(3, 4, { nonlinearity = "relu" })
  x = recur.randn(5, 2, 3)
end)

-- A bad call leaves the module usable: the same module still runs a good call.
after_each(function()
  local out = lstm(x)
  assert.are.same({ 5, 2, 4 }, out:shape())
end)

describe("recurrent layers refuse a badly shaped input", function()
  it("says the input needs 3 dims (or 2 unbatched), in the layout the module expects", function()
    assert.has_error(function() lstm(recur.randn(5)) end,
      "nn.LSTM: input must be (T,B,D), or (T,D) for one unbatched sequence; got a 1-D tensor")
    assert.has_error(function() lstm(recur.randn(5, 2, 3, 1)) end,
      "nn.LSTM: input must be (T,B,D), or (T,D) for one unbatched sequence; got a 4-D tensor")
    assert.has_error(function() gru(recur.randn(2, 5, 3, 1)) end,
      "nn.GRU: input must be (B,T,D) (batch_first), or (T,D) for one unbatched sequence; got a 4-D tensor")
  end)

  it("the core names the dims too when called without the module", function()
    assert.has_error(function()
      recur._rnn("LSTM", { input_size = 3, hidden_size = 4 }, recur.randn(5, 3), nil, nil, nil, {})
    end,
      "recur.lstm: input must have 3 dims (T,B,D), got 2 dims (5,3)")
  end)

  it("says which D came and which input_size was expected, in the caller's layout", function()
    assert.has_error(function() lstm(recur.randn(5, 2, 6)) end,
      "nn.LSTM: input (T,B,D) has D=6, but the layer's input_size is 3")
    assert.has_error(function() rnn(recur.randn(5, 2, 2)) end,
      "nn.RNN: input (T,B,D) has D=2, but the layer's input_size is 3")
    assert.has_error(function() gru(recur.randn(2, 5, 6)) end,
      "nn.GRU: input (B,T,D) has D=6, but the layer's input_size is 3")
    assert.has_error(function() gru(recur.randn(5, 6)) end,
      "nn.GRU: input (T,D) has D=6, but the layer's input_size is 3")
    -- Without the module, the core says it in its own (T,B,D) terms.
    assert.has_error(function()
      recur._rnn("LSTM", { input_size = 3, hidden_size = 4 }, recur.randn(5, 2, 6), nil, nil, nil, {})
    end, "recur.lstm: input has 3 dims (T,B,D) but D=6 while input_size=3")
  end)

  it("refuses unbatched input with batched states or with lengths", function()
    assert.has_error(function() rnn(recur.randn(5, 3), recur.zeros(1, 1, 4)) end,
      "nn.RNN: with unbatched (T,D) input, h0 must be 2-D (num_layers*num_directions, hidden_size), got 3 dims")
    assert.has_error(function() lstm(recur.randn(5, 3), { recur.zeros(2, 4), recur.zeros(2, 1, 4) }) end,
      "nn.LSTM: with unbatched (T,D) input, c0 must be 2-D (num_layers*num_directions, hidden_size), got 3 dims")
    assert.has_error(function() rnn(recur.randn(5, 3), recur.zeros(2, 4)) end,
      "nn.RNN: with unbatched (T,D) input, h0 must have shape (1,4) (num_layers*num_directions, hidden_size), got (2,4)")
    assert.has_error(function() lstm(recur.randn(5, 3), { recur.zeros(2, 4), recur.zeros(2, 5) }) end,
      "nn.LSTM: with unbatched (T,D) input, c0 must have shape (2,4) (num_layers*num_directions, hidden_size), got (2,5)")
    assert.has_error(function() rnn(recur.randn(5, 3), nil, { 5 }) end,
      "nn.RNN: lengths need batched input (one length per sequence)")
  end)

  it("refuses an input that is not a float32 tensor, or has no steps", function()
    assert.has_error(function() lstm({ 1, 2, 3 }) end, "nn.LSTM: input must be a tensor, got table")
    assert.has_error(function() lstm(long { { { 1, 2, 3 } } }) end,
      "recur.lstm: input must be float32, got int64")
    assert.has_error(function() rnn(recur.zeros(0, 2, 3)) end,
      "nn.RNN: input (T,B,D) must hold at least one step of one sequence, got (0,2,3)")
    assert.has_error(function() gru(recur.zeros(2, 0, 3)) end,
      "nn.GRU: input (B,T,D) must hold at least one step of one sequence, got (2,0,3)")
  end)
end)

describe("recurrent layers refuse initial states of the wrong shape", function()
  it("names h0 and the shape (num_layers*num_directions, batch, hidden_size) it must have", function()
    assert.has_error(function() lstm(x, { recur.zeros(1, 2, 4), recur.zeros(2, 2, 4) }) end,
      "recur.lstm: h0 must have shape (2,2,4) (num_layers*num_directions, batch, hidden_size), got (1,2,4)")
    assert.has_error(function() rnn(x, recur.zeros(1, 3, 4)) end,
      "recur.rnn: h0 must have shape (1,2,4) (num_layers*num_directions, batch, hidden_size), got (1,3,4)")
    -- bidirectional: two states per layer.
    assert.has_error(function() gru(recur.randn(2, 5, 3), recur.zeros(1, 2, 4)) end,
      "recur.gru: h0 must have shape (2,2,4) (num_layers*num_directions, batch, hidden_size), got (1,2,4)")
    assert.has_error(function() gru(recur.randn(2, 5, 3), recur.zeros(2, 2, 5)) end,
      "recur.gru: h0 must have shape (2,2,4) (num_layers*num_directions, batch, hidden_size), got (2,2,5)")
    assert.has_error(function() gru(recur.randn(2, 5, 3), recur.zeros(2, 4)) end,
      "recur.gru: h0 must have shape (2,2,4) (num_layers*num_directions, batch, hidden_size), got (2,4)")
  end)

  it("names c0 when the cell state is the wrong one", function()
    assert.has_error(function() lstm(x, { recur.zeros(2, 2, 4), recur.zeros(2, 3, 4) }) end,
      "recur.lstm: c0 must have shape (2,2,4) (num_layers*num_directions, batch, hidden_size), got (2,3,4)")
    assert.has_error(function() lstm(x, { recur.zeros(2, 2, 4), recur.zeros(2, 2, 3) }) end,
      "recur.lstm: c0 must have shape (2,2,4) (num_layers*num_directions, batch, hidden_size), got (2,2,3)")
  end)

  it("refuses an int64 state", function()
    assert.has_error(function() rnn(x, long { { { 0, 0, 0, 0 }, { 0, 0, 0, 0 } } }) end,
      "recur.rnn: h0 must be float32, got int64")
  end)

  it("refuses an LSTM state given as a bare tensor (or anything but a table {h0, c0})", function()
    assert.has_error(function() lstm(x, recur.zeros(2, 2, 4)) end,
      "nn.LSTM: the state must be a table {h0, c0} (or nil for zeros)")
    assert.has_error(function() lstm(x, 0) end,
      "nn.LSTM: the state must be a table {h0, c0} (or nil for zeros)")
  end)

  it("refuses an LSTM state table without c0 (PyTorch requires both)", function()
    assert.has_error(function() lstm(x, { recur.zeros(2, 2, 4) }) end,
      "nn.LSTM: the state must be a table {h0, c0} (or nil for zeros)")
  end)

  it("refuses c0 for a layer that is not an LSTM (core)", function()
    assert.has_error(function()
      recur._rnn("GRU", { input_size = 3, hidden_size = 4 }, x, nil, recur.zeros(1, 2, 4), nil, {})
    end, "recur.gru: c0 is only for LSTM")
  end)
end)

describe("recurrent layers refuse bad lengths", function()
  it("refuses a length of 0 and says which sequence has it", function()
    assert.has_error(function() lstm(x, nil, long { 0, 3 }) end,
      "recur.lstm: lengths must be in 1..T=5, but sequence 1 of 2 has length 0")
    assert.has_error(function() lstm(x, nil, long { 2, -1 }) end,
      "recur.lstm: lengths must be in 1..T=5, but sequence 2 of 2 has length -1")
  end)

  it("refuses a length greater than T (also for batch_first, where T is dim 2)", function()
    assert.has_error(function() lstm(x, nil, long { 5, 6 }) end,
      "recur.lstm: lengths must be in 1..T=5, but sequence 2 of 2 has length 6")
    assert.has_error(function() gru(recur.randn(2, 4, 3), nil, { 3, 5 }) end,
      "recur.gru: lengths must be in 1..T=4, but sequence 2 of 2 has length 5")
  end)

  it("refuses a wrong count of lengths", function()
    assert.has_error(function() lstm(x, nil, long { 2, 3, 1 }) end,
      "recur.lstm: lengths must have one entry per sequence, shape (2), got (3)")
    assert.has_error(function() rnn(x, nil, { 4 }) end,
      "recur.rnn: lengths must have one entry per sequence, shape (2), got (1)")
    assert.has_error(function() lstm(x, nil, long { { 2, 3 } }) end,
      "recur.lstm: lengths must have one entry per sequence, shape (2), got (1,2)")
  end)

  it("refuses lengths that are not int64", function()
    assert.has_error(function() lstm(x, nil, recur.tensor { 2, 3 }) end,
      "recur.lstm: lengths must be int64, got float32")
    assert.has_error(function() lstm(x, nil, "2,3") end,
      "nn.LSTM: lengths must be an int64 tensor or a list of integers, got string")
  end)

  it("refuses a lengths list holding a non-integer", function()
    assert.has_error(function() lstm(x, nil, { 2, 2.5 }) end,
      "nn.LSTM: lengths must be integers, got 2.5 at position 2")
  end)
end)

describe("recurrent layers refuse bad options", function()
  it("names an unknown option and the known ones", function()
    assert.has_error(function() nn.LSTM(3, 4, { num_layer = 2 }) end,
      "nn.LSTM: unknown option 'num_layer' (expected batch_first, bias, bidirectional, dropout or num_layers)")
    assert.has_error(function() nn.RNN(3, 4, { nonlinearty = "relu", bidirectionl = true }) end,
      "nn.RNN: unknown options 'bidirectionl', 'nonlinearty' (expected batch_first, bias, bidirectional, dropout, nonlinearity or num_layers)")
    -- nonlinearity is RNN's only.
    assert.has_error(function() nn.GRU(3, 4, { nonlinearity = "relu" }) end,
      "nn.GRU: unknown option 'nonlinearity' (expected batch_first, bias, bidirectional, dropout or num_layers)")
    assert.has_error(function() nn.GRUCell(3, 4, { batch_first = true }) end,
      "nn.GRUCell: unknown option 'batch_first' (expected bias)")
    assert.has_error(function() nn.RNNCell(3, 4, { bias = false, dropout = 0.1 }) end,
      "nn.RNNCell: unknown option 'dropout' (expected bias or nonlinearity)")
  end)

  it("refuses bad option values and sizes", function()
    assert.has_error(function() nn.RNN(3, 4, { nonlinearity = "sigmoid" }) end,
      "nn.RNN: nonlinearity must be 'tanh' or 'relu', got sigmoid")
    assert.has_error(function() nn.LSTM(3, 4, { num_layers = 0 }) end,
      "nn.LSTM: num_layers must be a positive integer, got 0")
    assert.has_error(function() nn.GRU(3, 4, { dropout = 1.5 }) end,
      "nn.GRU: dropout must be a probability in [0, 1], got 1.5")
    assert.has_error(function() nn.LSTM(0, 4) end,
      "nn.LSTM: input_size and hidden_size must be positive integers, got 0 and 4")
    assert.has_error(function() nn.LSTMCell(3, 2.5) end,
      "nn.LSTMCell: input_size and hidden_size must be positive integers, got 3 and 2.5")
  end)
end)

describe("cells refuse bad input", function()
  local cell
  before_each(function() cell = nn.LSTMCell(3, 4) end)

  it("says the input must be (B,D) or (D)", function()
    assert.has_error(function() cell(recur.randn(1, 2, 3)) end,
      "recur.lstm_cell: input must be (B,D) or (D), got 3 dims (1,2,3)")
  end)

  it("says which D came and how many columns weight_ih has", function()
    assert.has_error(function() cell(recur.randn(2, 5)) end,
      "recur.lstm_cell: input has D=5 but weight_ih has 3 columns (input_size)")
    assert.has_error(function() nn.GRUCell(3, 4)(recur.randn(2)) end,
      "recur.gru_cell: input has D=2 but weight_ih has 3 columns (input_size)")
  end)

  it("names hx or cx and the shape it must have", function()
    assert.has_error(function() cell(recur.randn(2, 3), { recur.zeros(3, 4), recur.zeros(2, 4) }) end,
      "recur.lstm_cell: hx must have shape (2,4) (batch, hidden_size), got (3,4)")
    assert.has_error(function() cell(recur.randn(2, 3), { recur.zeros(2, 4), recur.zeros(2, 5) }) end,
      "recur.lstm_cell: cx must have shape (2,4) (batch, hidden_size), got (2,5)")
    -- An unbatched input takes an unbatched state, and a batched one a batched state.
    assert.has_error(function() nn.GRUCell(3, 4)(recur.randn(2, 3), recur.zeros(4)) end,
      "recur.gru_cell: hx must have shape (2,4) (batch, hidden_size), got (4)")
    assert.has_error(function() nn.RNNCell(3, 4)(recur.randn(3), recur.zeros(1, 4)) end,
      "recur.rnn_cell: hx must have shape (4) (batch, hidden_size), got (1,4)")
  end)

  it("refuses an LSTMCell state given as a bare tensor", function()
    assert.has_error(function() cell(recur.randn(2, 3), recur.zeros(2, 4)) end,
      "nn.LSTMCell: the state must be a table {h, c} (or nil for zeros)")
  end)
end)
