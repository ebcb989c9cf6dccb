/* fuzz_parse.c: libFuzzer target for the TIRx-script parser.  Parses the
 * input; when it parses, prints it and parses the printed text again (the
 * printer's output must always be accepted).  Everything is freed per
 * input so leak checking stays meaningful.  Build: `make fuzz`; run with
 * -close_fd_mask=2 to silence the diagnostics. */
#include <stdlib.h>
#include <string.h>
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;
	Module *m = fuzz_parse_input(data, size, &text);
	if (m) {
		Buf out = {0};
		tir_print(&out, m, NULL);
		diag_reset();
		Module *m2 = tir_parse("fuzz-printed.tx", out.s ? out.s : "", out.n);
		if (!m2)
			abort(); /* printed text that does not parse: a bug */
		mod_free(m2);
		buf_free(&out);
		mod_free(m);
	}
	diag_forget_files();
	free(text);
	return 0;
}
