/* fuzz_pipeline.c: libFuzzer target for the whole default pipeline.  What
 * parses is verified, lowered by the default pipeline with verification
 * after every pass (functions without a target get cuda with an llvm host,
 * as in testdata/pipeline/all.sh), printed, and the printed module must
 * parse and verify again.  The promises of `make check-robust`, checked in
 * the process (abort() on a broken one, so libFuzzer keeps the input):
 *   - nothing crashes, and the sanitizers (ASan, UBSan, LeakSanitizer at
 *     exit) stay quiet: everything is freed per input;
 *   - a refused input's first error is located (FILE:LINE:COL, or the
 *     whole-file form), never the `tirxc: error:` form;
 *   - a lowered module prints to text that parses and verifies again.
 * An internal error (die(), exit 70) ends the run, which libFuzzer reports
 * as "fuzz target exited": a finding too.  Build: `make fuzz`; run with
 * -close_fd_mask=2 to silence the diagnostics (docs/development.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken promise: say which on stderr (even under -close_fd_mask=2 the
 * crash report names the line) and abort. */
static void broken(const char *what)
{
	fprintf(stderr, "fuzz_pipeline: %s\n", what);
	abort();
}

/* The input was refused: its first error must have been located. */
static void refused(void)
{
	if (diag_errors() == 0)
		broken("refused without an error");
	if (diag_first_error_located() != 1)
		broken("the first error has no location");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;
	Module *m = fuzz_parse_input(data, size, &text);
	if (!m || diag_errors()) {
		refused();
		mod_free(m);
		goto done;
	}
	if (tir_verify(m, NULL)) {
		refused();
		mod_free(m);
		goto done;
	}

	Buf err = {0};
	PmOptions o = {.verify_each = 1, .verify_output = 1};
	PassCtx *cx = pm_new(&o, &err);
	if (!cx)
		broken("no pass context");
	pm_set_target(cx, "cuda", "llvm");
	if (pm_plan(cx, NULL, "default", NULL, 0, &err))
		broken("the default pipeline cannot be planned");
	if (pm_run(cx, &m)) {
		refused();
	} else {
		Buf out = {0};
		tir_print(&out, m, NULL);
		diag_reset();
		Module *m2 = tir_parse("fuzz-lowered.tx", out.s ? out.s : "", out.n);
		if (!m2 || diag_errors())
			broken("the lowered module does not parse again");
		if (tir_verify(m2, NULL))
			broken("the lowered module does not verify again");
		mod_free(m2);
		buf_free(&out);
	}
	pm_free(cx);
	mod_free(m);
	buf_free(&err);
done:
	diag_forget_files();
	free(text);
	return 0;
}
