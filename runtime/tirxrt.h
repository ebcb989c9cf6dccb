/* tirxrt.h: the tirxc runtime library (libtirxrt.a) for plain C programs.
 *
 * An object that tirxc compiles for an `llvm` target calls a handful of C
 * functions that a TVM installation normally provides: the TVM-FFI error
 * functions, the current stream, the parallel launch of T.parallel loops and
 * host workspaces.  This library provides exactly those, under the names the
 * objects call, plus a few functions of its own (prefix tirxrt_) to read the
 * last error.  Link line (docs/abi.md):
 *
 *     cc prog.c kernel.o libtirxrt.a -ldl -lpthread -lm
 *
 * It is for executables and libraries that do NOT also load TVM or tvm-ffi:
 * in a process with libtvm_ffi (a Python process that loads the object
 * through tvm_ffi), the TVM-FFI functions below would interpose tvm-ffi's
 * own, whose error objects this library cannot create.  Load objects there
 * without this library; tvm-ffi provides what they need.  For the same
 * reason the library defines none of tvm-ffi's object functions
 * (TVMFFIErrorMoveFromRaised, TVMFFIFunctionCall, ...).
 *
 * Not provided yet: GPU workspaces (TVMBackendAllocWorkspace serves the CPU,
 * device type 1, only) and anything a GPU launch needs; they come with the
 * GPU launch work.
 *
 * Thread safety: every function may be called from any thread.  Errors and
 * streams are per thread. */
#ifndef TIRXRT_H
#define TIRXRT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Errors (TVM-FFI names) -------------------------------------------- */

/* Records an error on the calling thread, replacing the previous one: its
 * kind ("TypeError", "ValueError", "RuntimeError", ...) and its message.  A
 * NULL kind is recorded as "RuntimeError", a NULL message as "". */
void TVMFFIErrorSetRaisedFromCStr(const char *kind, const char *message);

/* The same with the message given as num_parts pieces, concatenated in
 * order; NULL pieces are skipped (a negative num_parts counts as 0).  This is
 * what an object's failed argument check calls. */
void TVMFFIErrorSetRaisedFromCStrParts(const char *kind, const char **message_parts,
                                       int32_t num_parts);

/* ---- Errors (own API) -------------------------------------------------- */

/* The calling thread's last recorded error: its kind and its message, or NULL
 * for both when none is recorded (none yet, or cleared).  The strings stay
 * valid until the next error is recorded or cleared on this thread.  An error
 * is meaningful after a call that reported failure (an exported
 * __tvm_ffi_<name> returning -1, a NULL workspace, ...); successful calls do
 * not clear it, except TVMBackendParallelLaunch, which starts from none. */
const char *tirxrt_last_error_kind(void);
const char *tirxrt_last_error_message(void);

/* Forgets the calling thread's last error. */
void tirxrt_clear_error(void);

/* ---- Streams (TVM-FFI names) ------------------------------------------- */

/* The calling thread's current stream for a device, NULL (the default stream)
 * until one is set.  Per thread, like tvm-ffi's. */
void *TVMFFIEnvGetStream(int32_t device_type, int32_t device_id);

/* Sets the calling thread's current stream for a device (NULL restores the
 * default) and, when opt_out_original is not NULL, stores the previous one
 * there.  Returns 0, or -1 with an error recorded when out of memory. */
int TVMFFIEnvSetStream(int32_t device_type, int32_t device_id, void *stream,
                       void **opt_out_original);

/* ---- Parallel launch (TVM backend names and types) --------------------- */

/* The environment of one parallel launch, as TVM's c_backend_api.h defines
 * it: num_task is the number of tasks that actually run (task ids 0 ..
 * num_task-1), which a lambda must use to split its work; sync_handle
 * belongs to the runtime (TVMBackendParallelBarrier). */
typedef struct {
	void *sync_handle;
	int32_t num_task;
} TVMParallelGroupEnv;

/* One task of a parallel launch: returns 0, or nonzero after recording an
 * error. */
typedef int (*FTVMParallelLambda)(int task_id, TVMParallelGroupEnv *penv, void *cdata);

/* Runs flambda(task_id, penv, cdata) for every task id at once, on a thread
 * pool (created on first use; its size is TIRXRT_NUM_THREADS when that is a
 * number from 1 to 1024, else the number of online CPUs; the calling thread
 * counts and runs task 0), and returns when all tasks have returned.
 * num_task 0 asks for the pool size; a larger request than the pool size is
 * cut to it (penv->num_task says what runs).  A launch from inside a task
 * (nested) runs serially on the calling task's thread as one task
 * (num_task 1), and so does every launch with a pool of one thread.  Launches
 * from several threads at once are safe: they take the pool in turn.
 * Returns 0, or -1 when a task returned nonzero: the error recorded by the
 * failing task with the lowest id (recorded on whichever thread ran it) is
 * then the caller's last error. */
int TVMBackendParallelLaunch(FTVMParallelLambda flambda, void *cdata, int num_task);

/* Waits until every task of the launch has reached this barrier (the same
 * number of times).  Every task must call it equally often: a task that
 * returns early, an error included, leaves the others waiting.  Returns 0. */
int TVMBackendParallelBarrier(int task_id, TVMParallelGroupEnv *penv);

/* ---- Workspaces (TVM backend names) ------------------------------------ */

/* Host scratch memory for an object: device_type must be 1 (CPU); the
 * result is 64-byte aligned and not NULL for nbytes 0.  Returns NULL with an
 * error recorded when out of memory or for any other device type (GPU
 * workspaces are not provided yet).  The dtype hints are ignored. */
void *TVMBackendAllocWorkspace(int device_type, int device_id, uint64_t nbytes,
                               int dtype_code_hint, int dtype_bits_hint);

/* Frees what TVMBackendAllocWorkspace returned (NULL is allowed).  Returns
 * 0, or -1 with an error recorded for a device type other than 1. */
int TVMBackendFreeWorkspace(int device_type, int device_id, void *ptr);

#ifdef __cplusplus
}
#endif
#endif
