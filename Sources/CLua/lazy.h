/* Globals made when first touched, and print and log in C (LuaScript+LazyGlobals.swift).
 *
 * An idle bot touches few of the standard libraries and rtlua's own tables, yet making all of
 * them took 15 KiB of every VM. So a VM starts with _G, print, getmetatable, setmetatable
 * and the strings' metatable only; every other global of shim_lazy_names (the base library's
 * other functions too) is made by the host (`lazy_make` of the arena header) the first time a
 * script reads or assigns it, through _G or
 * package.loaded: both have a metatable whose __index and __newindex do that. A name assigned
 * before it was read is made first and then overwritten, as if it had been there all along.
 *
 * The lazy metatable never shows: getmetatable and setmetatable on _G or package.loaded (and
 * loading the debug library) first make every pending global and take it off ("settle"),
 * and getmetatable on a string makes the string library first. What still differs from an
 * eager VM: pairs/next/rawget/rawlen on _G and package.loaded see only what was made so far,
 * and rawset there does not make the name first.
 *
 * Until the string library is made, strings have a small metatable of their own whose
 * metamethods make it and then run its real ones in their own frame, so `s:upper()`,
 * `"10" + 1` and their errors behave as before. */
#ifndef RTLUA_CLUA_LAZY_H
#define RTLUA_CLUA_LAZY_H

#include "shim.h"
#include <string.h>

typedef struct shim_lazy_name {
    const char *name;
    size_t len;
    int module;  /* a library: also found as package.loaded[name] */
} shim_lazy_name;

/* The order is the bit order of `lazy` (LuaScript+LazyGlobals.swift names them). */
static const shim_lazy_name shim_lazy_names[] = {
    {"string", 6, 1}, {"table", 5, 1}, {"math", 4, 1}, {"coroutine", 9, 1}, {"os", 2, 1},
    {"io", 2, 1}, {"utf8", 4, 1}, {"package", 7, 1}, {"require", 7, 0}, {"debug", 5, 1},
    {"json", 4, 1}, {"http", 4, 1}, {"timer", 5, 1}, {"log", 3, 1},
    {"realtime", 8, 0}, {"sleep", 5, 0}, {"schedule", 8, 0}, {"now", 3, 0}, {"exit", 4, 0},
    {"args", 4, 0}, {"instance", 8, 0}, {"check", 5, 0}, {"metrics", 7, 1},
    /* the base library's, but for _G, print, getmetatable and setmetatable */
    {"assert", 6, 0}, {"collectgarbage", 14, 0}, {"dofile", 6, 0}, {"error", 5, 0}, {"ipairs", 6, 0},
    {"load", 4, 0}, {"loadfile", 8, 0}, {"next", 4, 0}, {"pairs", 5, 0}, {"pcall", 5, 0},
    {"rawequal", 8, 0}, {"rawget", 6, 0}, {"rawlen", 6, 0}, {"rawset", 6, 0}, {"select", 6, 0},
    {"tonumber", 8, 0}, {"tostring", 8, 0}, {"type", 4, 0}, {"warn", 4, 0}, {"xpcall", 6, 0},
    {"_VERSION", 8, 0},
};
#define SHIM_LAZY_COUNT ((int)(sizeof(shim_lazy_names) / sizeof(shim_lazy_names[0])))
#define SHIM_LAZY_STRING 0
#define SHIM_LAZY_SETTLE (-1) /* lazy_make's argument: make every pending name, drop the metatable */

static inline int shim_lazy_count(void) { return SHIM_LAZY_COUNT; }
static inline const char *shim_lazy_name_at(int i) { return shim_lazy_names[i].name; }
static inline int shim_lazy_is_module(int i) { return shim_lazy_names[i].module; }

static inline int shim_lazy_find(const char *k, size_t len) {
    for (int i = 0; i < SHIM_LAZY_COUNT; i++) {
        if (shim_lazy_names[i].len == len && memcmp(shim_lazy_names[i].name, k, len) == 0) return i;
    }
    return -1;
}

/* Has the host make name `i` (or settle): its Swift maker runs through the trampoline, so it
 * is host code with the usual memory check after it. */
static inline void shim_lazy_make(lua_State *L, shim_ArenaHeader *a, int i) {
    lua_pushlightuserdata(L, (void *)a->lazy_make);
    lua_pushcclosure(L, shim_trampoline, 1);
    lua_pushinteger(L, i);
    lua_call(L, 1, 0);
}

/* The pending name that key 2 of table 1 (_G or package.loaded) is, or -1. */
static inline int shim_lazy_pending(lua_State *L, shim_ArenaHeader *a) {
    if (a == NULL || a->lazy == 0 || lua_type(L, 2) != LUA_TSTRING) return -1;
    size_t len;
    const char *k = lua_tolstring(L, 2, &len);
    int i = shim_lazy_find(k, len);
    if (i < 0 || (a->lazy & ((uint64_t)1 << i)) == 0) return -1;
    if (!shim_lazy_names[i].module) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
        int global = lua_rawequal(L, -1, 1);
        lua_pop(L, 1);
        if (!global) return -1;
    }
    return i;
}

static int shim_lazy_index(lua_State *L) {
    shim_ArenaHeader *a = shim_arena(L);
    int i = shim_lazy_pending(L, a);
    if (i < 0) return 0;
    shim_lazy_make(L, a, i);
    lua_settop(L, 2);
    lua_rawget(L, 1);
    return 1;
}

static int shim_lazy_newindex(lua_State *L) {
    shim_ArenaHeader *a = shim_arena(L);
    int i = shim_lazy_pending(L, a);
    if (i >= 0) shim_lazy_make(L, a, i);
    lua_settop(L, 3);
    /* the errors an assignment raises, at the assigning line */
    if (lua_isnil(L, 2)) return luaL_error(L, "index is nil");
    if (lua_type(L, 2) == LUA_TNUMBER && !lua_isinteger(L, 2) && lua_tonumber(L, 2) != lua_tonumber(L, 2))
        return luaL_error(L, "index is NaN");
    lua_rawset(L, 1);
    return 0;
}

/* Before getmetatable/setmetatable look at value 1: the lazy metatable is settled away, and a
 * string's metatable is the string library's. */
static inline void shim_lazy_reveal(lua_State *L) {
    shim_ArenaHeader *a = shim_arena(L);
    if (a == NULL || a->lazy == 0) return;
    if (lua_type(L, 1) == LUA_TSTRING) {
        if (a->lazy & ((uint64_t)1 << SHIM_LAZY_STRING)) shim_lazy_make(L, a, SHIM_LAZY_STRING);
        return;
    }
    if (a->lazy_meta != NULL && lua_getmetatable(L, 1)) {
        int ours = lua_topointer(L, -1) == a->lazy_meta;
        lua_pop(L, 1);
        if (ours) shim_lazy_make(L, a, SHIM_LAZY_SETTLE);
    }
}

/* getmetatable and setmetatable: the base library's (upvalue 1), run in this frame so that
 * their errors read as before. */
static int shim_lazy_metatable_call(lua_State *L) {
    shim_lazy_reveal(L);
    return lua_tocfunction(L, lua_upvalueindex(1))(L);
}

/* The strings' metatable until the string library is made: each metamethod makes it, then
 * runs the library's own in this frame. */
static int shim_lazy_string_event(lua_State *L, const char *event, lua_CFunction self) {
    shim_ArenaHeader *a = shim_arena(L);
    if (a != NULL && (a->lazy & ((uint64_t)1 << SHIM_LAZY_STRING))) shim_lazy_make(L, a, SHIM_LAZY_STRING);
    lua_pushliteral(L, "");
    lua_CFunction f = NULL;
    if (lua_getmetatable(L, -1)) {
        lua_getfield(L, -1, event);
        f = lua_tocfunction(L, -1);
        lua_pop(L, 2);
    }
    lua_pop(L, 1);
    if (f == NULL || f == self) return luaL_error(L, "the string library is not available");
    return f(L);
}

static int shim_lazy_string_index(lua_State *L) {
    shim_ArenaHeader *a = shim_arena(L);
    if (a != NULL && (a->lazy & ((uint64_t)1 << SHIM_LAZY_STRING))) shim_lazy_make(L, a, SHIM_LAZY_STRING);
    lua_settop(L, 2);
    if (!lua_getmetatable(L, 1) || lua_getfield(L, -1, "__index") != LUA_TTABLE)
        return luaL_error(L, "the string library is not available");
    lua_pushvalue(L, 2);
    lua_gettable(L, -2);
    return 1;
}

#define SHIM_LAZY_STRING_EVENT(e) \
    static int shim_lazy_string##e(lua_State *L) { return shim_lazy_string_event(L, #e, shim_lazy_string##e); }
SHIM_LAZY_STRING_EVENT(__add)
SHIM_LAZY_STRING_EVENT(__sub)
SHIM_LAZY_STRING_EVENT(__mul)
SHIM_LAZY_STRING_EVENT(__mod)
SHIM_LAZY_STRING_EVENT(__pow)
SHIM_LAZY_STRING_EVENT(__div)
SHIM_LAZY_STRING_EVENT(__idiv)
SHIM_LAZY_STRING_EVENT(__unm)
#undef SHIM_LAZY_STRING_EVENT

/* Sets up a new VM's laziness: every name pending, the metatable of _G and package.loaded,
 * getmetatable/setmetatable that reveal nothing of it, and the strings' stand-in metatable.
 * The base library must be open (its getmetatable/setmetatable are wrapped). */
static inline void shim_lazy_install(lua_State *L, shim_ArenaHeader *a, int (*make)(lua_State *L)) {
    static const luaL_Reg strings[] = {
        {"__index", shim_lazy_string_index}, {"__add", shim_lazy_string__add}, {"__sub", shim_lazy_string__sub},
        {"__mul", shim_lazy_string__mul}, {"__mod", shim_lazy_string__mod}, {"__pow", shim_lazy_string__pow},
        {"__div", shim_lazy_string__div}, {"__idiv", shim_lazy_string__idiv}, {"__unm", shim_lazy_string__unm},
        {NULL, NULL}};
    a->lazy_make = make;
    a->lazy = (SHIM_LAZY_COUNT >= 64) ? ~(uint64_t)0 : (((uint64_t)1 << SHIM_LAZY_COUNT) - 1);

    lua_createtable(L, 0, 9);
    luaL_setfuncs(L, strings, 0);
    lua_pushliteral(L, "");
    lua_pushvalue(L, -2);
    lua_setmetatable(L, -2);
    lua_pop(L, 2);

    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, shim_lazy_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, shim_lazy_newindex);
    lua_setfield(L, -2, "__newindex");
    a->lazy_meta = lua_topointer(L, -1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_pushvalue(L, -2);
    lua_setmetatable(L, -2);
    static const char *const wrapped[] = {"getmetatable", "setmetatable"};
    for (int i = 0; i < 2; i++) {
        lua_getfield(L, -1, wrapped[i]);
        lua_pushcclosure(L, shim_lazy_metatable_call, 1);
        lua_setfield(L, -2, wrapped[i]);
    }
    lua_pop(L, 1);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushvalue(L, -2);
    lua_setmetatable(L, -2);
    lua_pop(L, 2);
}

/* Pops the table on top, taking the lazy metatable off it if it has that one. */
static inline void shim_lazy_unset_and_pop(lua_State *L, const shim_ArenaHeader *a) {
    if (lua_getmetatable(L, -1)) {
        if (lua_topointer(L, -1) == a->lazy_meta) {
            lua_pushnil(L);
            lua_setmetatable(L, -3);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* Settling's last step: _G and package.loaded lose the lazy metatable. */
static inline void shim_lazy_drop_metatable(lua_State *L, shim_ArenaHeader *a) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    shim_lazy_unset_and_pop(L, a);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    shim_lazy_unset_and_pop(L, a);
    a->lazy_meta = NULL;
}

/* print: tostring of each argument, tab-separated, one line to the script's stdout. */
static int shim_print(lua_State *L) {
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        if (i > 1) luaL_addchar(&b, '\t');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    shim_ArenaHeader *a = shim_arena(L);
    a->write(a->script, -1, s, len);
    return 0;
}

static int shim_tostring_first(lua_State *L) {
    luaL_tolstring(L, 1, NULL);
    return 1;
}

/* log.<level>(fmt, ...): string.format(fmt, ...), or tostring(fmt) alone. An error there is
 * the caller's: raised at the caller's line, and an argument error names log.<level>. */
static int shim_log_at(lua_State *L, int level, const char *name) {
    shim_ArenaHeader *a = shim_arena(L);
    int n = lua_gettop(L);
    if (n <= 1) {
        lua_settop(L, 1);
        lua_pushcfunction(L, shim_tostring_first);
        n = 1;
    } else {
        if (a->format == NULL && (a->lazy & ((uint64_t)1 << SHIM_LAZY_STRING))) shim_lazy_make(L, a, SHIM_LAZY_STRING);
        if (a->format == NULL) return luaL_error(L, "the string library is not available");
        lua_pushcfunction(L, a->format);
    }
    lua_insert(L, 1);
    int status = lua_pcall(L, n, 1, 0);
    if (status == LUA_ERRMEM) return lua_error(L);
    if (status != LUA_OK) {
        size_t len;
        const char *m = luaL_tolstring(L, -1, &len);
        luaL_where(L, 1);
        if (strncmp(m, "bad argument #", 14) == 0) {
            const char *p = m + 14;
            while (*p >= '0' && *p <= '9') p++;
            const char *q = (p > m + 14 && strncmp(p, " to '", 5) == 0) ? strchr(p + 5, '\'') : NULL;
            if (q != NULL) {
                lua_pushlstring(L, m, (size_t)(p - m));
                lua_pushfstring(L, " to '%s'", name);
                lua_pushstring(L, q + 1);
                lua_concat(L, 4);
                return lua_error(L);
            }
        }
        lua_insert(L, -2);
        lua_concat(L, 2);
        return lua_error(L);
    }
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    a->write(a->script, level, s, len);
    return 0;
}

static int shim_log_debug(lua_State *L) { return shim_log_at(L, 0, "log.debug"); }
static int shim_log_info(lua_State *L) { return shim_log_at(L, 1, "log.info"); }
static int shim_log_warn(lua_State *L) { return shim_log_at(L, 2, "log.warn"); }
static int shim_log_error(lua_State *L) { return shim_log_at(L, 3, "log.error"); }

/* The log table and print (light C functions: no closure to allocate). */
static inline void shim_push_log_table(lua_State *L) {
    static const luaL_Reg levels[] = {
        {"debug", shim_log_debug}, {"info", shim_log_info}, {"warn", shim_log_warn}, {"error", shim_log_error}, {NULL, NULL}};
    lua_createtable(L, 0, 4);
    luaL_setfuncs(L, levels, 0);
}

static inline void shim_push_print(lua_State *L) { lua_pushcfunction(L, shim_print); }

#endif
