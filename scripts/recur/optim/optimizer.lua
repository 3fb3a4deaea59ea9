-- scripts/recur/optim/optimizer.lua — the base of recur's optimizers, as torch.optim.Optimizer:
-- parameter groups with defaults, checked options, step/zero_grad/state_dict/load_state_dict.
local recur = require "recur"
local options = require "recur.options"

local Optimizer = {}
Optimizer.__index = Optimizer
Optimizer.__name = "Optimizer"

-- SGD's lr has no default (torch.optim.optimizer.required): a group must give one.
local required = setmetatable({}, { __tostring = function() return "<required>" end })
Optimizer.required = required

-- Errors carry no position: like the messages of recur's C functions, they say the function.
local function fail(fmt, ...) error(string.format(fmt, ...), 0) end
Optimizer.fail = fail

-- --- helpers -----------------------------------------------------------------------------

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end
Optimizer.sorted_keys = sorted_keys

-- "a, b or c"
local function either(names)
  if #names == 1 then return names[1] end
  return table.concat(names, ", ", 1, #names - 1) .. " or " .. names[#names]
end

-- Options tables go through recur.options (the one options checker). A state dict is data,
-- not options: this checks its keys against allowed (a set), naming every unknown one.
local function check_keys(fn, t, allowed)
  local unknown = {}
  for k in pairs(t) do
    if not allowed[k] then unknown[#unknown + 1] = "'" .. tostring(k) .. "'" end
  end
  if #unknown == 0 then return end
  table.sort(unknown)
  fail("%s: unknown key%s %s (expected %s)", fn, #unknown > 1 and "s" or "",
    table.concat(unknown, ", "), either(sorted_keys(allowed)))
end
Optimizer.check_keys = check_keys

-- A copy of plain Lua values (betas tables), so groups never share a mutable table.
local function copy(v)
  if type(v) ~= "table" or recur.is_tensor(v) or v == required then return v end
  local c = {}
  for k, x in pairs(v) do c[k] = copy(x) end
  return c
end
Optimizer.copy = copy

local function shape_str(t)
  return "(" .. table.concat(t:size(), ",") .. ")"
end
Optimizer.shape_str = shape_str

-- --- classes ------------------------------------------------------------------------------

-- Optimizer:extend(name, spec) makes optim.<name>. spec fields:
--   defaults     option -> default value (the type of the default is the option's type)
--   nonnegative  option -> what PyTorch calls it in "Invalid ... value" (checked >= 0)
--   state_keys   the per-parameter state this optimizer keeps (for load_state_dict)
--   validate     optional function(fn, group) for checks across options
--   update       function(self, param, grad, state, group): one parameter's step
function Optimizer:extend(name, spec)
  local cls = setmetatable({}, { __index = self, __call = function(c, ...) return c.new(c, ...) end })
  cls.__index = cls
  cls.__name = name
  cls.__tostring = self.__tostring -- metamethods are looked up raw, not through __index
  for k, v in pairs(spec) do
    if k ~= "defaults" then cls[k] = v end
  end
  cls.option_defaults = spec.defaults -- instances keep their own `defaults`, as PyTorch's
  cls.state_key_set = {}
  for _, k in ipairs(spec.state_keys) do cls.state_key_set[k] = true end
  return cls
end

function Optimizer:__tostring()
  local function plural(n, word) return n .. " " .. word .. (n == 1 and "" or "s") end
  local function show(v)
    if type(v) == "table" and not recur.is_tensor(v) then
      local parts = {}
      for i, x in ipairs(v) do parts[i] = tostring(x) end
      return "{" .. table.concat(parts, ", ") .. "}"
    end
    return tostring(v)
  end
  local count = 0
  for _, g in ipairs(self.param_groups) do count = count + #g.params end
  local lines = { string.format("optim.%s (%s in %s)", self.__name, plural(count, "parameter"),
    plural(#self.param_groups, "group")) }
  for i, g in ipairs(self.param_groups) do
    local parts = {}
    for _, k in ipairs(sorted_keys(g)) do
      if k ~= "params" then parts[#parts + 1] = k .. " = " .. show(g[k]) end
    end
    lines[#lines + 1] = string.format("  group %d: %s", i, table.concat(parts, ", "))
  end
  return table.concat(lines, "\n")
end

-- Type and range of every option of a group (or of the defaults, where `required` may stand).
function Optimizer:check_values(fn, group)
  for _, k in ipairs(sorted_keys(self.option_defaults)) do
    local default, v = self.option_defaults[k], group[k]
    if v == required then
      if group ~= self.defaults then
        fail("%s: option '%s' is required (no default): give it in the options or in every "
          .. "parameter group", fn, k)
      end
    elseif k == "betas" then
      if type(v) ~= "table" or type(v[1]) ~= "number" or type(v[2]) ~= "number" or v[3] ~= nil then
        fail("%s: option 'betas' must be a table of two numbers {beta1, beta2}, got %s", fn,
          type(v) == "table" and "a table of " .. #v .. " values" or type(v))
      end
      for i = 1, 2 do
        if not (v[i] >= 0 and v[i] < 1) then
          fail("%s: invalid beta parameter at index %d: %s (expected 0 <= beta < 1)", fn, i,
            tostring(v[i]))
        end
      end
    else
      local want = default == required and "number" or type(default)
      if type(v) ~= want then
        fail("%s: option '%s' must be a %s, got %s", fn, k, want, type(v))
      end
      local what = self.nonnegative[k]
      if what and not (v >= 0) then
        fail("%s: invalid %s %s (expected >= 0)", fn, what, tostring(v))
      end
    end
  end
  if self.validate then self.validate(fn, group) end
end

-- optim.X(params, [opts]): params is a list of tensors (model:parameters()) or a list of
-- parameter groups { {params = {...}, lr = 0.1}, ... } whose options override opts.
function Optimizer.new(cls, params, opts)
  local fn = "optim." .. cls.__name
  if recur.is_tensor(opts) then fail("%s: options must be a table, got a tensor", fn) end
  local self = setmetatable({ param_groups = {}, state = {},
                              defaults = copy(options.check(fn, opts, cls.option_defaults)) }, cls)
  self:check_values(fn, self.defaults)

  if recur.is_tensor(params) then
    fail("%s: params must be a list of tensors or of parameter groups, got one tensor (wrap it: {t})", fn)
  end
  if type(params) ~= "table" then
    fail("%s: params must be a list of tensors or of parameter groups, got %s", fn, type(params))
  end
  if #params == 0 then fail("%s: got an empty parameter list", fn) end
  if recur.is_tensor(params[1]) then
    self:add_param_group({ params = params })
  else
    for i = 1, #params do
      if type(params[i]) ~= "table" or recur.is_tensor(params[i]) then
        fail("%s: params[%d] must be a parameter group {params = {...}, ...} like params[1], got %s",
          fn, i, recur.is_tensor(params[i]) and "a tensor" or type(params[i]))
      end
      self:add_param_group(params[i])
    end
  end
  return self
end

-- opt:add_param_group{params = {...}, lr = ...}: options left out take the optimizer's.
function Optimizer:add_param_group(group)
  local fn = "optim." .. self.__name
  if type(group) ~= "table" or recur.is_tensor(group) then
    fail("%s: a parameter group must be a table {params = {...}, ...}, got %s", fn, type(group))
  end
  -- a group's keys: the options (defaulting to the optimizer's), params, and initial_lr
  -- (which schedulers add)
  local group_defaults = copy(self.defaults)
  group_defaults.params, group_defaults.initial_lr = options.NONE, options.NONE
  local new = copy(options.check(fn, group, group_defaults))
  local gi = #self.param_groups + 1
  local params = group.params
  if recur.is_tensor(params) then params = { params } end
  if type(params) ~= "table" then
    fail("%s: parameter group %d needs params, a list of tensors, got %s", fn, gi, type(params))
  end
  -- where each parameter already is, to refuse one optimized twice
  local seen = {}
  for g, other in ipairs(self.param_groups) do
    for j, p in ipairs(other.params) do seen[p] = string.format("parameter %d of group %d", j, g) end
  end
  new.params = {}
  for j = 1, #params do
    local p = params[j]
    local where = string.format("parameter %d of group %d", j, gi)
    if not recur.is_tensor(p) then fail("%s: %s is not a tensor (got %s)", fn, where, type(p)) end
    if p:dtype() ~= "float32" then fail("%s: %s must be float32, got %s", fn, where, p:dtype()) end
    if not p.is_leaf then
      fail("%s: %s is not a leaf (it was computed from other tensors, %s): optimize the leaf, "
        .. "or a detach()ed copy", fn, where, p.grad_fn)
    end
    if not p:is_contiguous() then
      fail("%s: %s is not contiguous: parameters are updated in place and must be contiguous "
        .. "(use :contiguous() before making it a parameter)", fn, where)
    end
    if seen[p] then fail("%s: %s is also %s: a parameter can be in one group only", fn, where, seen[p]) end
    seen[p] = where
    new.params[j] = p
  end
  self:check_values(string.format("%s: parameter group %d", fn, gi), new)
  self.param_groups[gi] = new
end

-- --- the training-loop methods --------------------------------------------------------------

-- opt:step([closure]): one update of every parameter that has a gradient (p.grad ~= nil);
-- closure (re-evaluating the loss, with grad mode on) runs first and its result is returned.
function Optimizer:step(closure)
  local loss
  if closure ~= nil then
    if type(closure) ~= "function" then
      fail("optim.%s:step: closure must be a function, got %s", self.__name, type(closure))
    end
    loss = recur.enable_grad(closure)
  end
  for _, group in ipairs(self.param_groups) do
    for _, p in ipairs(group.params) do
      local g = p.grad
      if g ~= nil then
        if not g:is_contiguous() then g = g:contiguous() end
        local state = self.state[p]
        if state == nil then
          state = {}
          self.state[p] = state
        end
        self:update(p, g, state, group)
      end
    end
  end
  return loss
end

-- opt:zero_grad([{set_to_none = true}]): drops every gradient (p.grad = nil), as PyTorch 2.x
-- does by default: the next backward makes fresh ones, and a parameter no loss reached is
-- skipped by step() instead of decayed by weight decay. {set_to_none = false} fills the
-- existing gradients with zeros instead (PyTorch 1.13's default).
function Optimizer:zero_grad(opts)
  local set_to_none = options.check("optim." .. self.__name .. ":zero_grad", opts,
    { set_to_none = true }).set_to_none
  for _, group in ipairs(self.param_groups) do
    for _, p in ipairs(group.params) do
      if set_to_none then
        p.grad = nil
      else
        local g = p.grad
        if g ~= nil then g:fill_(0) end
      end
    end
  end
end

-- --- state_dict ------------------------------------------------------------------------------

-- A snapshot as plain Lua tables: { state = { [i] = {step = n, exp_avg = tensor, ...} },
-- param_groups = { {lr = ..., ..., params = {1, 2}} } }. Parameters are numbered 1, 2, ...
-- across the groups in order (PyTorch numbers them from 0). Tensors are copies, so later
-- steps do not change a snapshot.
function Optimizer:state_dict()
  local groups, state, n = {}, {}, 0
  for gi, group in ipairs(self.param_groups) do
    local packed = {}
    for k, v in pairs(group) do
      if k ~= "params" then packed[k] = copy(v) end
    end
    packed.params = {}
    for j, p in ipairs(group.params) do
      n = n + 1
      packed.params[j] = n
      local s = self.state[p]
      if s and next(s) ~= nil then
        local c = {}
        for k, v in pairs(s) do c[k] = recur.is_tensor(v) and v:clone() or v end
        state[n] = c
      end
    end
    groups[gi] = packed
  end
  return { state = state, param_groups = groups }
end

-- opt:load_state_dict(sd): groups must match in number and size; state tensors must match
-- their parameter's shape. Everything is checked before anything changes. The groups'
-- options (lr ...) become the saved ones, as in PyTorch.
function Optimizer:load_state_dict(sd)
  local fn = "optim." .. self.__name .. ":load_state_dict"
  if type(sd) ~= "table" or type(sd.state) ~= "table" or type(sd.param_groups) ~= "table" then
    fail("%s: expected a table with 'state' and 'param_groups' (from state_dict()), got %s", fn,
      type(sd) == "table" and "a table without them" or type(sd))
  end
  check_keys(fn, sd, { state = true, param_groups = true })
  local saved_groups = sd.param_groups
  if #saved_groups ~= #self.param_groups then
    fail("%s: the state dict has %d parameter group%s but this optimizer has %d", fn,
      #saved_groups, #saved_groups == 1 and "" or "s", #self.param_groups)
  end
  local by_index, new_groups = {}, {}
  for gi, group in ipairs(self.param_groups) do
    local saved = saved_groups[gi]
    if type(saved) ~= "table" or type(saved.params) ~= "table" then
      fail("%s: parameter group %d of the state dict has no params list", fn, gi)
    end
    if #saved.params ~= #group.params then
      fail("%s: parameter group %d of the state dict has %d parameters but this optimizer's has %d",
        fn, gi, #saved.params, #group.params)
    end
    local group_defaults = copy(self.defaults)
    group_defaults.params, group_defaults.initial_lr = options.NONE, options.NONE
    local new = copy(options.check(string.format("%s: parameter group %d", fn, gi), saved,
      group_defaults))
    new.params = group.params
    self:check_values(string.format("%s: parameter group %d", fn, gi), new)
    for j, index in ipairs(saved.params) do
      if math.type(index) ~= "integer" then
        fail("%s: parameter group %d of the state dict lists %s as a parameter index", fn, gi,
          tostring(index))
      end
      by_index[index] = group.params[j]
    end
    new_groups[gi] = new
  end
  local new_state = {}
  for _, index in ipairs(sorted_keys(sd.state)) do
    local entry, p = sd.state[index], by_index[index]
    if p == nil then
      fail("%s: the state dict has state for parameter %s, which none of its groups lists", fn,
        tostring(index))
    end
    if type(entry) ~= "table" then
      fail("%s: state[%d] must be a table, got %s", fn, index, type(entry))
    end
    local s = {}
    for _, k in ipairs(sorted_keys(entry)) do
      local v = entry[k]
      if not self.state_key_set[k] then
        fail("%s: state[%d] has '%s', which optim.%s does not keep (it keeps %s)", fn, index,
          tostring(k), self.__name, either(self.state_keys))
      end
      if k == "step" then
        if type(v) ~= "number" or math.tointeger(v) == nil or v < 0 then
          fail("%s: state[%d].step must be a whole number >= 0, got %s", fn, index, tostring(v))
        end
        s.step = math.tointeger(v)
      else
        if not recur.is_tensor(v) then
          fail("%s: state[%d].%s must be a tensor, got %s", fn, index, k, type(v))
        end
        if v:dtype() ~= "float32" then
          fail("%s: state[%d].%s must be float32, got %s", fn, index, k, v:dtype())
        end
        if shape_str(v) ~= shape_str(p) then
          fail("%s: state[%d].%s has shape %s but parameter %d has shape %s", fn, index, k,
            shape_str(v), index, shape_str(p))
        end
        s[k] = v:clone() -- a contiguous copy: the snapshot stays a snapshot
      end
    end
    new_state[p] = s
  end
  self.state = new_state
  for gi, g in ipairs(new_groups) do self.param_groups[gi] = g end
end

return Optimizer
