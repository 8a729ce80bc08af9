// Orthanc's plugin SDK (Debian orthanc-dev): Swift imports its static inline helpers directly.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <orthanc/OrthancCPlugin.h>

/// The file a loaded plugin was read from (dladdr is a GNU extension Swift's Glibc module leaves out).
static inline const char *dicomizer_loaded_from(const void *address) {
  Dl_info info;
  return dladdr(address, &info) != 0 ? info.dli_fname : 0;
}
