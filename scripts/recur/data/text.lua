-- scripts/recur/data/text.lua — tokenizers of recur.data: characters (UTF-8 aware: one token per
-- code point) and words (split on non-word characters), with UTF-8 checking and repair.
local options = require "recur.options"

local M = {}

local REPLACEMENT = "\u{FFFD}"

--- text with every invalid UTF-8 byte checked: an error naming the byte position (1-based)
--- when invalid == "error", or each invalid byte replaced by U+FFFD when invalid == "replace".
function M.check_utf8(fn, text, invalid)
  local n, bad = utf8.len(text)
  if n then return text end
  if invalid == "error" then
    error(string.format("%s: invalid UTF-8 at byte %d (byte 0x%02X); use {invalid = 'replace'} "
      .. "to replace bad bytes with U+FFFD", fn, bad, text:byte(bad)), 0)
  end
  local parts, from = {}, 1
  while bad do
    parts[#parts + 1] = text:sub(from, bad - 1)
    parts[#parts + 1] = REPLACEMENT
    from = bad + 1
    n, bad = utf8.len(text, from)
  end
  parts[#parts + 1] = text:sub(from)
  return table.concat(parts)
end

local function check_text(fn, text)
  if type(text) ~= "string" then
    error(string.format("%s: expected a string, got %s", fn, type(text)), 0)
  end
end

local function check_invalid(fn, invalid)
  if invalid ~= "error" and invalid ~= "replace" then
    error(string.format("%s: option invalid must be 'error' or 'replace', got %s", fn,
      tostring(invalid)), 0)
  end
end

--- The characters of text as a list of strings, one per code point ("é" is one token).
function M.chars(text, opts)
  local fn = "data.chars"
  opts = options.check(fn, opts, { invalid = "error" })
  check_text(fn, text)
  check_invalid(fn, opts.invalid)
  text = M.check_utf8(fn, text, opts.invalid)
  local out, n = {}, 0
  for ch in text:gmatch(utf8.charpattern) do
    n = n + 1
    out[n] = ch
  end
  return out
end

-- --- words ------------------------------------------------------------------------------

-- Code points that separate words besides ASCII punctuation and spaces: Latin-1 punctuation
-- and symbols, General Punctuation (dashes, quotes, ellipsis), CJK punctuation.
local function is_separator_cp(cp)
  return (cp >= 0x80 and cp <= 0xBF and cp ~= 0xAA and cp ~= 0xB5 and cp ~= 0xBA)
      or cp == 0xD7 or cp == 0xF7
      or (cp >= 0x2000 and cp <= 0x206F)
      or (cp >= 0x3000 and cp <= 0x303F)
      or cp == 0xFEFF or cp == 0xFFFD
end

local function is_space_cp(cp)
  return cp == 0x85 or cp == 0xA0 or (cp >= 0x2000 and cp <= 0x200B) or cp == 0x2028
      or cp == 0x2029 or cp == 0x202F or cp == 0x205F or cp == 0x3000 or cp == 0xFEFF
end

-- Apostrophes: kept inside a word when a word character stands on both sides (don't, whale’s).
local APOSTROPHES = { ["'"] = true, ["\u{2019}"] = true, ["\u{02BC}"] = true }

-- Lower case of the two-byte code points that have a simple one (Latin-1, Latin Extended-A,
-- Greek, Cyrillic); ASCII goes through string.lower. Other scripts stay as they are.
local function lower_cp(cp)
  if (cp >= 0xC0 and cp <= 0xDE and cp ~= 0xD7) then return cp + 0x20 end
  if cp >= 0x100 and cp <= 0x17F then
    -- pairs (upper even, lower odd) except 0x130-0x131 and 0x138-0x148, 0x179-0x17E (odd upper)
    if (cp >= 0x139 and cp <= 0x148) or (cp >= 0x179 and cp <= 0x17E) then
      return cp % 2 == 1 and cp + 1 or cp
    end
    if cp == 0x130 or cp == 0x131 or cp == 0x138 or cp == 0x149 or cp == 0x17F then return cp end
    if cp == 0x178 then return 0xFF end
    return cp % 2 == 0 and cp + 1 or cp
  end
  if (cp >= 0x391 and cp <= 0x3A9 and cp ~= 0x3A2) then return cp + 0x20 end
  if cp == 0x386 then return 0x3AC end -- Greek capitals with tonos
  if cp >= 0x388 and cp <= 0x38A then return cp + 0x25 end
  if cp == 0x38C then return 0x3CC end
  if cp == 0x38E or cp == 0x38F then return cp + 0x3F end
  if cp >= 0x410 and cp <= 0x42F then return cp + 0x20 end
  if cp >= 0x400 and cp <= 0x40F then return cp + 0x50 end
  return cp
end

local lower_cache = {}
local function lower_two_byte(ch)
  local v = lower_cache[ch]
  if v == nil then
    v = utf8.char(lower_cp(utf8.codepoint(ch)))
    lower_cache[ch] = v
  end
  return v
end

--- s in lower case: ASCII letters and the two-byte letters lower_cp knows.
function M.lower(s)
  s = s:lower()
  if s:find("[\xC3-\xD4]") then s = s:gsub("[\xC3-\xD4][\x80-\xBF]", lower_two_byte) end
  return s
end

-- The class of one character: "w" word, "a" apostrophe, "p" punctuation, "s" space.
local function class_of(ch)
  if #ch == 1 then
    if ch:find("^[%w_]") then return "w" end
    if ch == "'" then return "a" end
    if ch:find("^%p") then return "p" end
    return "s"
  end
  if APOSTROPHES[ch] then return "a" end
  local cp = utf8.codepoint(ch)
  if is_space_cp(cp) then return "s" end
  if is_separator_cp(cp) then return "p" end
  return "w"
end

-- Appends the tokens of one whitespace-free chunk that is not a plain ASCII word.
local function split_chunk(chunk, out, n, keep_punct)
  local chars, classes, k = {}, {}, 0
  for ch in chunk:gmatch(utf8.charpattern) do
    k = k + 1
    chars[k], classes[k] = ch, class_of(ch)
  end
  local word = nil
  for i = 1, k do
    local c = classes[i]
    if c == "a" and word and classes[i + 1] == "w" then c = "w" end
    if c == "w" then
      word = word or {}
      word[#word + 1] = chars[i]
    else
      if word then
        n = n + 1
        out[n] = table.concat(word)
        word = nil
      end
      if keep_punct and c ~= "s" then
        n = n + 1
        out[n] = chars[i]
      end
    end
  end
  if word then
    n = n + 1
    out[n] = table.concat(word)
  end
  return n
end

--- The words of text as a list of strings. A word is a run of letters, digits, "_" and
--- non-punctuation non-ASCII characters; an apostrophe (' or ’) between two word characters
--- stays inside the word. Everything else separates words and is dropped, or kept as
--- one-character tokens with keep_punctuation. lower lowercases ASCII, Latin-1, Latin
--- Extended-A, Greek and Cyrillic letters.
function M.words(text, opts)
  local fn = "data.words"
  opts = options.check(fn, opts, { lower = false, keep_punctuation = false, invalid = "error" })
  check_text(fn, text)
  check_invalid(fn, opts.invalid)
  text = M.check_utf8(fn, text, opts.invalid)
  if opts.lower then text = M.lower(text) end
  local keep = opts.keep_punctuation
  local out, n = {}, 0
  for chunk in text:gmatch("[^%s]+") do
    if not chunk:find("[^%w_]") then
      n = n + 1
      out[n] = chunk
    else
      local word, punct = chunk:match("^([%w_]+)(%p)$")
      if word and punct ~= "'" then
        n = n + 1
        out[n] = word
        if keep then
          n = n + 1
          out[n] = punct
        end
      else
        n = split_chunk(chunk, out, n, keep)
      end
    end
  end
  return out
end

return M
