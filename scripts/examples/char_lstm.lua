-- scripts/examples/char_lstm.lua — the main job: train a character-level LSTM on a real
-- corpus (Moby Dick by default) with truncated BPTT, then sample text from it.
local recur = require "recur"
local nn, optim, data = recur.nn, recur.optim, recur.data

local usage = [[
usage: recur scripts/examples/char_lstm.lua [options]
Trains Embedding -> LSTM -> Linear on characters, carrying the hidden state across windows
(truncated BPTT), reports validation loss in bits per character, and samples text.

  --text PATH         train on a local UTF-8 text file (default: Moby Dick, fetched on
                      first use into ~/.cache/recur with npm)
  --steps N           training windows (default 1200, about 2.5 minutes on 2 cores)
  --hidden N          LSTM hidden size (default 256)
  --layers N          LSTM layers (default 2)
  --embed N           embedding size (default 64)
  --batch N           parallel streams (default 32)
  --bptt N            window length in characters (default 64)
  --lr X              Adam learning rate (default 0.003)
  --dropout X         between LSTM layers (default 0.1)
  --max-chars N       use only the first N characters of the text (default: all)
  --sample N          characters to sample at the end (default 400)
  --temperature X     sampling temperature (default 0.8)
  --prime TEXT        text to start sampling from (default "The whale")
  --checkpoint PATH   save model, optimizer and vocabulary there at the end
  --resume PATH       continue from a checkpoint written by --checkpoint
  --plot PATH         at the end, plot the training loss (every window) and validation loss
                      (every steps/10 windows: about 20 % more time at the defaults) into
                      PATH, a .png, .svg or .txt file (needs gnuplot: apt-get install gnuplot-nox)
  --seed N            (default 1)
  --threads N         (default: all cores)
  -h, --help          this help]]

local function parse(argv)
  local o = { steps = 1200, hidden = 256, layers = 2, embed = 64, batch = 32, bptt = 64,
              lr = 3e-3, dropout = 0.1, sample = 400, temperature = 0.8, prime = "The whale",
              seed = 1 }
  local numeric = { steps = "int", hidden = "int", layers = "int", embed = "int", batch = "int",
                    bptt = "int", lr = "num", dropout = "num", sample = "int", temperature = "num",
                    seed = "int", threads = "int", ["max-chars"] = "int" }
  local i = 1
  while i <= #argv do
    local a = argv[i]
    local key = a:match("^%-%-(.+)$")
    if a == "-h" or a == "--help" then print(usage) os.exit(0) end
    if not key or (numeric[key] == nil and key ~= "text" and key ~= "prime" and key ~= "checkpoint"
        and key ~= "resume" and key ~= "plot") then
      io.stderr:write("char_lstm: unknown argument '", a, "'\n", usage, "\n")
      os.exit(2)
    end
    local v = argv[i + 1]
    if v == nil then
      io.stderr:write("char_lstm: ", a, " needs a value\n")
      os.exit(2)
    end
    if numeric[key] then
      local n = tonumber(v)
      if not n or (numeric[key] == "int" and math.type(n) ~= "integer") or n <= 0 then
        io.stderr:write("char_lstm: ", a, " needs a positive ", numeric[key] == "int" and "integer" or "number",
          ", got '", v, "'\n")
        os.exit(2)
      end
      o[key:gsub("%-", "_")] = n
    else
      o[key] = v
    end
    i = i + 2
  end
  return o
end

local o = parse(arg)
if o.plot then -- checked now rather than after the training it would plot
  local ext = o.plot:match("%.(%w+)$")
  if not (ext and ({ png = true, svg = true, txt = true })[ext:lower()]) then
    io.stderr:write("char_lstm: --plot needs a path ending .png, .svg or .txt, got '", o.plot, "'\n")
    os.exit(2)
  end
  local ok, err = pcall(recur.plot.executable)
  if not ok then
    io.stderr:write("char_lstm: --plot: ", tostring(err), "\n")
    os.exit(1)
  end
end
if o.threads then recur.threads(o.threads) end
recur.manual_seed(o.seed)

-- --- data ------------------------------------------------------------------------------
local text
if o.text then
  text = recur.datasets.text_file(o.text)
else
  local ok, res = pcall(recur.datasets.moby_dick)
  if not ok then
    io.stderr:write("char_lstm: could not get Moby Dick: ", tostring(res),
      "\nPass --text PATH to train on any local text file instead.\n")
    os.exit(1)
  end
  text = res
end
local chars = data.chars(text)
if o.max_chars and #chars > o.max_chars then chars = table.move(chars, 1, o.max_chars, 1, {}) end

local checkpoint = o.resume and recur.load_checkpoint(o.resume)
local vocab = checkpoint and data.Vocab.from_state(checkpoint.vocab) or data.Vocab.build(chars)
local ids = vocab:encode(chars)
local n_val = math.max(o.bptt * 2 + 1, #chars // 20)        -- last 5 % for validation
local train_ids = ids:narrow(1, 1, ids:size(1) - n_val)
local val_ids = ids:narrow(1, ids:size(1) - n_val + 1, n_val)
local stream = data.StreamBatcher(train_ids, { batch_size = o.batch, bptt = o.bptt })
print(string.format("corpus: %d characters, vocabulary %d, %d windows of %dx%d per epoch",
  #chars, #vocab, #stream, o.bptt, o.batch))

-- --- model -----------------------------------------------------------------------------
local CharLSTM = nn.Module:extend("CharLSTM")
function CharLSTM:init(cfg)
  self.embed = nn.Embedding(cfg.vocab, cfg.embed)
  self.lstm = nn.LSTM(cfg.embed, cfg.hidden, { num_layers = cfg.layers, dropout = cfg.dropout })
  self.head = nn.Linear(cfg.hidden, cfg.vocab)
end
-- ids (T,B) -> logits (T,B,V), new state
function CharLSTM:forward(ids, state)
  local out, h, c = self.lstm(self.embed(ids), state)
  return self.head(out), { h, c }
end

local cfg = checkpoint and checkpoint.config or { vocab = #vocab, embed = o.embed, hidden = o.hidden,
                                                  layers = o.layers, dropout = o.dropout }
local model = CharLSTM(cfg)
local opt = optim.Adam(model:parameters(), { lr = o.lr })
local step0 = 0
if checkpoint then
  recur.load_checkpoint(o.resume, { model = model, optimizer = opt, rng = true })
  step0 = checkpoint.step or 0
  print(string.format("resumed from %s at step %d", o.resume, step0))
end
print(model)

local function detach(state) return { state[1]:detach(), state[2]:detach() } end

-- Mean cross-entropy (nats per character) of the model on ids, streamed in windows.
local function evaluate(eval_ids)
  model:eval()
  local s = data.StreamBatcher(eval_ids, { batch_size = 1, bptt = o.bptt })
  local total, count, state = 0, 0, nil
  recur.no_grad(function()
    for x, y in s:iter() do
      local logits
      logits, state = model(x, state)
      local n = y:numel()
      total = total + nn.functional.cross_entropy(logits:view(n, -1), y:view(n)):item() * n
      count = count + n
    end
  end)
  model:train()
  return total / count
end

-- --- training --------------------------------------------------------------------------
local bar = recur.progress.new(o.steps, { desc = "train", unit = "win" })
local state, window, t0 = nil, 0, recur.now()
local loss_value
-- --plot: the loss at every step, and validation loss every val_every steps and at the end;
-- the time spent on validation is left out of the reported speed.
local curve = { train = { x = {}, y = {} }, validation = { x = {}, y = {} } }
local val_every, val_seconds = math.max(1, o.steps // 10), 0
for step = 1, o.steps do
  window = window % #stream + 1
  if window == 1 then state = nil end                 -- a new pass over the streams
  local x, y = stream:window(window)
  opt:zero_grad()
  local logits
  logits, state = model(x, state)
  state = detach(state)                               -- truncated BPTT: the graph stops here
  local n = y:numel()
  local loss = nn.functional.cross_entropy(logits:view(n, -1), y:view(n))
  loss:backward()
  nn.clip_grad_norm(model:parameters(), 5.0)
  opt:step()
  loss_value = loss:item()
  bar:update(1, { loss = string.format("%.3f", loss_value) })
  if o.plot then
    local t = curve.train
    t.x[#t.x + 1], t.y[#t.y + 1] = step0 + step, loss_value
    if step % val_every == 0 and step < o.steps then
      local v, e0 = curve.validation, recur.now()
      v.x[#v.x + 1], v.y[#v.y + 1] = step0 + step, evaluate(val_ids)
      val_seconds = val_seconds + recur.now() - e0
    end
  end
end
bar:finish()
local seconds = recur.now() - t0 - val_seconds
local val = evaluate(val_ids)
print(string.format("%d windows in %.1f s (%.0f chars/s); train loss %.3f, validation %.3f nats = %.3f bits/char",
  o.steps, seconds, o.steps * o.batch * o.bptt / seconds, loss_value, val, val / math.log(2)))

if o.checkpoint then
  recur.save_checkpoint(o.checkpoint, { model = model, optimizer = opt, step = step0 + o.steps,
                                        vocab = vocab:state(), config = cfg, rng = true })
  print("checkpoint written to " .. o.checkpoint .. " (continue with --resume " .. o.checkpoint .. ")")
end

-- --- sampling --------------------------------------------------------------------------
model:eval()
local out = { o.prime }
recur.no_grad(function()
  local prime = vocab:encode(data.chars(o.prime))
  local logits, st = model(prime:view(-1, 1), nil)
  local last = logits[-1][1]                          -- (V): after the last primed character
  for _ = 1, o.sample do
    local probs = (last / o.temperature):softmax(-1)
    local id = recur.multinomial(probs, 1, true)[1]:item() - 1   -- 1-based category -> id
    out[#out + 1] = vocab:decode({ id })
    logits, st = model(recur.tensor({ { id } }, { dtype = "int64" }), st)
    last = logits[1][1]
  end
end)
print("\n--- sample (temperature " .. o.temperature .. ") ---\n" .. table.concat(out) .. "\n")

if o.plot then
  local v = curve.validation
  v.x[#v.x + 1], v.y[#v.y + 1] = step0 + o.steps, val
  recur.plot.line(curve, { title = "char_lstm: cross-entropy loss", xlabel = "step (window)",
                           ylabel = "nats per character", output = o.plot })
  print("loss plot written to " .. o.plot)
end
