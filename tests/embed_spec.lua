-- tests/embed_spec.lua — the embedding example (scripts/examples/embed_host.c, built next to
-- the recur executable): a C host that trains a Lua model on data it makes and reads it back.
local exe = assert(os.getenv("RECUR_EXE"), "RECUR_EXE must name the recur binary (ctest sets it)")
local host = exe:match("^(.*)/[^/]*$") .. "/embed_host"

-- Run the host with arguments; returns its output (stdout+stderr) and its exit code.
local function run(args)
  local p = io.popen(string.format("%q %s 2>&1", host, args or ""))
  local out = p:read("a")
  local _, _, code = p:close()
  return out, code
end

local function with_script(code, fn)
  local name = os.tmpname()
  local f = assert(io.open(name, "w"))
  f:write(code)
  f:close()
  local ok, err = pcall(fn, name)
  os.remove(name)
  assert(ok, err)
end

-- Run the host on a model script: it must exit 1 with each of the messages in its output.
local function refused(script, args, messages)
  with_script(script, function(name)
    local out, code = run(args .. " " .. name)
    assert.are.equal(1, code, out)
    for _, message in ipairs(messages) do assert.is_truthy(out:find(message, 1, true), out) end
  end)
end

describe("embed_host (a C program embedding recur)", function()
  it("is built next to the recur executable", function()
    local f = io.open(host)
    assert.is_truthy(f, "no " .. host)
    f:close()
  end)

  it("prints its usage with --help and exits 0", function()
    local out, code = run("--help")
    assert.are.equal(0, code)
    assert.is_truthy(out:find("usage: .*embed_host %[%-%-steps N%] %[model.lua%]"), out)
    assert.is_truthy(out:find("train_step(x, y) -> loss", 1, true), out)
  end)

  it("trains the built-in linear model until it recovers y = 2 x1 - 3 x2 + 0.5", function()
    local out, code = run("")
    assert.are.equal(0, code, out)
    local first = tonumber(out:match("step 1 loss (%S+)"))
    local last = tonumber(out:match("step 50 loss (%S+)"))
    assert.is_truthy(first and last, out)
    assert.is_true(last < first / 1000, out)
    -- the data is exactly linear, so least squares gives back the weights it was made with
    local w1, w2 = out:match("weight %(1,2%): (%S+) (%S+)\n")
    assert.is_truthy(w1, out)
    assert.is_true(math.abs(tonumber(w1) - 2) < 1e-3, out)
    assert.is_true(math.abs(tonumber(w2) + 3) < 1e-3, out)
  end)

  it("prints the first, every tenth and the last step", function()
    local out, code = run("--steps 25")
    assert.are.equal(0, code, out)
    local steps = {}
    for s in out:gmatch("step (%d+) loss") do steps[#steps + 1] = tonumber(s) end
    assert.are.same({ 1, 10, 20, 25 }, steps)
  end)

  it("runs the model script given on the command line with the data it made in C", function()
    -- x is a 4x4 grid over [-1,1]^2 from (-1,-1), so y[1] = 2*(-1) - 3*(-1) + 0.5 = 1.5,
    -- sum(x1) = sum(x2) = 0 and sum(y) = 16 * 0.5 = 8
    with_script([[
calls = 0
function train_step(x, y)
  calls = calls + 1
  weight = recur.tensor{{calls, x:size(1), x:size(2), y:size(2), x[1][1]:item(),
                         x[1][2]:item(), y[1][1]:item()}}
  return y:sum()
end
]], function(name)
      local out, code = run("--steps 3 " .. name)
      assert.are.equal(0, code, out)
      local losses = {}
      for step, loss in out:gmatch("step (%d+) loss (%S+)\n") do
        losses[#losses + 1] = tonumber(step)
        assert.is_true(math.abs(tonumber(loss) - 8) < 1e-4, out)
      end
      assert.are.same({ 1, 3 }, losses)
      assert.is_truthy(out:find("weight (1,7): 3.0000 16.0000 2.0000 1.0000 -1.0000 -1.0000 1.5000\n",
        1, true), out)
    end)
  end)

  it("reports a Lua error in the model with its traceback and exits 1", function()
    refused('function train_step(x, y)\n  error("model broke")\nend\n', "",
      { ":2: model broke\nstack traceback:", "in function 'train_step'" })
  end)

  it("reports a model that defines no train_step", function()
    refused("weight = recur.zeros(1)\n", "",
      { "recur_engine_call: no global 'train_step' (expected a function)" })
  end)

  it("reports a model whose weight is not a tensor", function()
    refused("weight = 5\nfunction train_step(x, y) return y:sum() end\n", "--steps 1",
      { "recur_engine_get_tensor: global 'weight' is a number, expected a tensor" })
  end)

  it("refuses a loss that is not one value", function()
    refused("function train_step(x, y) return x end\n", "",
      { "train_step returned a loss of 32 values, expected 1" })
  end)

  it("reports a script it cannot open", function()
    local out, code = run("/nonexistent/model.lua")
    assert.are.equal(1, code)
    assert.is_truthy(out:find("cannot open /nonexistent/model.lua", 1, true), out)
  end)

  it("refuses an unknown option and a bad step count with its usage, exit 2", function()
    for _, args in ipairs({ "--frobnicate", "--steps 0", "--steps ten" }) do
      local out, code = run(args)
      assert.are.equal(2, code, args)
      assert.is_truthy(out:find("bad argument", 1, true), out)
      assert.is_truthy(out:find("usage:", 1, true), out)
    end
  end)
end)
