#define _GNU_SOURCE
#include "openslide_compositing.h"
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

/// Cairo's operator values (cairo.h, stable ABI): we do not build against Cairo's headers.
enum { CAIRO_OPERATOR_DEST_OVER = 7, CAIRO_OPERATOR_SATURATE = 13 };

typedef struct _cairo cairo_t;
typedef void (*set_operator_fn)(cairo_t *, int);

static _Thread_local int opaque_compositing = 0;
static int interposed = 0;

static set_operator_fn real_set_operator(void) {
    static set_operator_fn real = NULL;
    set_operator_fn fn = __atomic_load_n(&real, __ATOMIC_ACQUIRE);
    if (fn == NULL) {
        fn = (set_operator_fn)dlsym(RTLD_NEXT, "cairo_set_operator");
        if (fn == NULL) {
            fprintf(stderr, "openslide_compositing: Cairo's cairo_set_operator not found\n");
            abort();
        }
        __atomic_store_n(&real, fn, __ATOMIC_RELEASE);
    }
    return fn;
}

/// Our definition comes first in the executable's symbol scope, so Cairo's callers reach it.
void cairo_set_operator(cairo_t *cr, int op) {
    __atomic_store_n(&interposed, 1, __ATOMIC_RELAXED);
    if (op == CAIRO_OPERATOR_SATURATE && opaque_compositing) {
        op = CAIRO_OPERATOR_DEST_OVER;
    }
    real_set_operator()(cr, op);
}

int openslide_compositing_set_opaque(int on) {
    int previous = opaque_compositing;
    opaque_compositing = on;
    return previous;
}

int openslide_compositing_is_interposed(void) {
    return __atomic_load_n(&interposed, __ATOMIC_RELAXED);
}
