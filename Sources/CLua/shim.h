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

#endif
