// Thin shim over OpenBLAS (CBLAS) and LAPACKE. Nothing else lives here.
// Complex types as plain structs: Swift cannot import C99 _Complex, and gradlab uses real routines only.
#define LAPACK_COMPLEX_STRUCTURE 1
#include <cblas.h>
#include <lapacke.h>
// OpenBLAS threading control (declared in OpenBLAS's cblas.h; repeated here so the shim is explicit).
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
