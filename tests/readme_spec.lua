-- tests/readme_spec.lua — the README stays true: every ```lua block in README.md runs
-- without error (output is not checked; the other specs check values).
local recur = require "recur"

local function lua_blocks(path)
  local f = assert(io.open(path))
  local text = f:read("a")
  f:close()
  local blocks = {}
  for code in text:gmatch("```lua\n(.-)```") do blocks[#blocks + 1] = code end
  return blocks
end

describe("README.md", function()
  local blocks = lua_blocks((os.getenv("RECUR_SOURCE_DIR") or ".") .. "/README.md")

  it("has Lua examples", function()
    assert.is_true(#blocks >= 2)
  end)

  for i, code in ipairs(blocks) do
    it("runs Lua example " .. i, function()
      local chunk = assert(load(code, "=README example " .. i, "t", setmetatable({ recur = recur },
        { __index = _G })))
      local real_print = print
      print = function() end -- keep the spec output readable
      local ok, err = pcall(chunk)
      print = real_print
      assert(ok, err)
    end)
  end
end)
