/* bindings/repl.c — STUB: the interactive REPL on libedit, to be written. */
#include <stdio.h>
#include <string.h>
#include <lauxlib.h>
#include "main.h"

void recur_repl(lua_State *L) {
  char line[4096];
  while (fputs("> ", stdout), fflush(stdout), fgets(line, sizeof line, stdin)) {
    if (luaL_loadstring(L, line) == LUA_OK) {
      if (recur_docall(L, 0, 0) != LUA_OK) recur_report(L, NULL);
    } else {
      recur_report(L, NULL);
    }
  }
}
