-- scripts/recur/checkpoint.lua — training checkpoints: model, optimizer, scheduler, RNG, step,
-- vocabulary and config in ONE safetensors file, so a run resumes bit-exactly where it stopped.
--
--   recur.save_checkpoint("run.safetensors", {model = model, optimizer = opt, scheduler = sched,
--                                             step = step, epoch = epoch, vocab = vocab,
--                                             config = config, rng = true})
--   local ck = recur.load_checkpoint("run.safetensors",
--                                    {model = model, optimizer = opt, scheduler = sched, rng = true})
--
-- The file (format version 1):
--   tensors    "model.<name>"             every tensor of model:state_dict(), PyTorch's names
--              "optim.state.<i>.<key>"    optimizer state tensors of parameter i (exp_avg ...)
--   metadata   "recur_checkpoint_version" "1"
--              "model"       JSON list of the model's tensor names
--              "optimizer"   JSON {class, param_groups, state = {"<i>" = {step = n}}}
--              "scheduler"   JSON {class, state = scheduler:state_dict()}
--              "step", "epoch", "vocab", "config", "rng" ({seed, offset})   JSON
-- Each part is there only if it was saved. JSON comes from recur._json_encode (cJSON), which
-- keeps integers, floats, inf and 2^63-sized seeds exact. A plain file has no version key:
-- read it with recur.load.
local recur = require "recur"
local options = require "recur.options"

local checkpoint = {}

-- The format this code writes, and the newest it reads.
checkpoint.VERSION = 1

local NONE = options.NONE

local function fail(fmt, ...) error(string.format(fmt, ...), 0) end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

-- recur._json_encode / _json_decode, with the caller's name on the message.
local function json_call(fn, f, ...)
  local ok, result = pcall(f, ...)
  if not ok then
    fail("%s: %s", fn, (tostring(result):gsub("^recur%._json_[a-z]+: ", "")))
  end
  return result
end

-- obj:method() for objects that have it (a Module, an optimizer), else obj itself.
local function state_of(obj, method)
  if type(obj) == "table" and type(obj[method]) == "function" then return obj[method](obj) end
  return obj
end

local function class_name(obj)
  local mt = type(obj) == "table" and getmetatable(obj)
  return mt and type(obj.__name) == "string" and obj.__name or nil
end

-- --- save ----------------------------------------------------------------------------------

local save_fields = { model = NONE, optimizer = NONE, scheduler = NONE, step = NONE, epoch = NONE,
                      vocab = NONE, config = NONE, rng = NONE }

local function pack_model(fn, model, tensors, meta)
  local sd = state_of(model, "state_dict")
  if type(sd) ~= "table" or recur.is_tensor(sd) then
    fail("%s: model must be a module or a table of tensors (a state_dict), got %s", fn,
      recur.is_tensor(sd) and "a tensor" or type(sd))
  end
  local names = {}
  for name, t in pairs(sd) do
    if type(name) ~= "string" then
      fail("%s: model state_dict keys must be names (strings), got %s %s", fn, type(name),
        tostring(name))
    end
    if not recur.is_tensor(t) then
      fail("%s: model state_dict entry '%s' must be a tensor, got %s", fn, name, type(t))
    end
    tensors["model." .. name] = t
    names[#names + 1] = name
  end
  table.sort(names)
  meta.model = json_call(fn, recur._json_encode, names, "model")
end

-- { state = {[i] = {step = n, exp_avg = tensor, ...}}, param_groups = {...} } -> tensors
-- "optim.state.<i>.<key>" and JSON for the rest (state keyed by "<i>": JSON keys are strings).
local function pack_optimizer(fn, optimizer, tensors, meta)
  local sd = state_of(optimizer, "state_dict")
  if type(sd) ~= "table" or type(sd.state) ~= "table" or type(sd.param_groups) ~= "table" then
    fail("%s: optimizer must be an optimizer or its state_dict() {state = ..., param_groups = ...}, "
      .. "got %s", fn, type(sd) == "table" and "a table without them" or type(sd))
  end
  local state = {}
  for index, entry in pairs(sd.state) do
    if math.type(index) ~= "integer" or index < 1 then
      fail("%s: optimizer state must be keyed by parameter numbers 1, 2, ..., got %s", fn,
        tostring(index))
    end
    if type(entry) ~= "table" then
      fail("%s: optimizer state[%d] must be a table, got %s", fn, index, type(entry))
    end
    local plain = {}
    for k, v in pairs(entry) do
      if type(k) ~= "string" then
        fail("%s: optimizer state[%d] has a %s key, expected names", fn, index, type(k))
      end
      if recur.is_tensor(v) then
        tensors["optim.state." .. index .. "." .. k] = v
      else
        plain[k] = v
      end
    end
    state[tostring(index)] = plain
  end
  local packed = { class = class_name(optimizer), param_groups = sd.param_groups, state = state }
  meta.optimizer = json_call(fn, recur._json_encode, packed, "optimizer")
end

local function pack_scheduler(fn, scheduler, meta)
  local sd = state_of(scheduler, "state_dict")
  if type(sd) ~= "table" then
    fail("%s: scheduler must be a scheduler or its state_dict(), got %s", fn, type(sd))
  end
  meta.scheduler = json_call(fn, recur._json_encode,
    { class = class_name(scheduler), state = sd }, "scheduler")
end

--- Save a training checkpoint (every field optional): model (a Module or a state_dict),
--- optimizer, scheduler (objects or their state_dict()), step, epoch, vocab (an object with
--- :state() or a plain table), config (a plain table), rng (true: the generator's state now;
--- or a {seed, offset} table). Atomic, as recur.save.
function checkpoint.save_checkpoint(path, parts)
  local fn = "recur.save_checkpoint"
  if type(path) ~= "string" then fail("%s: path must be a string, got %s", fn, type(path)) end
  if type(parts) ~= "table" then
    fail("%s: expected a table {model = ..., optimizer = ..., ...}, got %s", fn, type(parts))
  end
  parts = options.check(fn, parts, save_fields)
  local tensors = {}
  local meta = { recur_checkpoint_version = tostring(checkpoint.VERSION) }
  if parts.model ~= nil then pack_model(fn, parts.model, tensors, meta) end
  if parts.optimizer ~= nil then pack_optimizer(fn, parts.optimizer, tensors, meta) end
  if parts.scheduler ~= nil then pack_scheduler(fn, parts.scheduler, meta) end
  for _, k in ipairs({ "step", "epoch", "config" }) do
    if parts[k] ~= nil then meta[k] = json_call(fn, recur._json_encode, parts[k], k) end
  end
  if parts.vocab ~= nil then
    meta.vocab = json_call(fn, recur._json_encode, state_of(parts.vocab, "state"), "vocab")
  end
  local rng = parts.rng
  if rng == true then
    rng = recur.get_rng_state()
  elseif rng ~= nil and rng ~= false then
    if type(rng) ~= "table" or math.type(rng.seed) ~= "integer" or math.type(rng.offset) ~= "integer" then
      fail("%s: rng must be true (the current state) or {seed = n, offset = n}, got %s", fn,
        type(rng) == "table" and "a table without integer seed and offset" or tostring(rng))
    end
  end
  if rng then
    meta.rng = json_call(fn, recur._json_encode, { seed = rng.seed, offset = rng.offset }, "rng")
  end
  recur.save(path, tensors, meta)
end

-- --- load ----------------------------------------------------------------------------------

local load_fields = { model = NONE, optimizer = NONE, scheduler = NONE, rng = false }

local function decode(fn, path, meta, key)
  local text = meta[key]
  if text == nil then return nil end
  return json_call(fn, recur._json_decode, text, string.format("'%s': metadata '%s'", path, key))
end

local function unpack_model(fn, path, meta, tensors, used)
  local names = decode(fn, path, meta, "model")
  if names == nil then return nil end
  if type(names) ~= "table" then
    fail("%s: '%s': metadata 'model' must be a list of names, got %s", fn, path, type(names))
  end
  local sd = {}
  for _, name in ipairs(names) do
    local t = tensors["model." .. tostring(name)]
    if type(name) ~= "string" or t == nil then
      fail("%s: '%s': the model lists '%s' but the file has no tensor 'model.%s'", fn, path,
        tostring(name), tostring(name))
    end
    sd[name] = t
    used["model." .. name] = true
  end
  return sd
end

local function unpack_optimizer(fn, path, meta, tensors, used)
  local packed = decode(fn, path, meta, "optimizer")
  if packed == nil then return nil end
  if type(packed) ~= "table" or type(packed.param_groups) ~= "table" or type(packed.state) ~= "table" then
    fail("%s: '%s': metadata 'optimizer' must hold param_groups and state", fn, path)
  end
  local state = {}
  for key, entry in pairs(packed.state) do
    local index = math.tointeger(tonumber(key))
    if index == nil or tostring(index) ~= key or type(entry) ~= "table" then
      fail("%s: '%s': optimizer state has an entry '%s' that is not a parameter number", fn, path,
        tostring(key))
    end
    state[index] = entry
  end
  for _, name in ipairs(sorted_keys(tensors)) do
    local i, k = name:match("^optim%.state%.([1-9]%d*)%.(.+)$")
    local index = i and math.tointeger(tonumber(i))
    if index then
      if state[index] == nil then state[index] = {} end
      state[index][k] = tensors[name]
      used[name] = true
    end
  end
  return { state = state, param_groups = packed.param_groups }, packed.class
end

local function unpack_scheduler(fn, path, meta)
  local packed = decode(fn, path, meta, "scheduler")
  if packed == nil then return nil end
  if type(packed) ~= "table" or type(packed.state) ~= "table" then
    fail("%s: '%s': metadata 'scheduler' must hold the scheduler's state", fn, path)
  end
  return packed.state, packed.class
end

local function unpack_rng(fn, path, meta)
  local rng = decode(fn, path, meta, "rng")
  if rng == nil then return nil end
  if type(rng) ~= "table" or math.type(rng.seed) ~= "integer" or math.type(rng.offset) ~= "integer" then
    fail("%s: '%s': metadata 'rng' must be {seed = integer, offset = integer}", fn, path)
  end
  return { seed = rng.seed, offset = rng.offset }
end

-- Loads what `into` names into its objects; classes are checked before anything changes.
local function restore(fn, path, ck, into, classes)
  local function need(part)
    if ck[part] == nil then fail("%s: '%s' has no %s to load", fn, path, part) end
  end
  for _, part in ipairs({ "model", "optimizer", "scheduler" }) do
    local obj = into[part]
    if obj ~= nil then
      need(part)
      if type(obj) ~= "table" or type(obj.load_state_dict) ~= "function" then
        fail("%s: %s to load into must have a load_state_dict method, got %s", fn, part, type(obj))
      end
      local want, have = classes[part], class_name(obj)
      if want and have and want ~= have then
        fail("%s: '%s': its %s is %s, but the one given is %s", fn, path, part, want, have)
      end
    end
  end
  if into.rng then need("rng") end
  if into.model ~= nil then into.model:load_state_dict(ck.model) end
  if into.optimizer ~= nil then into.optimizer:load_state_dict(ck.optimizer) end
  if into.scheduler ~= nil then into.scheduler:load_state_dict(ck.scheduler) end
  if into.rng then recur.set_rng_state(ck.rng) end
end

--- Load a checkpoint: a table with the parts that were saved (model = a state_dict table,
--- optimizer / scheduler = their state_dict tables, step, epoch, vocab, config, rng =
--- {seed, offset}) and version. With `into` = {model =, optimizer =, scheduler =, rng = true},
--- also loads the parts into those objects and restores the generator.
function checkpoint.load_checkpoint(path, into)
  local fn = "recur.load_checkpoint"
  if type(path) ~= "string" then fail("%s: path must be a string, got %s", fn, type(path)) end
  into = options.check(fn, into, load_fields)
  local tensors, meta = recur.load(path)
  local version = meta.recur_checkpoint_version
  if version == nil then
    fail("%s: '%s' is not a recur checkpoint (no recur_checkpoint_version in its metadata; "
      .. "recur.load reads plain tensor files)", fn, path)
  end
  local v = math.tointeger(tonumber(version))
  if v == nil or tostring(v) ~= version or v < 1 then
    fail("%s: '%s' has checkpoint version '%s', expected a whole number", fn, path, version)
  end
  if v > checkpoint.VERSION then
    fail("%s: '%s' has checkpoint version %d, newer than this recur reads (%d): update recur",
      fn, path, v, checkpoint.VERSION)
  end

  local used, classes = {}, {}
  local ck = { version = v }
  ck.model = unpack_model(fn, path, meta, tensors, used)
  ck.optimizer, classes.optimizer = unpack_optimizer(fn, path, meta, tensors, used)
  ck.scheduler, classes.scheduler = unpack_scheduler(fn, path, meta)
  ck.rng = unpack_rng(fn, path, meta)
  for _, k in ipairs({ "step", "epoch", "vocab", "config" }) do ck[k] = decode(fn, path, meta, k) end
  for _, name in ipairs(sorted_keys(tensors)) do
    if not used[name] then
      fail("%s: '%s' has a tensor '%s' that belongs to no part of a checkpoint", fn, path, name)
    end
  end
  restore(fn, path, ck, into, classes)
  return ck
end

return checkpoint
