-- scripts/recur/plot.lua — recur.plot: line plots (loss curves and the like) drawn by gnuplot,
-- as text in the terminal or into a .png, .svg or .txt file.
--
--   recur.plot.line(losses)                                          -- text, in the terminal
--   recur.plot.line({train = losses, validation = {x = steps, y = val}},
--                   {title = "loss", xlabel = "step", logy = true, output = "loss.png"})
--
-- gnuplot (Debian: apt-get install gnuplot-nox) runs on a script and a data file in a temporary
-- directory; RECUR_GNUPLOT names another executable. Titles and paths reach gnuplot as escaped
-- strings and the shell only as single-quoted words. Files appear whole or not at all: gnuplot
-- writes "<path>.tmp-<pid>", which is renamed to path only when gnuplot succeeded.
local recur = require "recur"
local options = require "recur.options"

local M = {}

local function fail(fmt, ...) error(string.format(fmt, ...), 0) end

-- A word for sh: single quotes, each ' written as '\''.
local function shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- A double-quoted gnuplot string: backslash and quote escaped, control characters and
-- backquotes as octal, so a title can hold anything yet cannot end the string or the command
-- line, and no `command` in it runs (gnuplot substitutes those even inside double quotes).
local function gp_quote(s)
  return '"' .. s:gsub('[%c"\\`]', function(c)
    if c == '"' or c == "\\" then return "\\" .. c end
    return string.format("\\%03o", c:byte())
  end) .. '"'
end

-- A value as gnuplot reads it back exactly.
local function gp_number(v)
  if math.type(v) == "integer" then return string.format("%d", v) end
  return string.format("%.17g", v)
end

local function describe_value(v)
  if v ~= v then return "nan" end
  if v == math.huge then return "inf" end
  if v == -math.huge then return "-inf" end
  return gp_number(v)
end

-- --- series: every accepted form becomes a list of {name, x, y} ---------------------------

local SERIES_FORMS = "a list of numbers, a {x = ..., y = ...} table, a 1-D tensor or a table of named series"

-- The kind of one series value: "tensor", "list", "xy", "named", "empty" or nil.
local function kind_of(s)
  if recur.is_tensor(s) then return "tensor" end
  if type(s) ~= "table" then return nil end
  if s.x ~= nil or s.y ~= nil then return "xy" end
  if next(s) == nil then return "empty" end
  if #s > 0 then return "list" end
  return "named"
end

-- The values of a list or 1-D tensor, checked to be finite numbers; `where` names them in
-- messages (e.g. "series 'train': y").
local function values(fn, where, v)
  if recur.is_tensor(v) then
    if v:dim() ~= 1 then
      fail("%s: %s must be a 1-D tensor, got shape (%s)", fn, where, table.concat(v:size(), ","))
    end
    v = v:totable()
  elseif type(v) ~= "table" then
    fail("%s: %s must be a list of numbers or a 1-D tensor, got %s", fn, where, type(v))
  end
  local n = #v
  for k in pairs(v) do
    if math.type(k) ~= "integer" or k < 1 or k > n then
      fail("%s: %s is a list of numbers but has the key %s", fn, where,
        type(k) == "string" and "'" .. k .. "'" or tostring(k))
    end
  end
  for i = 1, n do
    local x = v[i]
    if type(x) ~= "number" then
      fail("%s: %s[%d] is %s, expected a number", fn, where, i, x == nil and "nil" or "a " .. type(x))
    end
    if x ~= x or x == math.huge or x == -math.huge then
      fail("%s: %s[%d] is %s; values must be finite numbers", fn, where, i, describe_value(x))
    end
    if math.abs(x) > 1e300 then -- gnuplot's autoscaling overflows near the double's limit
      fail("%s: %s[%d] is %g; gnuplot cannot scale an axis to values beyond 1e300", fn, where, i, x)
    end
  end
  return v
end

-- One series (name nil when unnamed) -> {name, x, y}; x defaults to 1..n, Lua's indices.
local function one_series(fn, name, s)
  local prefix = name and string.format("series '%s': ", name) or ""
  local kind = kind_of(s)
  local x, y
  if kind == "tensor" or kind == "list" then
    y = values(fn, prefix .. "y", s)
  elseif kind == "xy" then
    for k in pairs(s) do
      if k ~= "x" and k ~= "y" then
        fail("%s: %san {x = ..., y = ...} series has the unexpected key '%s'", fn, prefix, tostring(k))
      end
    end
    if s.y == nil then fail("%s: %san {x = ..., y = ...} series needs y", fn, prefix) end
    y = values(fn, prefix .. "y", s.y)
    if s.x ~= nil then
      x = values(fn, prefix .. "x", s.x)
      if #x ~= #y then fail("%s: %sx has %d values but y has %d", fn, prefix, #x, #y) end
    end
  elseif kind == "empty" then
    y = {}
  elseif kind == "named" and name then
    fail("%s: %smust be a list of numbers, a {x = ..., y = ...} table or a 1-D tensor, "
      .. "got a table of named series", fn, prefix)
  else
    fail("%s: %smust be %s, got %s", fn, name and prefix or "series ", SERIES_FORMS, type(s))
  end
  if #y == 0 then
    fail("%s: %s is empty", fn, name and string.format("series '%s'", name) or "series")
  end
  if x == nil then
    x = {}
    for i = 1, #y do x[i] = i end
  end
  return { name = name, x = x, y = y }
end

-- The series argument -> a list of {name, x, y}: one unnamed series, or named ones sorted by
-- name so the legend and the line styles do not depend on table order.
local function normalize(fn, series)
  if kind_of(series) ~= "named" then return { one_series(fn, nil, series) } end
  local names = {}
  for k in pairs(series) do
    if type(k) ~= "string" then
      fail("%s: series names must be strings, got %s %s", fn, type(k), tostring(k))
    end
    names[#names + 1] = k
  end
  table.sort(names)
  local out = {}
  for i, name in ipairs(names) do out[i] = one_series(fn, name, series[name]) end
  return out
end

-- --- gnuplot ------------------------------------------------------------------------------

-- The gnuplot executable: $RECUR_GNUPLOT (a path or a name on PATH), else gnuplot on PATH.
local function find_gnuplot(fn)
  local exe = os.getenv("RECUR_GNUPLOT")
  local from_env = exe ~= nil and exe ~= ""
  if not from_env then exe = "gnuplot" end
  local q = shell_quote(exe)
  local test = exe:find("/", 1, true) and "test -f " .. q .. " && test -x " .. q
               or "command -v " .. q .. " >/dev/null 2>&1"
  if os.execute(test) then return exe end
  if from_env then
    fail("%s: gnuplot not found: RECUR_GNUPLOT=%s is not an executable (unset it to use gnuplot "
      .. "from PATH; install that with apt-get install gnuplot-nox)", fn, exe)
  end
  fail("%s: gnuplot not found on PATH (install it with apt-get install gnuplot-nox, or set "
    .. "RECUR_GNUPLOT to its path)", fn)
end

--- The gnuplot that recur.plot runs ("gnuplot", found on PATH, or $RECUR_GNUPLOT); an error
--- saying how to install it when there is none. Lets a long script check before it starts
--- rather than fail at its end.
function M.executable() return find_gnuplot("recur.plot.executable") end

-- This process's id, for temp names beside the output ("<path>.tmp-<pid>").
local pid
local function getpid()
  if pid then return pid end
  local f = io.open("/proc/self/stat")
  if f then
    pid = f:read("l"):match("^(%d+)")
    f:close()
  end
  if not pid then -- not Linux: the shell's parent is this process
    local p = io.popen("echo $PPID")
    pid = p:read("l")
    p:close()
  end
  return pid
end

-- Columns and lines for text drawn in the terminal: COLUMNS/LINES when set, else the terminal's
-- size when stdout is one (a line fewer, so the prompt after it leaves the plot whole), else 80x24.
local function terminal_size()
  local cols = math.tointeger(tonumber(os.getenv("COLUMNS") or ""))
  local lines = math.tointeger(tonumber(os.getenv("LINES") or ""))
  if (cols == nil or lines == nil) and require("recur.progress").isatty(1) then
    local p = io.popen("stty size </dev/tty 2>/dev/null")
    local l, c = (p:read("a") or ""):match("^(%d+)%s+(%d+)")
    p:close()
    cols, lines = cols or math.tointeger(tonumber(c)), lines or math.tointeger(tonumber(l))
  end
  if cols and lines and cols > 0 and lines > 1 then return cols, lines - 1 end
  return 80, 24
end

-- The gnuplot script: terminal, output, labels, then one `plot` over the data file's blocks.
local function script(kind, out_path, data_path, series, o)
  local lines = {}
  local function add(fmt, ...) lines[#lines + 1] = string.format(fmt, ...) end
  if kind == "png" then
    -- pngcairo (antialiased) where this gnuplot has it, else libgd's png
    add("if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) { set terminal pngcairo size %d,%d noenhanced } "
      .. "else { set terminal png size %d,%d noenhanced }", o.width, o.height, o.width, o.height)
  elseif kind == "svg" then
    add("set terminal svg size %d,%d noenhanced background rgb 'white'", o.width, o.height)
  else
    add("set terminal dumb size %d,%d noenhanced", o.width, o.height)
  end
  add("set output %s", gp_quote(out_path))
  if o.title then add("set title %s", gp_quote(o.title)) end
  if o.xlabel then add("set xlabel %s", gp_quote(o.xlabel)) end
  if o.ylabel then add("set ylabel %s", gp_quote(o.ylabel)) end
  if o.logy then add("set logscale y") end
  add("set key opaque") -- legend text stays readable where a line passes under it
  local plots = {}
  for i, s in ipairs(series) do
    plots[i] = string.format("%s index %d using 1:2 with %s %s", gp_quote(data_path), i - 1,
      #s.y == 1 and "points" or "lines", s.name and "title " .. gp_quote(s.name) or "notitle")
  end
  add("plot %s", table.concat(plots, ", \\\n     "))
  add("set output") -- closes the file, so it is complete before gnuplot exits
  return table.concat(lines, "\n") .. "\n"
end

-- Data: one block per series ("x y" lines), blocks separated by two blank lines (gnuplot's index).
local function data_text(series)
  local parts = {}
  for i, s in ipairs(series) do
    if i > 1 then parts[#parts + 1] = "\n\n" end
    for j = 1, #s.y do parts[#parts + 1] = gp_number(s.x[j]) .. " " .. gp_number(s.y[j]) .. "\n" end
  end
  return table.concat(parts)
end

local function write_file(path, text)
  local f, err = io.open(path, "wb")
  if not f then return nil, err end
  local ok, werr = f:write(text)
  local cok, cerr = f:close()
  if not ok then return nil, werr end
  if not cok then return nil, cerr end
  return true
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- gnuplot's dumb terminal starts with a form feed and pads every line to the width.
local function clean_text(s)
  s = s:gsub("^\f", ""):gsub("[ \t]+\n", "\n"):gsub("[ \t]+$", "")
  if s:sub(-1) ~= "\n" then s = s .. "\n" end
  return s
end

-- Runs gnuplot over the series into out_path (kind "png", "svg" or "text"); returns true, or
-- nil and what went wrong. The temp directory is always removed.
local function render(fn, exe, kind, out_path, series, o)
  local p = io.popen("mktemp -d \"${TMPDIR:-/tmp}/recur-plot.XXXXXX\" 2>&1")
  local dir = p:read("l")
  local made = p:close()
  if not made or not dir then return nil, "cannot make a temporary directory: " .. tostring(dir) end
  local data_path, script_path, log_path = dir .. "/data", dir .. "/plot.gp", dir .. "/gnuplot.log"
  local ok, err = write_file(data_path, data_text(series))
  if ok then ok, err = write_file(script_path, script(kind, out_path, data_path, series, o)) end
  if ok then
    local cmd = string.format("exec %s %s </dev/null >%s 2>&1", shell_quote(exe), shell_quote(script_path),
      shell_quote(log_path))
    local ran, how, code = os.execute(cmd)
    if not ran then
      local log = (read_file(log_path) or ""):gsub("^%s+", ""):gsub("%s+$", "")
      if log == "" then
        log = string.format("%s %s", how == "signal" and "killed by signal" or "exit status", code)
      end
      ok, err = nil, "gnuplot failed: " .. log
    end
  end
  os.remove(data_path)
  os.remove(script_path)
  os.remove(log_path)
  os.remove(dir)
  return ok, err
end

--- Draws series as lines. series: a list of y values (x = 1..n), {x = xs, y = ys} (xs and ys
--- lists or 1-D tensors; a table with an x or y key is always this form), a 1-D tensor, or a
--- table of named series ({train = ys, validation = {x = ..., y = ...}}): one line each and a
--- legend, in sorted name order. Values must be finite numbers.
--- opts: title, xlabel, ylabel, logy (log-scale y), output: nil draws text on io.stdout, a path
--- ending .png, .svg or .txt writes that file (atomically); width, height: pixels for images
--- (640x480), characters for text (.txt: 80x24; the terminal: COLUMNS x (LINES - 1), else its
--- size, else 80x24). Returns the path written, or the text drawn.
function M.line(series, opts)
  local fn = "recur.plot.line"
  local o = options.check(fn, opts, { title = options.NONE, xlabel = options.NONE, ylabel = options.NONE,
                                      logy = false, width = options.NONE, height = options.NONE,
                                      output = options.NONE })
  for _, k in ipairs({ "title", "xlabel", "ylabel" }) do
    if o[k] ~= nil and type(o[k]) ~= "string" then
      fail("%s: %s must be a string, got %s", fn, k, type(o[k]))
    end
  end
  if type(o.logy) ~= "boolean" then fail("%s: logy must be a boolean, got %s", fn, type(o.logy)) end
  for _, k in ipairs({ "width", "height" }) do
    local v = o[k]
    if v ~= nil and (math.type(v) ~= "integer" or v < 1) then
      fail("%s: %s must be a positive integer, got %s", fn, k, tostring(v))
    end
  end
  local kind
  if o.output ~= nil then
    if type(o.output) ~= "string" then
      fail("%s: output must be a path ending .png, .svg or .txt, or nil to draw in the terminal, got %s",
        fn, type(o.output))
    end
    local ext = o.output:match("%.(%w+)$")
    ext = ext and ext:lower()
    kind = ({ png = "png", svg = "svg", txt = "text" })[ext]
    if not kind then
      fail("%s: output '%s' must end .png, .svg or .txt (or be nil to draw in the terminal)", fn, o.output)
    end
  end

  local list = normalize(fn, series)
  if o.logy then
    for _, s in ipairs(list) do
      for i, v in ipairs(s.y) do
        if v <= 0 then
          fail("%s: %sy[%d] is %s, but logy needs values > 0", fn,
            s.name and string.format("series '%s': ", s.name) or "", i, describe_value(v))
        end
      end
    end
  end

  local exe = find_gnuplot(fn)
  if kind == "png" or kind == "svg" then
    o.width, o.height = o.width or 640, o.height or 480
  elseif kind == "text" then
    o.width, o.height = o.width or 80, o.height or 24
  else
    local cols, lines = terminal_size()
    o.width, o.height = o.width or cols, o.height or lines
  end

  if kind == nil then -- the terminal: gnuplot writes a temp file, we print it
    local tmp = os.tmpname()
    local ok, err = render(fn, exe, "text", tmp, list, o)
    local text = ok and read_file(tmp)
    os.remove(tmp)
    if not ok then fail("%s: %s", fn, err) end
    text = clean_text(text or "")
    io.stdout:write(text)
    io.stdout:flush()
    return text
  end

  local path = o.output
  local tmp = path .. ".tmp-" .. getpid()
  local ok, err = render(fn, exe, kind, tmp, list, o)
  if ok and kind == "text" then
    local text = read_file(tmp)
    if text then ok, err = write_file(tmp, clean_text(text)) else ok, err = nil, "gnuplot wrote no file" end
  end
  if ok and kind ~= "text" and not exists(tmp) then ok, err = nil, "gnuplot wrote no file" end
  if ok then
    ok, err = os.rename(tmp, path)
    if not ok then err = string.format("cannot rename %s to %s: %s", tmp, path, err) end
  end
  if not ok then
    os.remove(tmp)
    fail("%s: %s", fn, err)
  end
  return path
end

return M
