/* The guard of a script's resumes: preemption, stop and the CPU budget
 * (LuaScript+Guard.swift has the model; docs/limits.md the user's view).
 *
 * The loop thread brackets every lua_resume of a host coroutine with shim_guard_enter and
 * shim_guard_leave: a few plain stores and one compare-and-swap, no clock and no lock. The
 * watchdog thread looks at each loop's slot, and through it at the `running` word of the
 * script whose resume runs there; to act on a resume that runs too long it *claims* it: it
 * sets bit 0 of `running`, and while the bit is set shim_guard_leave (and a switch to or from
 * a coroutine of the script's own) waits, so the coroutine cannot finish, be reused or be
 * freed while lua_sethook is called on it. A stop only sets a flag, from any thread. lua_sethook is the one Lua call made from another thread; Lua
 * writes it to be called asynchronously (lua.c calls it from a signal handler; see the comment
 * above lua_sethook in ldebug.c): it only stores the hook fields and sets the `trap` flags
 * (volatile sig_atomic_t) that the interpreter tests at jumps, calls and returns.
 *
 * The hook set that way is a count hook with count 1, so it runs before the next instruction.
 * It is C because it yields and raises with longjmp, which must never cross a Swift frame. It
 * yields the host coroutine when it can (the host then resumes it later, or abandons it); where
 * the code cannot yield (inside a C function such as table.sort's comparator, a metamethod, a
 * coroutine of the script's own) a preemption is tried again every SHIM_GUARD_RETRY
 * instructions, and a kill raises an error at every instruction, so no pcall of the script
 * keeps it, until it is back where it can yield.
 *
 * Swift only sees `void *` here: it never touches the atomics itself. */
#ifndef RTLUA_CLUA_GUARD_H
#define RTLUA_CLUA_GUARD_H

#include <lua.h>
#include <lauxlib.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define SHIM_GUARD_PREEMPT 1u  /* yield at the next safe point; the host resumes it later */
#define SHIM_GUARD_KILL 2u     /* over the CPU budget: yield out, the host abandons the coroutine */
#define SHIM_GUARD_STOP 4u     /* the script is being stopped: the same, then the script ends */
#define SHIM_GUARD_RETRY 1000   /* instructions between tries to preempt where it cannot yield */
#define SHIM_GUARD_KEY "rtlua.guard"             /* registry: light userdata, the guard */
#define SHIM_GUARD_TRACE_KEY "rtlua.guard.trace" /* registry: the traceback taken at a kill */

typedef struct shim_guard {
    _Atomic uintptr_t running;  /* the thread running in the host's resume, 0 between resumes; bit 0: claimed */
    _Atomic uint64_t epoch;     /* resumes started so far (written by the loop thread only) */
    _Atomic unsigned request;   /* SHIM_GUARD_* asked of the running resume */
    _Atomic unsigned stop;      /* SHIM_GUARD_STOP once the script is being stopped, for good */
    _Atomic int64_t cpu_ns;     /* CPU time of the running callback so far (all its resumes) */
    _Atomic int64_t cpu_mark;   /* the loop thread's CPU clock up to which cpu_ns counts; -1: not read yet */
    int armed;                  /* the hook is set on `running` (changed under a claim, or by the loop after leave) */
    lua_State *base;            /* loop thread: the host coroutine being resumed (the one that can yield to the host) */
    unsigned armed_ticks;       /* watchdog, under a claim: ticks that found the hook set and the resume still running */
    unsigned yielded;           /* loop thread: the request bits the hook yielded for */
    int traced;                 /* loop thread: the kill's traceback is in the registry */
    struct shim_guard_slot *slot;  /* its loop's slot (set once, on the loop, before the first resume) */
    int64_t limit_ns;           /* the CPU budget of one callback, 0: none (set with `slot`) */
} shim_guard;

/* One per event loop: the guard of the script whose resume began last on that loop. On a
 * loop one resume runs at a time, so the watchdog looks at one guard per loop, not one per
 * script (10,000 idle bots cost it nothing). A guard leaves its slot (shim_guard_detach,
 * under the watchdog's lock) before it can be freed. */
typedef struct shim_guard_slot {
    _Atomic uintptr_t current;
    /* the watchdog's own, under its lock: what it saw at its last look */
    uintptr_t seen_guard;
    uint64_t seen_epoch;
} shim_guard_slot;

static inline void *shim_guard_slot_new(void) { return calloc(1, sizeof(shim_guard_slot)); }
static inline void shim_guard_slot_free(void *s) { free(s); }

/* Loop thread, before the script's first resume: its slot and budget. */
static inline void shim_guard_attach(void *gp, void *slot, int64_t limit_ns) {
    shim_guard *g = (shim_guard *)gp;
    g->slot = (shim_guard_slot *)slot;
    g->limit_ns = limit_ns;
}

/* Under the watchdog's lock, once the script runs no more: its slot forgets it. */
static inline void shim_guard_detach(void *gp) {
    shim_guard *g = (shim_guard *)gp;
    if (g->slot == NULL) return;
    uintptr_t me = (uintptr_t)g;
    atomic_compare_exchange_strong(&g->slot->current, &me, 0);
    if (g->slot->seen_guard == (uintptr_t)g) g->slot->seen_guard = 0;
    g->slot = NULL;
}

static inline void *shim_guard_new(void) {
    shim_guard *g = (shim_guard *)calloc(1, sizeof(shim_guard));
    atomic_init(&g->cpu_mark, -1);
    return g;
}

static inline void shim_guard_free(void *g) { free(g); }

/* The calling thread's CPU time in nanoseconds. */
static inline int64_t shim_thread_cpu_ns(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A thread's CPU time by its clock id (pthread_getcpuclockid), or -1. */
static inline int64_t shim_clock_ns(clockid_t clock) {
    struct timespec ts;
    if (clock_gettime(clock, &ts) != 0) return -1;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void shim_guard_hook(lua_State *L, lua_Debug *ar);

static inline void shim_guard_sethook(lua_State *co) { lua_sethook(co, shim_guard_hook, LUA_MASKCOUNT, 1); }

/* Claims the running resume (see the top); 0 when none runs. */
static inline uintptr_t shim_guard_claim(shim_guard *g) {
    for (;;) {
        uintptr_t p = atomic_load_explicit(&g->running, memory_order_acquire);
        if (p == 0) return 0;
        if (p & 1) { sched_yield(); continue; }  /* the other of watchdog and stop has it */
        if (atomic_compare_exchange_weak_explicit(&g->running, &p, p | 1, memory_order_acquire, memory_order_relaxed))
            return p;
    }
}

static inline void shim_guard_unclaim(shim_guard *g, uintptr_t p) {
    atomic_store_explicit(&g->running, p, memory_order_release);
}

/* Under a claim: asks `bits` of the running resume and arms the hook once. Every 8th time
 * it finds the hook already set and the resume still running, it sets it again: lua_sethook
 * makes no promise about the order in which another core sees its stores, and a thread that
 * saw the trap before the mask would drop the hook (x86 keeps the order; this is for the
 * others). Setting it again is harmless: the same values, or a count the hook sets itself. */
static inline void shim_guard_ask(shim_guard *g, uintptr_t p, unsigned bits) {
    atomic_fetch_or_explicit(&g->request, bits, memory_order_relaxed);
    if (!g->armed) {
        g->armed = 1;
        g->armed_ticks = 0;
        shim_guard_sethook((lua_State *)p);
    } else if (++g->armed_ticks % 8 == 0) {
        shim_guard_sethook((lua_State *)p);
    }
}

/* Loop thread, before lua_resume(co): `cpu_ns` is what the callback used in earlier resumes,
 * `cpu_mark` the thread's CPU clock now when the caller read it, else -1. */
static inline void shim_guard_enter(void *gp, lua_State *co, int64_t cpu_ns, int64_t cpu_mark) {
    shim_guard *g = (shim_guard *)gp;
    g->base = co;
    if (g->slot) atomic_store_explicit(&g->slot->current, (uintptr_t)g, memory_order_relaxed);
    atomic_store_explicit(&g->request, 0, memory_order_relaxed);
    atomic_store_explicit(&g->cpu_ns, cpu_ns, memory_order_relaxed);
    atomic_store_explicit(&g->cpu_mark, cpu_mark, memory_order_relaxed);
    atomic_store_explicit(&g->epoch, atomic_load_explicit(&g->epoch, memory_order_relaxed) + 1, memory_order_relaxed);
    if (atomic_load_explicit(&g->stop, memory_order_relaxed)) {  /* stopping: not one more instruction */
        g->armed = 1;
        shim_guard_sethook(co);
    }
    atomic_store_explicit(&g->running, (uintptr_t)co, memory_order_release);
}

/* Loop thread, after lua_resume(co) returned: waits out a claim, takes the hook off, and
 * returns the bits that were asked of this resume (0 for all but long ones). */
static inline unsigned shim_guard_leave(void *gp, lua_State *co) {
    shim_guard *g = (shim_guard *)gp;
    uintptr_t expected = (uintptr_t)co;
    while (!atomic_compare_exchange_strong_explicit(&g->running, &expected, 0, memory_order_acq_rel, memory_order_relaxed)) {
        expected = (uintptr_t)co;
        sched_yield();
    }
    int64_t mark = atomic_load_explicit(&g->cpu_mark, memory_order_relaxed);
    if (__builtin_expect(!g->armed && mark < 0, 1)) return 0;
    if (mark >= 0) {  /* a long resume: count its CPU time up to now */
        int64_t now = shim_thread_cpu_ns();
        if (now > mark) atomic_fetch_add_explicit(&g->cpu_ns, now - mark, memory_order_relaxed);
        atomic_store_explicit(&g->cpu_mark, -1, memory_order_relaxed);
    }
    if (!g->armed) return 0;
    g->armed = 0;
    lua_sethook(co, NULL, 0, 0);
    return atomic_exchange_explicit(&g->request, 0, memory_order_relaxed) | atomic_load_explicit(&g->stop, memory_order_relaxed);
}

/* The running callback's CPU time so far (loop thread, between resumes). */
static inline int64_t shim_guard_cpu(void *gp) {
    return atomic_load_explicit(&((shim_guard *)gp)->cpu_ns, memory_order_relaxed);
}

/* The bits the hook yielded for in the last resume, and forgets them (loop thread). */
static inline unsigned shim_guard_take_yielded(void *gp) {
    shim_guard *g = (shim_guard *)gp;
    unsigned y = g->yielded;
    g->yielded = 0;
    return y;
}

/* Whether the traceback of a kill was taken; forgets it (loop thread). */
static inline int shim_guard_take_traced(void *gp) {
    shim_guard *g = (shim_guard *)gp;
    int t = g->traced;
    g->traced = 0;
    return t;
}

/* Watchdog: resume number `epoch`, if it still runs, is counted up to `now_ns` of its thread's
 * CPU clock; when `preempt` (it was running at the last tick too), it is asked to yield, or
 * to end if the script is being stopped; and when its callback is over `limit_ns` (> 0), to
 * end. Returns the bits asked, or 0. */
static inline unsigned shim_guard_tick(void *gp, uint64_t epoch, int64_t now_ns, int preempt, int64_t limit_ns) {
    shim_guard *g = (shim_guard *)gp;
    uintptr_t p = shim_guard_claim(g);
    if (p == 0) return 0;
    unsigned bits = 0;
    if (atomic_load_explicit(&g->epoch, memory_order_relaxed) == epoch) {
        int64_t mark = atomic_load_explicit(&g->cpu_mark, memory_order_relaxed);
        int64_t total = atomic_load_explicit(&g->cpu_ns, memory_order_relaxed);
        if (mark >= 0 && now_ns > mark) total += now_ns - mark;
        atomic_store_explicit(&g->cpu_ns, total, memory_order_relaxed);
        if (now_ns >= 0) atomic_store_explicit(&g->cpu_mark, now_ns, memory_order_relaxed);
        if (preempt) bits |= SHIM_GUARD_PREEMPT | atomic_load_explicit(&g->stop, memory_order_relaxed);
        if (limit_ns > 0 && total >= limit_ns) bits |= SHIM_GUARD_KILL;
        if (bits) shim_guard_ask(g, p, bits);
    }
    shim_guard_unclaim(g, p);
    return bits;
}

/* Watchdog, under its lock: one look at a loop (`clock`: the loop thread's CPU clock, when
 * `has_clock`). The resume it finds running is asked to yield if it was running at the last
 * look too, and to end if over its budget or stopping (shim_guard_tick). */
static inline void shim_guard_watch(void *sp, int has_clock, clockid_t clock) {
    shim_guard_slot *s = (shim_guard_slot *)sp;
    shim_guard *g = (shim_guard *)atomic_load_explicit(&s->current, memory_order_acquire);
    if (g == NULL) return;
    if (atomic_load_explicit(&g->running, memory_order_acquire) == 0) {
        s->seen_guard = 0;
        return;
    }
    uint64_t epoch = atomic_load_explicit(&g->epoch, memory_order_relaxed);
    int again = s->seen_guard == (uintptr_t)g && s->seen_epoch == epoch;
    s->seen_guard = (uintptr_t)g;
    s->seen_epoch = epoch;
    shim_guard_tick(g, epoch, has_clock ? shim_clock_ns(clock) : -1, again, g->limit_ns);
}

/* Any thread: the script is being stopped. Every later resume is ended at its first
 * instruction; the one running now is left to finish if it does within a tick, and the
 * watchdog ends it at its next look otherwise (shim_guard_tick), so a stop does not cut a
 * short callback in the middle of what it sends. */
static inline void shim_guard_stop(void *gp) {
    atomic_store_explicit(&((shim_guard *)gp)->stop, SHIM_GUARD_STOP, memory_order_relaxed);
}

/* The hook (loop thread, inside the resume). */
static void shim_guard_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    lua_getfield(L, LUA_REGISTRYINDEX, SHIM_GUARD_KEY);
    shim_guard *g = (shim_guard *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (g == NULL) return;
    unsigned req = atomic_load_explicit(&g->request, memory_order_relaxed) | atomic_load_explicit(&g->stop, memory_order_relaxed);
    if (req == 0 || (L != g->base && (req & (SHIM_GUARD_KILL | SHIM_GUARD_STOP)) == 0)) {
        /* Nothing asked any more (a hook left on a thread), or a preemption inside a coroutine
         * of the script's own, which cannot yield to the host: the hook comes off, under a
         * claim so that it cannot undo one set for a request made meanwhile. The preemption
         * stays asked; shim_guard_switch sets the hook on the thread that takes over. */
        uintptr_t p = shim_guard_claim(g);
        unsigned again = atomic_load_explicit(&g->request, memory_order_relaxed) | atomic_load_explicit(&g->stop, memory_order_relaxed);
        if (again == req) {
            lua_sethook(L, NULL, 0, 0);
            if (p == (uintptr_t)L) g->armed = 0;
        }
        if (p) shim_guard_unclaim(g, p);
        return;
    }
    if ((req & (SHIM_GUARD_KILL | SHIM_GUARD_STOP)) == SHIM_GUARD_KILL && !g->traced) {
        luaL_traceback(L, L, NULL, 0);  /* where it was when the budget ran out */
        lua_setfield(L, LUA_REGISTRYINDEX, SHIM_GUARD_TRACE_KEY);
        g->traced = 1;
    }
    if (L == g->base && lua_isyieldable(L)) {
        g->yielded = req;
        lua_yield(L, 0);  /* from a hook: returns, and the interpreter yields after it */
        return;
    }
    if (req & (SHIM_GUARD_STOP | SHIM_GUARD_KILL)) {
        /* again at every instruction, so a pcall that catches this cannot go on */
        if (lua_gethookcount(L) != 1) lua_sethook(L, shim_guard_hook, LUA_MASKCOUNT, 1);
        lua_pushstring(L, (req & SHIM_GUARD_STOP) ? "script stopped" : "CPU limit exceeded");
        lua_error(L);
    }
    /* A preemption where it cannot yield: tried again every SHIM_GUARD_RETRY instructions,
     * which is soon after it can, and cheap while it cannot. The hook stays set ("armed"), so
     * neither the watchdog nor a stop sets it meanwhile: this thread alone changes it. */
    if (lua_gethookcount(L) != SHIM_GUARD_RETRY) lua_sethook(L, shim_guard_hook, LUA_MASKCOUNT, SHIM_GUARD_RETRY);
}

/* Loop thread: inside the host's resume, a coroutine of the script's own (`to`) takes over
 * from the thread running now, or hands back to it. Returns the thread it took over from
 * (0 when not inside a host resume: nothing is tracked then). What is asked of the resume
 * follows the running thread, so a stop or kill reaches a loop inside such a coroutine. */
static inline uintptr_t shim_guard_switch(shim_guard *g, uintptr_t to) {
    uintptr_t p = shim_guard_claim(g);
    if (p == 0) return 0;
    g->armed = 0;  /* a hook left on the thread handed over comes off by itself (see the hook) */
    if (atomic_load_explicit(&g->request, memory_order_relaxed) | atomic_load_explicit(&g->stop, memory_order_relaxed)) {
        g->armed = 1;
        shim_guard_sethook((lua_State *)to);
    }
    shim_guard_unclaim(g, to);
    return p;
}

/* lcorolib's auxresume, with the guard told which thread runs. */
static int shim_guard_auxresume(lua_State *L, lua_State *co, int narg) {
    int status, nres;
    lua_getfield(L, LUA_REGISTRYINDEX, SHIM_GUARD_KEY);
    shim_guard *g = (shim_guard *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (!lua_checkstack(co, narg)) {
        lua_pushliteral(L, "too many arguments to resume");
        return -1;
    }
    lua_xmove(L, co, narg);
    uintptr_t from = g ? shim_guard_switch(g, (uintptr_t)co) : 0;
    status = lua_resume(co, L, narg, &nres);
    if (from) shim_guard_switch(g, from);
    if (status == LUA_OK || status == LUA_YIELD) {
        if (!lua_checkstack(L, nres + 1)) {
            lua_pop(co, nres);
            lua_pushliteral(L, "too many results to resume");
            return -1;
        }
        lua_xmove(co, L, nres);
        return nres;
    }
    lua_xmove(co, L, 1);
    return -1;
}

/* coroutine.resume, as lcorolib's luaB_coresume. */
static int shim_guard_coresume(lua_State *L) {
    lua_State *co = lua_tothread(L, 1);
    luaL_argexpected(L, co, 1, "thread");  /* lcorolib 5.4.4 says "thread" */
    int r = shim_guard_auxresume(L, co, lua_gettop(L) - 1);
    if (r < 0) {
        lua_pushboolean(L, 0);
        lua_insert(L, -2);
        return 2;
    }
    lua_pushboolean(L, 1);
    lua_insert(L, -(r + 1));
    return r + 1;
}

/* The function coroutine.wrap returns, as lcorolib's auxwrap. */
static int shim_guard_auxwrap(lua_State *L) {
    lua_State *co = lua_tothread(L, lua_upvalueindex(1));
    int r = shim_guard_auxresume(L, co, lua_gettop(L));
    if (r < 0) {
        int stat = lua_status(co);
        if (stat != LUA_OK && stat != LUA_YIELD) {
            stat = lua_resetthread(co);
            lua_xmove(co, L, 1);
        }
        if (stat != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING) {
            luaL_where(L, 1);
            lua_insert(L, -2);
            lua_concat(L, 2);
        }
        return lua_error(L);
    }
    return r;
}

/* coroutine.wrap, as lcorolib's luaB_cowrap. */
static int shim_guard_cowrap(lua_State *L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_State *NL = lua_newthread(L);
    lua_pushvalue(L, 1);
    lua_xmove(L, NL, 1);
    lua_pushcclosure(L, shim_guard_auxwrap, 1);
    return 1;
}

/* Gives the VM its guard. */
static inline void shim_guard_install(lua_State *L, void *g) {
    lua_pushlightuserdata(L, g);
    lua_setfield(L, LUA_REGISTRYINDEX, SHIM_GUARD_KEY);
}

/* coroutine.resume/wrap that tell the guard which thread runs, into the coroutine library
 * on top of the stack (made when first touched, lazy.h). */
static inline void shim_guard_patch_coroutine(lua_State *L) {
    lua_pushcfunction(L, shim_guard_coresume);
    lua_setfield(L, -2, "resume");
    lua_pushcfunction(L, shim_guard_cowrap);
    lua_setfield(L, -2, "wrap");
}

#endif
