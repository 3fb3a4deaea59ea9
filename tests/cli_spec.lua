-- tests/cli_spec.lua — the `recur` executable as a script runner: arguments, -e, -i, -v, -h,
-- exit status and messages on errors. (The interactive REPL has its own spec.)
local exe = assert(os.getenv("RECUR_EXE"), "RECUR_EXE must name the recur binary (ctest sets it)")

-- Run a shell command; returns its output (stdout+stderr) and whether it exited 0.
local function run(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local ok = p:close()
  return out, ok == true
end

local function tmpfile(contents)
  local name = os.tmpname()
  local f = assert(io.open(name, "w"))
  f:write(contents)
  f:close()
  return name
end

describe("recur (the executable)", function()
  it("runs a script with its arguments in `arg` and `...`", function()
    local script = tmpfile('print(arg[0] ~= nil, arg[1], arg[2], select("#", ...), ...)')
    local out, ok = run(string.format("%q %q one two", exe, script))
    os.remove(script)
    assert.is_true(ok)
    assert.are.equal("true\tone\ttwo\t2\tone\ttwo\n", out)
  end)

  it("preloads recur as a global and as a module", function()
    local out, ok = run(string.format("%q -e %q", exe,
      'print(type(recur), require("recur") == recur)'))
    assert.is_true(ok)
    assert.are.equal("table\ttrue\n", out)
  end)

  it("finds recur's Lua modules", function()
    local out, ok = run(string.format("%q -e %q", exe, 'print(package.path:find("scripts", 1, true) ~= nil or package.path:find("share/lua", 1, true) ~= nil)'))
    assert.is_true(ok)
    assert.are.equal("true\n", out)
  end)

  it("exits non-zero with the message and a traceback on an uncaught error", function()
    local script = tmpfile('local function f() error("boom") end\nf()\n')
    local out, ok = run(string.format("%q %q", exe, script))
    os.remove(script)
    assert.is_false(ok)
    assert.is_truthy(out:find("boom", 1, true))
    assert.is_truthy(out:find("stack traceback:", 1, true))
  end)

  it("reports a syntax error in -e code and exits non-zero", function()
    local out, ok = run(string.format("%q -e %q", exe, "x = = 1"))
    assert.is_false(ok)
    assert.is_truthy(out:find("unexpected symbol", 1, true))
  end)

  it("prints its version and the BLIS kernels with -v", function()
    local out, ok = run(string.format("%q -v", exe))
    assert.is_true(ok)
    assert.is_truthy(out:match("^recur %d+%.%d+%.%d+ %(Lua 5%.4%.%d+; BLIS [%d.]+, %w+ kernels, %d+ threads%)\n$"), out)
  end)

  it("prints usage with -h and --help", function()
    for _, flag in ipairs({ "-h", "--help" }) do
      local out, ok = run(string.format("%q %s", exe, flag))
      assert.is_true(ok)
      assert.is_truthy(out:find("usage:", 1, true))
      assert.is_truthy(out:find("-e code", 1, true))
    end
  end)

  it("refuses an unknown option with usage and a non-zero exit", function()
    local out, ok = run(string.format("%q --frobnicate", exe))
    assert.is_false(ok)
    assert.is_truthy(out:find("unrecognized option '--frobnicate'", 1, true))
  end)

  it("runs standard input as a script when it is not a terminal", function()
    local out, ok = run(string.format("echo 'print(6 * 7)' | %q", exe))
    assert.is_true(ok)
    assert.are.equal("42\n", out)
  end)

  it("refuses a BLIS_ARCH_TYPE that is not an arch id instead of crashing", function()
    local out, ok = run(string.format("BLIS_ARCH_TYPE=banana %q -e 'print(1)'", exe))
    assert.is_false(ok)
    assert.is_truthy(out:find("BLIS_ARCH_TYPE=banana is not a BLIS arch id", 1, true), out)
  end)

  it("refuses an arch id this BLIS was not built with (knc, ARM) instead of letting BLIS abort", function()
    for _, id in ipairs { "2", "13", "24" } do
      local out, ok = run(string.format("BLIS_ARCH_TYPE=%s %q -e 'print(1)'", id, exe))
      assert.is_false(ok)
      assert.is_truthy(out:find("BLIS_ARCH_TYPE=" .. id .. " is not a BLIS arch id of this build", 1, true), out)
      assert.is_falsy(out:find("Aborting", 1, true), out)
    end
  end)
end)
