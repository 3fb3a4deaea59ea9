-- tests/repl_spec.lua — the interactive REPL of `recur`, driven in a real terminal (tmux):
-- printing, continuation lines, errors, Tab completion, history, Ctrl-C and Ctrl-D.
local recur = require "recur"
local exe = assert(os.getenv("RECUR_EXE"), "RECUR_EXE must name the recur binary (ctest sets it)")

local function quote(s)
  return "'" .. s:gsub("'", [['\'']]) .. "'"
end

-- Run a shell command; returns its output (stdout+stderr) and whether it exited 0.
local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local ok = p:close()
  return out, ok == true
end

local function write_file(name, contents)
  local f = assert(io.open(name, "w"))
  f:write(contents)
  f:close()
end

local function read_lines(name)
  local lines = {}
  for line in io.lines(name) do lines[#lines + 1] = line end
  return lines
end

local function make_dir()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -m 700 " .. quote(dir)))
  return dir
end

local pid = io.open("/proc/self/stat"):read("l"):match("^(%d+)") -- (Linux /proc)
local serial = 0

-- One private tmux server (-L recur-test-<pid>-<n>) with recur running in its only pane,
-- HOME set to a temporary directory so the user's history is never touched.
local Term = {}
Term.__index = Term

function Term.start(home)
  serial = serial + 1
  local self = setmetatable({home = home, socket = ("recur-test-%s-%d"):format(pid, serial)}, Term)
  self.conf = os.tmpname()
  -- a dead pane stays, so its last screen can still be read
  write_file(self.conf, 'set -g remain-on-exit on\nset -g default-terminal "screen"\n')
  -- tmux 3.3 sometimes never reaps the pane's process (no #{pane_dead_status}), so a shell
  -- writes recur's exit status to a file; it ignores the Ctrl-C meant for recur
  self.status_file = os.tmpname()
  os.remove(self.status_file)
  local wrapper = 'trap : INT; "$0"; echo $? > "$1"'
  local out, ok = self:tmux(("new-session -d -x 120 -y 40 /bin/sh -c %s %s %s"):format(
    quote(wrapper), quote(exe), quote(self.status_file)))
  assert(ok, "tmux new-session failed: " .. out)
  self.socket_path = self:tmux("display-message -p '#{socket_path}'"):match("[^\n]+")
  local started, err = pcall(self.ready, self)
  if not started then
    self:stop()
    error(err, 0)
  end
  return self
end

-- The sanitizer build preloads libasan into the spec's Lua; tmux must not get it. A UTF-8
-- locale, as on a user's terminal.
function Term:tmux(args)
  return sh(("env -u LD_PRELOAD -u LC_ALL LANG=C.UTF-8 HOME=%s tmux -L %s -f %s %s"):format(
    quote(self.home), self.socket, quote(self.conf), args))
end

function Term:stop()
  self:tmux("kill-server")
  if self.socket_path then os.remove(self.socket_path) end -- tmux 3.3 leaves it behind
  os.remove(self.conf)
  os.remove(self.status_file)
end

function Term:screen()
  return (self:tmux("capture-pane -p"))
end

-- Polls the screen until test(screen) holds; fails after ~10 s, showing the screen.
function Term:wait_for(what, test)
  for _ = 1, 100 do
    if test(self:screen()) then return end
    os.execute("sleep 0.1")
  end
  error(("timed out waiting for %s; the screen was:\n%s"):format(what, self:screen()), 2)
end

local function lines_of(screen)
  local lines = {}
  for line in (screen .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = line:gsub("%s+$", "") end
  return lines
end

-- Waits until the screen has a line equal to `line` (trailing blanks do not count).
function Term:wait_line(line)
  self:wait_for(("a line %q"):format(line), function(screen)
    for _, l in ipairs(lines_of(screen)) do
      if l == line then return true end
    end
    return false
  end)
end

-- Waits until recur sits at a bare prompt ("> " or ">> "): libedit prints it after putting
-- the terminal in raw mode, so keys sent from then on are not echoed twice or lost.
function Term:ready()
  self:wait_for("a prompt", function(screen)
    local last
    for _, l in ipairs(lines_of(screen)) do
      if l ~= "" then last = l end
    end
    return last == ">" or last == ">>"
  end)
end

-- Types text at a fresh prompt.
function Term:type(text)
  self:ready()
  self:add(text)
end

-- Types text after what the line already holds.
function Term:add(text)
  self:tmux("send-keys -l " .. quote(text))
end

function Term:keys(...)
  self:tmux("send-keys " .. table.concat({...}, " "))
end

-- Types a line, presses Enter and waits until its echo shows after the prompt.
function Term:enter(text, prompt)
  self:type(text)
  self:keys("Enter")
  self:wait_line((prompt or "> ") .. text)
end

-- Waits for recur to exit; returns its exit status.
function Term:wait_exit()
  local status
  self:wait_for("recur to exit", function()
    local f = io.open(self.status_file)
    status = f and f:read("n")
    if f then f:close() end
    return status ~= nil
  end)
  return status
end

describe("the recur REPL", function()
  local term, home

  before_each(function()
    home = make_dir()
  end)

  after_each(function()
    if term then term:stop() end
    term = nil
    os.execute("rm -rf " .. quote(home))
  end)

  it("prints the value of an expression", function()
    term = Term.start(home)
    term:enter("1+2")
    term:wait_line("3")
  end)

  it("treats a line starting with = as return", function()
    term = Term.start(home)
    term:enter("=2*3")
    term:wait_line("6")
  end)

  it("reads continuation lines with >> until the chunk is complete", function()
    term = Term.start(home)
    term:enter("function add(a, b)")
    term:enter("  return a + b", ">> ")
    term:enter("end", ">> ")
    term:enter("add(40, 2)")
    term:wait_line("42")
  end)

  it("runs a multi-line block pasted at once", function()
    term = Term.start(home)
    local block = os.tmpname()
    write_file(block, "total = 0\nfor i = 1, 4 do\n  total = total + i\nend\ntotal\n")
    term:tmux("load-buffer " .. quote(block))
    term:tmux("paste-buffer")
    os.remove(block)
    term:wait_line(">>   total = total + i")
    term:wait_line("10") -- 1 + 2 + 3 + 4
  end)

  it("keeps non-ASCII characters typed at the prompt", function()
    term = Term.start(home)
    term:enter('s = "h\u{e9}llo"')
    term:enter("#s")
    term:wait_line("6") -- é is two bytes in UTF-8
  end)

  it("shows a runtime error and keeps going with the globals intact", function()
    term = Term.start(home)
    term:enter("y = 5")
    term:enter('error("boom")')
    term:wait_line("stdin:1: boom")
    term:enter("y")
    term:wait_line("5")
  end)

  it("completes a field of a table after a dot", function()
    term = Term.start(home)
    term:type("recur.vers")
    term:keys("Tab")
    term:wait_line("> recur.version")
    term:keys("Enter")
    term:wait_line(recur.version)
  end)

  it("completes recur.ze to recur.zeros", function()
    term = Term.start(home)
    term:type("recur.ze")
    term:keys("Tab")
    term:wait_line("> recur.zeros")
    term:add("(4):numel()")
    term:keys("Enter")
    term:wait_line("4")
  end)

  it("completes a tensor method after a colon", function()
    term = Term.start(home)
    term:enter("t = recur.zeros(2, 3)")
    term:type("t:nu")
    term:keys("Tab")
    term:wait_line("> t:numel")
    term:add("()")
    term:keys("Enter")
    term:wait_line("6")
  end)

  it("completes a method found along a table's __index chain", function()
    term = Term.start(home)
    term:enter('obj = setmetatable({}, {__index = setmetatable({}, {__index = ' ..
      '{greet = function() return "hi" end}})})')
    term:type("obj:gr")
    term:keys("Tab")
    term:wait_line("> obj:greet")
    term:add("()")
    term:keys("Enter")
    term:wait_line("hi")
  end)

  it("completes global names and keywords", function()
    term = Term.start(home)
    term:type("setmet")
    term:keys("Tab")
    term:wait_line("> setmetatable")
    term:keys("C-u")
    term:type("whil")
    term:keys("Tab")
    term:wait_line("> while")
  end)

  it("runs no user code while completing (a function __index is not called)", function()
    term = Term.start(home)
    term:enter("trap = setmetatable({}, {__index = function() called = true end})")
    term:type("trap.x.y")
    term:keys("Tab", "Tab")
    term:keys("C-u")
    term:enter("called == nil")
    term:wait_line("true")
  end)

  it("saves each entry in $HOME/.recur_history, a multi-line chunk as one entry", function()
    term = Term.start(home)
    term:enter("x = 41")
    term:enter("for i = 1, 2 do")
    term:enter("end", ">> ")
    term:ready()
    term:keys("C-d")
    assert.are.equal(0, term:wait_exit())
    assert.are.same({"x = 41", [[for i = 1, 2 do\nend]]}, read_lines(home .. "/.recur_history"))
  end)

  it("recalls the saved history with Up", function()
    write_file(home .. "/.recur_history", "answer = 6 * 7\n")
    term = Term.start(home)
    term:keys("Up")
    term:wait_line("> answer = 6 * 7")
    term:keys("Enter")
    term:enter("answer")
    term:wait_line("42")
  end)

  it("keeps at most 1000 history entries", function()
    local old = {}
    for i = 1, 1005 do old[i] = "v = " .. i end
    write_file(home .. "/.recur_history", table.concat(old, "\n") .. "\n")
    term = Term.start(home)
    term:enter("1+1")
    term:wait_line("2")
    term:ready()
    term:keys("C-d")
    term:wait_exit()
    -- the newest 999 of the old entries, then the new one
    local expected = {}
    for i = 7, 1005 do expected[#expected + 1] = "v = " .. i end
    expected[#expected + 1] = "1+1"
    assert.are.same(expected, read_lines(home .. "/.recur_history"))
  end)

  it("still works when the history file cannot be used", function()
    assert(os.execute("mkdir " .. quote(home .. "/.recur_history")))
    term = Term.start(home)
    term:enter("1+2")
    term:wait_line("3")
    assert.is_truthy(term:screen():find("cannot read the history file", 1, true))
  end)

  it("stops a running loop on Ctrl-C and keeps the globals", function()
    term = Term.start(home)
    term:enter("x = 7")
    term:enter('print("looping") while true do end')
    term:wait_line("looping")
    term:keys("C-c")
    term:wait_for("the interrupted! message", function(screen)
      return screen:find("interrupted!", 1, true) ~= nil
    end)
    term:enter("x")
    term:wait_line("7")
  end)

  it("drops the typed line on Ctrl-C at the prompt", function()
    term = Term.start(home)
    term:type("garbage")
    term:wait_line("> garbage") -- read by libedit: a Ctrl-C would flush unread input
    term:keys("C-c")
    term:wait_line("> garbage^C")
    term:enter("3*3")
    term:wait_line("9") -- "garbage3*3" would be a syntax error
  end)

  it("drops an unfinished chunk on Ctrl-C at the continuation prompt", function()
    term = Term.start(home)
    term:enter("z = 1 +")
    term:wait_line(">>")
    term:keys("C-c")
    term:wait_line(">> ^C")
    term:enter("2*5")
    term:wait_line("10") -- had the chunk gone on, z = 1 + 2*5 would print nothing
  end)

  it("exits with status 0 on Ctrl-D at an empty prompt", function()
    term = Term.start(home)
    term:keys("C-d")
    assert.are.equal(0, term:wait_exit())
  end)

  it("still exits on Ctrl-D after the window was resized", function()
    term = Term.start(home)
    term:tmux("resize-window -x 100 -y 30")
    term:enter("1+1")
    term:wait_line("2")
    term:ready()
    term:keys("C-d")
    assert.are.equal(0, term:wait_exit())
  end)

  it("reads lines from a pipe with -i, printing every result tab-separated", function()
    local out, ok = sh(("printf '%%s\\n' '1, \"a\", nil' 'x = ' '5' '=x * 2' | HOME=%s %s -i")
      :format(quote(home), quote(exe)))
    assert.is_true(ok)
    local banner = ("recur %s — Lua 5.4 with recur preloaded. Ctrl-D exits, Ctrl-C interrupts.\n")
      :format(recur.version)
    assert.are.equal(banner .. "> 1\ta\tnil\n> >> > 10\n> \n", out)
  end)
end)
