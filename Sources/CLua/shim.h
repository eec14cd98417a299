/* Lua 5.4's API as Swift can call it. Swift imports no function-like macros and not
 * LUA_REGISTRYINDEX, so each macro that rtlua uses is restated here as a static inline
 * function named after the macro with a "shim_" prefix, so a reader of the Lua manual
 * finds them at once. */
#ifndef RTLUA_CLUA_SHIM_H
#define RTLUA_CLUA_SHIM_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

static inline int shim_LUA_REGISTRYINDEX(void) { return LUA_REGISTRYINDEX; }
static inline int shim_lua_upvalueindex(int i) { return lua_upvalueindex(i); }
static inline lua_Integer shim_LUA_RIDX_MAINTHREAD(void) { return LUA_RIDX_MAINTHREAD; }
static inline lua_Integer shim_LUA_RIDX_GLOBALS(void) { return LUA_RIDX_GLOBALS; }
static inline int shim_LUA_MULTRET(void) { return LUA_MULTRET; }
static inline int shim_LUA_NOREF(void) { return LUA_NOREF; }
static inline int shim_LUA_REFNIL(void) { return LUA_REFNIL; }

static inline int shim_lua_pcall(lua_State *L, int n, int r, int f) { return lua_pcall(L, n, r, f); }
static inline void shim_lua_call(lua_State *L, int n, int r) { lua_call(L, n, r); }
static inline int shim_lua_yield(lua_State *L, int n) { return lua_yield(L, n); }
static inline const char *shim_lua_tostring(lua_State *L, int i) { return lua_tostring(L, i); }
static inline lua_Number shim_lua_tonumber(lua_State *L, int i) { return lua_tonumber(L, i); }
static inline lua_Integer shim_lua_tointeger(lua_State *L, int i) { return lua_tointeger(L, i); }
static inline void shim_lua_pop(lua_State *L, int n) { lua_pop(L, n); }
static inline void shim_lua_newtable(lua_State *L) { lua_newtable(L); }
static inline void shim_lua_pushcfunction(lua_State *L, lua_CFunction f) { lua_pushcfunction(L, f); }
static inline void shim_lua_register(lua_State *L, const char *n, lua_CFunction f) { lua_register(L, n, f); }
static inline int shim_lua_isfunction(lua_State *L, int i) { return lua_isfunction(L, i); }
static inline int shim_lua_istable(lua_State *L, int i) { return lua_istable(L, i); }
static inline int shim_lua_isnil(lua_State *L, int i) { return lua_isnil(L, i); }
static inline int shim_lua_isnone(lua_State *L, int i) { return lua_isnone(L, i); }
static inline int shim_lua_isnoneornil(lua_State *L, int i) { return lua_isnoneornil(L, i); }
static inline int shim_lua_isboolean(lua_State *L, int i) { return lua_isboolean(L, i); }
static inline int shim_lua_islightuserdata(lua_State *L, int i) { return lua_islightuserdata(L, i); }
static inline void shim_lua_insert(lua_State *L, int i) { lua_insert(L, i); }
static inline void shim_lua_remove(lua_State *L, int i) { lua_remove(L, i); }
static inline void shim_lua_replace(lua_State *L, int i) { lua_replace(L, i); }
static inline void *shim_lua_newuserdata(lua_State *L, size_t s) { return lua_newuserdata(L, s); }
static inline const char *shim_lua_pushliteral(lua_State *L, const char *s) { return lua_pushstring(L, s); }
static inline void shim_lua_pushglobaltable(lua_State *L) { lua_pushglobaltable(L); }
static inline lua_State *shim_lua_tothread(lua_State *L, int i) { return lua_tothread(L, i); }

static inline const char *shim_luaL_checkstring(lua_State *L, int i) { return luaL_checkstring(L, i); }
static inline const char *shim_luaL_optstring(lua_State *L, int i, const char *d) { return luaL_optstring(L, i, d); }
static inline const char *shim_luaL_typename(lua_State *L, int i) { return luaL_typename(L, i); }
static inline int shim_luaL_dofile(lua_State *L, const char *f) { return luaL_dofile(L, f); }
static inline int shim_luaL_dostring(lua_State *L, const char *s) { return luaL_dostring(L, s); }
static inline int shim_luaL_loadbuffer(lua_State *L, const char *b, size_t sz, const char *n) { return luaL_loadbuffer(L, b, sz, n); }
static inline void shim_luaL_getmetatable(lua_State *L, const char *n) { luaL_getmetatable(L, n); }
static inline void shim_luaL_argcheck(lua_State *L, int c, int a, const char *m) { luaL_argcheck(L, c, a, m); }
static inline void shim_luaL_newlibtable(lua_State *L, const luaL_Reg *l, int n) { lua_createtable(L, 0, n); (void)l; }

static inline void *shim_lua_newuserdatauv(lua_State *L, size_t s, int n) { return lua_newuserdatauv(L, s, n); }
static inline int shim_lua_isinteger(lua_State *L, int i) { return lua_isinteger(L, i); }

/* The host object of a script lives in the state's extra space (copied into every thread). */
static inline void shim_set_host(lua_State *L, void *host) { *(void **)lua_getextraspace(L) = host; }
static inline void *shim_get_host(lua_State *L) { return *(void **)lua_getextraspace(L); }

/* Lua raises errors and yields with longjmp. Functions written in Swift must never do that
 * themselves (it would skip Swift's cleanup), so they return one of these codes and the
 * trampoline below, a plain C function, raises or yields after the Swift frame is gone. */
#define SHIM_RAISE_AT_CALLER (-1)  /* string message on top: prefixed with the caller's file:line */
#define SHIM_RAISE_ARGERROR (-2)   /* [arg number, message] on top: luaL_argerror */
#define SHIM_YIELD (-3)            /* yield this coroutine with no values */
#define SHIM_RAISE_VALUE (-4)      /* error object on top, raised as is */
typedef int (*shim_SwiftFunction)(lua_State *L);

static int shim_trampoline(lua_State *L) {
    shim_SwiftFunction f = (shim_SwiftFunction)lua_touserdata(L, lua_upvalueindex(1));
    int n = f(L);
    if (n >= 0) return n;
    switch (n) {
    case SHIM_RAISE_AT_CALLER:
        if (lua_type(L, -1) == LUA_TSTRING) { luaL_where(L, 1); lua_insert(L, -2); lua_concat(L, 2); }
        return lua_error(L);
    case SHIM_RAISE_ARGERROR:
        return luaL_argerror(L, (int)lua_tointeger(L, -2), lua_tostring(L, -1));
    case SHIM_YIELD:
        return lua_yield(L, 0);
    default:
        return lua_error(L);
    }
}

/* Pushes a Lua function that runs `f` through the trampoline. */
static inline void shim_pushswiftfunction(lua_State *L, shim_SwiftFunction f) {
    lua_pushlightuserdata(L, (void *)f);
    lua_pushcclosure(L, shim_trampoline, 1);
}

#endif
