// Thin shim over glibc: malloc tuning (mallopt, M_TRIM_THRESHOLD, M_MMAP_THRESHOLD) and an anonymous
// in-memory file (memfd_create, which Swift's Glibc module does not declare). Nothing else lives here.
#include <malloc.h>
#include <sys/syscall.h>
#include <unistd.h>

/// memfd_create(name, MFD_CLOEXEC): a file that lives in memory only; -1 with errno on failure.
static inline int gradlab_memfd_create(const char *name) {
    return (int)syscall(SYS_memfd_create, name, 1u /* MFD_CLOEXEC */);
}
