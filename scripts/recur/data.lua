-- scripts/recur/data.lua — recur.data: tokenizers, vocabularies, padded and bucketed batches,
-- TBPTT streams, time-series windows and scaling, CSV reading. The parts live in recur/data/.
--
--   local data = require "recur.data"
--   local vocab = data.Vocab.build(data.chars(text))          -- 0 <pad>, 1 <unk>, then by count
--   local ids = vocab:encode(data.chars(text))                -- (N) int64
--   local stream = data.StreamBatcher(ids, {batch_size = 32, bptt = 64})
--   for inputs, targets in stream:iter() do ... end           -- (64,32) each, targets shifted
--
--   local ds = data.SequenceDataset(list_of_id_lists, labels)
--   local train, valid = data.random_split(ds, {0.9, 0.1}, {seed = 1})
--   local loader = data.DataLoader(train, {batch_size = 64, shuffle = true, bucket = true})
--   for batch in loader:iter() do model(batch.ids, batch.lengths) ... batch.targets ... end
local text = require "recur.data.text"
local vocab = require "recur.data.vocab"
local loader = require "recur.data.loader"
local stream = require "recur.data.stream"
local series = require "recur.data.series"
local csv = require "recur.data.csv"

local data = {
  -- tokenizers and vocabularies
  chars = text.chars,
  words = text.words,
  lower = text.lower,
  check_utf8 = function(s, opts)
    opts = require("recur.options").check("data.check_utf8", opts, { invalid = "error" })
    return text.check_utf8("data.check_utf8", s, opts.invalid)
  end,
  Vocab = vocab,
  -- datasets and batching
  randperm = loader.randperm,
  SequenceDataset = loader.SequenceDataset,
  TensorDataset = loader.TensorDataset,
  Subset = loader.Subset,
  random_split = loader.random_split,
  collate = loader.collate,
  pad_sequences = function(seqs, opts)
    opts = require("recur.options").check("data.pad_sequences", opts,
      { padding_value = 0, batch_first = true })
    return loader.pad_sequences("data.pad_sequences", seqs, opts.padding_value, opts.batch_first)
  end,
  DataLoader = loader.DataLoader,
  -- truncated BPTT
  StreamBatcher = stream.StreamBatcher,
  -- time series
  sliding_windows = series.sliding_windows,
  split_series = series.split_series,
  StandardScaler = setmetatable({ from_state = series.StandardScaler_from_state },
    { __call = function(_, ...) return series.StandardScaler(...) end }),
  read_csv = csv.read_csv,
}

return data
