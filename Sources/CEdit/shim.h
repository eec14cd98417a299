/* libedit (BSD licence) as Swift can call it: el_set and history are variadic, which Swift
 * cannot call, so each use rtlua makes of them is a typed static inline function here. */
#ifndef RTLUA_CEDIT_SHIM_H
#define RTLUA_CEDIT_SHIM_H

#include <stdio.h>
#include <wchar.h>
#include <histedit.h>

typedef char *(*shim_el_prompt_fn)(EditLine *);

/* An editor on the process's stdin, stdout and stderr (Swift 6 may not touch those globals). */
static inline EditLine *shim_el_init_std(const char *prog) { return el_init(prog, stdin, stdout, stderr); }
typedef unsigned char (*shim_el_command_fn)(EditLine *, int);

static inline void shim_el_set_prompt(EditLine *e, shim_el_prompt_fn f) { el_set(e, EL_PROMPT, f); }
static inline void shim_el_set_getcfn(EditLine *e, el_rfunc_t f) { el_set(e, EL_GETCFN, f); }
static inline void shim_el_set_clientdata(EditLine *e, void *p) { el_set(e, EL_CLIENTDATA, p); }
static inline void *shim_el_get_clientdata(EditLine *e) {
    void *p = NULL;
    el_get(e, EL_CLIENTDATA, &p);
    return p;
}
static inline void shim_el_set_editor(EditLine *e, const char *mode) { el_set(e, EL_EDITOR, mode); }
static inline void shim_el_set_signal(EditLine *e, int on) { el_set(e, EL_SIGNAL, on); }
static inline void shim_el_set_history(EditLine *e, History *h) { el_set(e, EL_HIST, history, h); }
static inline void shim_el_add_command(EditLine *e, const char *name, const char *help, shim_el_command_fn f) {
    el_set(e, EL_ADDFN, name, help, f);
}
static inline void shim_el_bind(EditLine *e, const char *key, const char *command) { el_set(e, EL_BIND, key, command, NULL); }
/* Redraws the prompt and the line being edited (after output was printed above it). */
static inline void shim_el_refresh(EditLine *e) { el_set(e, EL_REFRESH); }

static inline int shim_history_set_size(History *h, int n) { HistEvent ev; return history(h, &ev, H_SETSIZE, n); }
static inline int shim_history_set_unique(History *h, int on) { HistEvent ev; return history(h, &ev, H_SETUNIQUE, on); }
static inline int shim_history_enter(History *h, const char *line) { HistEvent ev; return history(h, &ev, H_ENTER, line); }
static inline int shim_history_load(History *h, const char *path) { HistEvent ev; return history(h, &ev, H_LOAD, path); }
static inline int shim_history_save(History *h, const char *path) { HistEvent ev; return history(h, &ev, H_SAVE, path); }

#endif
