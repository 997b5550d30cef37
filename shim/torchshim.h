/* torchshim: the C API over libtorch. The only C++ in lab lives behind this
 * header (the shim/ .cpp files); no C++ exception ever crosses it. */
#ifndef TORCHSHIM_H
#define TORCHSHIM_H

#ifdef __cplusplus
extern "C" {
#endif

/* libtorch's version as compiled against, e.g. "1.13.0". Static string. */
const char *ts_libtorch_version(void);
/* 1 when the linked libtorch has CUDA compiled in (not whether a GPU is present). */
int ts_cuda_compiled(void);

#ifdef __cplusplus
}
#endif

#endif
