-- tests/plot_spec.lua — recur.plot.line through gnuplot: text in the terminal, .png/.svg/.txt
-- files written atomically, every error message, a missing gnuplot, and char_lstm's --plot.
local recur = require "recur"

local exe = assert(os.getenv("RECUR_EXE"), "RECUR_EXE must name the recur binary (ctest sets it)")
local source = os.getenv("RECUR_SOURCE_DIR") or "."

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -m 700 " .. quote(dir)))
teardown(function() os.execute("rm -rf " .. quote(dir)) end)

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function write(path, text, mode)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  if mode then assert(os.execute("chmod " .. mode .. " " .. quote(path))) end
end

-- The names in a directory, sorted ("." and ".." left out).
local function list(path)
  local p = io.popen("ls -A " .. quote(path))
  local names = {}
  for name in p:lines() do names[#names + 1] = name end
  p:close()
  table.sort(names)
  return names
end

local function fresh_dir(name)
  local d = dir .. "/" .. name
  assert(os.execute("mkdir " .. quote(d)))
  return d
end

-- Runs fn with io.stdout replaced; returns fn's result and what was written to io.stdout.
local function capture(fn)
  local real, out = io.stdout, {}
  io.stdout = {
    write = function(self, ...)
      for _, s in ipairs({ ... }) do out[#out + 1] = s end
      return self
    end,
    flush = function(self) return self end,
  }
  local ok, res = pcall(fn)
  io.stdout = real
  if not ok then error(res, 0) end
  return res, table.concat(out)
end

local function lines_of(text)
  local out = {}
  for line in text:gmatch("([^\n]*)\n") do out[#out + 1] = line end
  return out
end

-- The last line with something on it (gnuplot's text ends with a blank line).
local function last_line(lines)
  for i = #lines, 1, -1 do
    if lines[i] ~= "" then return lines[i] end
  end
end

-- Lua code run by the recur executable with extra environment (`env` arguments, e.g.
-- "-u COLUMNS PATH=/x"); returns its output (stdout + stderr) and whether it exited 0.
local function run(env, code)
  local p = io.popen(string.format("env %s %s -e %s 2>&1", env, quote(exe), quote(code)))
  local out = p:read("a")
  local ok = p:close()
  return out, ok == true
end

-- The message of the error a plot call raises in a child process (code is a call's arguments).
local function child_error(env, args)
  local out = run(env, "local ok, err = pcall(recur.plot.line, " .. args .. ") io.write(ok and 'no error' or err)")
  return out
end

describe("recur.plot.line in the terminal", function()
  it("prints the plot as text with the title, axis labels and tick marks, and returns it", function()
    local text, printed = capture(function()
      return recur.plot.line({ 1, 2, 3, 4 }, { title = "Loss", xlabel = "step", ylabel = "nats",
                                               width = 60, height = 20 })
    end)
    assert.are.equal(printed, text)
    local lines = lines_of(text)
    assert.are.equal(20, #lines)
    for _, line in ipairs(lines) do assert.is_true(#line <= 60) end
    assert.is_truthy(text:find("Loss", 1, true))
    assert.is_truthy(text:find("\nnats ", 1, true))                -- the y label, left of the axis
    assert.are.equal("step", last_line(lines):match("^%s*(.-)$"))  -- the x label, under the axis
    -- y runs 1..4: the frame's top corner carries 4, its bottom 1; x ticks 1 .. 4 under it
    local top, bottom
    for i, line in ipairs(lines) do
      if line:match("^%s*4 %+%-+%+$") then top = i end
      if line:match("^%s*1 %+%-+%+$") then bottom = i end
    end
    assert.is_truthy(top)
    assert.is_truthy(bottom)
    assert.is_true(top < bottom)
    assert.is_truthy(lines[bottom + 1]:match("^%s+1%s+1%.5%s+2%s+2%.5%s+3%s+3%.5%s+4$"))
  end)

  it("has no form feed and no trailing spaces", function()
    local text = capture(function() return recur.plot.line({ 3, 1, 2 }, { width = 40, height = 12 }) end)
    assert.is_falsy(text:find("\f", 1, true))
    assert.is_falsy(text:find(" \n", 1, true))
  end)

  -- Lines and widest line of what a child process drew in the terminal with this environment.
  local function drawn_size(env)
    local out, ok = run(env, "recur.plot.line({1, 2, 3})")
    assert.is_true(ok, out)
    local lines, widest = lines_of(out), 0
    for _, line in ipairs(lines) do widest = math.max(widest, #line) end
    return #lines, widest
  end

  it("is 80x24 when neither the options nor COLUMNS/LINES give a size and stdout is no terminal", function()
    local lines, widest = drawn_size("-u COLUMNS -u LINES")
    assert.are.equal(24, lines)
    assert.is_true(widest > 70 and widest <= 80, "widest line " .. widest)
  end)

  it("takes its size from COLUMNS and LINES, one line less for the prompt", function()
    local lines, widest = drawn_size("COLUMNS=100 LINES=31")
    assert.are.equal(30, lines)
    assert.is_true(widest > 90 and widest <= 100, "widest line " .. widest)
  end)

  it("puts x values given as {x = ..., y = ...} on the axis", function()
    local text = capture(function()
      return recur.plot.line({ x = { 10, 20, 30 }, y = { 1, 3, 2 } }, { width = 50, height = 12 })
    end)
    local lines = lines_of(text)
    assert.is_truthy(last_line(lines):match("^%s+10%s+15%s+20%s+25%s+30$"))
  end)

  it("plots a 1-D tensor like the list of its values", function()
    local opts = { width = 50, height = 12 }
    local from_tensor = capture(function() return recur.plot.line(recur.tensor { 3, 1, 2 }, opts) end)
    local from_list = capture(function() return recur.plot.line({ 3, 1, 2 }, opts) end)
    assert.are.equal(from_list, from_tensor)
  end)

  it("draws a log-scale y axis with logy", function()
    local text = capture(function()
      return recur.plot.line({ 1, 10, 100, 1000 }, { logy = true, width = 50, height = 15 })
    end)
    -- decades as ticks: 1000 on the top corner, 1 on the bottom one, 10 and 100 between
    assert.is_truthy(text:find("\n%s*1000 %+%-+%+\n"))
    assert.is_truthy(text:find("\n%s*100 |"))
    assert.is_truthy(text:find("\n%s*10 |"))
    assert.is_truthy(text:find("\n%s*1 %+%-+%+\n"))
  end)

  it("lists named series in the legend in sorted order", function()
    local text = capture(function()
      return recur.plot.line({ zeta = { 1, 2, 3 }, alpha = { 3, 2, 1 } }, { width = 60, height = 16 })
    end)
    local a, z = text:find("alpha", 1, true), text:find("zeta", 1, true)
    assert.is_truthy(a)
    assert.is_truthy(z)
    assert.is_true(a < z)
  end)

  it("orders the legend by name whatever the table order", function()
    local names = { "delta", "alpha", "echo", "charlie", "bravo", "foxtrot", "golf", "hotel" }
    local series = {}
    for i, name in ipairs(names) do series[name] = { i, i + 1 } end
    local path = dir .. "/order.svg"
    recur.plot.line(series, { output = path })
    local svg, last = read(path), 0
    for _, name in ipairs({ "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel" }) do
      local at = svg:find("<text>" .. name .. "</text>", 1, true)
      assert.is_truthy(at, name)
      assert.is_true(at > last, name .. " out of order")
      last = at
    end
  end)

  it("prints titles literally: quotes, backslashes, backquotes and $(...) run nothing", function()
    local marker1, marker2 = dir .. "/ran-backquote", dir .. "/ran-dollar"
    local title = "it's \"q\" \\ `touch " .. marker1 .. "` $(touch " .. marker2 .. ") @x"
    local text = capture(function() return recur.plot.line({ 1, 2 }, { title = title, width = 140, height = 12 }) end)
    assert.is_truthy(text:find(title, 1, true))
    assert.is_nil(read(marker1))
    assert.is_nil(read(marker2))
  end)
end)

describe("recur.plot.line into files", function()
  it("writes a PNG and returns its path", function()
    local path = dir .. "/loss.png"
    assert.are.equal(path, recur.plot.line({ 3, 2, 1 }, { output = path }))
    assert.are.equal("\137PNG\r\n\26\n", read(path):sub(1, 8))
  end)

  it("writes an SVG with the named series in its legend", function()
    local path = dir .. "/loss.svg"
    assert.are.equal(path, recur.plot.line({ train = { 3, 2, 1 }, validation = { x = { 1, 3 }, y = { 3.5, 2.5 } } },
      { output = path, title = "run 1" }))
    local svg = read(path)
    assert.are.equal("<?xml", svg:sub(1, 5))
    assert.is_truthy(svg:find("\n<svg", 1, true))
    assert.is_truthy(svg:find("</svg>%s*$"))
    assert.is_truthy(svg:find("<text>train</text>", 1, true))
    assert.is_truthy(svg:find("<text>validation</text>", 1, true))
    assert.is_truthy(svg:find("<text>run 1</text>", 1, true))
  end)

  it("sizes images in pixels, 640x480 unless told", function()
    local path = dir .. "/size.svg"
    recur.plot.line({ 1, 2 }, { output = path })
    assert.is_truthy(read(path):find('width="640" height="480"', 1, true))
    recur.plot.line({ 1, 2 }, { output = path, width = 300, height = 200 })
    assert.is_truthy(read(path):find('width="300" height="200"', 1, true))
  end)

  it("writes into a .txt file the text it would draw in the terminal (80x24 unless told)", function()
    local path = dir .. "/loss.txt"
    local text = capture(function() return recur.plot.line({ 1, 4, 9 }, { title = "squares", width = 80, height = 24 }) end)
    assert.are.equal(path, recur.plot.line({ 1, 4, 9 }, { title = "squares", output = path }))
    assert.are.equal(text, read(path))
  end)

  it("replaces an existing file whole", function()
    local path = dir .. "/replace.txt"
    write(path, string.rep("old\n", 5000))
    recur.plot.line({ 1, 2 }, { output = path, width = 30, height = 10 })
    local text = read(path)
    assert.is_falsy(text:find("old", 1, true))
    assert.are.equal(10, #lines_of(text))
  end)

  it("writes to a path with spaces, quotes and $(...) in it and runs nothing", function()
    local d = fresh_dir("odd")
    local path = d .. "/a b 'c' \"d\" $(touch ran).png"
    assert.are.equal(path, recur.plot.line({ 1, 2 }, { output = path }))
    assert.are.same({ "a b 'c' \"d\" $(touch ran).png" }, list(d))
    assert.is_nil(read("ran"))
  end)
end)

describe("recur.plot.line when gnuplot fails", function()
  it("leaves no file and no temporary when the output directory does not exist", function()
    local d = fresh_dir("nodir")
    local tmp = fresh_dir("nodir-tmp")
    local err = child_error("TMPDIR=" .. quote(tmp),
      string.format("{1, 2}, {output = %q}", d .. "/missing/loss.png"))
    assert.is_truthy(err:match("^recur%.plot%.line: gnuplot failed: .*cannot open file"), err)
    assert.are.same({}, list(d))
    assert.are.same({}, list(tmp))  -- gnuplot's script and data were removed too
  end)

  -- A stand-in gnuplot that writes half a file to the script's output, complains and fails.
  local fakes = 0
  local function fake_gnuplot(body)
    fakes = fakes + 1
    local path = dir .. "/fake-gnuplot-" .. fakes
    write(path, "#!/bin/sh\nout=$(sed -n 's/^set output \"\\(.*\\)\"$/\\1/p' \"$1\" | head -n 1)\n" .. body, "755")
    return path
  end

  it("leaves an existing file untouched and removes its temporary, saying what gnuplot printed", function()
    local d = fresh_dir("keep")
    write(d .. "/loss.png", "the previous plot")
    local fake = fake_gnuplot("printf 'half a png' > \"$out\"\necho 'boom: out of ink' >&2\nexit 1\n")
    local err = child_error("RECUR_GNUPLOT=" .. quote(fake), string.format("{1, 2}, {output = %q}", d .. "/loss.png"))
    assert.are.equal("recur.plot.line: gnuplot failed: boom: out of ink", err)
    assert.are.equal("the previous plot", read(d .. "/loss.png"))
    assert.are.same({ "loss.png" }, list(d))
  end)

  it("says so when gnuplot fails without a word", function()
    local fake = fake_gnuplot("exit 3\n")
    local err = child_error("RECUR_GNUPLOT=" .. quote(fake), string.format("{1, 2}, {output = %q}", dir .. "/silent.svg"))
    assert.are.equal("recur.plot.line: gnuplot failed: exit status 3", err)
    assert.is_nil(read(dir .. "/silent.svg"))
  end)

  it("refuses to rename when gnuplot succeeded but wrote no file", function()
    local fake = fake_gnuplot("exit 0\n")
    local err = child_error("RECUR_GNUPLOT=" .. quote(fake), string.format("{1, 2}, {output = %q}", dir .. "/none.png"))
    assert.are.equal("recur.plot.line: gnuplot wrote no file", err)
    assert.is_nil(read(dir .. "/none.png"))
  end)
end)

describe("recur.plot without gnuplot", function()
  it("says how to install gnuplot when it is not on PATH", function()
    local empty = fresh_dir("empty-path")
    assert.are.equal("recur.plot.line: gnuplot not found on PATH (install it with apt-get install gnuplot-nox, "
      .. "or set RECUR_GNUPLOT to its path)", child_error("-u RECUR_GNUPLOT PATH=" .. quote(empty), "{1, 2}"))
  end)

  it("says when RECUR_GNUPLOT names no executable", function()
    assert.are.equal("recur.plot.line: gnuplot not found: RECUR_GNUPLOT=/nonexistent/gnuplot is not an executable "
      .. "(unset it to use gnuplot from PATH; install that with apt-get install gnuplot-nox)",
      child_error("RECUR_GNUPLOT=/nonexistent/gnuplot", "{1, 2}"))
  end)

  it("runs the gnuplot RECUR_GNUPLOT names", function()
    local p = io.popen("command -v gnuplot")
    local real = p:read("l")
    p:close()
    local out, ok = run("RECUR_GNUPLOT=" .. quote(real), "io.write(recur.plot.executable())")
    assert.is_true(ok, out)
    assert.are.equal(real, out)
  end)

  it("lets a script check for gnuplot up front with recur.plot.executable", function()
    assert.are.equal("gnuplot", (run("-u RECUR_GNUPLOT", "io.write(recur.plot.executable())")))
    local empty = fresh_dir("empty-path-2")
    local out = run("-u RECUR_GNUPLOT PATH=" .. quote(empty),
      "local ok, err = pcall(recur.plot.executable) io.write(err)")
    assert.are.equal("recur.plot.executable: gnuplot not found on PATH (install it with apt-get install "
      .. "gnuplot-nox, or set RECUR_GNUPLOT to its path)", out)
  end)
end)

describe("recur.plot.line refuses bad input", function()
  local fn = recur.plot.line
  local function refuses(msg, ...)
    local args = table.pack(...)
    assert.has_error(function() fn(table.unpack(args, 1, args.n)) end, msg)
  end

  it("names unknown options", function()
    refuses("recur.plot.line: unknown option 'colour' (expected height, logy, output, title, width, xlabel or ylabel)",
      { 1, 2 }, { colour = "red" })
  end)

  it("wants options in a table", function()
    refuses("recur.plot.line: options must be a table, got string", { 1, 2 }, "loss.png")
  end)

  it("checks the type of every option", function()
    refuses("recur.plot.line: title must be a string, got number", { 1, 2 }, { title = 1 })
    refuses("recur.plot.line: xlabel must be a string, got boolean", { 1, 2 }, { xlabel = true })
    refuses("recur.plot.line: ylabel must be a string, got table", { 1, 2 }, { ylabel = {} })
    refuses("recur.plot.line: logy must be a boolean, got string", { 1, 2 }, { logy = "yes" })
    refuses("recur.plot.line: width must be a positive integer, got 0", { 1, 2 }, { width = 0 })
    refuses("recur.plot.line: height must be a positive integer, got 2.5", { 1, 2 }, { height = 2.5 })
    refuses("recur.plot.line: output must be a path ending .png, .svg or .txt, or nil to draw in the terminal, got number",
      { 1, 2 }, { output = 1 })
  end)

  it("refuses an output file of another kind", function()
    refuses("recur.plot.line: output 'loss.pdf' must end .png, .svg or .txt (or be nil to draw in the terminal)",
      { 1, 2 }, { output = "loss.pdf" })
    refuses("recur.plot.line: output 'loss' must end .png, .svg or .txt (or be nil to draw in the terminal)",
      { 1, 2 }, { output = "loss" })
  end)

  it("says what a series may be", function()
    refuses("recur.plot.line: series must be a list of numbers, a {x = ..., y = ...} table, a 1-D tensor or a "
      .. "table of named series, got number", 3)
    refuses("recur.plot.line: series 'a': must be a list of numbers, a {x = ..., y = ...} table or a 1-D tensor, "
      .. "got a table of named series", { a = { b = { 1 } } })
    refuses("recur.plot.line: series 'a': must be a list of numbers, a {x = ..., y = ...} table, a 1-D tensor or "
      .. "a table of named series, got string", { a = "1 2 3" })
    refuses("recur.plot.line: series names must be strings, got boolean true", { [true] = { 1, 2 } })
    refuses("recur.plot.line: y must be a list of numbers or a 1-D tensor, got string", { x = { 1 }, y = "1" })
  end)

  it("refuses empty series", function()
    refuses("recur.plot.line: series is empty", {})
    refuses("recur.plot.line: series is empty", recur.zeros(0))
    refuses("recur.plot.line: series 'train' is empty", { train = {}, validation = { 1 } })
    refuses("recur.plot.line: series 'train' is empty", { train = { x = {}, y = {} } })
  end)

  it("refuses NaN and infinities, naming the series and the index", function()
    refuses("recur.plot.line: y[3] is nan; values must be finite numbers", { 1, 2, 0 / 0 })
    refuses("recur.plot.line: series 'validation': y[2] is inf; values must be finite numbers",
      { train = { 1, 2 }, validation = { 1, math.huge } })
    refuses("recur.plot.line: x[1] is -inf; values must be finite numbers", { x = { -math.huge, 1 }, y = { 1, 2 } })
    refuses("recur.plot.line: y[2] is -1e+308; gnuplot cannot scale an axis to values beyond 1e300",
      { 1, -1e308 })
    refuses("recur.plot.line: y[2] is nan; values must be finite numbers", recur.tensor { 1, 0 / 0 })
  end)

  it("refuses values that are not numbers", function()
    refuses("recur.plot.line: y[2] is a string, expected a number", { 1, "2" })
    refuses("recur.plot.line: series 'a': x[2] is a boolean, expected a number", { a = { x = { 1, true }, y = { 1, 2 } } })
  end)

  it("refuses mismatched x and y lengths", function()
    refuses("recur.plot.line: x has 3 values but y has 2", { x = { 1, 2, 3 }, y = { 1, 2 } })
    refuses("recur.plot.line: series 'a': x has 1 values but y has 2", { a = { x = { 1 }, y = { 1, 2 } } })
  end)

  it("refuses stray keys in lists and in {x, y} tables, and a missing y", function()
    refuses("recur.plot.line: y is a list of numbers but has the key 'label'", { 1, 2, label = "loss" })
    refuses("recur.plot.line: an {x = ..., y = ...} series has the unexpected key 'label'",
      { x = { 1 }, y = { 1 }, label = "loss" })
    refuses("recur.plot.line: an {x = ..., y = ...} series needs y", { x = { 1, 2 } })
  end)

  it("refuses tensors that are not 1-D", function()
    refuses("recur.plot.line: y must be a 1-D tensor, got shape (2,2)", recur.zeros(2, 2))
    refuses("recur.plot.line: series 'w': y must be a 1-D tensor, got shape (1,3)", { w = recur.zeros(1, 3) })
  end)

  it("refuses values <= 0 on a log scale", function()
    refuses("recur.plot.line: y[2] is 0, but logy needs values > 0", { 1, 0 }, { logy = true })
    refuses("recur.plot.line: series 'b': y[1] is -0.5, but logy needs values > 0",
      { a = { 1 }, b = { -0.5 } }, { logy = true })
  end)
end)

describe("char_lstm.lua --plot", function()
  local script = source .. "/scripts/examples/char_lstm.lua"

  local function char_lstm(args)
    local p = io.popen(string.format("%s %s %s 2>&1", quote(exe), quote(script), args))
    local out = p:read("a")
    local ok = p:close()
    return out, ok == true
  end

  it("writes the training and validation loss curves at the end", function()
    local text = dir .. "/tiny.txt"
    write(text, string.rep("call me ishmael. the whale, the white whale! ", 20))
    local plot = dir .. "/char_lstm.svg"
    local out, ok = char_lstm(string.format("--text %s --steps 3 --hidden 8 --layers 1 --embed 4 --batch 2 "
      .. "--bptt 8 --sample 5 --threads 1 --plot %s", quote(text), quote(plot)))
    assert.is_true(ok, out)
    assert.is_truthy(out:find("loss plot written to " .. plot, 1, true))
    local svg = read(plot)
    assert.is_truthy(svg, "no plot written")
    assert.is_truthy(svg:find("<text>train</text>", 1, true))
    assert.is_truthy(svg:find("<text>validation</text>", 1, true))
    assert.is_truthy(svg:find("<text>step (window)</text>", 1, true))
  end)

  it("refuses a --plot path of another kind before training", function()
    local out, ok = char_lstm("--steps 3 --plot loss.pdf")
    assert.is_false(ok)
    assert.are.equal("char_lstm: --plot needs a path ending .png, .svg or .txt, got 'loss.pdf'\n", out)
  end)

  it("lists --plot in its help", function()
    local out, ok = char_lstm("--help")
    assert.is_true(ok)
    assert.is_truthy(out:find("\n  --plot PATH ", 1, true))
  end)
end)
