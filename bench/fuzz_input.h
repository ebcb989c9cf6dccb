/* fuzz_input.h: the start both libFuzzer targets share.  fuzz_parse_input
 * parses one input as "fuzz.tx" (NUL-terminated copy, at most 3 errors
 * shown, the error count reset) and returns the module or NULL; *text is
 * the copy, which the caller frees after diag_forget_files(). */
#ifndef FUZZ_INPUT_H
#define FUZZ_INPUT_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "tir.h"

static Module *fuzz_parse_input(const uint8_t *data, size_t size, char **text)
{
	diag_max_errors = 3;
	*text = malloc(size + 1);
	if (!*text)
		abort();
	memcpy(*text, data, size);
	(*text)[size] = 0;
	diag_reset();
	return tir_parse("fuzz.tx", *text, size);
}
#endif
