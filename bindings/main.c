/* bindings/main.c — the `recur` executable: runs scripts (`recur script.lua args`), code
   (`-e`), and the REPL, with `recur` preloaded; modelled on Lua's own lua.c. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <lauxlib.h>
#include "lrecur.h"
#include <stdbool.h>
#include "main.h"
#include "recur_engine.h"

static const char *progname = "recur";
static lua_State *global_L;

static void print_usage(FILE *f) {
  fprintf(f,
          "usage: %s [options] [script [args]]\n"
          "Runs Lua 5.4 scripts with recur (recurrent networks on the CPU) preloaded.\n\n"
          "  -e code        run the Lua code\n"
          "  -i             enter the REPL after running the script or -e code\n"
          "  -v, --version  print the version and the BLIS kernels in use\n"
          "  -h, --help     print this help\n"
          "  --             stop handling options\n"
          "  -              run standard input as a script\n\n"
          "With no script, %s starts an interactive REPL (when stdin is a terminal).\n"
          "In scripts and the REPL, `recur` is a global and `require \"recur\"` works.\n",
          progname, progname);
}

/* --- running code with a traceback and Ctrl-C ------------------------------------- */

static void stop_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}

/* On SIGINT, set a hook that raises an error at the next Lua instruction (lua.c's way:
   the only thing that is safe to do inside a signal handler). */
static void on_sigint(int sig) {
  signal(sig, SIG_DFL); /* a second Ctrl-C kills the process */
  lua_sethook(global_L, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

int recur_docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, recur_engine_traceback);
  lua_insert(L, base);
  global_L = L;
  signal(SIGINT, on_sigint);
  int status = lua_pcall(L, narg, nres, base);
  signal(SIGINT, SIG_DFL);
  lua_remove(L, base);
  return status;
}

void recur_report(lua_State *L, const char *name) {
  const char *msg = lua_tostring(L, -1);
  fprintf(stderr, "%s: %s\n", name ? name : progname, msg ? msg : "(no message)");
  fflush(stderr);
  lua_pop(L, 1);
}

static int report_status(lua_State *L, int status) {
  if (status != LUA_OK) recur_report(L, progname);
  return status;
}

/* --- arguments and scripts (the state comes from recur_engine_new) -------------------- */

static void create_arg_table(lua_State *L, char **argv, int argc, int script) {
  lua_createtable(L, argc - script, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int run_chunk(lua_State *L, int status) {
  if (status == LUA_OK) status = recur_docall(L, 0, 0);
  return report_status(L, status);
}

static int run_script(lua_State *L, char **argv, int argc, int script) {
  const char *fname = strcmp(argv[script], "-") == 0 ? NULL : argv[script];
  int status = luaL_loadfile(L, fname);
  if (status != LUA_OK) return report_status(L, status);
  int nargs = argc - script - 1;
  luaL_checkstack(L, nargs, "too many arguments to script");
  for (int i = script + 1; i < argc; i++) lua_pushstring(L, argv[i]);
  return report_status(L, recur_docall(L, nargs, LUA_MULTRET));
}

typedef struct {
  int argc;
  char **argv;
} main_args;

static int protected_main(lua_State *L) {
  main_args *a = lua_touserdata(L, 1);
  int argc = a->argc;
  char **argv = a->argv;
  bool interactive = false, ran_code = false;
  int script = 0;

  int i = 1;
  for (; i < argc; i++) {
    const char *o = argv[i];
    if (o[0] != '-' || strcmp(o, "-") == 0) break;
    if (strcmp(o, "--") == 0) { i++; break; }
    if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
      print_usage(stdout);
      lua_pushboolean(L, 1);
      return 1;
    } else if (strcmp(o, "-v") == 0 || strcmp(o, "--version") == 0) {
      rc_config_info info;
      if (rc_config(&info) == RC_OK)
        printf("recur %s (%s; BLIS %s, %s kernels, %d threads)\n", info.version, LUA_RELEASE,
               info.blis_version, info.blis_arch, info.threads);
      lua_pushboolean(L, 1);
      return 1;
    } else if (strcmp(o, "-i") == 0) {
      interactive = true;
    } else if (strcmp(o, "-e") == 0) {
      if (++i >= argc) {
        fprintf(stderr, "%s: '-e' needs an argument\n", progname);
        print_usage(stderr);
        lua_pushboolean(L, 0);
        return 1;
      }
      ran_code = true;
      if (run_chunk(L, luaL_loadbuffer(L, argv[i], strlen(argv[i]), "=(command line)"))) {
        lua_pushboolean(L, 0);
        return 1;
      }
    } else {
      fprintf(stderr, "%s: unrecognized option '%s'\n", progname, o);
      print_usage(stderr);
      lua_pushboolean(L, 0);
      return 1;
    }
  }
  if (i < argc) script = i;
  create_arg_table(L, argv, argc, script ? script : argc - 1);
  if (script && run_script(L, argv, argc, script) != LUA_OK) {
    lua_pushboolean(L, 0);
    return 1;
  }
  if (interactive || (!script && !ran_code)) {
    if (interactive || isatty(0)) {
      recur_repl(L);
    } else if (run_chunk(L, luaL_loadfile(L, NULL)) != LUA_OK) { /* stdin as a script */
      lua_pushboolean(L, 0);
      return 1;
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}

int main(int argc, char **argv) {
  if (argv[0] && argv[0][0]) progname = argv[0];
  recur_engine *e = recur_engine_new();
  if (!e) {
    fprintf(stderr, "%s: cannot create the Lua state: not enough memory\n", progname);
    return EXIT_FAILURE;
  }
  if (*recur_engine_error(e)) { /* recur could not start, e.g. a bad BLIS_ARCH_TYPE */
    fprintf(stderr, "%s: %s\n", progname, recur_engine_error(e));
    recur_engine_free(e);
    return EXIT_FAILURE;
  }
  lua_State *L = recur_engine_lua(e);
  main_args a = {argc, argv};
  lua_pushcfunction(L, protected_main);
  lua_pushlightuserdata(L, &a);
  int status = lua_pcall(L, 1, 1, 0);
  int ok = lua_toboolean(L, -1);
  report_status(L, status);
  recur_engine_free(e);
  return (status == LUA_OK && ok) ? EXIT_SUCCESS : EXIT_FAILURE;
}
