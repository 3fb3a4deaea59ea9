-- tests/nn_module_spec.lua — nn.Module: registration of submodules and parameters in order,
-- dotted names, train/eval, zero_grad, state_dict round trips, the printed tree, and nn.init.
local recur = require "recur"
local nn = require "recur.nn"

local Net = nn.Module:extend("Net")
function Net:init()
  self.embed = nn.Embedding(10, 4, { padding_idx = 0 })
  self.body = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Dropout(0.5))
  self.head = nn.Linear(3, 1, { bias = false })
  self.name = "not a module"          -- plain fields stay plain
end
function Net:forward(x) return self.head(self.body(x)) end

describe("nn.Module", function()
  it("registers submodules and parameters in assignment order with dotted names", function()
    local names = {}
    for name, p in Net():named_parameters() do names[#names + 1] = name .. ":" .. table.concat(p:shape(), "x") end
    assert.are.same({ "embed.weight:10x4", "body.0.weight:3x4", "body.0.bias:3", "head.weight:1x3" }, names)
  end)

  it("lists parameters as tensors that require grad, each once even when shared", function()
    local m = nn.Module:extend("Tied")
    function m:init() self.a = nn.Linear(2, 2); self.b = self.a end
    local params = m():parameters()
    assert.are.equal(2, #params)
    for _, p in ipairs(params) do assert.is_true(p.requires_grad) end
  end)

  it("keeps plain fields out of the registries", function()
    local n = Net()
    assert.are.equal("not a module", n.name)
    for name in n:named_children() do assert.are_not.equal("name", name) end
  end)

  it("counts parameters", function()
    assert.are.equal(10 * 4 + 3 * 4 + 3 + 3, Net():num_parameters())
  end)

  it("switches train and eval mode recursively", function()
    local n = Net()
    assert.is_true(n.body:get(3).training)
    n:eval()
    assert.is_false(n.training)
    assert.is_false(n.body:get(3).training)
    n:train()
    assert.is_true(n.body:get(3).training)
  end)

  it("drops every gradient with zero_grad", function()
    local n = Net()
    for _, p in ipairs(n:parameters()) do p.grad = recur.ones(table.unpack(p:shape())) end
    n:zero_grad()
    for _, p in ipairs(n:parameters()) do assert.is_nil(p.grad) end
  end)

  it("applies a function to every module, children first", function()
    local seen = {}
    Net():apply(function(m) seen[#seen + 1] = m.__name end)
    assert.are.same({ "Embedding", "Linear", "Tanh", "Dropout", "Sequential", "Linear", "Net" }, seen)
  end)

  it("round-trips its state through state_dict and load_state_dict", function()
    local a, b = Net(), Net()
    b:load_state_dict(a:state_dict())
    for name, p in b:named_parameters() do
      assert.are.same(a:state_dict()[name]:totable(), p:totable())
    end
  end)

  it("refuses a state dict that does not fit, listing every problem and changing nothing", function()
    local n = Net()
    local before = n.head.weight:totable()
    local sd = n:state_dict()
    sd["head.weight"] = recur.zeros(2, 3)
    sd["body.0.bias"] = nil
    sd["extra"] = recur.zeros(1)
    assert.has_error(function() n:load_state_dict(sd) end,
      "nn.Module:load_state_dict: the state dict does not fit Net (mis-shaped: head.weight: shape " ..
      "(2,3) in the state dict, (1,3) in the model; missing keys: body.0.bias; unexpected keys: extra)")
    assert.are.same(before, n.head.weight:totable())
  end)

  it("loads what fits with strict = false and reports the rest", function()
    local n = Net()
    local sd = { ["head.weight"] = recur.ones(1, 3), other = recur.zeros(1) }
    local res = n:load_state_dict(sd, { strict = false })
    assert.are.same({ { 1, 1, 1 } }, n.head.weight:totable())
    assert.are.same({ "other" }, res.unexpected_keys)
    assert.are.equal(3, #res.missing_keys)
  end)

  it("prints as a tree with settings and parameter counts", function()
    assert.are.equal(table.concat({
      "Net(",
      "  (embed): Embedding(10, 4, padding_idx=0)  -- 40 params",
      "  (body): Sequential(",
      "    (0): Linear(in_features=4, out_features=3, bias=true)  -- 15 params",
      "    (1): Tanh()",
      "    (2): Dropout(p=0.5)",
      "  )",
      "  (head): Linear(in_features=3, out_features=1, bias=false)  -- 3 params",
      ")",
      "Total parameters: 58" }, "\n"), tostring(Net()))
  end)

  it("says which option is unknown", function()
    assert.has_error(function() nn.Linear(3, 4, { biass = false }) end,
      "nn.Linear: unknown option 'biass' (expected bias)")
  end)

  it("says forward is missing in a user module without one", function()
    local Empty = nn.Module:extend("Empty")
    assert.has_error(function() Empty()(recur.zeros(1)) end,
      "nn.Empty: forward is not defined (define Empty:forward(...))")
  end)
end)

describe("nn.Linear", function()
  it("initialises weight and bias within PyTorch's bound 1/sqrt(in_features)", function()
    recur.manual_seed(0)
    local l = nn.Linear(100, 50)
    local bound = 1 / math.sqrt(100)
    assert.is_true(l.weight:abs():max():item() <= bound)
    assert.is_true(l.bias:abs():max():item() <= bound)
    assert.is_true(l.weight:abs():max():item() > 0.9 * bound) -- uses the whole range
  end)
end)

describe("nn.init", function()
  it("fills with constants", function()
    local t = recur.empty(2, 2)
    nn.init.constant_(t, 3)
    assert.are.same({ { 3, 3 }, { 3, 3 } }, t:totable())
    nn.init.zeros_(t)
    assert.are.same({ { 0, 0 }, { 0, 0 } }, t:totable())
  end)

  it("draws xavier_uniform_ within sqrt(6 / (fan_in + fan_out))", function()
    local t = recur.empty(30, 70)
    nn.init.xavier_uniform_(t)
    local bound = math.sqrt(6 / 100)
    assert.is_true(t:abs():max():item() <= bound and t:abs():max():item() > 0.9 * bound)
  end)

  it("makes orthogonal_ matrices: W W^T = I for a wide W", function()
    local w = recur.empty(4, 9)
    nn.init.orthogonal_(w)
    local wwt = w:matmul(w:t())
    local err = (wwt - recur.eye(4)):abs():max():item()
    assert.is_true(err < 1e-5, "max |W W^T - I| = " .. err)
  end)

  it("makes orthogonal_ matrices: W^T W = I for a tall W", function()
    local w = recur.empty(9, 4)
    nn.init.orthogonal_(w)
    local err = (w:t():matmul(w) - recur.eye(4)):abs():max():item()
    assert.is_true(err < 1e-5, "max |W^T W - I| = " .. err)
  end)

  it("computes kaiming_uniform_ bounds from fan_in and the gain", function()
    local t = recur.empty(64, 50)
    nn.init.kaiming_uniform_(t, { nonlinearity = "relu" })
    local bound = math.sqrt(2) * math.sqrt(3 / 50)
    assert.is_true(t:abs():max():item() <= bound and t:abs():max():item() > 0.9 * bound)
  end)

  it("refuses fans of a 1-D tensor", function()
    assert.has_error(function() nn.init.xavier_uniform_(recur.empty(3)) end,
      "nn.init.xavier_uniform_: fan in and fan out need a tensor of 2 or more dims, got 1")
  end)
end)

describe("recur.gradcheck", function()
  it("accepts correct gradients of a composite elementwise function", function()
    local x = recur.tensor{ { 1, 2 }, { 3, -1 } }:requires_grad_()
    local w = recur.tensor{ { 0.5, -0.2 }, { 0.1, 0.3 } }:requires_grad_()
    assert.is_true(recur.gradcheck(function(a, b) return (a * b):tanh() + a / b end, { x, w }))
  end)

  it("catches a function whose analytic gradient is wrong", function()
    local x = recur.tensor{ 1.5, 2.5 }:requires_grad_()
    -- floor has zero gradient but jumps: finite differences across a jump disagree.
    local ok, msg = recur.gradcheck(function(a) return (a * 10):floor() end, { x },
      { raise = false, eps = 0.06 })
    assert.is_false(ok)
    assert.is_truthy(msg:find("gradient of input 1", 1, true))
  end)
end)
