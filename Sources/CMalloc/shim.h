// Thin shim over glibc's malloc tuning (mallopt, M_TRIM_THRESHOLD, M_MMAP_THRESHOLD). Nothing else lives here.
#include <malloc.h>
