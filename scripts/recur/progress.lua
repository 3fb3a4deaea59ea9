-- scripts/recur/progress.lua — recur.progress: a progress bar for training loops: count/total,
-- percent, rate, elapsed, ETA and fields such as loss; redrawn in place on a terminal.
--
--   local progress = require "recur.progress"
--   local bar = progress.new(#loader, {desc = "epoch 1"})
--   for batch in loader:iter() do ... bar:update(1, {loss = loss:item()}) end
--   bar:finish()
--
-- On a terminal the line is redrawn with "\r" at most every `interval` seconds (0.1). When the
-- output is not a terminal (a log file, a pipe) it prints one plain line every `every`
-- updates (default: none) and the final line from finish().
local recur = require "recur"
local options = require "recur.options"

local M = {}

local function fail(fmt, ...) error(string.format(fmt, ...), 0) end

--- Seconds as "mm:ss", or "h:mm:ss" from one hour on.
function M.format_time(seconds)
  if seconds ~= seconds or seconds == math.huge then return "?" end
  local s = math.floor(seconds + 0.5)
  local h, m = s // 3600, (s % 3600) // 60
  s = s % 60
  if h > 0 then return string.format("%d:%02d:%02d", h, m, s) end
  return string.format("%02d:%02d", m, s)
end

-- A field value as text: numbers with 4 significant digits, integers as they are.
local function format_value(v)
  if math.type(v) == "integer" then return tostring(v) end
  if type(v) == "number" then return string.format("%.4g", v) end
  if recur.is_tensor(v) then return string.format("%.4g", v:item()) end
  return tostring(v)
end

-- Whether fd (1 or 2) is a terminal: asked once, of the shell's `test -t`.
local function isatty(fd)
  local term = os.getenv("TERM")
  if term == nil or term == "" or term == "dumb" then return false end
  return os.execute("test -t " .. fd) == true
end

local Bar = {}
Bar.__index = Bar
Bar.__name = "progress.Bar"

--- A bar over total items (nil when unknown). Options:
---   desc (text before the numbers), writer (io.stderr; any file or object with :write, or a
---   function(s)), tty (nil: detect for io.stdout / io.stderr, false for other writers),
---   interval (0.1 s between redraws on a terminal), every (0: on a non-terminal, print a line
---   every that many updates; 0 prints none), width (20: bar characters), unit ("it"),
---   clock (a function returning seconds; recur.now by default).
function M.new(total, opts)
  local fn = "progress.new"
  opts = options.check(fn, opts, { desc = "", writer = io.stderr, tty = options.NONE,
                                   interval = 0.1, every = 0, width = 20, unit = "it",
                                   clock = recur.now })
  if total ~= nil and (type(total) ~= "number" or total < 0) then
    fail("%s: total must be a number >= 0 or nil, got %s", fn, tostring(total))
  end
  if math.type(opts.every) ~= "integer" or opts.every < 0 then
    fail("%s: every must be an integer >= 0, got %s", fn, tostring(opts.every))
  end
  local w = opts.writer
  local write
  if type(w) == "function" then
    write = w
  elseif (type(w) == "userdata" or type(w) == "table") and w.write then
    write = function(s)
      w:write(s)
      if w.flush then w:flush() end
    end
  else
    fail("%s: writer must be a file, an object with :write or a function, got %s", fn, type(w))
  end
  local tty = opts.tty
  if tty == nil then
    tty = (w == io.stderr and isatty(2)) or (w == io.stdout and isatty(1)) or false
  end
  local now = opts.clock()
  return setmetatable({
    total = total, count = 0, desc = opts.desc, tty = tty, interval = opts.interval,
    every = opts.every, width = opts.width, unit = opts.unit, clock = opts.clock,
    _write = write, _start = now, _last_draw = nil, _drawn_len = 0, _updates = 0,
    _fields = {}, _field_names = {}, _finished = false,
  }, Bar)
end

--- Sets fields shown after the numbers (loss = 1.234); a field keeps its place once shown,
--- new ones are added in alphabetical order.
function Bar:set(fields)
  if fields == nil then return self end
  if type(fields) ~= "table" then fail("progress: fields must be a table, got %s", type(fields)) end
  local new = {}
  for k in pairs(fields) do
    if self._fields[k] == nil then new[#new + 1] = k end
  end
  table.sort(new, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(new) do self._field_names[#self._field_names + 1] = k end
  for k, v in pairs(fields) do self._fields[k] = v end
  return self
end

-- The text of the bar for the current state; final adds the total time.
function Bar:line(final)
  local elapsed = self.clock() - self._start
  local parts = {}
  if self.desc ~= "" then parts[#parts + 1] = self.desc end
  local total = self.total
  if total then
    local frac = total > 0 and math.min(self.count / total, 1) or 1
    parts[#parts + 1] = string.format("%3d%%", math.floor(frac * 100))
    if self.tty and self.width > 0 then
      local full = math.floor(frac * self.width)
      parts[#parts + 1] = "[" .. string.rep("#", full) .. string.rep("-", self.width - full) .. "]"
    end
    parts[#parts + 1] = string.format("%d/%d", self.count, total)
  else
    parts[#parts + 1] = tostring(self.count)
  end
  local rate = elapsed > 0 and self.count / elapsed or nil
  parts[#parts + 1] = rate and string.format("%.2f %s/s", rate, self.unit) or ("? " .. self.unit .. "/s")
  if final then
    parts[#parts + 1] = "in " .. M.format_time(elapsed)
  else
    parts[#parts + 1] = "elapsed " .. M.format_time(elapsed)
    if total then
      local eta = rate and rate > 0 and math.max(total - self.count, 0) / rate or nil
      parts[#parts + 1] = "eta " .. (eta and M.format_time(eta) or "?")
    end
  end
  for _, k in ipairs(self._field_names) do
    parts[#parts + 1] = tostring(k) .. "=" .. format_value(self._fields[k])
  end
  return table.concat(parts, " ")
end

-- Redraw in place: "\r", the line, spaces over what a longer previous line left.
function Bar:_draw(line)
  local pad = math.max(self._drawn_len - #line, 0)
  self._write("\r" .. line .. string.rep(" ", pad))
  self._drawn_len = #line
end

--- Adds n (default 1) to the count and sets fields, then redraws (terminal, throttled) or
--- prints a line (every N updates otherwise).
function Bar:update(n, fields)
  if self._finished then fail("progress: update after finish") end
  if type(n) == "table" and fields == nil then n, fields = 1, n end
  n = n or 1
  if type(n) ~= "number" then fail("progress: update expects a number of items, got %s", type(n)) end
  self.count = self.count + n
  self._updates = self._updates + 1
  self:set(fields)
  if self.tty then
    local now = self.clock()
    if self._last_draw == nil or now - self._last_draw >= self.interval then
      self._last_draw = now
      self:_draw(self:line(false))
    end
  elseif self.every > 0 and self._updates % self.every == 0 then
    self._write(self:line(false) .. "\n")
  end
  return self
end

--- Prints the final line (total time) and ends the bar; further updates are errors.
function Bar:finish(fields)
  if self._finished then return self end
  self:set(fields)
  self._finished = true
  local line = self:line(true)
  if self.tty then
    self:_draw(line)
    self._write("\n")
  else
    self._write(line .. "\n")
  end
  return self
end

M.Bar = Bar
M.isatty = isatty   -- also for recur.plot (drawing in the terminal)

-- progress(total, opts) is progress.new(total, opts).
return setmetatable(M, { __call = function(_, ...) return M.new(...) end })
