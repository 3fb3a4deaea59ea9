-- tests/checkpoint_spec.lua — recur.save / recur.load (safetensors) and training checkpoints:
-- round trips, the bytes on disk, broken files refused, kill -9 mid-save, exact resumes, torch files.
local recur = require "recur"
local nn = require "recur.nn"
local optim = require "recur.optim"

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -m 700 " .. quote(dir)))
local function path(name) return dir .. "/" .. name end

teardown(function() os.execute("rm -rf " .. quote(dir)) end)

local function read_file(p)
  local f = assert(io.open(p, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function write_file(p, bytes)
  local f = assert(io.open(p, "wb"))
  f:write(bytes)
  f:close()
end

-- A safetensors file by hand: 8-byte little-endian header length, header, data.
local function raw(header, data, length)
  return string.pack("<I8", length or #header) .. header .. (data or "")
end

local function error_of(fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "expected an error")
  return tostring(err)
end

local function files_matching(prefix)
  local found = {}
  local p = io.popen("ls -a " .. quote(dir))
  for name in p:lines() do
    if name:sub(1, #prefix) == prefix then found[#found + 1] = name end
  end
  p:close()
  return found
end

-- Plain values of a state table (tensor -> nested table), for exact comparisons.
local function values_of(sd)
  local out = {}
  for k, v in pairs(sd) do out[k] = recur.is_tensor(v) and v:totable() or v end
  return out
end

describe("recur.save and recur.load", function()
  it("round trip float32 and int64 tensors from 0-d to 8-d with their values", function()
    local p = path("ranks.safetensors")
    local tensors = {
      scalar = recur.tensor(2.5),
      vector = recur.tensor{ 1, -2, 3.25 },
      matrix = recur.tensor{ { 1, 2 }, { 3, 4 }, { 5, 6 } },
      eight = recur.ones(1, 2, 1, 2, 1, 2, 1, 2),
      ids = recur.tensor({ math.maxinteger, math.mininteger, (1 << 53) + 1 }, { dtype = "int64" }),
      id = recur.tensor(-7, { dtype = "int64" }),
    }
    recur.save(p, tensors)
    local back = recur.load(p)
    assert.are.same({ "eight", "id", "ids", "matrix", "scalar", "vector" },
      (function() local k = {} for n in pairs(back) do k[#k + 1] = n end table.sort(k) return k end)())
    assert.are.equal(2.5, back.scalar:item())
    assert.are.same({}, back.scalar:size())
    assert.are.same({ 1, -2, 3.25 }, back.vector:totable())
    assert.are.same({ { 1, 2 }, { 3, 4 }, { 5, 6 } }, back.matrix:totable())
    assert.are.same({ 1, 2, 1, 2, 1, 2, 1, 2 }, back.eight:size())
    assert.are.equal(16, back.eight:sum():item())
    assert.are.equal("int64", back.ids:dtype())
    assert.are.same({ math.maxinteger, math.mininteger, 9007199254740993 }, back.ids:totable())
    assert.are.equal(-7, back.id:item())
  end)

  it("round trip empty tensors of shapes (0), (0,3) and (3,0,2)", function()
    local p = path("empty.safetensors")
    recur.save(p, { a = recur.zeros(0), b = recur.zeros(0, 3),
                    c = recur.zeros({ 3, 0, 2 }, { dtype = "int64" }) })
    local back = recur.load(p)
    assert.are.same({ 0 }, back.a:size())
    assert.are.same({ 0, 3 }, back.b:size())
    assert.are.same({ 3, 0, 2 }, back.c:size())
    assert.are.equal("int64", back.c:dtype())
  end)

  it("round trip 2^20 elements of each dtype exactly", function()
    local p = path("large.safetensors")
    local n = 1 << 20
    local f = recur.arange(n):float() / 7 -- values that use every mantissa bit
    local i = recur.arange(n) - 500000
    recur.save(p, { f = f, i = i })
    local back = recur.load(p)
    assert.are.equal(n, back.f:eq(f):sum():item())
    assert.are.equal(n, back.i:eq(i):sum():item())
    assert.are.equal(-500000, back.i[1]:item())
    assert.are.equal(n - 1 - 500000, back.i[n]:item())
    assert.are.equal(8 + n * 4 + n * 8, #read_file(p) - select(1, string.unpack("<I8", read_file(p))))
  end)

  it("saves views (transposed, narrowed, expanded) in row-major order", function()
    local p = path("views.safetensors")
    local m = recur.tensor{ { 1, 2, 3 }, { 4, 5, 6 } }
    recur.save(p, { t = m:transpose(1, 2), n = m:narrow(2, 2, 2), e = recur.tensor{ 7, 8 }:expand(2, 2) })
    local back = recur.load(p)
    assert.are.same({ { 1, 4 }, { 2, 5 }, { 3, 6 } }, back.t:totable())
    assert.are.same({ { 2, 3 }, { 5, 6 } }, back.n:totable())
    assert.are.same({ { 7, 8 }, { 7, 8 } }, back.e:totable())
    assert.is_true(back.t:is_contiguous())
  end)

  it("round trip string metadata, and give an empty table when there is none", function()
    local p = path("meta.safetensors")
    recur.save(p, { x = recur.zeros(1) }, { note = "héllo \"quoted\"\n", empty = "" })
    local _, meta = recur.load(p)
    assert.are.same({ note = "héllo \"quoted\"\n", empty = "" }, meta)
    recur.save(p, { x = recur.zeros(1) })
    local _, none = recur.load(p)
    assert.are.same({}, none)
  end)

  it("writes the 8-byte length, the JSON header padded with spaces to 8 bytes, then the data", function()
    local p = path("bytes.safetensors")
    recur.save(p, { a = recur.tensor{ 1, -2 } })
    local json = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' -- 54 bytes
    assert.are.equal(string.pack("<I8", 56) .. json .. "  " .. string.pack("<ff", 1, -2), read_file(p))
  end)

  it("puts int64 tensors before float32 ones, each group by name, so each starts aligned", function()
    local p = path("order.safetensors")
    recur.save(p, { b = recur.zeros(1), a = recur.zeros(3), z = recur.zeros({ 1 }, { dtype = "int64" }) })
    local bytes = read_file(p)
    local header = bytes:sub(9, 8 + string.unpack("<I8", bytes))
    assert.are.equal('{"z":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},'
      .. '"a":{"dtype":"F32","shape":[3],"data_offsets":[8,20]},'
      .. '"b":{"dtype":"F32","shape":[1],"data_offsets":[20,24]}}', (header:gsub(" +$", "")))
  end)

  it("refuses names that are not strings, values that are not tensors and non-string metadata", function()
    local p = path("args.safetensors")
    assert.has_error(function() recur.save(p, { recur.zeros(1) }) end,
      "recur.save: tensor names must be strings, got the number key 1")
    assert.has_error(function() recur.save(p, { w = 3 }) end, "recur.save: 'w' must be a tensor, got number")
    assert.has_error(function() recur.save(p, { w = recur.zeros(1) }, { step = 3 }) end,
      "recur.save: metadata must map strings to strings, got string -> number")
    assert.has_error(function() recur.save(p, { __metadata__ = recur.zeros(1) }) end,
      "recur.save: '" .. p .. "': '__metadata__' cannot name a tensor (the format reserves it)")
    assert.has_error(function() recur.save(p, { ["caf\xe9"] = recur.zeros(1) }) end,
      "recur.save: '" .. p .. "': tensor name 'caf\xe9' is not valid UTF-8 (byte 3)")
    assert.has_error(function() recur.save(p, nn.Linear(2, 2)) end, "recur.save: expected a table of "
      .. "tensors, got a module (save model:state_dict(), or use recur.save_checkpoint)")
    assert.are.same({}, files_matching("args.safetensors"))
  end)

  it("names the path and the OS's reason when the directory does not exist", function()
    local p = path("nowhere/x.safetensors")
    local msg = error_of(recur.save, p, { x = recur.zeros(1) })
    local want = "recur.save: '" .. p .. "': cannot create the temporary file '" .. p .. ".tmp-"
    assert.are.equal(want, msg:sub(1, #want))
    assert.is_truthy(msg:find(": No such file or directory$"))
  end)

  it("replaces an existing file only once the new one is complete", function()
    local p = path("replace.safetensors")
    recur.save(p, { x = recur.tensor{ 1 } })
    recur.save(p, { x = recur.tensor{ 2 }, y = recur.tensor{ 3 } })
    local back = recur.load(p)
    assert.are.same({ 2 }, back.x:totable())
    assert.are.same({ 3 }, back.y:totable())
    assert.are.same({}, files_matching("replace.safetensors.tmp-"))
  end)

  it("says when a file does not exist", function()
    local p = path("missing.safetensors")
    assert.has_error(function() recur.load(p) end,
      "recur.load: '" .. p .. "': cannot open: No such file or directory")
  end)
end)

describe("recur.load on broken files", function()
  -- A small valid file: metadata, an int64, a float32 matrix, an empty and a 0-d tensor.
  local function small_file()
    local p = path("small.safetensors")
    recur.save(p, { w = recur.tensor{ { 1, 2, 3 }, { 4, 5, 6 } }, empty = recur.zeros(0), s = recur.tensor(9),
                    ids = recur.tensor({ 0, -1, -2 }, { dtype = "int64" }) }, { note = "small" })
    return read_file(p)
  end

  it("refuses the file cut at every byte length, naming the file", function()
    local bytes = small_file()
    local p = path("cut.safetensors")
    local prefix = "recur.load: '" .. p .. "': "
    local refused = 0
    for len = 0, #bytes - 1 do
      write_file(p, bytes:sub(1, len))
      local ok, err = pcall(recur.load, p)
      if not ok and tostring(err):sub(1, #prefix) == prefix then refused = refused + 1 end
    end
    assert.are.equal(#bytes, refused)
    write_file(p, bytes)
    assert.are.same({ { 1, 2, 3 }, { 4, 5, 6 } }, recur.load(p).w:totable())
  end)

  it("says why for a file too short to hold the header length", function()
    local p = path("short.safetensors")
    write_file(p, "abcde")
    assert.has_error(function() recur.load(p) end, "recur.load: '" .. p
      .. "': file has 5 bytes, fewer than the 8 of the header length (truncated?)")
  end)

  it("says where the header stops being JSON", function()
    local p = path("json.safetensors")
    write_file(p, raw('{"a":{"dtype":"F32",]}}'))
    local msg = error_of(recur.load, p)
    local want = "recur.load: '" .. p .. "': header is not valid JSON (error near byte "
    assert.are.equal(want, msg:sub(1, #want))
    local at = tonumber(msg:match("near byte (%d+) of 23%)$"))
    assert.is_true(at >= 19 and at <= 21, msg) -- the "]" is byte 20 (from 0)
  end)

  it("says why for a header length past the end of the file, or absurdly large", function()
    local p = path("len.safetensors")
    write_file(p, raw("{}", "", 100))
    assert.has_error(function() recur.load(p) end, "recur.load: '" .. p
      .. "': header length 100 runs past the end of the file (2 bytes follow the length; truncated?)")
    write_file(p, raw("{}", "", 1 << 40))
    assert.has_error(function() recur.load(p) end, "recur.load: '" .. p
      .. "': header length 1099511627776 is over the limit of 100000000 bytes (not a safetensors file?)")
  end)

  local F = '{"a":{"dtype":"F32","shape":%s,"data_offsets":%s}}'
  local cases = {
    { "a JSON list", "[1]", "", "header must be a JSON object, got a list" },
    { "a tensor entry that is a string", '{"a":"x"}', "", "tensor 'a' must be an object, got a string" },
    { "an unknown dtype", '{"a":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}', "\0\0",
      "tensor 'a' has dtype 'BF16', which recur does not read (it reads F32 and I64)" },
    { "a missing field", '{"a":{"dtype":"F32","shape":[1]}}', "\0\0\0\0", "tensor 'a' has no data_offsets" },
    { "a shape of text", F:format('"2"', "[0,8]"), ("\0"):rep(8),
      "tensor 'a': shape must be a list of sizes, got a string" },
    { "a negative size", F:format("[-2]", "[0,0]"), "",
      "tensor 'a': size 1 of the shape must be a whole number >= 0, got a negative, fractional or huge number" },
    { "a shape whose size overflows", F:format("[4294967296,4294967296,4294967296]", "[0,4]"), "\0\0\0\0",
      "tensor 'a' has shape (4294967296,4294967296,4294967296), too large to exist" },
    { "shape and byte count that disagree", F:format("[2,3]", "[0,20]"), ("\0"):rep(20),
      "tensor 'a': shape (2,3) of F32 needs 24 bytes but data_offsets [0, 20] hold 20" },
    { "offsets past the data", F:format("[2]", "[0,8]"), "\0\0\0\0",
      "tensor 'a': data_offsets [0, 8] run past the end of the data (4 bytes)" },
    { "offsets that end before they begin", F:format("[0]", "[8,4]"), ("\0"):rep(8),
      "tensor 'a': data_offsets [8, 4] end before they begin" },
    { "overlapping tensors",
      '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}',
      ("\0"):rep(12), "tensors 'a' [0, 8] and 'b' [4, 12] overlap" },
    { "a gap between tensors",
      '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}}',
      ("\0"):rep(16), "4 bytes between tensor 'a' (ends at 4) and tensor 'b' (begins at 8) belong to no tensor" },
    { "bytes after the last tensor", F:format("[1]", "[0,4]"), ("\0"):rep(6),
      "2 bytes after the last tensor 'a' (ends at 4 of 6) belong to no tensor" },
    { "a name twice",
      '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
      ("\0"):rep(8), "tensor 'a' appears twice in the header" },
    { "metadata that is not text", '{"__metadata__":{"step":5}}', "",
      "__metadata__ value of 'step' must be a string, got a number" },
    { "a name with a zero byte", '{"a\\u0000b":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}', "\0\0\0\0",
      "header has a \\u0000 escape (byte 3)" },
    { "a header that is not UTF-8", '{"\xff":{}}', "", "header is not valid UTF-8 (byte 2)" },
  }
  for _, c in ipairs(cases) do
    it("refuses " .. c[1] .. " with a message that says so", function()
      local p = path("hand.safetensors")
      write_file(p, raw(c[2], c[3]))
      assert.has_error(function() recur.load(p) end, "recur.load: '" .. p .. "': " .. c[4])
    end)
  end
end)

describe("the JSON bridge of checkpoints", function()
  local function bits(x)
    if math.type(x) == "integer" then return "i" .. x end
    return "f" .. string.pack("<d", x):gsub(".", function(c) return ("%02x"):format(c:byte()) end)
  end

  it("gives back every number with its Lua type and its exact bits", function()
    local values = { 0, 1, -1, 1 << 53, (1 << 53) + 1, math.maxinteger, math.mininteger, 0.0, -0.0, 1.0,
                     0.1, 1 / 3, 2.0 ^ 53, 1e300, 5e-324, -2.5, math.huge, -math.huge }
    local back = recur._json_decode(recur._json_encode(values))
    assert.are.equal(#values, #back)
    for i, v in ipairs(values) do assert.are.equal(bits(v), bits(back[i])) end
    local nan = recur._json_decode(recur._json_encode(0 / 0))
    assert.is_true(nan ~= nan)
  end)

  it("writes lists as arrays and tables as objects with sorted keys", function()
    assert.are.equal('{"a":[1,2,"x"],"b":true,"c":{},"d":0.5}',
      recur._json_encode({ d = 0.5, c = {}, b = true, a = { 1, 2, "x" } }))
    assert.are.same({ d = 0.5, c = {}, b = true, a = { 1, 2, "x" }, u = "é" },
      recur._json_decode(recur._json_encode({ d = 0.5, c = {}, b = true, a = { 1, 2, "x" }, u = "é" })))
  end)

  it("names where a value JSON cannot hold sits", function()
    assert.has_error(function() recur._json_encode({ a = { f = print } }, "config") end,
      "recur._json_encode: config.a.f is a function, which JSON cannot hold")
    assert.has_error(function() recur._json_encode({ 1, { t = recur.zeros(1) } }) end,
      "recur._json_encode: value[2].t is a tensor, which JSON cannot hold")
    assert.has_error(function() recur._json_encode({ 1, 2, x = 3 }) end,
      "recur._json_encode: value mixes list entries and named fields")
    assert.has_error(function() recur._json_encode({ [0] = 1 }) end,
      "recur._json_encode: value has the key 0 (keys must be strings, or 1..n for a list)")
    assert.has_error(function() recur._json_encode({ [1] = 1, [3] = 3 }) end,
      "recur._json_encode: value is a list with holes (keys must be 1..n without gaps)")
    assert.has_error(function() recur._json_encode({ s = "\xff" }) end,
      "recur._json_encode: value.s is a string that is not valid UTF-8 (JSON holds text only)")
    assert.has_error(function() recur._json_encode({ ["$int"] = "5" }) end,
      "recur._json_encode: value is {$int = <string>}, which the JSON encoding reserves for numbers")
    local loop = {}
    loop.self = loop
    assert.is_truthy(error_of(recur._json_encode, loop)
      :find("is nested more than 100 tables deep (a table that contains itself?)", 1, true))
  end)

  it("refuses text that is not JSON, naming it", function()
    assert.has_error(function() recur._json_decode("{\"a\": [1, 2}", "config") end,
      "recur._json_decode: config is not valid JSON (error near byte 11)") -- the "}"
    assert.has_error(function() recur._json_decode("[1, null]", "config") end,
      "recur._json_decode: config: a list holds null, which a Lua list cannot")
    assert.has_error(function() recur._json_decode("{} {}", "config") end,
      "recur._json_decode: config has text after its JSON value (byte 3)")
  end)
end)

describe("training checkpoints", function()
  local function mlp() return nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.3), nn.Linear(8, 1)) end
  local function mlp_batch()
    local x = recur.randn(16, 4)
    return x, x:matmul(recur.tensor{ { 1 }, { -2 }, { 0.5 }, { 3 } })
  end

  -- Embedding -> 2-layer LSTM with dropout between the layers -> Linear on the last h_n.
  local function lstm_model()
    local M = nn.Module:extend("LSTMRegressor")
    function M:init()
      self.embedding = nn.Embedding(10, 4, { padding_idx = 0 })
      self.lstm = nn.LSTM(4, 6, { num_layers = 2, dropout = 0.3, batch_first = true })
      self.head = nn.Linear(6, 1)
    end
    function M:forward(ids)
      local _, h_n = self.lstm(self.embedding(ids))
      return self.head(h_n[-1])
    end
    return M()
  end
  local function lstm_batch()
    return recur.randint(0, 10, { 8, 5 }), recur.randn(8, 1)
  end
  local has_lstm = pcall(function() return lstm_model()(recur.randint(0, 10, { 2, 3 })) end)

  -- One step on a batch drawn from the seeded generator, as a data loader's shuffle would.
  local function train_step(model, opt, sched, batch)
    local x, y = batch()
    opt:zero_grad()
    local loss = nn.functional.mse_loss(model(x), y)
    loss:backward()
    opt:step()
    sched:step()
  end

  local function fresh_run(seed, make_model)
    recur.manual_seed(seed)
    local model = (make_model or mlp)()
    local opt = optim.Adam(model:parameters(), { lr = 0.01 })
    local sched = optim.lr_scheduler.StepLR(opt, 3, { gamma = 0.5 })
    return model, opt, sched
  end

  -- The weights after 10 steps in one go, and after 5 steps, a checkpoint, fresh objects made
  -- from another seed, the generator moved on, a load (rng restored or not) and 5 more steps.
  local function ten_steps_two_ways(make_model, batch, restore_rng)
    local model, opt, sched = fresh_run(1, make_model)
    for _ = 1, 10 do train_step(model, opt, sched, batch) end
    local p = path("resume.ckpt")
    local m1, o1, s1 = fresh_run(1, make_model)
    for _ = 1, 5 do train_step(m1, o1, s1, batch) end
    recur.save_checkpoint(p, { model = m1, optimizer = o1, scheduler = s1, step = 5, rng = true })
    recur.manual_seed(999) -- a different process, in effect: other weights, another generator state
    recur.randn(100)
    local m2, o2, s2 = fresh_run(42, make_model)
    local ck = recur.load_checkpoint(p, { model = m2, optimizer = o2, scheduler = s2, rng = restore_rng })
    for _ = ck.step + 1, 10 do train_step(m2, o2, s2, batch) end
    assert.are.equal(opt.param_groups[1].lr, o2.param_groups[1].lr)
    return values_of(model:state_dict()), values_of(m2:state_dict())
  end

  it("resumes an MLP with dropout and Adam bit-exactly: 5 steps + checkpoint + 5 = 10 in one go", function()
    local uninterrupted, resumed = ten_steps_two_ways(mlp, mlp_batch, true)
    assert.are.same(uninterrupted, resumed)
  end)

  it("does not resume exactly when the generator is not restored (the test can fail)", function()
    local uninterrupted, resumed = ten_steps_two_ways(mlp, mlp_batch, false)
    assert.are_not.same(uninterrupted, resumed)
  end)

  ;(has_lstm and it or pending)("resumes a 2-layer LSTM with dropout and Adam bit-exactly", function()
    local uninterrupted, resumed = ten_steps_two_ways(lstm_model, lstm_batch, true)
    assert.are.same(uninterrupted, resumed)
    assert.is_truthy(resumed["lstm.weight_hh_l1"])
  end)

  local Vocab = {}
  Vocab.__index = Vocab
  function Vocab:state() return { tokens = self.tokens, unk = self.unk } end

  it("saves and loads every part: model, optimizer, scheduler, step, epoch, vocab, config, rng", function()
    local p = path("all.ckpt")
    local model, opt, sched = fresh_run(5)
    for _ = 1, 2 do train_step(model, opt, sched, mlp_batch) end
    local vocab = setmetatable({ tokens = { "<pad>", "<unk>", "the", "whale" }, unk = 2 }, Vocab)
    local config = { hidden = 8, dropout = 0.3, layers = { 4, 8, 1 }, name = "mlp", tied = false }
    local rng = recur.get_rng_state()
    recur.save_checkpoint(p, { model = model, optimizer = opt, scheduler = sched, step = 2, epoch = 1,
                               vocab = vocab, config = config, rng = true })
    local ck = recur.load_checkpoint(p)
    assert.are.equal(1, ck.version)
    assert.are.equal(2, ck.step)
    assert.are.equal(1, ck.epoch)
    assert.are.same({ tokens = { "<pad>", "<unk>", "the", "whale" }, unk = 2 }, ck.vocab)
    assert.are.same(config, ck.config)
    assert.are.same(rng, ck.rng)
    assert.are.same(values_of(model:state_dict()), values_of(ck.model))
    local sd = opt:state_dict()
    assert.are.same(sd.param_groups, ck.optimizer.param_groups)
    for i = 1, 4 do
      assert.are.same(values_of(sd.state[i]), values_of(ck.optimizer.state[i]))
      assert.are.equal(2, ck.optimizer.state[i].step)
    end
    assert.are.same(sched:state_dict(), ck.scheduler)
  end)

  local has_data, data = pcall(require, "recur.data")
  ;(has_data and type(data) == "table" and data.Vocab and it or pending)(
    "stores a data.Vocab that Vocab.from_state rebuilds", function()
    local vocab = data.Vocab.build({ "the", "whale", "the", "sea" }, { specials = { "<eos>" } })
    local p = path("vocab.ckpt")
    recur.save_checkpoint(p, { vocab = vocab })
    local back = data.Vocab.from_state(recur.load_checkpoint(p).vocab)
    assert.are.same(vocab:tokens(), back:tokens())
    assert.are.same({ "<pad>", "<unk>", "<eos>", "the", "sea", "whale" }, back:tokens())
  end)

  it("keeps the metadata readable as JSON strings next to the model's PyTorch names", function()
    local p = path("meta.ckpt")
    local model = mlp()
    recur.save_checkpoint(p, { model = model, step = 12, config = { lr = 0.001 } })
    local tensors, meta = recur.load(p)
    assert.are.same({ recur_checkpoint_version = "1", model = '["0.bias","0.weight","2.bias","2.weight"]',
                      step = "12", config = '{"lr":0.001}' }, meta)
    assert.is_true(recur.is_tensor(tensors["model.0.weight"]))
  end)

  it("keeps a ReduceLROnPlateau's infinite best and an AdamW's amsgrad state", function()
    local p = path("plateau.ckpt")
    local model = mlp()
    local opt = optim.AdamW(model:parameters(), { lr = 0.01, amsgrad = true })
    local sched = optim.lr_scheduler.ReduceLROnPlateau(opt, { patience = 2 })
    recur.save_checkpoint(p, { optimizer = opt, scheduler = sched })
    local ck = recur.load_checkpoint(p)
    assert.are.equal(math.huge, ck.scheduler.best)
    assert.are.same(sched:state_dict(), ck.scheduler)
    assert.are.same({}, ck.optimizer.state)
    assert.is_false(ck.optimizer.param_groups[1].amsgrad == nil)
  end)

  it("refuses a checkpoint written by a newer recur", function()
    local p = path("future.ckpt")
    recur.save(p, {}, { recur_checkpoint_version = "2" })
    assert.has_error(function() recur.load_checkpoint(p) end, "recur.load_checkpoint: '" .. p
      .. "' has checkpoint version 2, newer than this recur reads (1): update recur")
    recur.save(p, {}, { recur_checkpoint_version = "1.5" })
    assert.has_error(function() recur.load_checkpoint(p) end, "recur.load_checkpoint: '" .. p
      .. "' has checkpoint version '1.5', expected a whole number")
  end)

  it("refuses a plain tensor file, pointing to recur.load", function()
    local p = path("plain.safetensors")
    recur.save(p, { w = recur.zeros(1) })
    assert.has_error(function() recur.load_checkpoint(p) end, "recur.load_checkpoint: '" .. p
      .. "' is not a recur checkpoint (no recur_checkpoint_version in its metadata; recur.load reads plain tensor files)")
  end)

  it("refuses a checkpoint whose tensors and model list disagree", function()
    local p = path("disagree.ckpt")
    recur.save(p, {}, { recur_checkpoint_version = "1", model = '["weight"]' })
    assert.has_error(function() recur.load_checkpoint(p) end, "recur.load_checkpoint: '" .. p
      .. "': the model lists 'weight' but the file has no tensor 'model.weight'")
    recur.save(p, { stray = recur.zeros(1) }, { recur_checkpoint_version = "1" })
    assert.has_error(function() recur.load_checkpoint(p) end, "recur.load_checkpoint: '" .. p
      .. "' has a tensor 'stray' that belongs to no part of a checkpoint")
    recur.save(p, {}, { recur_checkpoint_version = "1", config = "{oops" })
    local msg = error_of(recur.load_checkpoint, p)
    local want = "recur.load_checkpoint: '" .. p .. "': metadata 'config' is not valid JSON (error near byte "
    assert.are.equal(want, msg:sub(1, #want))
  end)

  it("refuses an optimizer of another class before loading anything", function()
    local p = path("class.ckpt")
    local model = mlp()
    recur.save_checkpoint(p, { model = model, optimizer = optim.Adam(model:parameters()) })
    local other = mlp()
    local before = values_of(other:state_dict())
    assert.has_error(function()
      recur.load_checkpoint(p, { model = other, optimizer = optim.SGD(other:parameters(), { lr = 0.1 }) })
    end, "recur.load_checkpoint: '" .. p .. "': its optimizer is Adam, but the one given is SGD")
    assert.are.same(before, values_of(other:state_dict()))
  end)

  it("names the part and the field that JSON cannot hold, and unknown parts", function()
    local p = path("bad.ckpt")
    assert.has_error(function() recur.save_checkpoint(p, { config = { act = print } }) end,
      "recur.save_checkpoint: config.act is a function, which JSON cannot hold")
    assert.has_error(function() recur.save_checkpoint(p, { modle = mlp() }) end,
      "recur.save_checkpoint: unknown option 'modle' (expected config, epoch, model, optimizer, rng, "
      .. "scheduler, step or vocab)")
    assert.has_error(function() recur.load_checkpoint(p) end,
      "recur.load: '" .. p .. "': cannot open: No such file or directory")
  end)
end)

describe("a save killed with kill -9", function()
  it("leaves the old or the new file complete, and at most the killed save's temp file", function()
    local target = path("killed.safetensors")
    local child = path("saver.lua")
    -- saves 4 MB files in a loop, each filled with its iteration number
    write_file(child, [[
      local recur = require "recur"
      local x, i = recur.zeros(1 << 20), 0
      while true do
        i = i + 1
        recur.save(arg[1], { x = x:fill_(i) }, { i = tostring(i) })
      end
    ]])
    local exe = os.getenv("RECUR_EXE") or "lua5.4"
    -- at least 3 rounds, and more (up to 15) until one kill has landed inside a save (about
    -- half do: the rest hit the fill or the directory fsync)
    local temps_seen, round = 0, 0
    while round < 3 or (temps_seen == 0 and round < 15) do
      round = round + 1
      local sh = io.popen("sh -c " .. quote(quote(exe) .. " " .. quote(child) .. " " .. quote(target)
        .. " >/dev/null 2>&1 & echo $!; wait"))
      local pid = assert(tonumber(sh:read("l")))
      for _ = 1, 500 do -- until the child has saved once (the parent's saves have i < 0)
        local ok, _, meta = pcall(recur.load, target) -- checked below, once the child is gone
        if ok and tonumber(meta.i) > 0 then break end
        os.execute("sleep 0.02")
      end
      os.execute(string.format("sleep 0.%02d; kill -9 %d", 5 + 3 * round, pid))
      sh:close() -- the shell has reaped the child
      local tensors, meta = recur.load(target)
      local i = assert(tonumber(meta.i))
      assert.are.equal(i, tensors.x:min():item())
      assert.are.equal(i, tensors.x:max():item())
      assert.are.same({ 1 << 20 }, tensors.x:size())
      local temps = files_matching("killed.safetensors.tmp-")
      assert.is_true(#temps <= 1, table.concat(temps, " "))
      if #temps == 1 then
        assert.is_truthy(temps[1]:match("^killed%.safetensors%.tmp%-" .. pid .. "%-%d+$"))
        temps_seen = temps_seen + 1
      end
      -- the next save removes the temp file of the ended process
      recur.save(target, { x = recur.full({ 1 << 20 }, -round) }, { i = tostring(-round) })
      assert.are.same({}, files_matching("killed.safetensors.tmp-"))
    end
    assert.is_true(temps_seen >= 1) -- so the test did kill a save in the middle
  end)
end)

describe("files from PyTorch", function()
  local golden = (os.getenv("RECUR_SOURCE_DIR") or ".") .. "/tests/golden/torch_linear_embedding.safetensors"

  it("loads what torch_to_recur.py wrote from an nn.Linear and an nn.Embedding", function()
    local t, meta = recur.load(golden)
    -- the formulas of tests/golden/gen_checkpoint.py
    local w = {}
    for i = 0, 1 do w[i + 1] = {} for j = 0, 2 do w[i + 1][j + 1] = (3 * i + j) / 4 - 1 end end
    local e = {}
    for i = 0, 3 do e[i + 1] = {} for j = 0, 2 do e[i + 1][j + 1] = i + j / 4 end end
    assert.are.same(w, t["linear.weight"]:totable())
    assert.are.same({ 0.5, -1.5 }, t["linear.bias"]:totable())
    assert.are.same(e, t["embedding.weight"]:totable())
    assert.are.equal("int64", t.counter:dtype())
    assert.are.same({ 3, -7, (1 << 40) + 1 }, t.counter:totable())
    assert.are.equal("torch 1.13", meta.source:sub(1, 10))
  end)

  it("fits a recur model of the same layers with load_state_dict (PyTorch's names)", function()
    local t = recur.load(golden)
    t.counter = nil
    local M = nn.Module:extend("M")
    function M:init()
      self.embedding = nn.Embedding(4, 3, { padding_idx = 0 })
      self.linear = nn.Linear(3, 2)
    end
    local m = M()
    m:load_state_dict(t)
    local out = m.linear(m.embedding(recur.tensor({ 2 }, { dtype = "int64" })))
    -- embedding row 2 (0-based) = {2, 2.25, 2.5}; times the weight rows, plus the bias
    assert.are.same({ { -1 * 2 - 0.75 * 2.25 - 0.5 * 2.5 + 0.5, -0.25 * 2 + 0 + 0.25 * 2.5 - 1.5 } },
      out:totable())
  end)
end)
