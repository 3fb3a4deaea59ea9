-- scripts/recur/nn/module.lua — nn.Module: the base of every layer and model. Submodules and
-- parameters assigned as fields register themselves, in order, as in PyTorch.
local recur = require "recur"

local Module = { __name = "Module" }

-- Tensors marked by nn.Parameter (weak keys: marking never keeps a tensor alive).
local parameters_set = setmetatable({}, { __mode = "k" })

--- Mark t as a parameter (requires grad) and return it.
function Module.Parameter(t, requires_grad)
  if not recur.is_tensor(t) then
    error("nn.Parameter: expected a tensor, got " .. type(t), 0)
  end
  if requires_grad ~= false then t:requires_grad_() end
  parameters_set[t] = true
  return t
end

local function is_module(v)
  return type(v) == "table" and rawget(v, "_modules") ~= nil
end
Module.is_module = is_module

local function is_parameter(v)
  return recur.is_tensor(v) and parameters_set[v] ~= nil
end

-- An ordered registry: names in assignment order, values by name.
local function new_registry() return { names = {}, values = {} } end

local function registry_set(reg, name, value)
  if value == nil then
    if reg.values[name] ~= nil then
      reg.values[name] = nil
      for i, n in ipairs(reg.names) do
        if n == name then table.remove(reg.names, i) break end
      end
    end
    return
  end
  if reg.values[name] == nil then reg.names[#reg.names + 1] = name end
  reg.values[name] = value
end

-- Instances: fields live in the registries or in the table; methods come from the class.
local instance_mt = {}

instance_mt.__index = function(self, key)
  local v = rawget(self, "_parameters").values[key]
  if v ~= nil then return v end
  v = rawget(self, "_modules").values[key]
  if v ~= nil then return v end
  v = rawget(self, "_buffers").values[key]
  if v ~= nil then return v end
  return rawget(self, "_class")[key]
end

instance_mt.__newindex = function(self, key, value)
  local params, mods, bufs = rawget(self, "_parameters"), rawget(self, "_modules"), rawget(self, "_buffers")
  if is_module(value) then
    registry_set(params, key, nil)
    registry_set(mods, key, value)
  elseif is_parameter(value) then
    registry_set(mods, key, nil)
    registry_set(params, key, value)
  elseif value == nil and (params.values[key] or mods.values[key] or bufs.values[key]) then
    registry_set(params, key, nil)
    registry_set(mods, key, nil)
    registry_set(bufs, key, nil)
  elseif bufs.values[key] ~= nil then
    registry_set(bufs, key, value)
  else
    rawset(self, key, value)
  end
end

instance_mt.__call = function(self, ...) return self:forward(...) end

instance_mt.__tostring = function(self) return self:tree() end

local function new_instance(cls, ...)
  local self = setmetatable({
    _class = cls,
    _parameters = new_registry(),
    _modules = new_registry(),
    _buffers = new_registry(),
    training = true,
  }, instance_mt)
  self:init(...)
  return self
end

local class_mt = {
  __call = function(cls, ...) return new_instance(cls, ...) end,
  __tostring = function(cls) return "nn." .. cls.__name .. " (class)" end,
}

--- A new module class: `local M = nn.Module:extend("SentimentLSTM")`, then define
--- M:init(...) and M:forward(...). Call the class to make an instance.
function Module:extend(name)
  if type(name) ~= "string" then error("nn.Module:extend: a class name (string) is needed", 0) end
  local cls = { __name = name, super = self }
  return setmetatable(cls, { __index = self, __call = class_mt.__call, __tostring = class_mt.__tostring })
end
setmetatable(Module, class_mt)

function Module:init() end

function Module:forward()
  error(string.format("nn.%s: forward is not defined (define %s:forward(...))", self.__name, self.__name), 0)
end

--- A tensor that is state but not a parameter (saved in state_dict, never trained).
function Module:register_buffer(name, tensor)
  registry_set(rawget(self, "_buffers"), name, tensor)
end

-- --- walking the tree -----------------------------------------------------------

--- Iterator over (name, child) of the direct submodules, in registration order.
function Module:named_children()
  local mods, i = rawget(self, "_modules"), 0
  return function()
    i = i + 1
    local name = mods.names[i]
    if name then return name, mods.values[name] end
  end
end

function Module:children()
  local it = self:named_children()
  return function() local _, m = it() return m end
end

--- Iterator over (dotted name, module) of self and every submodule, depth first.
function Module:named_modules()
  local list = {}
  local function walk(m, prefix)
    list[#list + 1] = { prefix, m }
    for name, child in m:named_children() do
      walk(child, prefix == "" and name or prefix .. "." .. name)
    end
  end
  walk(self, "")
  local i = 0
  return function()
    i = i + 1
    if list[i] then return list[i][1], list[i][2] end
  end
end

function Module:modules()
  local it = self:named_modules()
  return function() local _, m = it() return m end
end

-- (dotted name, tensor) of every parameter (or buffer) in order, each tensor once.
local function collect(self, registry_name)
  local out, seen = {}, {}
  for prefix, m in self:named_modules() do
    local reg = rawget(m, registry_name)
    for _, name in ipairs(reg.names) do
      local t = reg.values[name]
      if not seen[t] then
        seen[t] = true
        out[#out + 1] = { prefix == "" and name or prefix .. "." .. name, t }
      end
    end
  end
  return out
end

--- Iterator over (dotted name, parameter): "lstm.weight_ih_l0", "fc.bias", ...
function Module:named_parameters()
  local list, i = collect(self, "_parameters"), 0
  return function()
    i = i + 1
    if list[i] then return list[i][1], list[i][2] end
  end
end

--- The parameters as a list (what optimizers take).
function Module:parameters()
  local out = {}
  for _, p in self:named_parameters() do out[#out + 1] = p end
  return out
end

function Module:named_buffers()
  local list, i = collect(self, "_buffers"), 0
  return function()
    i = i + 1
    if list[i] then return list[i][1], list[i][2] end
  end
end

function Module:num_parameters()
  local n = 0
  for _, p in self:named_parameters() do n = n + p:numel() end
  return n
end

-- --- modes and gradients ---------------------------------------------------------

function Module:train(mode)
  if mode == nil then mode = true end
  for m in self:modules() do rawset(m, "training", mode) end
  return self
end

function Module:eval() return self:train(false) end

function Module:zero_grad()
  for _, p in self:named_parameters() do p.grad = nil end
end

--- fn(module) for every submodule, then self (as PyTorch's apply); returns self.
function Module:apply(fn)
  for child in self:children() do child:apply(fn) end
  fn(self)
  return self
end

--- recur computes in float32 only; kept so PyTorch-style code runs unchanged.
function Module:to_float() return self end

-- --- state -----------------------------------------------------------------------

--- name -> tensor for every parameter and buffer (detached: same storage, no history).
function Module:state_dict()
  local sd = {}
  for name, p in self:named_parameters() do sd[name] = p:detach() end
  for name, b in self:named_buffers() do sd[name] = b:detach() end
  return sd
end

local function shape_string(t) return "(" .. table.concat(t:shape(), ",") .. ")" end

--- Copy values from sd into the parameters and buffers. strict (default true): every key
--- must match, with the same shape; all problems are listed in one error, and nothing is
--- changed unless everything fits. Returns {missing_keys = {...}, unexpected_keys = {...}}.
function Module:load_state_dict(sd, opts)
  local options = require "recur.options"
  opts = options.check("nn.Module:load_state_dict", opts, { strict = true })
  if type(sd) ~= "table" then error("nn.Module:load_state_dict: expected a table of tensors, got " .. type(sd), 0) end
  local own = {}
  for name, p in self:named_parameters() do own[name] = p end
  for name, b in self:named_buffers() do own[name] = b end
  local missing, unexpected, mismatched = {}, {}, {}
  for name, t in pairs(own) do
    local v = sd[name]
    if v == nil then
      missing[#missing + 1] = name
    elseif not recur.is_tensor(v) then
      mismatched[#mismatched + 1] = string.format("%s: expected a tensor, got %s", name, type(v))
    elseif shape_string(v) ~= shape_string(t) then
      mismatched[#mismatched + 1] = string.format("%s: shape %s in the state dict, %s in the model",
        name, shape_string(v), shape_string(t))
    end
  end
  for name in pairs(sd) do
    if own[name] == nil then unexpected[#unexpected + 1] = tostring(name) end
  end
  table.sort(missing) table.sort(unexpected) table.sort(mismatched)
  local problems = {}
  if #mismatched > 0 then problems[#problems + 1] = "mis-shaped: " .. table.concat(mismatched, "; ") end
  if opts.strict and #missing > 0 then problems[#problems + 1] = "missing keys: " .. table.concat(missing, ", ") end
  if opts.strict and #unexpected > 0 then problems[#problems + 1] = "unexpected keys: " .. table.concat(unexpected, ", ") end
  if #problems > 0 then
    error("nn.Module:load_state_dict: the state dict does not fit " .. self.__name .. " (" ..
      table.concat(problems, "; ") .. ")", 0)
  end
  recur.no_grad(function()
    for name, t in pairs(own) do
      if sd[name] ~= nil then t:copy_(sd[name]) end
    end
  end)
  return { missing_keys = missing, unexpected_keys = unexpected }
end

-- --- printing ----------------------------------------------------------------------

local function thousands(n)
  local s = tostring(math.tointeger(n) or n)
  return (s:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", ""))
end

--- One line describing this module's own settings, e.g. "in_features=3, out_features=4".
function Module:extra_repr() return "" end

local function own_parameter_count(m)
  local n = 0
  for _, name in ipairs(rawget(m, "_parameters").names) do n = n + rawget(m, "_parameters").values[name]:numel() end
  return n
end

--- An indented tree with each module's settings and parameter counts.
function Module:tree()
  local lines = {}
  local function walk(m, label, indent)
    local head = indent .. (label and "(" .. label .. "): " or "") .. m.__name
    local extra = m:extra_repr()
    local own = own_parameter_count(m)
    local has_children = #rawget(m, "_modules").names > 0
    if not has_children then
      local line = head .. "(" .. extra .. ")"
      if own > 0 then line = line .. "  -- " .. thousands(own) .. " params" end
      lines[#lines + 1] = line
      return
    end
    lines[#lines + 1] = head .. "(" .. extra .. (extra ~= "" and "" or "")
    for name, child in m:named_children() do walk(child, name, indent .. "  ") end
    lines[#lines + 1] = indent .. ")" .. (own > 0 and "  -- " .. thousands(own) .. " own params" or "")
  end
  walk(self, nil, "")
  lines[#lines + 1] = "Total parameters: " .. thousands(self:num_parameters())
  return table.concat(lines, "\n")
end

return Module
