/* bindings/repl.c — the interactive REPL of the `recur` executable, on libedit's readline API:
   expressions print, unfinished chunks continue, history persists, Tab completes names. */
#include <errno.h>
#include <locale.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <editline/readline.h>
#include <lauxlib.h>
#include <lua.h>
#include "lrecur.h"
#include "main.h"

#define PROMPT "> "
#define PROMPT2 ">> "
#define HISTORY_FILE ".recur_history"
#define HISTORY_MAX 1000
#define INDEX_DEPTH_MAX 32 /* __index chains longer than this are taken as cycles */

/* What the loop keeps between lines. */
typedef struct {
  bool tty;           /* stdin is a terminal: libedit, completion and history */
  char *history_path; /* NULL: history is not saved */
  int file_entries;   /* entries in the history file, as far as we know */
  char *last_entry;   /* the previous history entry: repeats are not saved twice */
} repl_state;

/* --- reading lines ------------------------------------------------------------------ */

static volatile sig_atomic_t prompt_interrupted;

static void on_prompt_sigint(int sig) {
  (void)sig;
  prompt_interrupted = 1;
}

/* Ctrl-C at the prompt only sets a flag. No SA_RESTART: the read in progress fails with
   EINTR, so libedit (whose own handler passes the signal on to this one) returns NULL. */
static void catch_prompt_sigint(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_prompt_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
}

/* A line from a pipe or file (-i without a terminal): no line editing. */
static char *read_plain(const char *prompt) {
  fputs(prompt, stdout);
  fflush(stdout);
  char *buf = NULL;
  size_t cap = 0;
  ssize_t n = getline(&buf, &cap, stdin);
  if (n < 0) {
    clearerr(stdin); /* after a Ctrl-C (EINTR), stdin must stay readable */
    free(buf);
    return NULL;
  }
  if (n > 0 && buf[n - 1] == '\n') buf[n - 1] = '\0';
  return buf;
}

enum { LINE_OK = 1, LINE_EOF = 0, LINE_INTERRUPTED = -1 };

/* Reads one line (malloc'd, no newline) into *out. Tells the end of input from a Ctrl-C.
   (errno cannot tell them apart: libedit leaves a stale EINTR after a window resize.) */
static int read_line(const repl_state *r, const char *prompt, char **out) {
  prompt_interrupted = 0;
  catch_prompt_sigint();
  char *line = r->tty ? readline(prompt) : read_plain(prompt);
  if (prompt_interrupted) {
    free(line);
    return LINE_INTERRUPTED;
  }
  *out = line;
  return line ? LINE_OK : LINE_EOF;
}

/* --- history: ~/.recur_history, one entry a line ------------------------------------
   A chunk of several lines is one entry; its newlines are written as \n and backslashes
   as \\, so the file stays one entry per line and readable. */

typedef struct {
  char **items;
  int n, cap;
} string_list;

static void list_free(string_list *l) {
  for (int i = 0; i < l->n; i++) free(l->items[i]);
  free(l->items);
  l->items = NULL;
  l->n = l->cap = 0;
}

/* Takes over s. False when out of memory (s is freed). */
static bool list_push(string_list *l, char *s) {
  if (!s) return false;
  if (l->n == l->cap) {
    int cap = l->cap ? 2 * l->cap : 64;
    char **items = realloc(l->items, (size_t)cap * sizeof *items);
    if (!items) {
      free(s);
      return false;
    }
    l->items = items;
    l->cap = cap;
  }
  l->items[l->n++] = s;
  return true;
}

static void history_warn(repl_state *r, const char *what) {
  fprintf(stderr, "recur: cannot %s the history file %s: %s (history is not saved)\n", what,
          r->history_path, strerror(errno));
  fflush(stderr);
  free(r->history_path);
  r->history_path = NULL;
}

static char *history_decode(const char *line) {
  char *s = malloc(strlen(line) + 1), *o = s;
  if (!s) return NULL;
  for (const char *p = line; *p; p++) {
    if (*p == '\\' && p[1] == 'n') {
      *o++ = '\n';
      p++;
    } else if (*p == '\\' && p[1] == '\\') {
      *o++ = '\\';
      p++;
    } else {
      *o++ = *p;
    }
  }
  *o = '\0';
  return s;
}

static void history_encode(FILE *f, const char *entry) {
  for (const char *p = entry; *p; p++) {
    if (*p == '\n') fputs("\\n", f);
    else if (*p == '\\') fputs("\\\\", f);
    else fputc(*p, f);
  }
  fputc('\n', f);
}

/* Reads every entry of the file. A missing file is an empty history; other failures
   return false with errno set. */
static bool history_read(const char *path, string_list *out) {
  FILE *f = fopen(path, "r");
  if (!f) return errno == ENOENT;
  char *buf = NULL;
  size_t cap = 0;
  ssize_t n;
  bool ok = true;
  while (ok && (n = getline(&buf, &cap, f)) >= 0) {
    if (n > 0 && buf[n - 1] == '\n') buf[--n] = '\0';
    if (n > 0) ok = list_push(out, history_decode(buf));
  }
  if (ok && ferror(f)) ok = false; /* e.g. EISDIR: the path is a directory */
  int err = errno;
  free(buf);
  fclose(f);
  errno = ok ? 0 : err ? err : ENOMEM;
  return ok;
}

/* Keeps the newest HISTORY_MAX entries of the file. Written beside it and renamed, so a
   crash never leaves half a history. */
static void history_trim(repl_state *r) {
  string_list all = {0};
  if (!history_read(r->history_path, &all)) {
    list_free(&all);
    history_warn(r, "read");
    return;
  }
  r->file_entries = all.n;
  if (all.n > HISTORY_MAX) {
    size_t len = strlen(r->history_path) + 32;
    char *tmp = malloc(len);
    FILE *f = NULL;
    if (tmp) {
      snprintf(tmp, len, "%s.%ld.tmp", r->history_path, (long)getpid());
      f = fopen(tmp, "w");
    }
    if (!f) {
      free(tmp);
      list_free(&all);
      history_warn(r, "rewrite");
      return;
    }
    for (int i = all.n - HISTORY_MAX; i < all.n; i++) history_encode(f, all.items[i]);
    bool ok = !ferror(f);
    if (fclose(f) != 0) ok = false;
    if (ok && rename(tmp, r->history_path) == 0) {
      r->file_entries = HISTORY_MAX;
    } else {
      int err = errno;
      remove(tmp);
      errno = err;
      history_warn(r, "rewrite");
    }
    free(tmp);
  }
  list_free(&all);
}

static char *history_path(void) {
  const char *home = getenv("HOME");
  if (!home || !*home) {
    struct passwd *pw = getpwuid(getuid());
    home = pw ? pw->pw_dir : NULL;
  }
  if (!home || !*home) return NULL;
  size_t len = strlen(home) + sizeof "/" HISTORY_FILE;
  char *path = malloc(len);
  if (path) snprintf(path, len, "%s/%s", home, HISTORY_FILE);
  return path;
}

/* Loads the saved entries into libedit (the newest HISTORY_MAX of them). */
static void history_start(repl_state *r) {
  stifle_history(HISTORY_MAX);
  r->history_path = history_path();
  if (!r->history_path) return;
  string_list all = {0};
  if (!history_read(r->history_path, &all)) {
    list_free(&all);
    history_warn(r, "read");
    return;
  }
  r->file_entries = all.n;
  int first = all.n > HISTORY_MAX ? all.n - HISTORY_MAX : 0;
  for (int i = first; i < all.n; i++) add_history(all.items[i]);
  if (all.n > 0) r->last_entry = strdup(all.items[all.n - 1]);
  list_free(&all);
  if (r->file_entries > HISTORY_MAX) history_trim(r);
}

/* A chunk as the user typed it becomes one history entry: in libedit and appended to
   the file. */
static void history_save(repl_state *r, const char *entry) {
  if (!r->tty || entry[strspn(entry, " \t\n")] == '\0') return;
  if (r->last_entry && strcmp(r->last_entry, entry) == 0) return;
  free(r->last_entry);
  r->last_entry = strdup(entry);
  add_history(entry);
  if (!r->history_path) return;
  FILE *f = fopen(r->history_path, "a");
  if (!f) {
    history_warn(r, "append to");
    return;
  }
  history_encode(f, entry);
  bool ok = !ferror(f);
  if (fclose(f) != 0) ok = false;
  if (!ok) {
    history_warn(r, "append to");
    return;
  }
  if (++r->file_entries > HISTORY_MAX) history_trim(r);
}

/* --- completion: globals, a.b.<field>, v:<method>, keywords --------------------------
   Runs inside readline, between chunks. It reads tables with raw access only, so no
   metamethod (no user code) runs, and the whole walk is under lua_pcall. */

static lua_State *completion_L;

static const char *const keywords[] = {
  "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
  "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
  NULL};

static bool is_keyword(const char *s, size_t len) {
  for (int i = 0; keywords[i]; i++)
    if (strlen(keywords[i]) == len && memcmp(keywords[i], s, len) == 0) return true;
  return false;
}

static bool is_name(const char *s, size_t len) {
  if (len == 0 || !(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
    return false;
  for (size_t i = 1; i < len; i++) {
    char c = s[i];
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
      return false;
  }
  return !is_keyword(s, len);
}

/* Pushes the tensor methods, package.loaded.recur.Tensor; false (nothing pushed) if gone. */
static bool push_tensor_methods(lua_State *L) {
  int top = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  const char *path[] = {"recur", "Tensor"};
  for (int i = 0; i < 2; i++) {
    if (lua_type(L, -1) != LUA_TTABLE) break;
    lua_pushstring(L, path[i]);
    lua_rawget(L, -2);
    lua_remove(L, -2);
  }
  if (lua_type(L, -1) == LUA_TTABLE) return true;
  lua_settop(L, top);
  return false;
}

/* Pushes the table where lookups on the value at idx continue: its metatable's __index
   when that is a table; for a tensor (whose __index is a function) recur.Tensor.
   False, nothing pushed, when there is none. */
static bool push_index_table(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (!lua_getmetatable(L, idx)) return false;
  if (lua_type(L, idx) == LUA_TUSERDATA) {
    luaL_getmetatable(L, RCL_TENSOR_MT);
    bool tensor = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (tensor) return push_tensor_methods(L);
    lua_getmetatable(L, idx);
  }
  lua_pushliteral(L, "__index");
  lua_rawget(L, -2);
  lua_remove(L, -2);
  if (lua_type(L, -1) == LUA_TTABLE) return true;
  lua_pop(L, 1);
  return false;
}

/* Replaces the value on top by value[key], looked up without metamethods: the value's
   own field if it is a table, else along the chain of __index tables. nil if not found. */
static void lookup_field(lua_State *L, const char *key, size_t len) {
  for (int depth = 0; depth < INDEX_DEPTH_MAX; depth++) {
    if (lua_type(L, -1) == LUA_TTABLE) {
      lua_pushlstring(L, key, len);
      if (lua_rawget(L, -2) != LUA_TNIL) {
        lua_remove(L, -2);
        return;
      }
      lua_pop(L, 1);
    }
    if (!push_index_table(L, -1)) break;
    lua_remove(L, -2);
  }
  lua_pop(L, 1);
  lua_pushnil(L);
}

typedef struct {
  const char *text; /* the word before the cursor */
  string_list found;
} completion_request;

/* Adds prefix..key for every name key in the table on top that starts with `partial`
   (and holds a function, when only methods make sense). */
static void add_names(lua_State *L, completion_request *req, size_t prefix_len,
                      const char *partial, bool functions_only) {
  size_t plen = strlen(partial);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    size_t klen;
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &klen) : NULL;
    if (k && klen >= plen && memcmp(k, partial, plen) == 0 && is_name(k, klen) &&
        (!functions_only || lua_type(L, -1) == LUA_TFUNCTION)) {
      char *s = malloc(prefix_len + klen + 1);
      if (s) {
        memcpy(s, req->text, prefix_len);
        memcpy(s + prefix_len, k, klen + 1);
      }
      list_push(&req->found, s);
    }
    lua_pop(L, 1);
  }
}

/* Adds the names reachable from the value on top: its own fields and those of its
   __index tables. Pops the value. */
static void add_reachable(lua_State *L, completion_request *req, size_t prefix_len,
                          const char *partial, bool functions_only) {
  for (int depth = 0; depth < INDEX_DEPTH_MAX; depth++) {
    if (lua_type(L, -1) == LUA_TTABLE) add_names(L, req, prefix_len, partial, functions_only);
    if (!push_index_table(L, -1)) break;
    lua_remove(L, -2);
  }
  lua_pop(L, 1);
}

/* lua_pcall'd: fills req->found (malloc'd, so a Lua error leaks nothing Lua owns). */
static int collect_completions(lua_State *L) {
  completion_request *req = lua_touserdata(L, 1);
  const char *text = req->text;
  const char *sep = NULL; /* the last '.' or ':' */
  for (const char *p = text; *p; p++)
    if (*p == '.' || *p == ':') sep = p;
  lua_pushglobaltable(L);
  if (!sep) {
    add_reachable(L, req, 0, text, false);
    size_t tlen = strlen(text);
    for (int i = 0; keywords[i]; i++)
      if (strncmp(keywords[i], text, tlen) == 0) list_push(&req->found, strdup(keywords[i]));
    return 0;
  }
  if (sep == text) return 0; /* "(expr):m" or ".5": nothing to look in */
  /* walk a.b.c up to the separator; any ':' must be the last separator */
  for (const char *p = text; p < sep;) {
    const char *dot = p;
    while (dot < sep && *dot != '.') dot++;
    if (!is_name(p, (size_t)(dot - p))) return 0;
    lookup_field(L, p, (size_t)(dot - p));
    if (lua_isnil(L, -1)) return 0;
    p = dot + 1;
  }
  add_reachable(L, req, (size_t)(sep - text) + 1, sep + 1, *sep == ':');
  return 0;
}

static int compare_strings(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static string_list candidates;
static int candidates_next;

/* libedit's generator: hands out the collected candidates one by one (it frees them). */
static char *next_candidate(const char *text, int state) {
  (void)text;
  if (state == 0) candidates_next = 0;
  if (candidates_next >= candidates.n) return NULL;
  char *s = candidates.items[candidates_next];
  candidates.items[candidates_next++] = NULL;
  return s;
}

static char **complete(const char *text, int start, int end) {
  (void)start;
  (void)end;
  rl_attempted_completion_over = 1; /* never fall back to file names */
  lua_State *L = completion_L;
  completion_request req = {text, {0}};
  int top = lua_gettop(L);
  if (lua_checkstack(L, 8)) {
    lua_pushcfunction(L, collect_completions);
    lua_pushlightuserdata(L, &req);
    lua_pcall(L, 1, 0, 0); /* an error (out of memory) just means fewer candidates */
  }
  lua_settop(L, top);
  /* a name in a table and in its __index chain counts once */
  if (req.found.n > 1) {
    qsort(req.found.items, (size_t)req.found.n, sizeof *req.found.items, compare_strings);
    int kept = 1;
    for (int i = 1; i < req.found.n; i++) {
      if (strcmp(req.found.items[i], req.found.items[kept - 1]) == 0) free(req.found.items[i]);
      else req.found.items[kept++] = req.found.items[i];
    }
    req.found.n = kept;
  }
  char **matches = NULL;
  if (req.found.n > 0) {
    candidates = req.found;
    matches = rl_completion_matches(text, next_candidate);
    candidates = (string_list){0};
  }
  list_free(&req.found); /* frees whatever libedit did not take */
  return matches;
}

/* --- compiling and running chunks (lua.c's loadline, with Lua 5.1's "=expr") ----------- */

/* Compiles a chunk as typed: "=expr" means "return expr". */
static int load_typed(lua_State *L, const char *chunk, size_t len) {
  if (chunk[0] != '=') return luaL_loadbuffer(L, chunk, len, "=stdin");
  const char *code = lua_pushfstring(L, "return %s", chunk + 1);
  int status = luaL_loadbuffer(L, code, strlen(code), "=stdin");
  lua_remove(L, -2);
  return status;
}

/* A syntax error at <eof> means the chunk is unfinished: pops the message. */
static bool incomplete(lua_State *L, int status) {
  static const char mark[] = "<eof>";
  if (status != LUA_ERRSYNTAX) return false;
  size_t len;
  const char *msg = lua_tolstring(L, -1, &len);
  if (!msg || len < sizeof mark - 1 || strcmp(msg + len - (sizeof mark - 1), mark) != 0)
    return false;
  lua_pop(L, 1);
  return true;
}

/* Stack: the first line. Tries "return <line>" so expressions print; on success the
   line is replaced by the compiled function. */
static int add_return(lua_State *L, repl_state *r) {
  const char *line = lua_tostring(L, -1);
  const char *code = lua_pushfstring(L, "return %s;", line);
  int status = luaL_loadbuffer(L, code, strlen(code), "=stdin");
  if (status == LUA_OK) {
    lua_remove(L, -2); /* the code */
    history_save(r, line);
    lua_remove(L, -2); /* the line */
  } else {
    lua_pop(L, 2);
  }
  return status;
}

enum { CHUNK_EOF = -1, CHUNK_INTERRUPTED = -2 };

/* Stack: the lines so far. Compiles them as a statement, reading continuation lines while
   the chunk is unfinished. Leaves the function or the error message. */
static int multiline(lua_State *L, repl_state *r) {
  for (;;) {
    size_t len;
    const char *chunk = lua_tolstring(L, -1, &len);
    int status = load_typed(L, chunk, len);
    if (!incomplete(L, status)) {
      history_save(r, chunk);
      lua_remove(L, -2);
      return status;
    }
    char *line = NULL;
    int got = read_line(r, PROMPT2, &line);
    if (got == LINE_INTERRUPTED) {
      lua_pop(L, 1);
      return CHUNK_INTERRUPTED;
    }
    if (got == LINE_EOF) { /* input ended inside the chunk: say what is missing */
      status = load_typed(L, chunk, len);
      history_save(r, chunk);
      lua_remove(L, -2);
      return status;
    }
    lua_pushliteral(L, "\n");
    lua_pushstring(L, line);
    free(line);
    lua_concat(L, 3);
  }
}

/* Reads and compiles one chunk: leaves the function or an error message (returning the
   load status), or nothing (returning CHUNK_EOF / CHUNK_INTERRUPTED). */
static int load_chunk(lua_State *L, repl_state *r) {
  char *line = NULL;
  int got = read_line(r, PROMPT, &line);
  if (got != LINE_OK) return got == LINE_EOF ? CHUNK_EOF : CHUNK_INTERRUPTED;
  lua_pushstring(L, line);
  free(line);
  if (lua_tostring(L, -1)[0] != '=') {
    int status = add_return(L, r);
    if (status == LUA_OK) return status;
  }
  return multiline(L, r);
}

/* The message on top, as lua.c prints it in interactive mode (no program name). */
static void show_error(lua_State *L) {
  const char *msg = lua_tostring(L, -1);
  fflush(stdout);
  fprintf(stderr, "%s\n", msg ? msg : "(error object is not a string)");
  fflush(stderr);
  lua_pop(L, 1);
}

/* Writes every argument with tostring, tab-separated (lua.c's l_print). */
static int print_values(lua_State *L) {
  int n = lua_gettop(L);
  for (int i = 1; i <= n; i++) {
    size_t len;
    const char *s = luaL_tolstring(L, i, &len);
    if (i > 1) fputc('\t', stdout);
    fwrite(s, 1, len, stdout);
    lua_pop(L, 1);
  }
  fputc('\n', stdout);
  fflush(stdout);
  return 0;
}

/* Prints the results above base, if any. */
static void print_results(lua_State *L, int base) {
  int n = lua_gettop(L) - base;
  if (n <= 0) return;
  luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
  lua_pushcfunction(L, print_values);
  lua_insert(L, base + 1);
  if (recur_docall(L, n, 0) != LUA_OK) {
    lua_pushfstring(L, "error calling 'print' (%s)", lua_tostring(L, -1));
    lua_remove(L, -2);
    show_error(L);
  }
}

/* The version comes from the global recur.version, read raw: no user code runs here. */
static void print_banner(lua_State *L) {
  int top = lua_gettop(L);
  const char *version = "(unknown version)";
  lua_pushglobaltable(L);
  lua_pushliteral(L, "recur");
  if (lua_rawget(L, -2) == LUA_TTABLE) {
    lua_pushliteral(L, "version");
    if (lua_rawget(L, -2) == LUA_TSTRING) version = lua_tostring(L, -1);
  }
  printf("recur %s — Lua 5.4 with recur preloaded. Ctrl-D exits, Ctrl-C interrupts.\n",
         version);
  fflush(stdout);
  lua_settop(L, top);
}

void recur_repl(lua_State *L) {
  int base = lua_gettop(L);
  repl_state r = {isatty(STDIN_FILENO) != 0, NULL, 0, NULL};
  struct sigaction saved_sigint;
  sigaction(SIGINT, NULL, &saved_sigint);
  char *saved_ctype = NULL;
  if (r.tty) {
    /* libedit decodes keys with the locale's charset: under "C" it drops every non-ASCII
       byte. Only LC_CTYPE changes; Lua's number formats follow LC_NUMERIC. */
    const char *ctype = setlocale(LC_CTYPE, NULL);
    saved_ctype = ctype ? strdup(ctype) : NULL;
    setlocale(LC_CTYPE, "");
    rl_readline_name = "recur"; /* "recur:" lines in ~/.editrc apply here */
    /* Break words where Lua expressions break, but not at '.' and ':' so that
       "a.b.c" and "t:m" reach the completer whole. */
    rl_basic_word_break_characters = " \t\n\"'`@$><=;|&{}()[],+-*/%^~#";
    rl_completion_append_character = '\0';
    rl_attempted_completion_function = complete;
    completion_L = L;
    history_start(&r);
  }
  lua_settop(L, base);
  print_banner(L);
  for (;;) {
    lua_settop(L, base);
    int status = load_chunk(L, &r);
    if (status == CHUNK_EOF) break;
    if (status == CHUNK_INTERRUPTED) { /* drop the line or the unfinished chunk */
      fputs(r.tty ? "^C\n" : "\n", stdout);
      fflush(stdout);
      continue;
    }
    if (status == LUA_OK) status = recur_docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK) print_results(L, base);
    else show_error(L);
  }
  lua_settop(L, base);
  fputc('\n', stdout);
  fflush(stdout);
  sigaction(SIGINT, &saved_sigint, NULL);
  if (saved_ctype) setlocale(LC_CTYPE, saved_ctype);
  free(saved_ctype);
  free(r.history_path);
  free(r.last_entry);
  completion_L = NULL;
}
