/* workspace.c: host workspaces (tirxrt.h, "Workspaces").
 *
 * Plain aligned heap blocks: TVM caches workspaces in a pool, but an object
 * asks for one per allocation in its IR and frees it in the same call, so
 * malloc's own caching serves well enough.  Device type 1 (CPU) only: GPU
 * workspaces come with the GPU launch work, and until then another device
 * type is an error, never a host pointer a kernel would misuse. */
#include "tirxrt.h"

#include <stdio.h>
#include <stdlib.h>

enum { WS_ALIGN = 64, WS_CPU = 1 };

static int ws_check_device(const char *fn, int device_type)
{
	if (device_type == WS_CPU)
		return 0;
	char msg[160];
	snprintf(msg, sizeof msg,
	         "%s: device type %d is not supported: the tirxc runtime provides CPU "
	         "(device type 1) workspaces only",
	         fn, device_type);
	TVMFFIErrorSetRaisedFromCStr("RuntimeError", msg);
	return -1;
}

void *TVMBackendAllocWorkspace(int device_type, int device_id, uint64_t nbytes,
                               int dtype_code_hint, int dtype_bits_hint)
{
	if (ws_check_device("TVMBackendAllocWorkspace", device_type) != 0)
		return NULL;
	/* Round up to the alignment (and 0 to one block, so that success is
	 * never NULL); a size that overflows the rounding cannot be served. */
	void *p = NULL;
	int ok = nbytes <= (uint64_t)SIZE_MAX - WS_ALIGN;
	if (ok) {
		size_t size = nbytes == 0 ? WS_ALIGN
		                          : (size_t)(nbytes + WS_ALIGN - 1) / WS_ALIGN * WS_ALIGN;
		ok = posix_memalign(&p, WS_ALIGN, size) == 0;
	}
	if (!ok) {
		char msg[160];
		snprintf(msg, sizeof msg,
		         "TVMBackendAllocWorkspace: cannot allocate a workspace of %llu bytes",
		         (unsigned long long)nbytes);
		TVMFFIErrorSetRaisedFromCStr("RuntimeError", msg);
		return NULL;
	}
	return p;
}

int TVMBackendFreeWorkspace(int device_type, int device_id, void *ptr)
{
	if (ws_check_device("TVMBackendFreeWorkspace", device_type) != 0)
		return -1;
	free(ptr);
	return 0;
}
