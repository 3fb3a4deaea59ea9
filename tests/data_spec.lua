-- tests/data_spec.lua — recur.data: tokenizers (UTF-8), vocabularies, padded/shuffled/bucketed
-- batches, splits, the TBPTT stream batcher, time-series windows and scaling, CSV reading.
local recur = require "recur"
local data = require "recur.data"

local function error_of(fn)
  local ok, err = pcall(fn)
  assert(not ok, "expected an error")
  return err
end

local function i64(t) return recur.tensor(t, { dtype = "int64" }) end

local function sorted(list)
  local c = table.move(list, 1, #list, 1, {})
  table.sort(c)
  return c
end

local function range(a, b)
  local out = {}
  for i = a, b do out[#out + 1] = i end
  return out
end

local function near_list(got, want, tol)
  assert.are.equal(#want, #got)
  for i = 1, #want do
    assert(math.abs(got[i] - want[i]) <= tol, ("at %d: got %.9g, expected %.9g"):format(i, got[i], want[i]))
  end
end

-- A file holding text, removed after the test.
local tmp_files = {}
local function temp_file(text)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  tmp_files[#tmp_files + 1] = path
  return path
end
teardown(function() for _, p in ipairs(tmp_files) do os.remove(p) end end)

describe("data.chars", function()
  it("gives one token per ASCII character", function()
    assert.are.same({ "a", "b", " ", "c" }, data.chars("ab c"))
  end)

  it("keeps a multi-byte UTF-8 character as one token", function()
    -- ñ is 2 bytes, € 3, 😀 4
    assert.are.same({ "a", "ñ", "€", "😀" }, data.chars("añ€😀"))
  end)

  it("reports an invalid byte with its position", function()
    assert.has_error(function() data.chars("ab\xFFc") end,
      "data.chars: invalid UTF-8 at byte 3 (byte 0xFF); use {invalid = 'replace'} to replace bad bytes with U+FFFD")
  end)

  it("reports a truncated multi-byte character at its first byte", function()
    assert.has_error(function() data.chars("é\xC3") end,
      "data.chars: invalid UTF-8 at byte 3 (byte 0xC3); use {invalid = 'replace'} to replace bad bytes with U+FFFD")
  end)

  it("replaces each invalid byte with U+FFFD when asked", function()
    assert.are.same({ "a", "\u{FFFD}", "\u{FFFD}", "b" }, data.chars("a\xFF\xFEb", { invalid = "replace" }))
  end)

  it("refuses what is not a string and unknown options", function()
    assert.has_error(function() data.chars(5) end, "data.chars: expected a string, got number")
    assert.has_error(function() data.chars("x", { utf8 = true }) end,
      "data.chars: unknown option 'utf8' (expected invalid)")
    assert.has_error(function() data.chars("x", { invalid = "skip" }) end,
      "data.chars: option invalid must be 'error' or 'replace', got skip")
  end)
end)

describe("data.words", function()
  it("splits on spaces and punctuation, keeping apostrophes inside words", function()
    assert.are.same({ "Hello", "world", "It's", "42" }, data.words("Hello, world!  It's 42."))
  end)

  it("keeps punctuation as one-character tokens when asked", function()
    assert.are.same({ "Hello", ",", "world", "!", "It's", "42", "." },
      data.words("Hello, world!  It's 42.", { keep_punctuation = true }))
  end)

  it("treats Unicode dashes and quotes as separators and ’ as an apostrophe", function()
    assert.are.same({ "ago", "never", "quoted", "whale’s" }, data.words("ago—never “quoted” whale’s"))
    assert.are.same({ "ago", "—", "never", "“", "quoted", "”" },
      data.words("ago—never “quoted”", { keep_punctuation = true }))
  end)

  it("drops apostrophes that do not stand between two word characters", function()
    assert.are.same({ "tis", "the", "whales", "boats" }, data.words("'tis the whales' boats"))
  end)

  it("lowercases ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic letters", function()
    assert.are.same({ "ünïcode", "été", "straße", "łódź", "σοφία", "москва" },
      data.words("ÜNÏCODE Été Straße ŁÓDŹ ΣΟΦΊΑ МОСКВА", { lower = true }))
  end)

  it("keeps letters of other scripts inside words", function()
    assert.are.same({ "日本語", "text" }, data.words("日本語、text"))
  end)

  it("names unknown options", function()
    assert.has_error(function() data.words("x", { lowercase = true }) end,
      "data.words: unknown option 'lowercase' (expected invalid, keep_punctuation or lower)")
  end)
end)

describe("data.Vocab", function()
  local tokens = { "b", "a", "b", "c", "b", "a" } -- b 3, a 2, c 1

  it("gives 0 to <pad>, 1 to <unk>, then tokens most frequent first", function()
    local v = data.Vocab.build(tokens)
    assert.are.same({ "<pad>", "<unk>", "b", "a", "c" }, v:tokens())
    assert.are.equal(5, #v)
    assert.are.equal(2, v:id("b"))
    assert.are.equal(4, v:id("c"))
    assert.are.equal("a", v:token(3))
  end)

  it("breaks ties in byte order of the tokens", function()
    local v = data.Vocab.build({ "z", "y", "x", "y", "z" })
    assert.are.same({ "<pad>", "<unk>", "y", "z", "x" }, v:tokens())
  end)

  it("builds from a table of counts and from a list of token lists", function()
    assert.are.same({ "<pad>", "<unk>", "cat", "dog", "emu" },
      data.Vocab.build({ dog = 3, cat = 3, emu = 1 }):tokens())
    assert.are.same({ "<pad>", "<unk>", "b", "a" }, data.Vocab.build({ { "a", "b" }, { "b" } }):tokens())
  end)

  it("puts special tokens right after <unk>", function()
    local v = data.Vocab.build(tokens, { specials = { "<bos>", "<eos>" } })
    assert.are.same({ "<pad>", "<unk>", "<bos>", "<eos>", "b", "a", "c" }, v:tokens())
  end)

  it("caps the size, counting <pad> and <unk>, and drops rare tokens", function()
    assert.are.same({ "<pad>", "<unk>", "b", "a" }, data.Vocab.build(tokens, { max_size = 4 }):tokens())
    assert.are.same({ "<pad>", "<unk>", "b", "a" }, data.Vocab.build(tokens, { min_freq = 2 }):tokens())
  end)

  it("encodes tokens into an int64 tensor, unknown tokens as 1", function()
    local v = data.Vocab.build(tokens, { specials = { "<bos>", "<eos>" } })
    local ids = v:encode({ "a", "q", "b" })
    assert.are.equal("int64", ids:dtype())
    assert.are.same({ 5, 1, 4 }, ids:totable())
    assert.are.same({ 2, 5, 3 }, v:encode({ "a" }, { bos = true, eos = true }):totable())
  end)

  it("decodes ids into text, leaving out padding", function()
    local v = data.Vocab.build(tokens)
    assert.are.equal("bac", v:decode(i64({ 2, 3, 4, 0, 0 })))
    assert.are.equal("b a", v:decode({ 2, 3 }, { sep = " " }))
    assert.are.equal("b<pad>", v:decode({ 2, 0 }, { keep_pad = true }))
    assert.are.equal("a b", data.Vocab.build(tokens, { sep = " " }):decode({ 3, 2 }))
  end)

  it("encodes a 1.2 MB text of multi-byte characters, one id per character", function()
    -- (speed, about 0.4 s here, is measured by hand, not asserted: no time limits in tests)
    local text = string.rep("Call me Ishmael—whale’s ñ. ", 45000) -- 1.26 MB
    local chars = data.chars(text)
    local v = data.Vocab.build(chars)
    local ids = v:encode(chars)
    assert.are.equal(27 * 45000, ids:size(1))
    assert.are.equal(text, v:decode(ids))
  end)

  it("comes back the same from its state", function()
    local v = data.Vocab.build(tokens, { specials = { "<bos>" }, sep = " " })
    local state = v:state()
    assert.is_nil(getmetatable(state))
    assert.are.same({ version = 1, tokens = { "<pad>", "<unk>", "<bos>", "b", "a", "c" }, pad = "<pad>",
                      unk = "<unk>", specials = { "<bos>" }, sep = " " }, state)
    local w = data.Vocab.from_state(state)
    assert.are.same(v:tokens(), w:tokens())
    assert.are.same({ 4, 5, 1 }, w:encode({ "a", "c", "?" }):totable())
    assert.are.equal("b a", w:decode({ 3, 4 }))
  end)

  it("refuses bad input with what is wrong", function()
    local v = data.Vocab.build(tokens)
    assert.has_error(function() v:decode({ 9 }) end,
      "data.Vocab:decode: id 9 at position 1 is outside the vocab (0..4)")
    assert.has_error(function() data.Vocab.build(tokens, { max_size = 1 }) end,
      "data.Vocab.build: max_size must be an integer >= 2 (<pad>, <unk> and 0 specials), got 1")
    assert.has_error(function() data.Vocab.build({ "a", 3 }) end,
      "data.Vocab.build: tokens must be strings, got number")
    assert.has_error(function() v:encode({ "a" }, { bos = true }) end,
      "data.Vocab:encode: the vocab has no begin token \"<bos>\" (give it in specials)")
    assert.has_error(function() data.Vocab.from_state({ version = 1, tokens = { "<pad>", "<unk>", "a", "a" } }) end,
      "data.Vocab.from_state: token \"a\" appears twice (ids 2 and 3)")
    assert.has_error(function() data.Vocab.from_state({ version = 2, tokens = {} }) end,
      "data.Vocab.from_state: unsupported vocab state version 2 (expected 1)")
  end)
end)

describe("data.randperm", function()
  it("is a permutation of 1..n", function()
    assert.are.same(range(1, 100), sorted(data.randperm(100)))
    assert.are.same({}, data.randperm(0))
  end)

  it("is the same after the same seed", function()
    recur.manual_seed(7)
    local a = data.randperm(50)
    recur.manual_seed(7)
    assert.are.same(a, data.randperm(50))
    recur.manual_seed(8)
    assert.are_not.same(a, data.randperm(50))
  end)
end)

describe("data.DataLoader", function()
  local seqs = { { 1, 2, 3 }, { 4 }, { 5, 6 } }

  it("pads to the longest sequence in the batch with 0 and gives the lengths", function()
    local loader = data.DataLoader(data.SequenceDataset(seqs, { 1, 0, 1 }), { batch_size = 3 })
    local batch = loader:iter()()
    assert.are.same({ { 1, 2, 3 }, { 4, 0, 0 }, { 5, 6, 0 } }, batch.ids:totable())
    assert.are.equal("int64", batch.ids:dtype())
    assert.are.same({ 3, 1, 2 }, batch.lengths:totable())
    assert.are.equal("int64", batch.lengths:dtype())
    assert.are.same({ 1, 0, 1 }, batch.targets:totable())
    assert.are.same({ 1, 2, 3 }, batch.indices)
  end)

  it("pads the same from 1-D int64 tensors, and gives (T,B) without batch_first", function()
    local ts = { i64({ 1, 2, 3 }), i64({ 4 }), i64({ 5, 6 }) }
    local batch = data.DataLoader(data.SequenceDataset(ts), { batch_size = 3, batch_first = false }):iter()()
    assert.are.same({ { 1, 4, 5 }, { 2, 0, 6 }, { 3, 0, 0 } }, batch.ids:totable())
    assert.is_nil(batch.targets)
  end)

  it("makes float32 targets from non-integer numbers", function()
    local batch = data.DataLoader(data.SequenceDataset(seqs, { 0.5, 1, 0 }), { batch_size = 3 }):iter()()
    assert.are.equal("float32", batch.targets:dtype())
    assert.are.same({ 0.5, 1, 0 }, batch.targets:totable())
  end)

  it("pads sequence targets and gives their lengths", function()
    local ds = data.SequenceDataset(seqs, { { 7, 8 }, { 9 }, { 1, 2, 3, 4 } })
    local batch = data.DataLoader(ds, { batch_size = 2 }):iter()()
    assert.are.same({ { 7, 8 }, { 9, 0 } }, batch.targets:totable())
    assert.are.same({ 2, 1 }, batch.target_lengths:totable())
  end)

  it("counts its batches, with and without drop_last", function()
    local ds = data.SequenceDataset({ { 1 }, { 1 }, { 1 }, { 1 }, { 1 }, { 1 }, { 1 }, { 1 }, { 1 }, { 1 } })
    local keep = data.DataLoader(ds, { batch_size = 4 })
    local drop = data.DataLoader(ds, { batch_size = 4, drop_last = true })
    assert.are.equal(3, #keep)
    assert.are.equal(2, #drop)
    local sizes = {}
    for batch in keep:iter() do sizes[#sizes + 1] = batch.ids:size(1) end
    assert.are.same({ 4, 4, 2 }, sizes)
    sizes = {}
    for batch in drop:iter() do sizes[#sizes + 1] = batch.ids:size(1) end
    assert.are.same({ 4, 4 }, sizes)
  end)

  it("shuffles every example into exactly one batch per epoch", function()
    local list = {}
    for i = 1, 23 do list[i] = { i } end
    local loader = data.DataLoader(data.SequenceDataset(list), { batch_size = 5, shuffle = true })
    local seen = {}
    for batch in loader:iter() do
      for b, i in ipairs(batch.indices) do
        seen[#seen + 1] = i
        assert.are.equal(i, batch.ids[b][1]:item()) -- the ids are those of example i
      end
    end
    assert.are.same(range(1, 23), sorted(seen))
    assert.are_not.same(range(1, 23), seen)
  end)

  it("shuffles the same way after the same seed, and differently each epoch", function()
    local list = {}
    for i = 1, 30 do list[i] = { i } end
    local loader = data.DataLoader(data.SequenceDataset(list), { batch_size = 30, shuffle = true })
    recur.manual_seed(42)
    local first = loader:iter()().indices
    local second = loader:iter()().indices
    recur.manual_seed(42)
    assert.are.same(first, loader:iter()().indices)
    assert.are_not.same(first, second)
  end)

  -- 64 sequences whose lengths 1..50 come in a scrambled order
  local function scrambled()
    local list = {}
    for i = 1, 64 do
      local len = (i * 37) % 50 + 1
      list[i] = range(1, len)
    end
    return list
  end

  local function padding_of(loader)
    local pad, covered = 0, {}
    for batch in loader:iter() do
      local B, T = batch.ids:size(1), batch.ids:size(2)
      local real = 0
      for _, l in ipairs(batch.lengths:totable()) do real = real + l end
      pad = pad + B * T - real
      for _, i in ipairs(batch.indices) do covered[#covered + 1] = i end
    end
    return pad, sorted(covered)
  end

  it("pads less when bucketing by length, and still covers every example once", function()
    local ds = data.SequenceDataset(scrambled())
    local plain_pad = padding_of(data.DataLoader(ds, { batch_size = 8 }))
    local bucket_pad, covered = padding_of(data.DataLoader(ds, { batch_size = 8, bucket = true }))
    -- one pool holds all 64: sorted lengths cut into batches of 8 give the least padding
    local lengths = {}
    for i = 1, 64 do lengths[i] = (i * 37) % 50 + 1 end
    table.sort(lengths)
    local least = 0
    for b = 0, 7 do
      for j = 1, 8 do least = least + lengths[b * 8 + 8] - lengths[b * 8 + j] end
    end
    assert.are.equal(least, bucket_pad)
    assert(bucket_pad < plain_pad / 4, ("bucketed %d, plain %d"):format(bucket_pad, plain_pad))
    assert.are.same(range(1, 64), covered)
  end)

  it("pads less when bucketing with shuffling too", function()
    local ds = data.SequenceDataset(scrambled())
    recur.manual_seed(3)
    local plain_pad = padding_of(data.DataLoader(ds, { batch_size = 8, shuffle = true }))
    recur.manual_seed(3)
    local bucket_pad, covered = padding_of(data.DataLoader(ds, { batch_size = 8, shuffle = true, bucket = 2 }))
    assert(bucket_pad < plain_pad / 2, ("bucketed %d, plain %d"):format(bucket_pad, plain_pad))
    assert.are.same(range(1, 64), covered)
  end)

  it("keeps the rows of a TensorDataset together", function()
    -- row i of x is {i, 2i, 3i}, y[i] = i
    local x = recur.arange(1, 11):view(10, 1) * recur.tensor({ { 1, 2, 3 } })
    local y = recur.arange(1, 11)
    local loader = data.DataLoader(data.TensorDataset(x, y), { batch_size = 4, shuffle = true })
    local n = 0
    for batch in loader:iter() do
      local xb, yb = batch[1], batch[2]
      for r = 1, yb:size(1) do
        local i = yb[r]:item()
        assert.are.same({ i, 2 * i, 3 * i }, xb[r]:totable())
        n = n + 1
      end
    end
    assert.are.equal(10, n)
  end)

  it("refuses bad options and bad examples", function()
    local ds = data.SequenceDataset(seqs)
    assert.has_error(function() data.DataLoader(ds, { batch_size = 0 }) end,
      "data.DataLoader: batch_size must be an integer >= 1, got 0")
    assert.has_error(function() data.DataLoader(ds, { bucket = 0.5 }) end,
      "data.DataLoader: bucket must be false, true or a number of batches >= 1, got 0.5")
    assert.has_error(function() data.DataLoader(ds, { batchsize = 2 }) end,
      "data.DataLoader: unknown option 'batchsize' (expected batch_first, batch_size, bucket, collate, "
      .. "drop_last, pad_targets, padding_value, shuffle, target_dtype or target_padding_value)")
    assert.has_error(function() data.DataLoader({ 1, 2 }):iter()() end,
      "data.collate: example 1 must be a table with ids (and target), got number")
    assert.has_error(function() data.SequenceDataset(seqs, { 1 }) end,
      "data.SequenceDataset: 3 sequences but 1 targets")
    assert.has_error(function() data.SequenceDataset({ { 1 }, "x" }) end,
      "data.SequenceDataset: sequence 2 must be a list of ids or a 1-D tensor, got string")
  end)
end)

describe("data.random_split", function()
  local list = {}
  for i = 1, 10 do list[i] = { ids = { i } } end

  it("splits by fractions into disjoint parts that cover the dataset", function()
    local a, b, c = data.random_split(list, { 0.8, 0.1, 0.1 }, { seed = 5 })
    assert.are.same({ 8, 1, 1 }, { #a, #b, #c })
    local all = {}
    for _, part in ipairs({ a, b, c }) do
      for i = 1, #part do all[#all + 1] = part:get(i).ids[1] end
    end
    assert.are.same(range(1, 10), sorted(all))
  end)

  it("gives the remainder of rounding to the first parts", function()
    local a, b = data.random_split(range(1, 11), { 0.5, 0.5 }, { seed = 1 })
    assert.are.same({ 6, 5 }, { #a, #b })
  end)

  it("takes sizes as well as fractions", function()
    local a, b = data.random_split(list, { 7, 3 }, { seed = 1 })
    assert.are.same({ 7, 3 }, { #a, #b })
  end)

  it("is the same for the same seed and leaves recur's generator alone", function()
    recur.manual_seed(99)
    local before = recur.get_rng_state()
    local a = data.random_split(list, { 0.5, 0.5 }, { seed = 11 })
    local a2 = data.random_split(list, { 0.5, 0.5 }, { seed = 11 })
    assert.are.same(before, recur.get_rng_state())
    assert.are.same(a.indices, a2.indices)
  end)

  it("refuses fractions that do not sum to 1", function()
    assert.has_error(function() data.random_split(list, { 0.8, 0.1 }) end,
      "data.random_split: fractions must sum to 1 (or sizes to 10), got a sum of 0.9")
  end)
end)

describe("data.StreamBatcher", function()
  -- tokens 1..23: token value = its position, so inputs and targets show where they came from
  local ids = recur.arange(1, 24):long()

  it("cuts the tokens into B streams and windows of k steps, targets one step later", function()
    local s = data.StreamBatcher(ids, { batch_size = 2, bptt = 4 })
    assert.are.equal(11, s.stream_length) -- (23 - 1) // 2
    assert.are.equal(0, s.unused)
    assert.are.equal(3, #s) -- windows of 4, 4, 3 steps
    local x, y = s:window(1)
    assert.are.same({ { 1, 12 }, { 2, 13 }, { 3, 14 }, { 4, 15 } }, x:totable())
    assert.are.same({ { 2, 13 }, { 3, 14 }, { 4, 15 }, { 5, 16 } }, y:totable())
    assert.are.equal("int64", x:dtype())
    x, y = s:window(3)
    assert.are.same({ { 9, 20 }, { 10, 21 }, { 11, 22 } }, x:totable())
    assert.are.same({ { 10, 21 }, { 11, 22 }, { 12, 23 } }, y:totable())
  end)

  it("gives (B,k) windows with batch_first and drops the short window with drop_last", function()
    local s = data.StreamBatcher(ids, { batch_size = 2, bptt = 4, batch_first = true, drop_last = true })
    assert.are.equal(2, #s)
    assert.are.same({ { 1, 2, 3, 4 }, { 12, 13, 14, 15 } }, s:window(1):totable())
    local n = 0
    for x in s:iter() do
      n = n + 1
      assert.are.same({ 2, 4 }, x:size())
    end
    assert.are.equal(2, n)
  end)

  it("loses and duplicates no token across windows", function()
    for _, case in ipairs({ { 101, 3, 7 }, { 64, 4, 5 }, { 1000, 7, 13 }, { 50, 1, 49 }, { 9, 4, 1 } }) do
      local n, B, k = case[1], case[2], case[3]
      local s = data.StreamBatcher(recur.arange(1, n + 1):long(), { batch_size = B, bptt = k })
      local L = (n - 1) // B
      local streams = {}
      for b = 1, B do streams[b] = {} end
      for x, y in s:iter() do
        local xs, ys = x:totable(), y:totable()
        for t = 1, #xs do
          for b = 1, B do
            table.insert(streams[b], xs[t][b])
            assert.are.equal(xs[t][b] + 1, ys[t][b]) -- the target is the next token
          end
        end
      end
      local all = {}
      for b = 1, B do
        assert.are.same(range((b - 1) * L + 1, b * L), streams[b]) -- in order, carried across windows
        for _, v in ipairs(streams[b]) do all[#all + 1] = v end
      end
      assert.are.same(range(1, B * L), sorted(all))
      assert.are.equal(n - 1 - B * L, s.unused)
      assert(s.unused < B)
    end
  end)

  it("takes a Lua list of ids", function()
    local s = data.StreamBatcher({ 5, 6, 7, 8, 9 }, { batch_size = 2, bptt = 2 })
    local x, y = s:window(1)
    assert.are.same({ { 5, 7 }, { 6, 8 } }, x:totable())
    assert.are.same({ { 6, 8 }, { 7, 9 } }, y:totable())
  end)

  it("refuses too few tokens and bad sizes", function()
    assert.has_error(function() data.StreamBatcher(recur.arange(1, 4):long(), { batch_size = 4, bptt = 2 }) end,
      "data.StreamBatcher: 3 tokens are too few for 4 streams (each needs at least 2 tokens: one input, its target)")
    assert.has_error(function() data.StreamBatcher(ids, { batch_size = 2, bptt = 0 }) end,
      "data.StreamBatcher: bptt must be an integer >= 1, got 0")
    assert.has_error(function() data.StreamBatcher(recur.zeros(2, 3), { batch_size = 1, bptt = 1 }) end,
      "data.StreamBatcher: expected a 1-D tensor of token ids, got 2 dims")
    assert.has_error(function() data.StreamBatcher(ids, { batch_size = 2, bptt = 4 }):window(4) end,
      "data.StreamBatcher:window: window 4 out of range (expected 1..3)")
  end)
end)

describe("data.sliding_windows", function()
  it("cuts a (T) series into inputs and the horizon after them", function()
    local x = recur.arange(1, 11) -- 1..10
    local inputs, targets = data.sliding_windows(x, { input_length = 3, horizon = 2, stride = 2 })
    -- N = (10 - 3 - 2) // 2 + 1 = 3
    assert.are.same({ { 1, 2, 3 }, { 3, 4, 5 }, { 5, 6, 7 } }, inputs:totable())
    assert.are.same({ { 4, 5 }, { 6, 7 }, { 8, 9 } }, targets:totable())
  end)

  it("keeps the features of a (T,F) series and can predict some of them", function()
    -- step t is {t, 10 t}
    local x = recur.arange(1, 6):view(5, 1) * recur.tensor({ { 1, 10 } })
    local inputs, targets = data.sliding_windows(x, { input_length = 2 })
    assert.are.same({ 3, 2, 2 }, inputs:size())
    assert.are.same({ { 1, 10 }, { 2, 20 } }, inputs[1]:totable())
    assert.are.same({ { { 3, 30 } }, { { 4, 40 } }, { { 5, 50 } } }, targets:totable())
    local _, only = data.sliding_windows(x, { input_length = 2, target_features = { 2 } })
    assert.are.same({ { { 30 } }, { { 40 } }, { { 50 } } }, only:totable())
  end)

  it("refuses a series shorter than one window", function()
    assert.has_error(function() data.sliding_windows(recur.arange(1, 4), { input_length = 3, horizon = 1 }) end,
      "data.sliding_windows: a series of 3 steps is shorter than one window (input_length 3 + horizon 1)")
    assert.has_error(function() data.sliding_windows(recur.arange(1, 4), { horizon = 1 }) end,
      "data.sliding_windows: input_length must be an integer >= 1, got nil")
  end)
end)

describe("data.split_series and data.StandardScaler", function()
  it("splits a series in time order", function()
    local a, b, c = data.split_series(recur.arange(1, 11), { 0.6, 0.2, 0.2 })
    assert.are.same({ 1, 2, 3, 4, 5, 6 }, a:totable())
    assert.are.same({ 7, 8 }, b:totable())
    assert.are.same({ 9, 10 }, c:totable())
  end)

  it("fits on the train part only and applies that to the rest", function()
    local train, test = recur.tensor({ 1, 2, 3, 4 }), recur.tensor({ 5, 2.5 })
    local scaler = data.StandardScaler():fit(train)
    -- mean 2.5, population std sqrt(1.25)
    near_list(scaler.mean, { 2.5 }, 1e-6)
    near_list(scaler.std, { math.sqrt(1.25) }, 1e-6)
    near_list(scaler:transform(test):totable(), { 2.5 / math.sqrt(1.25), 0 }, 1e-5)
    near_list(scaler:transform(train):totable(),
      { -1.5 / math.sqrt(1.25), -0.5 / math.sqrt(1.25), 0.5 / math.sqrt(1.25), 1.5 / math.sqrt(1.25) }, 1e-5)
    near_list(scaler.mean, { 2.5 }, 1e-6) -- transforming did not refit
  end)

  it("scales each feature of a (T,F) series and inverts the scaling", function()
    local x = recur.tensor({ { 1, 10 }, { 3, 10 }, { 5, 10 } })
    local scaler = data.StandardScaler():fit(x)
    near_list(scaler.mean, { 3, 10 }, 1e-6)
    near_list(scaler.std, { math.sqrt(8 / 3), 1 }, 1e-6) -- a constant feature gets std 1
    local z = scaler:transform(x)
    near_list(z:select(2, 2):totable(), { 0, 0, 0 }, 1e-6)
    local back = scaler:inverse_transform(z)
    near_list(back:view(-1):totable(), { 1, 10, 3, 10, 5, 10 }, 1e-5)
  end)

  it("comes back the same from its state", function()
    local scaler = data.StandardScaler():fit(recur.tensor({ { 1, 2 }, { 3, 6 } }))
    local copy = data.StandardScaler.from_state(scaler:state())
    local x = recur.tensor({ { 7, 8 } })
    assert.are.same(scaler:transform(x):totable(), copy:transform(x):totable())
  end)

  it("refuses to transform before fitting or with other features", function()
    assert.has_error(function() data.StandardScaler():transform(recur.tensor({ 1 })) end,
      "data.StandardScaler:transform: the scaler is not fitted (call fit on the train part first)")
    local scaler = data.StandardScaler():fit(recur.zeros(4, 2))
    assert.has_error(function() scaler:transform(recur.zeros(4, 3)) end,
      "data.StandardScaler:transform: fitted on (T,2) but got (T,3)")
  end)
end)

describe("data.read_csv", function()
  it("reads a header and numeric columns", function()
    local path = temp_file("year,volume\n1871,1120\n1872,1160\n1873,963.5\n")
    local frame = data.read_csv(path)
    assert.are.same({ "year", "volume" }, frame.names)
    assert.are.equal(3, frame.rows)
    assert.are.same({ 1871, 1872, 1873 }, frame.columns.year)
    assert.are.same({ 1120, 1160, 963.5 }, frame.columns.volume)
    assert.are.same({ 1120, 1160, 963.5 }, frame:tensor("volume"):totable())
    assert.are.same({ { 1871, 1120 }, { 1872, 1160 }, { 1873, 963.5 } }, frame:tensor():totable())
  end)

  it("reads quoted fields, CRLF line ends and text columns", function()
    local path = temp_file('"YEAR","NAME"\r\n1700,"Smith, ""Jr."""\r\n1701,plain\r\n')
    local frame = data.read_csv(path, { text_columns = { "NAME" } })
    assert.are.same({ "YEAR", "NAME" }, frame.names)
    assert.are.same({ 'Smith, "Jr."', "plain" }, frame.columns.NAME)
    assert.are.same({ 1700, 1701 }, frame:tensor():totable())
  end)

  local with_gaps = "date,co2\n1,316.1\n2,\n3,NA\n4,317.5\n"

  it("reports a missing value with its line and column", function()
    local path = temp_file(with_gaps)
    assert.has_error(function() data.read_csv(path) end,
      "data.read_csv: missing value at " .. path .. " line 3, column 2 ('co2'); use {missing = 'fill'}, 'ffill' or 'drop'")
  end)

  it("fills missing values with a value, the value above, or drops their rows", function()
    local path = temp_file(with_gaps)
    assert.are.same({ 316.1, -1, -1, 317.5 }, data.read_csv(path, { missing = "fill", fill_value = -1 }).columns.co2)
    assert.are.same({ 316.1, 316.1, 316.1, 317.5 }, data.read_csv(path, { missing = "ffill" }).columns.co2)
    local dropped = data.read_csv(path, { missing = "drop" })
    assert.are.equal(2, dropped.rows)
    assert.are.same({ 1, 4 }, dropped.columns.date)
    local nan = data.read_csv(path, { missing = "fill" }).columns.co2[2]
    assert(nan ~= nan, "the default fill value is NaN")
  end)

  it("cannot carry forward into the first row", function()
    local path = temp_file("a,b\n1,\n2,3\n")
    assert.has_error(function() data.read_csv(path, { missing = "ffill" }) end,
      "data.read_csv: missing value at " .. path .. " line 2, column 2 ('b') has no value above it to carry forward")
  end)

  it("refuses ragged rows, text in numeric columns and broken quotes", function()
    local ragged = temp_file("a,b\n1,2\n3\n")
    assert.has_error(function() data.read_csv(ragged) end,
      "data.read_csv: " .. ragged .. " line 3 has 1 fields, expected 2 as in the header")
    local text = temp_file("a\n1\nx1\n")
    assert.has_error(function() data.read_csv(text) end,
      "data.read_csv: not a number at " .. text .. " line 3, column 1 ('a'): 'x1' (list the column in text_columns to keep text)")
    local quote = temp_file('a,b\n1,"2\n')
    assert.has_error(function() data.read_csv(quote) end,
      "data.read_csv: " .. quote .. " line 2: unterminated quoted field")
  end)

  it("keeps only usecols and reads files without a header", function()
    local path = temp_file("1;2;3\n4;5;6\n")
    local frame = data.read_csv(path, { header = false, sep = ";", usecols = { "3", "1" } })
    assert.are.same({ "1", "3" }, frame.names)
    assert.are.same({ 3, 6 }, frame.columns["3"])
    assert.is_nil(frame.columns["2"])
  end)

  it("says when the file cannot be opened", function()
    local err = error_of(function() data.read_csv("/nonexistent/x.csv") end)
    assert.matches("^data.read_csv: cannot open /nonexistent/x.csv %(", err)
  end)
end)

describe("data.pad_sequences", function()
  it("pads Lua lists with a given value", function()
    local ids, lengths = data.pad_sequences({ { 1 }, { 2, 3 } }, { padding_value = 9 })
    assert.are.same({ { 1, 9 }, { 2, 3 } }, ids:totable())
    assert.are.same({ 1, 2 }, lengths:totable())
  end)
end)

describe("data.collate called directly", function()
  it("refuses a batch where only some examples have a target", function()
    assert.has_error(function() data.collate({ { ids = { 1 }, target = 1 }, { ids = { 2 } } }, {}) end,
      "data.collate: 1 of 2 examples have a target (all or none must)")
  end)

  it("pads with 0 and puts the batch first by default", function()
    local batch = data.collate({ { ids = { 1, 2 }, target = 1 }, { ids = { 3 }, target = 0 } })
    assert.are.same({ { 1, 2 }, { 3, 0 } }, batch.ids:totable())
    assert.are.same({ 1, 0 }, batch.targets:totable())
  end)
end)
