-- scripts/recur/options.lua — the one options checker of recur's Lua library: unknown keys
-- are an error that names them all, defaults fill in what was not given.
local M = {}

--- A default of "none": the key is a known option whose value stays nil unless given.
M.NONE = setmetatable({}, { __tostring = function() return "none" end })

--- opts (may be nil) checked against defaults: returns a new table with every default
--- filled in. Unknown keys raise "<fn>: unknown option 'x' (expected a, b or c)".
--- Errors raised by recur's Lua library carry no "file:line:" prefix of the library's own
--- files: the message names the function, and the traceback shows where it was called.
function M.check(fn, opts, defaults)
  if opts ~= nil and type(opts) ~= "table" then
    error(string.format("%s: options must be a table, got %s", fn, type(opts)), 0)
  end
  local unknown, out = {}, {}
  for k in pairs(opts or {}) do
    if defaults[k] == nil then unknown[#unknown + 1] = tostring(k) end
  end
  if #unknown > 0 then
    table.sort(unknown)
    local known = {}
    for k in pairs(defaults) do known[#known + 1] = k end
    table.sort(known)
    local expected = #known > 1 and table.concat(known, ", ", 1, #known - 1) .. " or " .. known[#known]
                     or (known[1] or "none")
    error(string.format("%s: unknown option%s '%s' (expected %s)", fn, #unknown > 1 and "s" or "",
      table.concat(unknown, "', '"), expected), 0)
  end
  for k, v in pairs(defaults) do
    if v ~= M.NONE then out[k] = v end
  end
  for k, v in pairs(opts or {}) do out[k] = v end
  return out
end

return M
