/* Lua 5.4's API as Swift can call it. Swift imports no function-like macros and not
 * LUA_REGISTRYINDEX, so each macro that rtlua uses is restated here as a static inline
 * function named after the macro with a "shim_" prefix, so a reader of the Lua manual
 * finds them at once. */
#ifndef RTLUA_CLUA_SHIM_H
#define RTLUA_CLUA_SHIM_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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


/* The head of a VM's allocator block (LuaArena.swift). The allocator counts every byte the
 * VM holds (as `left`, what remains of `budget`: one subtraction and a sign test per
 * allocation) and refuses growth beyond `budget`, except while `host` is nonzero:
 * then host code (Swift) is pushing into the state, where a Lua error could not be raised
 * safely, so the allocation goes through and the debt is settled at the next safe point
 * (`shim_trampoline` on return, or the host's own check).
 * A __gc finalizer is Lua code that may run inside host code (a collection step of an
 * allocation there) but always in its own protected call: over the budget its allocations
 * are refused even then, unless they are those of a Swift body it called (SHIM_HOST_BODY_IN_GC).
 * lua_gc answers -1 while a finalizer runs, which tells it. */
#define SHIM_ENFORCED 0        /* Lua code runs (lua_resume, host pcalls): the budget holds */
#define SHIM_HOST 1            /* host code outside Lua (set-up, callback arguments) */
#define SHIM_HOST_BODY 2       /* the body of a Swift function called from Lua */
#define SHIM_HOST_BODY_IN_GC 3 /* the same, called from a finalizer */
typedef struct shim_ArenaHeader {
    uintptr_t limit;    /* end of the block */
    uintptr_t next;     /* next free byte */
    intptr_t overflow;  /* small bytes set-up had to take from malloc */
    intptr_t left;      /* budget minus the bytes the VM holds (negative: over the budget) */
    intptr_t budget;    /* most bytes it may hold (INTPTR_MAX: no limit) */
    lua_State *L;       /* the VM's main thread (asked whether a finalizer runs) */
    void *script;       /* the host object of the script (shim_set_host) */
    int host;           /* SHIM_ENFORCED or one of the host modes */
    int refusals;       /* allocations refused for the budget, and memory errors the host raised */
    /* Globals made when first touched (lazy.h): one bit per name of shim_lazy_names still to
     * be made, the host's maker, and the metatable that _G and package.loaded have meanwhile. */
    uint64_t lazy;
    int (*lazy_make)(lua_State *L);
    const void *lazy_meta;
    /* print's and log's writer: `what` is -1 for a print line, else the log level 0...3. */
    void (*write)(void *script, int what, const char *text, size_t len);
    lua_CFunction format;  /* string.format as the string library made it (log's formatting) */
} shim_ArenaHeader;

/* Whether a __gc finalizer is running in the VM. */
static inline int shim_in_finalizer(shim_ArenaHeader *a) {
    return a->L != NULL && lua_gc(a->L, LUA_GCISRUNNING) < 0;
}

/* The state's extra space (copied into every thread) holds the arena: the trampoline finds
 * the account with one load, and the host object through it. */
static inline void shim_set_arena(lua_State *L, shim_ArenaHeader *a) { *(shim_ArenaHeader **)lua_getextraspace(L) = a; }
static inline shim_ArenaHeader *shim_arena(lua_State *L) { return *(shim_ArenaHeader **)lua_getextraspace(L); }

/* The host object of a script, kept in its arena's header (shim_set_arena first). */
static inline void shim_set_host(lua_State *L, void *host) { shim_arena(L)->script = host; }
static inline void *shim_get_host(lua_State *L) { return shim_arena(L)->script; }

/* The bytes the VM holds, as Lua counts them (collectgarbage("count") in bytes). */
static inline intptr_t shim_lua_gc_bytes(lua_State *L) {
    return (intptr_t)lua_gc(L, LUA_GCCOUNT) * 1024 + lua_gc(L, LUA_GCCOUNTB);
}

/* Whether the VM is within its budget, after the full collection Lua itself makes before
 * it gives up on an allocation. Called in host mode. */
static inline int shim_fits_after_collect(lua_State *L, shim_ArenaHeader *a) {
    if (a->left >= 0) return 1;
    lua_gc(L, LUA_GCCOLLECT);
    return a->left >= 0;
}

/* The allocator of a VM with a block (LuaArena.swift describes it): `ud` is the block, which
 * starts with its header, then the free-list heads of the small size classes, then the
 * objects. In C so that the path Lua takes for every allocation is one plain function. */
#define SHIM_ARENA_SMALL 256 /* requests up to this size are small: one free list per 8-byte class */
#define SHIM_ARENA_HEADS ((sizeof(shim_ArenaHeader) + 7) & ~(size_t)7)
#define SHIM_ARENA_OBJECTS (SHIM_ARENA_HEADS + (SHIM_ARENA_SMALL / 8 + 1) * 8)

static inline size_t shim_arena_objects_offset(void) { return SHIM_ARENA_OBJECTS; }

/* Whether growth past the budget is refused: always while Lua code runs, and in host mode
 * only for a finalizer's own Lua code. Counts a refusal. */
static int shim_arena_refuses(shim_ArenaHeader *h, intptr_t delta) {
    if (delta <= 0) return 0;  /* Lua counts on frees and shrinks never failing */
    int refused;
    switch (h->host) {
    case SHIM_ENFORCED: refused = 1; break;
    case SHIM_HOST_BODY_IN_GC: refused = 0; break;
    default: refused = shim_in_finalizer(h) != 0;
    }
    if (refused) h->refusals++;
    return refused;
}

/* malloc itself failed. Lua code gets its "not enough memory" error, and so does host code
 * outside Lua (Lua then calls the panic handler, which says so before the process ends); the
 * body of a Swift function cannot take one (the error would unwind its frames), so the
 * process ends here with a clear line. */
static void *shim_arena_failed(shim_ArenaHeader *h, size_t size) {
    int host = h->host;
    if (host == SHIM_ENFORCED || host == SHIM_HOST || (host == SHIM_HOST_BODY && shim_in_finalizer(h))) return NULL;
    fprintf(stderr, "rtlua: out of memory: malloc of %zu bytes failed in host code (the script VM holds %td bytes)\n",
            size, (ptrdiff_t)(h->budget - h->left));
    fflush(stderr);
    abort();
}

/* A new object: a freed one of its class, else the next bytes of the block, else malloc. */
static inline void *shim_arena_take(shim_ArenaHeader *h, size_t size) {
    if (size > SHIM_ARENA_SMALL) return malloc(size);
    size_t cls = (size + 7) >> 3;
    void **heads = (void **)((char *)h + SHIM_ARENA_HEADS);
    void *p = heads[cls];
    if (p != NULL) {
        heads[cls] = *(void **)p;
        return p;
    }
    uintptr_t next = h->next, end = next + (cls << 3);
    if (end <= h->limit) {
        h->next = end;
        return (void *)next;
    }
    if (h->overflow >= 0) h->overflow += (intptr_t)(cls << 3);
    return malloc(size);
}

/* A block object of `size` bytes onto its class's free list. */
static inline void shim_arena_push(shim_ArenaHeader *h, void *p, size_t size) {
    void **heads = (void **)((char *)h + SHIM_ARENA_HEADS);
    size_t cls = (size + 7) >> 3;
    *(void **)p = heads[cls];
    heads[cls] = p;
}

/* Every case of shim_arena_alloc but its fast ones (out of line, so those need no saved
 * registers): past the budget, malloc, realloc, free, a block object that grows. */
__attribute__((noinline))
static void *shim_arena_alloc_slow(shim_ArenaHeader *h, void *ptr, size_t osize, size_t nsize, intptr_t delta) {
    intptr_t left = h->left - delta;
    if (left < 0 && shim_arena_refuses(h, delta)) return NULL;
    void *result;
    uintptr_t p = (uintptr_t)ptr;
    if (ptr != NULL && p >= (uintptr_t)h + SHIM_ARENA_OBJECTS && p < h->limit) {
        /* one of the block's objects: freed into its class, or moved when it grows */
        if (nsize == 0) {
            shim_arena_push(h, ptr, osize);
            h->left = left;
            return NULL;
        }
        if (nsize <= osize) {
            result = ptr;
        } else {
            void *moved = shim_arena_take(h, nsize);
            if (moved == NULL) return shim_arena_failed(h, nsize);
            memcpy(moved, ptr, osize);
            shim_arena_push(h, ptr, osize);
            result = moved;
        }
    } else if (nsize == 0) {
        free(ptr);
        h->left = left;
        return NULL;
    } else {
        result = ptr == NULL ? shim_arena_take(h, nsize) : realloc(ptr, nsize);
        if (result == NULL) return shim_arena_failed(h, nsize);
    }
    h->left = left;
    return result;
}

/* The lua_Alloc. With `ptr` NULL, `osize` is a type tag, not a size. Within the budget, a
 * block object freed or shrunk and a small object from a free list or the block's room are
 * handled here; the rest in shim_arena_alloc_slow. */
static void *shim_arena_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    shim_ArenaHeader *h = (shim_ArenaHeader *)ud;
    intptr_t delta = ptr == NULL ? (intptr_t)nsize : (intptr_t)nsize - (intptr_t)osize;
    intptr_t left = h->left - delta;
    if (left >= 0) {
        uintptr_t p = (uintptr_t)ptr;
        if (ptr == NULL) {
            if (nsize <= SHIM_ARENA_SMALL) {
                size_t cls = (nsize + 7) >> 3;
                void **heads = (void **)((char *)h + SHIM_ARENA_HEADS);
                void *q = heads[cls];
                if (q != NULL) {
                    heads[cls] = *(void **)q;
                    h->left = left;
                    return q;
                }
            }
        } else if (p >= (uintptr_t)h + SHIM_ARENA_OBJECTS && p < h->limit) {
            if (nsize == 0) {
                shim_arena_push(h, ptr, osize);
                h->left = left;
                return NULL;
            }
            if (nsize <= osize) {
                h->left = left;
                return ptr;
            }
        }
    }
    return shim_arena_alloc_slow(h, ptr, osize, nsize, delta);
}

/* Lua code run from the host: the budget is enforced inside (a failed allocation unwinds
 * to lua_resume / lua_pcall, a C frame, never across a Swift one). */
static inline int shim_lua_resume_budgeted(lua_State *co, lua_State *from, int narg, int *nres) {
    shim_ArenaHeader *a = shim_arena(co);
    int host = a->host;
    a->host = 0;
    int status = lua_resume(co, from, narg, nres);
    a->host = host;
    return status;
}

static inline int shim_lua_pcall_budgeted(lua_State *L, int n, int r, int f) {
    shim_ArenaHeader *a = shim_arena(L);
    if (a == NULL) return lua_pcall(L, n, r, f);  /* a state without an arena (rtlua check) */
    int host = a->host;
    a->host = 0;
    int status = lua_pcall(L, n, r, f);
    a->host = host;
    return status;
}

/* Lua raises errors and yields with longjmp. Functions written in Swift must never do that
 * themselves (it would skip Swift's cleanup), so they return one of these codes and the
 * trampoline below, a plain C function, raises or yields after the Swift frame is gone.
 * A Swift body runs in host mode; when it has taken the VM over its budget, the trampoline
 * raises Lua's "not enough memory" error in its place. */
#define SHIM_RAISE_AT_CALLER (-1)  /* string message on top: prefixed with the caller's file:line */
#define SHIM_RAISE_ARGERROR (-2)   /* [arg number, message] on top: luaL_argerror */
#define SHIM_YIELD (-3)            /* yield this coroutine with no values */
#define SHIM_RAISE_VALUE (-4)      /* error object on top, raised as is */
#define SHIM_RAISE_MEMORY (-5)     /* Lua's "not enough memory" error */
typedef int (*shim_SwiftFunction)(lua_State *L);

/* The last value a waiting coroutine is resumed with when it is to raise instead of
 * returning: [error value, marker]. */
#define SHIM_RAISE_MARKER ((void *)(uintptr_t)0x52544c55u)

static inline void shim_push_raise_marker(lua_State *L) { lua_pushlightuserdata(L, SHIM_RAISE_MARKER); }

/* Raises Lua's own memory error message (an interned string: pushing it takes no memory). */
static inline int shim_memory_error(lua_State *L, shim_ArenaHeader *a, int host) {
    a->refusals++;
    a->host = SHIM_HOST_BODY;
    lua_settop(L, 0);
    lua_pushstring(L, "not enough memory");
    a->host = host;
    return lua_error(L);
}

/* After a yield of SHIM_YIELD: the values the coroutine was resumed with are the results
 * (`base` is the stack height at the yield), unless the host marked them as an error. */
static int shim_after_wait(lua_State *L, int status, lua_KContext base) {
    (void)status;
    int n = lua_gettop(L) - (int)base;
    if (n >= 2 && lua_touserdata(L, -1) == SHIM_RAISE_MARKER) {
        lua_pop(L, 1);
        return lua_error(L);
    }
    return n;
}

static int shim_trampoline(lua_State *L) {
    shim_SwiftFunction f = (shim_SwiftFunction)lua_touserdata(L, lua_upvalueindex(1));
    shim_ArenaHeader *a = shim_arena(L);
    int host = a->host;
    /* A finalizer is never yieldable (lua_isyieldable is cheap, lua_gc is not). */
    a->host = !lua_isyieldable(L) && lua_gc(L, LUA_GCISRUNNING) < 0 ? SHIM_HOST_BODY_IN_GC : SHIM_HOST_BODY;
    int n = f(L);
    a->host = host;
    if (n >= 0) {
        if (host || a->left >= 0) return n;
        a->host = SHIM_HOST_BODY;
        int fits = shim_fits_after_collect(L, a);
        a->host = host;
        return fits ? n : shim_memory_error(L, a, host);
    }
    switch (n) {
    case SHIM_RAISE_AT_CALLER:
        if (lua_type(L, -1) == LUA_TSTRING) { luaL_where(L, 1); lua_insert(L, -2); lua_concat(L, 2); }
        return lua_error(L);
    case SHIM_RAISE_ARGERROR:
        return luaL_argerror(L, (int)lua_tointeger(L, -2), lua_tostring(L, -1));
    case SHIM_YIELD:
        return lua_yieldk(L, 0, (lua_KContext)lua_gettop(L), shim_after_wait);
    case SHIM_RAISE_MEMORY:
        return shim_memory_error(L, a, host);
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
