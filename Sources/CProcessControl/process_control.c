#include "process_control.h"
#include <signal.h>
#include <sys/prctl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

int process_control_die_with_parent(void) {
    return prctl(PR_SET_PDEATHSIG, SIGKILL);
}

int process_control_keep_freed_memory(int mmap_threshold, int trim_threshold) {
#ifdef __GLIBC__
    return mallopt(M_MMAP_THRESHOLD, mmap_threshold) && mallopt(M_TRIM_THRESHOLD, trim_threshold);
#else
    (void)mmap_threshold;
    (void)trim_threshold;
    return 0;
#endif
}
