-- scripts/recur/data/vocab.lua — data.Vocab: tokens <-> ids. Id 0 is padding, 1 the unknown
-- token, then the special tokens, then real tokens most frequent first (ties in byte order).
local recur = require "recur"
local options = require "recur.options"

local Vocab = {}
Vocab.__index = Vocab
Vocab.__name = "data.Vocab"

local STATE_VERSION = 1

local function fail(fmt, ...) error(string.format(fmt, ...), 0) end

-- A new vocab from the tokens in id order (tokens[1] has id 0).
local function from_tokens(tokens, pad, unk, specials, sep)
  local ids = {}
  for i, tok in ipairs(tokens) do ids[tok] = i - 1 end
  return setmetatable({ _tokens = tokens, _ids = ids, pad = pad, unk = unk,
                        specials = specials, sep = sep }, Vocab)
end

-- Counts of the tokens in source: a list of tokens, a list of token lists, or a table
-- {token = count}. Returns counts and the distinct tokens.
local function count_tokens(fn, source)
  if type(source) ~= "table" then fail("%s: expected a list of tokens, a list of token lists or a "
    .. "table of counts, got %s", fn, type(source)) end
  local counts, distinct = {}, {}
  local function add(tok, c)
    if type(tok) ~= "string" then
      fail("%s: tokens must be strings, got %s", fn, type(tok))
    end
    if counts[tok] == nil then
      counts[tok] = 0
      distinct[#distinct + 1] = tok
    end
    counts[tok] = counts[tok] + c
  end
  if #source == 0 and next(source) ~= nil then
    for tok, c in pairs(source) do
      if math.type(c) ~= "integer" or c < 0 then
        fail("%s: counts must be integers >= 0, got %s for %q", fn, tostring(c), tostring(tok))
      end
      add(tok, c)
    end
  else
    -- the common case (a flat list of a million characters) inlined: one lookup per token
    for i = 1, #source do
      local item = source[i]
      local c = counts[item]
      if c then
        counts[item] = c + 1
      elseif type(item) == "table" then
        for _, tok in ipairs(item) do add(tok, 1) end
      else
        add(item, 1)
      end
    end
  end
  return counts, distinct
end

--- A vocab built from tokens: source is a list of tokens, a list of token lists, or a table
--- {token = count}. Options:
---   max_size   cap on #vocab, counting <pad>, <unk> and the specials (nil: no cap)
---   min_freq   tokens seen fewer times are left out (they encode as <unk>)
---   specials   extra tokens given ids 2, 3, ... in order, e.g. {"<bos>", "<eos>"}
---   pad, unk   the names of ids 0 and 1; sep: what decode puts between tokens
--- Tokens are ordered by count, most frequent first; equal counts in byte order of the token.
function Vocab.build(source, opts)
  local fn = "data.Vocab.build"
  opts = options.check(fn, opts, { max_size = options.NONE, min_freq = 1, specials = {},
                                   pad = "<pad>", unk = "<unk>", sep = "" })
  local max_size, min_freq = opts.max_size, opts.min_freq
  if max_size ~= nil and (math.type(max_size) ~= "integer" or max_size < 2 + #opts.specials) then
    fail("%s: max_size must be an integer >= %d (<pad>, <unk> and %d specials), got %s", fn,
      2 + #opts.specials, #opts.specials, tostring(max_size))
  end
  if math.type(min_freq) ~= "integer" or min_freq < 1 then
    fail("%s: min_freq must be an integer >= 1, got %s", fn, tostring(min_freq))
  end
  if type(opts.sep) ~= "string" then fail("%s: sep must be a string, got %s", fn, type(opts.sep)) end
  local tokens, seen = {}, {}
  for _, tok in ipairs({ opts.pad, opts.unk, table.unpack(opts.specials) }) do
    if type(tok) ~= "string" then fail("%s: special tokens must be strings, got %s", fn, type(tok)) end
    if seen[tok] then fail("%s: special token %q given twice", fn, tok) end
    seen[tok] = true
    tokens[#tokens + 1] = tok
  end
  local counts, distinct = count_tokens(fn, source)
  local kept = {}
  for _, tok in ipairs(distinct) do
    if not seen[tok] and counts[tok] >= min_freq then kept[#kept + 1] = tok end
  end
  table.sort(kept, function(a, b)
    local ca, cb = counts[a], counts[b]
    if ca ~= cb then return ca > cb end
    return a < b
  end)
  local room = max_size and max_size - #tokens or #kept
  for i = 1, math.min(room, #kept) do tokens[#tokens + 1] = kept[i] end
  local specials = {}
  for i, s in ipairs(opts.specials) do specials[i] = s end
  return from_tokens(tokens, opts.pad, opts.unk, specials, opts.sep)
end

function Vocab:__len() return #self._tokens end

function Vocab:__tostring()
  return string.format("data.Vocab(%d tokens)", #self._tokens)
end

--- The id of token (the unknown id, 1, when it is not in the vocab).
function Vocab:id(token) return self._ids[token] or 1 end

--- Whether token has an id of its own.
function Vocab:has(token) return self._ids[token] ~= nil end

--- The token of id, or nil when id is not in 0..#vocab-1.
function Vocab:token(id) return self._tokens[id + 1] end

--- The tokens in id order (a copy): tokens[1] is the token of id 0.
function Vocab:tokens()
  return table.move(self._tokens, 1, #self._tokens, 1, {})
end

--- ids (B...) int64 tensor, or a list of ids, for a list of tokens. Options: bos / eos add the
--- special tokens "<bos>" / "<eos>" (or the names given) at the start / end.
function Vocab:encode(tokens, opts)
  local fn = "data.Vocab:encode"
  opts = options.check(fn, opts, { bos = false, eos = false, as_table = false })
  if type(tokens) ~= "table" then fail("%s: expected a list of tokens, got %s", fn, type(tokens)) end
  local ids, out, n = self._ids, {}, 0
  local function special(flag, default)
    if not flag then return nil end
    local name = flag == true and default or flag
    local id = ids[name]
    if id == nil then fail("%s: the vocab has no %s token %q (give it in specials)", fn,
      default == "<bos>" and "begin" or "end", tostring(name)) end
    return id
  end
  local bos, eos = special(opts.bos, "<bos>"), special(opts.eos, "<eos>")
  if bos then n = 1; out[1] = bos end
  for i = 1, #tokens do
    n = n + 1
    out[n] = ids[tokens[i]] or 1
  end
  if eos then n = n + 1; out[n] = eos end
  if opts.as_table then return out end
  return recur.tensor(out, { dtype = "int64" })
end

local function id_list(fn, ids)
  if recur.is_tensor(ids) then
    if ids:dim() > 1 then fail("%s: expected a 1-D tensor of ids, got %d dims", fn, ids:dim()) end
    if ids:dim() == 0 then return { ids:item() } end
    return ids:long():totable()
  end
  if type(ids) ~= "table" then fail("%s: expected a tensor or a list of ids, got %s", fn, type(ids)) end
  return ids
end

--- The tokens of ids (a 1-D tensor or a list) as a list; padding is left out unless
--- keep_pad. An id outside 0..#vocab-1 is an error.
function Vocab:decode_tokens(ids, opts)
  local fn = "data.Vocab:decode"
  opts = options.check(fn, opts, { keep_pad = false, keep_specials = true })
  ids = id_list(fn, ids)
  local out, n, V = {}, 0, #self._tokens
  local special = {}
  if not opts.keep_specials then
    for _, s in ipairs(self.specials) do special[self._ids[s]] = true end
  end
  for i = 1, #ids do
    local id = ids[i]
    if math.type(id) ~= "integer" then
      id = math.tointeger(id)
      if id == nil then fail("%s: ids must be integers, got %s at position %d", fn, tostring(ids[i]), i) end
    end
    if id < 0 or id >= V then
      fail("%s: id %d at position %d is outside the vocab (0..%d)", fn, id, i, V - 1)
    end
    if (id ~= 0 or opts.keep_pad) and not special[id] then
      n = n + 1
      out[n] = self._tokens[id + 1]
    end
  end
  return out
end

--- The text of ids: their tokens joined with sep (the vocab's sep unless given). Options as
--- decode_tokens, plus sep.
function Vocab:decode(ids, opts)
  opts = opts or {}
  local sep = opts.sep
  if sep == nil then sep = self.sep end
  local rest = {}
  for k, v in pairs(opts) do if k ~= "sep" then rest[k] = v end end
  return table.concat(self:decode_tokens(ids, rest), sep)
end

--- A plain table (strings and lists only, so it can be stored as JSON) from which from_state
--- rebuilds this vocab.
function Vocab:state()
  local specials = table.move(self.specials, 1, #self.specials, 1, {})
  return { version = STATE_VERSION, tokens = self:tokens(), pad = self.pad, unk = self.unk,
           specials = specials, sep = self.sep }
end

--- The vocab saved by vocab:state(); a malformed table is refused with what is wrong.
function Vocab.from_state(state)
  local fn = "data.Vocab.from_state"
  if type(state) ~= "table" then fail("%s: expected a table, got %s", fn, type(state)) end
  if state.version ~= STATE_VERSION then
    fail("%s: unsupported vocab state version %s (expected %d)", fn, tostring(state.version),
      STATE_VERSION)
  end
  local tokens = state.tokens
  if type(tokens) ~= "table" or #tokens < 2 then
    fail("%s: tokens must be a list of at least 2 strings (<pad>, <unk>)", fn)
  end
  local seen, copy = {}, {}
  for i, tok in ipairs(tokens) do
    if type(tok) ~= "string" then fail("%s: token %d is a %s, expected a string", fn, i, type(tok)) end
    if seen[tok] then fail("%s: token %q appears twice (ids %d and %d)", fn, tok, seen[tok] - 1, i - 1) end
    seen[tok] = i
    copy[i] = tok
  end
  local pad, unk = state.pad or copy[1], state.unk or copy[2]
  if copy[1] ~= pad or copy[2] ~= unk then
    fail("%s: ids 0 and 1 must be the pad and unknown tokens %q and %q, got %q and %q", fn,
      pad, unk, copy[1], copy[2])
  end
  local specials = {}
  for i, s in ipairs(state.specials or {}) do
    if copy[i + 2] ~= s then
      fail("%s: special token %q must have id %d", fn, tostring(s), i + 1)
    end
    specials[i] = s
  end
  local sep = state.sep or ""
  if type(sep) ~= "string" then fail("%s: sep must be a string, got %s", fn, type(sep)) end
  return from_tokens(copy, pad, unk, specials, sep)
end

return Vocab
