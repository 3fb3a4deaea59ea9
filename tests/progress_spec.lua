-- tests/progress_spec.lua — recur.progress: the line it prints (count/total, percent, rate,
-- elapsed, ETA, fields), in-place redraws on a terminal, plain lines otherwise; a fake clock.
local progress = require "recur.progress"

-- A bar whose output goes to a list and whose clock the test sets.
local function fake(total, opts)
  local out, clock = {}, { t = 0 }
  opts = opts or {}
  opts.writer = function(s) out[#out + 1] = s end
  opts.clock = function() return clock.t end
  return progress.new(total, opts), out, clock
end

describe("progress.format_time", function()
  it("writes minutes and seconds, and hours from one hour on", function()
    assert.are.equal("00:00", progress.format_time(0))
    assert.are.equal("00:59", progress.format_time(59))
    assert.are.equal("01:01", progress.format_time(61))
    assert.are.equal("1:01:01", progress.format_time(3661))
    assert.are.equal("?", progress.format_time(1 / 0))
  end)
end)

describe("progress bar when the output is not a terminal", function()
  it("prints nothing on updates by default and one final line", function()
    local bar, out, clock = fake(4, { desc = "train", tty = false })
    for _ = 1, 4 do
      clock.t = clock.t + 0.5
      bar:update(1, { loss = 0.5 })
    end
    assert.are.same({}, out)
    bar:finish()
    -- 4 items in 2 s
    assert.are.same({ "train 100% 4/4 2.00 it/s in 00:02 loss=0.5\n" }, out)
  end)

  it("prints a plain line every N updates with percent, rate, elapsed and ETA", function()
    local bar, out, clock = fake(4, { desc = "train", tty = false, every = 2 })
    clock.t = 0.5
    bar:update()
    clock.t = 1
    bar:update(1, { loss = 1.23456 })
    -- 2 of 4 in 1 s: 2 it/s, 2 left -> 1 s; the loss with 4 significant digits
    assert.are.same({ "train  50% 2/4 2.00 it/s elapsed 00:01 eta 00:01 loss=1.235\n" }, out)
  end)

  it("shows count, rate and elapsed when the total is unknown", function()
    local bar, out, clock = fake(nil, { tty = false, every = 1, unit = "batch" })
    clock.t = 2
    bar:update(3)
    assert.are.same({ "3 1.50 batch/s elapsed 00:02\n" }, out)
  end)

  it("shows no rate or ETA before time has passed", function()
    local bar, out = fake(10, { tty = false, every = 1 })
    bar:update()
    assert.are.same({ " 10% 1/10 ? it/s elapsed 00:00 eta ?\n" }, out)
  end)

  it("keeps fields in place and adds new ones in alphabetical order", function()
    local bar, out = fake(nil, { tty = false, every = 1 })
    bar:update(1, { b = 1, a = 2 })
    bar:update(1, { c = "x", a = 3 })
    assert.are.equal("1 ? it/s elapsed 00:00 a=2 b=1\n", out[1])
    assert.are.equal("2 ? it/s elapsed 00:00 a=3 b=1 c=x\n", out[2])
  end)
end)

describe("progress bar on a terminal", function()
  it("redraws the line in place with a bar", function()
    local bar, out, clock = fake(4, { tty = true, width = 10 })
    clock.t = 1
    bar:update(2)
    assert.are.same({ "\r 50% [#####-----] 2/4 2.00 it/s elapsed 00:01 eta 00:01" }, out)
  end)

  it("redraws at most once per interval, and always at the end", function()
    local bar, out, clock = fake(100, { tty = true, interval = 0.1 })
    bar:update() -- t = 0: drawn
    clock.t = 0.05
    bar:update() -- too soon
    clock.t = 0.1
    bar:update() -- drawn
    assert.are.equal(2, #out)
    clock.t = 0.12
    bar:finish()
    assert.are.equal(4, #out)
    assert.are.equal("\n", out[4])
    assert.matches("^\r  3%% %[%-+%] 3/100 25%.00 it/s in 00:00", out[3])
  end)

  it("covers a longer previous line with spaces", function()
    local bar, out, clock = fake(nil, { tty = true })
    bar:update(1, { loss = 10.25 })
    clock.t = 1
    bar:update(1, { loss = 1 })
    local first, second = out[1], out[2]
    assert.are.equal("\r1 ? it/s elapsed 00:00 loss=10.25", first)
    assert.are.equal("\r2 2.00 it/s elapsed 00:01 loss=1 ", second) -- one shorter than first
  end)
end)

describe("progress bar errors and writers", function()
  it("writes to any object with a write method", function()
    local sink = { text = "" }
    function sink:write(s) self.text = self.text .. s end
    local bar = progress.new(1, { writer = sink, clock = function() return 0 end })
    bar:update()
    bar:finish()
    -- not io.stdout or io.stderr: not a terminal, so only the final line
    assert.are.equal("100% 1/1 ? it/s in 00:00\n", sink.text)
  end)

  -- What a fresh lua5.4 says progress.new(1).tty is, run by the shell command prefix.
  local function tty_in_child(prefix)
    local child = "lua5.4 -e 'io.stdout:write(tostring(require[[recur.progress]].new(1).tty))'"
    local p = io.popen(prefix:gsub("CHILD", function() return child end) .. " </dev/null 2>&1")
    local out = p:read("a")
    p:close()
    return out
  end

  it("is not a terminal when stderr is a pipe, whatever TERM says", function()
    assert.are.equal("false", tty_in_child("TERM=xterm CHILD"))
  end)

  it("is a terminal on a pseudo-terminal, unless TERM is dumb", function()
    -- script (util-linux, in every Debian) runs the child on a pseudo-terminal
    assert.are.equal("true", tty_in_child([[TERM=xterm script -qec "CHILD" /dev/null]]))
    assert.are.equal("false", tty_in_child([[TERM=dumb script -qec "CHILD" /dev/null]]))
  end)

  it("is callable as progress(total, opts)", function()
    local bar = progress(3, { writer = function() end, tty = false })
    assert.are.equal(3, bar.total)
  end)

  it("refuses updates after finish and bad arguments", function()
    local bar = fake(2, { tty = false })
    bar:finish()
    assert.has_error(function() bar:update() end, "progress: update after finish")
    assert.has_error(function() progress.new(-1) end, "progress.new: total must be a number >= 0 or nil, got -1")
    assert.has_error(function() progress.new(1, { writer = 5 }) end,
      "progress.new: writer must be a file, an object with :write or a function, got number")
    assert.has_error(function() progress.new(1, { colour = true }) end,
      "progress.new: unknown option 'colour' (expected clock, desc, every, interval, tty, unit, width or writer)")
  end)
end)
