-- scripts/recur/data/csv.lua — data.read_csv: numeric CSV files (a header, quoted fields as
-- RFC 4180) into columns, with missing values reported by line and column, or filled.
local recur = require "recur"
local options = require "recur.options"

local M = {}

local function fail(fmt, ...) error(string.format(fmt, ...), 0) end

-- The fields of one line, split at sep outside double quotes ("" inside quotes is one ").
-- Returns nil and a message for an unterminated quote.
local function split_line(line, sep)
  if not line:find('"', 1, true) then
    local out, n, from = {}, 0, 1
    while true do
      local at = line:find(sep, from, true)
      n = n + 1
      if not at then
        out[n] = line:sub(from)
        return out
      end
      out[n] = line:sub(from, at - 1)
      from = at + #sep
    end
  end
  local out, i, len = {}, 1, #line
  while true do
    local field
    if line:sub(i, i) == '"' then
      local parts, j = {}, i + 1
      while true do
        local q = line:find('"', j, true)
        if not q then return nil, "unterminated quoted field" end
        parts[#parts + 1] = line:sub(j, q - 1)
        if line:sub(q + 1, q + 1) == '"' then
          parts[#parts + 1] = '"'
          j = q + 2
        else
          i = q + 1
          break
        end
      end
      field = table.concat(parts)
      if i <= len and line:sub(i, i + #sep - 1) ~= sep then
        return nil, "text after a closing quote"
      end
    else
      local at = line:find(sep, i, true)
      field = line:sub(i, (at or len + 1) - 1)
      i = at or len + 1
    end
    out[#out + 1] = field
    if i > len then return out end
    i = i + #sep
    if i > len then
      out[#out + 1] = ""
      return out
    end
  end
end
M.split_line = split_line

local function set_of(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

--- Reads a CSV file into {names = {...}, columns = {name = list}, rows = n, path = path}.
--- Columns are Lua lists of numbers (doubles: dates such as 19580329 stay exact), except the
--- text_columns, kept as strings. Options:
---   sep (","), header (true; false names the columns "1", "2", ...), usecols (names to keep),
---   na_values (strings that mean missing: "", "NA", "NaN", "nan", "N/A", "NULL", "null"),
---   missing: "error" (default: the first missing value is an error naming its line and
---     column), "fill" (fill_value, default NaN), "ffill" (the value above), "drop" (the row),
---   text_columns (names kept as strings).
--- A row with a different number of fields than the header is an error naming the line.
function M.read_csv(path, opts)
  local fn = "data.read_csv"
  opts = options.check(fn, opts, { sep = ",", header = true, usecols = options.NONE,
                                   na_values = { "", "NA", "NaN", "nan", "N/A", "NULL", "null" },
                                   missing = "error", fill_value = 0 / 0, text_columns = {} })
  if type(path) ~= "string" then fail("%s: expected a file path, got %s", fn, type(path)) end
  local missing = opts.missing
  if missing ~= "error" and missing ~= "fill" and missing ~= "ffill" and missing ~= "drop" then
    fail("%s: missing must be 'error', 'fill', 'ffill' or 'drop', got %s", fn, tostring(missing))
  end
  if type(opts.sep) ~= "string" or #opts.sep == 0 or opts.sep == '"' then
    fail("%s: sep must be a non-empty string other than '\"'", fn)
  end
  local f, err = io.open(path, "rb")
  if not f then fail("%s: cannot open %s (%s)", fn, path, err) end
  local text = f:read("a")
  f:close()
  if text:sub(1, 3) == "\xEF\xBB\xBF" then text = text:sub(4) end -- a UTF-8 byte order mark

  local na, text_cols = set_of(opts.na_values), set_of(opts.text_columns)
  local names, ncols, keep, columns = nil, nil, nil, {}
  local last = {} -- the last value seen per column, for ffill
  local rows, line_no = 0, 0

  local function where(line, col)
    return string.format("%s line %d, column %d ('%s')", path, line, col, names[col])
  end

  local function setup(fields)
    ncols = #fields
    names = {}
    local seen = {}
    for c, name in ipairs(fields) do
      if seen[name] then fail("%s: %s line %d: column name '%s' appears twice", fn, path, line_no, name) end
      seen[name] = true
      names[c] = name
    end
    keep = {}
    if opts.usecols then
      for _, name in ipairs(opts.usecols) do
        if not seen[name] then
          fail("%s: %s has no column '%s' (columns: %s)", fn, path, tostring(name), table.concat(names, ", "))
        end
      end
      local want = set_of(opts.usecols)
      for c, name in ipairs(names) do if want[name] then keep[#keep + 1] = c end end
    else
      for c = 1, ncols do keep[c] = c end
    end
    for name in pairs(text_cols) do
      if not seen[name] then fail("%s: %s has no text column '%s'", fn, path, tostring(name)) end
    end
    for _, c in ipairs(keep) do columns[names[c]] = {} end
  end

  for line in (text .. "\n"):gmatch("(.-)\r?\n") do
    line_no = line_no + 1
    if line:find("%S") then -- blank lines are skipped
      local fields, why = split_line(line, opts.sep)
      if not fields then fail("%s: %s line %d: %s", fn, path, line_no, why) end
      local is_header = false
      if names == nil then
        if opts.header then
          setup(fields)
          is_header = true
        else
          local generated = {}
          for c = 1, #fields do generated[c] = tostring(c) end
          setup(generated)
        end
      end
      if not is_header then
        if #fields ~= ncols then
          fail("%s: %s line %d has %d fields, expected %d as in the %s", fn, path, line_no,
            #fields, ncols, opts.header and "header" or "first line")
        end
        local values, drop = {}, false
        for k, c in ipairs(keep) do
          local raw, name = fields[c], names[c]
          local s = raw:match("^%s*(.-)%s*$")
          local v
          if text_cols[name] then
            v = raw
          elseif na[s] then
            if missing == "error" then
              fail("%s: missing value at %s; use {missing = 'fill'}, 'ffill' or 'drop'", fn,
                where(line_no, c))
            elseif missing == "fill" then
              v = opts.fill_value
            elseif missing == "ffill" then
              v = last[name]
              if v == nil then
                fail("%s: missing value at %s has no value above it to carry forward", fn,
                  where(line_no, c))
              end
            else
              drop = true
            end
          else
            v = tonumber(s)
            if v == nil then
              fail("%s: not a number at %s: '%s' (list the column in text_columns to keep text)",
                fn, where(line_no, c), raw)
            end
          end
          values[k] = v
        end
        if not drop then
          rows = rows + 1
          for k, c in ipairs(keep) do
            local name = names[c]
            columns[name][rows] = values[k]
            last[name] = values[k]
          end
        end
      end
    end
  end
  if names == nil then fail("%s: %s is empty", fn, path) end
  local kept_names = {}
  for k, c in ipairs(keep) do kept_names[k] = names[c] end

  local frame = setmetatable({ names = kept_names, columns = columns, rows = rows, path = path },
    M.Frame)
  return frame
end

-- A read CSV: names in file order, columns by name.
M.Frame = {}
M.Frame.__index = M.Frame

--- The numeric columns given by name (all numeric columns by default) as a float32 tensor:
--- one name gives (rows), several give (rows, #names).
function M.Frame:tensor(...)
  local want = { ... }
  if #want == 0 then
    for _, name in ipairs(self.names) do
      if type(self.columns[name][1]) ~= "string" then want[#want + 1] = name end
    end
  end
  local cols = {}
  for k, name in ipairs(want) do
    local col = self.columns[name]
    if col == nil then
      fail("data.Frame:tensor: no column '%s' (columns: %s)", tostring(name), table.concat(self.names, ", "))
    end
    if type(col[1]) == "string" then fail("data.Frame:tensor: column '%s' holds text", name) end
    cols[k] = col
  end
  if #want == 1 then return recur.tensor(cols[1]) end
  local flat, k = {}, 0
  for r = 1, self.rows do
    for c = 1, #cols do
      k = k + 1
      flat[k] = cols[c][r]
    end
  end
  return recur.tensor(flat):view(self.rows, #cols)
end

return M
