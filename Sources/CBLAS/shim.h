#include <cblas.h>

/* Swift has no prefetch instruction; the matrix–vector kernel asks for the weight rows it reads next. */
static inline void vlsam_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }
