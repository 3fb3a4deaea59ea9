-- scripts/recur/optim/lr_scheduler.lua — learning-rate schedules as torch.optim.lr_scheduler
-- (1.13): StepLR, ExponentialLR, CosineAnnealingLR, LinearLR, LambdaLR, ReduceLROnPlateau.
--
-- Call sched:step() once per epoch AFTER opt:step(), as in PyTorch; making a scheduler already
-- takes step 0 (sets the first lr). Each writes group.lr of the optimizer's param_groups,
-- computing from the current lr ("chainable"), exactly as PyTorch's get_lr() does, so two
-- schedulers on one optimizer compose. Required arguments are positional as in PyTorch, the
-- rest go in one options table: optim.lr_scheduler.StepLR(opt, 30, {gamma = 0.1}).
local Optimizer = require "recur.optim.optimizer"
local options = require "recur.options"

local fail, check_keys, copy = Optimizer.fail, Optimizer.check_keys, Optimizer.copy

local lr_scheduler = {}

local function is_optimizer(o)
  return type(o) == "table" and type(o.param_groups) == "table" and type(o.step) == "function"
end

local function check_optimizer(fn, o)
  if not is_optimizer(o) then
    fail("%s: the first argument must be an optimizer (optim.SGD, optim.Adam ...), got %s", fn,
      type(o))
  end
end

local function check_number(fn, name, v, ok, expected)
  if type(v) ~= "number" or not ok(v) then
    fail("%s: %s must be %s, got %s", fn, name, expected, tostring(v))
  end
  return v
end

local function positive_integer(fn, name, v)
  return check_number(fn, name, v, function(x) return math.tointeger(x) ~= nil and x > 0 end,
    "a positive integer")
end

local function integer_from(fn, name, v, lo)
  return check_number(fn, name, v, function(x) return math.tointeger(x) ~= nil and x >= lo end,
    "an integer >= " .. lo)
end

-- --- the base class ------------------------------------------------------------------------

local LRScheduler = {}
LRScheduler.__index = LRScheduler

local function class(name, parent)
  local cls = setmetatable({}, { __index = parent, __call = function(c, ...) return c.new(...) end })
  cls.__index = cls
  cls.__name = name
  cls.fn = "optim.lr_scheduler." .. name
  return cls
end

-- PyTorch's _LRScheduler.__init__: remember each group's initial_lr (or require it when
-- resuming with last_epoch >= 0), then take step 0.
function LRScheduler:init(optimizer, last_epoch)
  last_epoch = integer_from(self.fn, "last_epoch", last_epoch, -1)
  self.optimizer = optimizer
  if last_epoch == -1 then
    for _, g in ipairs(optimizer.param_groups) do
      if g.initial_lr == nil then g.initial_lr = g.lr end
    end
  else
    for i, g in ipairs(optimizer.param_groups) do
      if g.initial_lr == nil then
        fail("%s: param_groups[%d] has no initial_lr, which resuming with last_epoch = %d needs "
          .. "(load the optimizer's state_dict first)", self.fn, i, last_epoch)
      end
    end
  end
  self.base_lrs = {}
  for i, g in ipairs(optimizer.param_groups) do self.base_lrs[i] = g.initial_lr end
  self.last_epoch = last_epoch
  self._step_count = 0
  self:step()
end

-- sched:step(): the next epoch's lr into every group.
function LRScheduler:step(...)
  if select("#", ...) > 0 then
    fail("%s:step: takes no arguments (PyTorch's epoch argument is deprecated); to start "
      .. "elsewhere, make the scheduler with {last_epoch = n}", self.fn)
  end
  self._step_count = self._step_count + 1
  self.last_epoch = self.last_epoch + 1
  local values = self:get_lr()
  local groups = self.optimizer.param_groups
  for i, g in ipairs(groups) do g.lr = values[i] end
  self._last_lr = {}
  for i, g in ipairs(groups) do self._last_lr[i] = g.lr end
end

-- The lrs the last step set, one per group (a copy).
function LRScheduler:get_last_lr()
  return copy(self._last_lr)
end

-- Every field but the optimizer (and LambdaLR's functions): numbers and lists of numbers.
function LRScheduler:state_dict()
  local sd = {}
  for k, v in pairs(self) do
    if k ~= "optimizer" and k ~= "lr_lambdas" then sd[k] = copy(v) end
  end
  return sd
end

-- Takes back what state_dict() gave; keys this scheduler does not have are an error.
function LRScheduler:load_state_dict(sd)
  local fn = self.fn .. ":load_state_dict"
  if type(sd) ~= "table" then fail("%s: expected a table (from state_dict()), got %s", fn, type(sd)) end
  local mine = self:state_dict()
  local allowed = {}
  for k in pairs(mine) do allowed[k] = true end
  check_keys(fn, sd, allowed)
  for k, v in pairs(sd) do
    if type(v) ~= type(mine[k]) and mine[k] ~= nil then
      fail("%s: '%s' must be a %s, got %s", fn, k, type(mine[k]), type(v))
    end
  end
  for k, v in pairs(sd) do self[k] = copy(v) end
end

local function current_lrs(self)
  local lrs = {}
  for i, g in ipairs(self.optimizer.param_groups) do lrs[i] = g.lr end
  return lrs
end

-- --- StepLR: lr * gamma every step_size epochs ------------------------------------------------

local StepLR = class("StepLR", LRScheduler)
lr_scheduler.StepLR = StepLR

function StepLR.new(optimizer, step_size, opts)
  local self = setmetatable({}, StepLR)
  check_optimizer(StepLR.fn, optimizer)
  self.step_size = positive_integer(StepLR.fn, "step_size", step_size)
  opts = options.check(StepLR.fn, opts, { gamma = 0.1, last_epoch = -1 })
  self.gamma = check_number(StepLR.fn, "gamma", opts.gamma, function() return true end, "a number")
  self:init(optimizer, opts.last_epoch)
  return self
end

function StepLR:get_lr()
  local lrs = current_lrs(self)
  if self.last_epoch == 0 or self.last_epoch % self.step_size ~= 0 then return lrs end
  for i = 1, #lrs do lrs[i] = lrs[i] * self.gamma end
  return lrs
end

-- --- ExponentialLR: lr * gamma every epoch ---------------------------------------------------

local ExponentialLR = class("ExponentialLR", LRScheduler)
lr_scheduler.ExponentialLR = ExponentialLR

function ExponentialLR.new(optimizer, gamma, opts)
  local self = setmetatable({}, ExponentialLR)
  check_optimizer(ExponentialLR.fn, optimizer)
  self.gamma = check_number(ExponentialLR.fn, "gamma", gamma, function() return true end, "a number")
  opts = options.check(ExponentialLR.fn, opts, { last_epoch = -1 })
  self:init(optimizer, opts.last_epoch)
  return self
end

function ExponentialLR:get_lr()
  local lrs = current_lrs(self)
  if self.last_epoch == 0 then return lrs end
  for i = 1, #lrs do lrs[i] = lrs[i] * self.gamma end
  return lrs
end

-- --- CosineAnnealingLR: from the base lr down to eta_min over T_max epochs, and back up ---------

local CosineAnnealingLR = class("CosineAnnealingLR", LRScheduler)
lr_scheduler.CosineAnnealingLR = CosineAnnealingLR

function CosineAnnealingLR.new(optimizer, T_max, opts)
  local self = setmetatable({}, CosineAnnealingLR)
  local fn = CosineAnnealingLR.fn
  check_optimizer(fn, optimizer)
  self.T_max = positive_integer(fn, "T_max", T_max)
  opts = options.check(fn, opts, { eta_min = 0, last_epoch = -1 })
  self.eta_min = check_number(fn, "eta_min", opts.eta_min, function() return true end, "a number")
  self:init(optimizer, opts.last_epoch)
  return self
end

-- PyTorch's recursive form, branch for branch.
function CosineAnnealingLR:get_lr()
  local lrs, e, T, eta_min = current_lrs(self), self.last_epoch, self.T_max, self.eta_min
  if e == 0 then return lrs end
  for i = 1, #lrs do
    local base = self.base_lrs[i]
    if self._step_count == 1 and e > 0 then
      lrs[i] = eta_min + (base - eta_min) * (1 + math.cos(e * math.pi / T)) / 2
    elseif (e - 1 - T) % (2 * T) == 0 then
      lrs[i] = lrs[i] + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2
    else
      lrs[i] = (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
        * (lrs[i] - eta_min) + eta_min
    end
  end
  return lrs
end

-- --- LinearLR: warm-up, lr * factor with factor going linearly start -> end over total_iters ---

local LinearLR = class("LinearLR", LRScheduler)
lr_scheduler.LinearLR = LinearLR

function LinearLR.new(optimizer, opts)
  local self = setmetatable({}, LinearLR)
  local fn = LinearLR.fn
  check_optimizer(fn, optimizer)
  opts = options.check(fn, opts, { start_factor = 1.0 / 3, end_factor = 1.0, total_iters = 5,
                                   last_epoch = -1 })
  -- start_factor 0 would divide by zero at epoch 1 (PyTorch 2.x refuses it too)
  self.start_factor = check_number(fn, "start_factor", opts.start_factor,
    function(x) return x > 0 and x <= 1 end, "in (0, 1]")
  self.end_factor = check_number(fn, "end_factor", opts.end_factor,
    function(x) return x >= 0 and x <= 1 end, "in [0, 1]")
  self.total_iters = positive_integer(fn, "total_iters", opts.total_iters)
  self:init(optimizer, opts.last_epoch)
  return self
end

function LinearLR:get_lr()
  local lrs, e = current_lrs(self), self.last_epoch
  local s, f, n = self.start_factor, self.end_factor, self.total_iters
  if e == 0 then
    for i = 1, #lrs do lrs[i] = lrs[i] * s end
  elseif e <= n then
    for i = 1, #lrs do
      lrs[i] = lrs[i] * (1. + (f - s) / (n * s + (e - 1) * (f - s)))
    end
  end
  return lrs
end

-- --- LambdaLR: base_lr * lr_lambda(epoch) ------------------------------------------------------

local LambdaLR = class("LambdaLR", LRScheduler)
lr_scheduler.LambdaLR = LambdaLR

-- lr_lambda: a function of the epoch (0, 1, ...), or a list of them, one per group. The
-- functions are not part of state_dict(): remake the scheduler with them, then load.
function LambdaLR.new(optimizer, lr_lambda, opts)
  local self = setmetatable({}, LambdaLR)
  local fn = LambdaLR.fn
  check_optimizer(fn, optimizer)
  local n = #optimizer.param_groups
  if type(lr_lambda) == "function" then
    self.lr_lambdas = {}
    for i = 1, n do self.lr_lambdas[i] = lr_lambda end
  elseif type(lr_lambda) == "table" then
    if #lr_lambda ~= n then fail("%s: expected %d lr_lambdas (one per group), got %d", fn, n, #lr_lambda) end
    for i = 1, n do
      if type(lr_lambda[i]) ~= "function" then
        fail("%s: lr_lambda[%d] must be a function, got %s", fn, i, type(lr_lambda[i]))
      end
    end
    self.lr_lambdas = { table.unpack(lr_lambda, 1, n) }
  else
    fail("%s: lr_lambda must be a function of the epoch or a list of them, got %s", fn, type(lr_lambda))
  end
  opts = options.check(fn, opts, { last_epoch = -1 })
  self:init(optimizer, opts.last_epoch)
  return self
end

function LambdaLR:get_lr()
  local lrs = {}
  for i, base in ipairs(self.base_lrs) do
    local factor = self.lr_lambdas[i](self.last_epoch)
    if type(factor) ~= "number" then
      fail("%s: lr_lambda returned %s for epoch %d, expected a number", self.fn, type(factor),
        self.last_epoch)
    end
    lrs[i] = base * factor
  end
  return lrs
end

-- --- ReduceLROnPlateau: lr * factor when a metric stops improving --------------------------------

local ReduceLROnPlateau = class("ReduceLROnPlateau", LRScheduler)
lr_scheduler.ReduceLROnPlateau = ReduceLROnPlateau

local function check_modes(fn, mode, threshold_mode)
  if mode ~= "min" and mode ~= "max" then
    fail("%s: mode must be 'min' or 'max', got %s", fn, tostring(mode))
  end
  if threshold_mode ~= "rel" and threshold_mode ~= "abs" then
    fail("%s: threshold_mode must be 'rel' or 'abs', got %s", fn, tostring(threshold_mode))
  end
end

function ReduceLROnPlateau.new(optimizer, opts)
  local self = setmetatable({}, ReduceLROnPlateau)
  local fn = ReduceLROnPlateau.fn
  check_optimizer(fn, optimizer)
  opts = options.check(fn, opts, { mode = "min", factor = 0.1, patience = 10, threshold = 1e-4,
                                   threshold_mode = "rel", cooldown = 0, min_lr = 0, eps = 1e-8 })
  local any = function() return true end
  self.factor = check_number(fn, "factor", opts.factor, function(x) return x < 1 end, "< 1")
  self.optimizer = optimizer
  local n, min_lr = #optimizer.param_groups, opts.min_lr
  self.min_lrs = {}
  if type(min_lr) == "table" then
    if #min_lr ~= n then fail("%s: expected %d min_lrs (one per group), got %d", fn, n, #min_lr) end
    for i = 1, n do self.min_lrs[i] = check_number(fn, "min_lr[" .. i .. "]", min_lr[i], any, "a number") end
  else
    check_number(fn, "min_lr", min_lr, any, "a number or a list of numbers")
    for i = 1, n do self.min_lrs[i] = min_lr end
  end
  self.patience = integer_from(fn, "patience", opts.patience, 0)
  self.cooldown = integer_from(fn, "cooldown", opts.cooldown, 0)
  self.cooldown_counter = 0
  self.mode = opts.mode
  self.threshold = check_number(fn, "threshold", opts.threshold, any, "a number")
  self.threshold_mode = opts.threshold_mode
  self.eps = check_number(fn, "eps", opts.eps, any, "a number")
  check_modes(fn, self.mode, self.threshold_mode)
  self.mode_worse = self.mode == "min" and math.huge or -math.huge
  self.last_epoch = 0
  self.best = self.mode_worse
  self.num_bad_epochs = 0
  self._last_lr = current_lrs(self)
  return self
end

function ReduceLROnPlateau:is_better(a, best)
  if self.mode == "min" and self.threshold_mode == "rel" then
    return a < best * (1 - self.threshold)
  elseif self.mode == "min" then
    return a < best - self.threshold
  elseif self.threshold_mode == "rel" then
    return a > best * (self.threshold + 1)
  end
  return a > best + self.threshold
end

-- sched:step(metric): metric is a number or a one-element tensor (the validation loss ...).
function ReduceLROnPlateau:step(metric)
  local current = metric
  if type(metric) == "userdata" and metric.item then current = metric:item() end
  if type(current) ~= "number" then
    fail("%s:step: expected the metric (a number or a one-element tensor), got %s", self.fn,
      type(metric))
  end
  self.last_epoch = self.last_epoch + 1
  if self:is_better(current, self.best) then
    self.best = current
    self.num_bad_epochs = 0
  else
    self.num_bad_epochs = self.num_bad_epochs + 1
  end
  if self.cooldown_counter > 0 then
    self.cooldown_counter = self.cooldown_counter - 1
    self.num_bad_epochs = 0 -- bad epochs in cooldown do not count
  end
  if self.num_bad_epochs > self.patience then
    for i, g in ipairs(self.optimizer.param_groups) do
      local new_lr = math.max(g.lr * self.factor, self.min_lrs[i])
      if g.lr - new_lr > self.eps then g.lr = new_lr end
    end
    self.cooldown_counter = self.cooldown
    self.num_bad_epochs = 0
  end
  self._last_lr = current_lrs(self)
end

function ReduceLROnPlateau:load_state_dict(sd)
  LRScheduler.load_state_dict(self, sd)
  check_modes(self.fn .. ":load_state_dict", self.mode, self.threshold_mode)
end

return lr_scheduler
