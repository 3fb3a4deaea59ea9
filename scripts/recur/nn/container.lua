-- scripts/recur/nn/container.lua — nn.Sequential: modules applied in order. Children are named
-- "0", "1", ... as in PyTorch, so state_dict keys ("0.weight") load in PyTorch unchanged;
-- seq[1] is still the first module, as Lua counts.
local Module = require "recur.nn.module"

local Sequential = Module:extend("Sequential")

function Sequential:init(...)
  local mods = table.pack(...)
  if mods.n == 1 and type(mods[1]) == "table" and not Module.is_module(mods[1]) then mods = mods[1] end
  for i = 1, (mods.n or #mods) do self:add(mods[i]) end
end

function Sequential:add(m)
  if not Module.is_module(m) then
    error("nn.Sequential: expected a module, got " .. (type(m) == "table" and "a plain table" or type(m)), 0)
  end
  self[tostring(#rawget(self, "_modules").names)] = m
  return self
end

function Sequential:forward(x, ...)
  for m in self:children() do x = m(x, ...) end
  return x
end

function Sequential:get(i) return rawget(self, "_modules").values[tostring(i - 1)] end

function Sequential:size() return #rawget(self, "_modules").names end

return Sequential
