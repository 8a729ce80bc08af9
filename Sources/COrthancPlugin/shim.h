// Orthanc's plugin SDK (Debian orthanc-dev): Swift imports its static inline helpers directly.
#include <orthanc/OrthancCPlugin.h>
