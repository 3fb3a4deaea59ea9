/* bindings/main.h — what the `recur` executable's parts share: running a chunk with a
   traceback and Ctrl-C handling (main.c), and the interactive REPL (repl.c). */
#ifndef RECUR_MAIN_H
#define RECUR_MAIN_H

#include <lua.h>

/* Calls the function on top of the stack with narg args below it (as lua_pcall), with a
   traceback message handler and SIGINT turned into a Lua error "interrupted!".
   On error the message (with traceback) is left on the stack. */
int recur_docall(lua_State *L, int narg, int nres);
/* Prints the error message on top of the stack to stderr and pops it. */
void recur_report(lua_State *L, const char *progname);
/* The interactive loop; returns when the user ends input (Ctrl-D). */
void recur_repl(lua_State *L);

#endif
