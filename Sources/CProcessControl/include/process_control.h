#ifndef PROCESS_CONTROL_H
#define PROCESS_CONTROL_H

/// Asks the kernel to SIGKILL this process when the thread that started it ends (prctl's variadic
/// signature keeps it from Swift). Returns 0, or -1 with errno set.
int process_control_die_with_parent(void);

#endif
