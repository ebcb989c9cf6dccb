/* tirxc.c: the command-line driver.
 *
 *     tirxc [options] input.tx
 *
 * main() is the whole pipeline: read -> parse -> verify -> passes -> emit.
 * Everything else here is option parsing, file handling and cleanup.
 *
 * Exit status: 0 success, 1 the input has errors (or a file could not be
 * read or written), 2 usage error, 70 internal error (die() in lib/util.c,
 * or a crash caught by the signal handler below).
 *
 * Output is written to a temporary file next to the target and renamed over
 * it only on success.  Whenever tirxc exits non-zero, or dies of SIGINT,
 * SIGTERM or SIGHUP, the file named by -o does not exist afterwards (unless
 * it is a device such as /dev/null, an input, stdin included, compared by
 * device and inode, or a read-only file, which tirxc refuses to replace),
 * so a build never picks up a stale output.  Device code (--emit=ptx,
 * cubin, fatbin) is built by cuda_build (backends/cuda/cuda_tools.c); the
 * same exit and signal paths remove its temporary files and stop the tool
 * it runs (cuda_tools_cleanup).
 *
 * The work runs on a thread with a large stack (WORK_STACK), a safety
 * margin: traversals recurse on the nesting of the text (bounded by the
 * parser) and follow chains of flat frames (MakePackedAPI's one attr per
 * buffer parameter) with loops.  TIRXC_DEBUG_STACK=KIB (a test hook) sizes
 * that stack. */
#define _XOPEN_SOURCE 700 /* sigaltstack, SA_ONSTACK */
#include <limits.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tir.h"
#include "backend.h"

enum { EXIT_INPUT = 1, EXIT_USAGE = 2, EXIT_INTERNAL = 70 };

/* --emit kinds; later issues implement the rest. */
static const struct {
	const char *name;
	int done;
} emits[] = {
	{"tir", 1}, {"cuda", 1}, {"ptx", 1}, {"cubin", 1}, {"fatbin", 1},
	{"obj", 1}, {"llvm", 1}, {"asm", 1}, {"c", 0}, {"header", 0},
};

enum {
	O_OUT, O_EMIT, O_TARGET, O_HOST, O_PASSES, O_PIPELINE, O_DISABLE, O_FORCE_ORDER,
	O_PASS_CONFIG, O_PRINT_BEFORE, O_PRINT_AFTER, O_PRINT_BEFORE_ALL, O_PRINT_AFTER_ALL,
	O_PRINT_CHANGED, O_DUMP_DIR, O_VERIFY_EACH, O_NO_VERIFY, O_TIME_PASSES, O_STATS,
	O_COMPARE, O_LIST_PASSES, O_VERBOSE, O_HELP, O_VERSION,
	O_ARCH, O_XPTXAS, O_KEEP, O_KEEP_DIR, O_DRY_RUN, O_RESOURCE_USAGE, O_CUDA_COMPILER,
	O_OPT0, O_OPT1, O_OPT2, O_OPT3, /* host code optimization: O_OPT0 + level */
};

/* One row per spelling; drives parsing, --help and "did you mean". */
static const struct Option {
	const char *name;
	int id;
	const char *arg; /* NULL: a flag */
	const char *help;
} options[] = {
	{"-o", O_OUT, "FILE", "write the output to FILE ('-': stdout, the default)"},
	{"--emit", O_EMIT, "KIND", "what to write: tir, cuda, ptx, cubin, fatbin, obj, llvm,\n"
	                           "asm (c, header are not implemented yet)"},
	{"--arch", O_ARCH, "sm_NN", "build device code for this architecture (repeatable:\n"
	                            "a fatbin holds each; default: the target's arch)"},
	{"--cuda-compiler", O_CUDA_COMPILER, "NAME", "what makes the PTX: nvrtc (in-process, the\n"
	                                            "default) or nvcc"},
	{"-Xptxas", O_XPTXAS, "OPT", "pass OPT (comma-separated options) to ptxas (repeatable)"},
	{"--resource-usage", O_RESOURCE_USAGE, NULL, "print registers, shared and local memory and\n"
	                                            "spills of each kernel on stderr"},
	{"--keep", O_KEEP, NULL, "keep the intermediate .cu, .ptx and .cubin files in\n"
	                         "the current directory"},
	{"--keep-dir", O_KEEP_DIR, "DIR", "keep the intermediate files in DIR"},
	{"-###", O_DRY_RUN, NULL, "print the tool invocations on stderr; run none and\n"
	                          "write nothing"},
	{"-O0", O_OPT0, NULL, "host code (obj, llvm, asm): no LLVM optimization"},
	{"-O1", O_OPT1, NULL, "host code: LLVM's default<O1> pipeline"},
	{"-O2", O_OPT2, NULL, "host code: LLVM's default<O2> pipeline (the default)"},
	{"-O3", O_OPT3, NULL, "host code: LLVM's default<O3> pipeline"},
	{"--target", O_TARGET, "TARGET", "the device target for the passes (cuda, ...)"},
	{"--host", O_HOST, "TARGET", "the host target for the passes (llvm, ...)"},
	{"--passes", O_PASSES, "LIST", "run exactly these passes (names or aliases)"},
	{"--pipeline", O_PIPELINE, "NAME", "run a named pipeline (default: 'default' for code, none for --emit=tir)"},
	{"--disable-pass", O_DISABLE, "LIST", "leave these passes out of the pipeline"},
	{"--force-order", O_FORCE_ORDER, NULL, "run a --passes list that breaks an ordering rule"},
	{"--pass-config", O_PASS_CONFIG, "KEY=VALUE", "a pass configuration value (repeatable)"},
	{"--print-before", O_PRINT_BEFORE, "LIST", "print the IR before these passes (names, aliases\n"
	                                         "or 1-based execution numbers)"},
	{"--print-after", O_PRINT_AFTER, "LIST", "print the IR after these passes (same forms)"},
	{"--print-before-all", O_PRINT_BEFORE_ALL, NULL, "print the IR before every pass"},
	{"--print-after-all", O_PRINT_AFTER_ALL, NULL, "print the IR after every pass"},
	{"--print-changed", O_PRINT_CHANGED, NULL, "print the IR after a pass only when it changed"},
	{"--dump-dir", O_DUMP_DIR, "DIR", "write the IR before the first pass and after each\n"
	                                  "pass into DIR: 00-input.tx, 01-NAME.tx, ..."},
	{"--verify-each", O_VERIFY_EACH, NULL, "verify the input and after each pass (default:\n"
	                                         "the input and after the last pass)"},
	{"--no-verify", O_NO_VERIFY, NULL, "do not verify"},
	{"--time-passes", O_TIME_PASSES, NULL, "print the wall time of each phase and pass"},
	{"--stats", O_STATS, NULL, "print function and statement counts on stderr"},
	{"--compare", O_COMPARE, NULL, "with inputs A B: exit 0 when A (after --passes or\n"
	                               "--pipeline, if given) equals B, else 1 and show the\n"
	                               "first difference"},
	{"--list-passes", O_LIST_PASSES, NULL, "list the passes and pipelines, then exit"},
	{"-v", O_VERBOSE, NULL, "say on stderr what runs (each tool invocation as\n"
	                        "a command line)"},
	{"--verbose", O_VERBOSE, NULL, "the same as -v"},
	{"-h", O_HELP, NULL, "print this help, then exit"},
	{"--help", O_HELP, NULL, "the same as -h"},
	{"--version", O_VERSION, NULL, "print the version, then exit"},
};

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

typedef struct Opts {
	const char *in[2];
	int nin;
	const char *out; /* NULL or "-": stdout */
	const char *emit, *target, *host, *passes, *pipeline;
	Buf disable, print_before, print_after, config_err;
	Vec config; /* "KEY=VALUE" */
	int force_order, compare, verbose;
	int opt; /* -O level for host code, 2 unless given */
	PmOptions pm;
	Vec archs, xptxas;   /* --arch values; -Xptxas options, split at commas */
	const char *keep_dir, *cuda_compiler;
	int dry_run, resource_usage, device_opt; /* device_opt: a device-code option was given */
} Opts;

/* Everything that must be released or removed on any exit. */
static struct {
	Opts o;
	PassCtx *cx;
	Module *mod[2];
	char *text[2];
	Buf out, bin; /* the text printed; the device code built from it */
	char *volatile tmp;          /* temporary output being written */
	const char *volatile victim; /* the -o file to remove on failure */
	int done;                    /* cleanup ran */
} D;

/* What runs now, for the crash message. */
static const char *volatile phase = "startup";

static void say(const char *fmt, ...) TIR_PRINTF(1, 2);
static void say(const char *fmt, ...)
{
	if (!D.o.verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("tirxc: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Async-signal-safe (the signal handlers call it). */
static void remove_outputs(void)
{
	char *tmp = D.tmp;
	const char *victim = D.victim;
	if (tmp)
		unlink(tmp);
	if (victim)
		unlink(victim);
	cuda_tools_cleanup();
}

static void free_all(void)
{
	if (D.done)
		return;
	D.done = 1;
	pm_free(D.cx);
	mod_free(D.mod[0]);
	mod_free(D.mod[1]);
	diag_forget_files(); /* before the texts it points into */
	free(D.text[0]);
	free(D.text[1]);
	char *t = D.tmp;
	D.tmp = NULL;
	free(t);
	buf_free(&D.out);
	buf_free(&D.bin);
	for (int i = 0; i < D.o.xptxas.n; i++)
		free(D.o.xptxas.v[i]);
	vec_free(&D.o.xptxas);
	vec_free(&D.o.archs);
	buf_free(&D.o.disable);
	buf_free(&D.o.print_before);
	buf_free(&D.o.print_after);
	buf_free(&D.o.config_err);
	vec_free(&D.o.config);
	sym_free_all();
}

/* die() exits 70 through exit(): no stale output, and nothing leaks. */
static void at_exit(void)
{
	if (!D.done) {
		remove_outputs();
		free_all();
	}
}

/* Exits with code; on failure (code != 0) first removes the outputs. */
TIR_NORETURN static void leave(int code)
{
	fflush(stdout);
	if (code)
		remove_outputs();
	free_all();
	exit(code);
}

/* ------------------------------------------------------------- crashes */

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif

#ifndef HAVE_ASAN /* its own report is better than ours */
static void put(const char *s)
{
	ssize_t r = write(2, s, strlen(s));
	(void)r;
}

/* Async-signal-safe: write(), unlink(), _exit() only.  It runs on the
 * alternate stack (alt_stack), so a stack overflow reports too. */
static void on_crash(int sig)
{
	put("tirxc: internal error: ");
	put(sig == SIGSEGV ? "segmentation fault" : sig == SIGBUS ? "bus error" :
	    sig == SIGFPE ? "arithmetic exception" : sig == SIGILL ? "illegal instruction" :
	    "abort");
	put(" during ");
	put(phase);
	put("\n");
	remove_outputs();
	_exit(EXIT_INTERNAL);
}
#endif

/* Gives the calling thread an alternate signal stack for on_crash (each
 * thread needs its own; the memory is never freed, as the thread's life). */
static void alt_stack(void)
{
#ifndef HAVE_ASAN
	enum { ALT_STACK = 1 << 16 };
	stack_t ss = {.ss_sp = malloc(ALT_STACK), .ss_size = ALT_STACK};
	if (ss.ss_sp && sigaltstack(&ss, NULL) != 0)
		free(ss.ss_sp);
#endif
}

static void catch_crashes(void)
{
#ifndef HAVE_ASAN
	int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
	struct sigaction sa = {.sa_handler = on_crash, .sa_flags = SA_ONSTACK};
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < NELEM(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
#endif
}

/* SIGINT, SIGTERM, SIGHUP: remove the temporary file and the output, then
 * die of the same signal, so that the caller sees how the run ended. */
static void on_stop(int sig)
{
	remove_outputs();
	signal(sig, SIG_DFL);
	raise(sig); /* delivered when the handler returns (sig is blocked) */
}

static void catch_stops(void)
{
	int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	for (int i = 0; i < NELEM(sigs); i++) {
		struct sigaction old;
		/* a signal ignored by whoever started us stays ignored */
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		struct sigaction sa = {.sa_handler = on_stop};
		sigfillset(&sa.sa_mask);
		sigaction(sigs[i], &sa, NULL);
	}
}

/* A test hook: TIRXC_DEBUG_CRASH=stack overflows the stack on purpose, so
 * that the tests can see the crash path (message, cleanup, exit 70); the
 * work thread then gets a small stack, to overflow fast. */
static int debug_recurse(volatile int *n)
{
	volatile char pad[256];
	pad[0] = (char)*n;
	if (++*n == 0) /* never: it overflows the stack long before */
		return pad[0];
	return debug_recurse(n) + pad[0];
}

static void debug_crash(void)
{
	const char *c = getenv("TIRXC_DEBUG_CRASH");
	if (c && strcmp(c, "stack") == 0) {
		volatile int n = 0;
		phase = "a deliberate stack overflow";
		debug_recurse(&n);
	}
}

static int track_pass(Instrument *in, PassCtx *cx, const Pass *p, int n, const Module *m)
{
	phase = p->name;
	return 0;
}

/* ------------------------------------------------------------- options */

static void help(void)
{
	printf("usage: tirxc [options] input.tx\n"
	       "       tirxc --compare [options] A.tx B.tx\n\n"
	       "Reads TIRx script (input '-' is stdin), verifies it, runs a pass pipeline\n"
	       "and writes the result.\n\nOptions:\n");
	for (int i = 0; i < NELEM(options); i++) {
		const struct Option *op = &options[i];
		Buf b = {0};
		buf_puts(&b, op->name);
		if (op->arg)
			buf_printf(&b, op->name[1] == '-' ? "=%s" : " %s", op->arg);
		printf("  %-24s ", b.s);
		for (const char *h = op->help; *h; h++) {
			putchar(*h);
			if (*h == '\n')
				printf("%27s", "");
		}
		putchar('\n');
		buf_free(&b);
	}
	printf("\nExit status: 0 success, 1 errors in the input, 2 usage error,\n"
	       "70 internal error.\n\n"
	       "Example: tirxc vecadd.tx --pipeline=default --print-after=SplitHostDevice -o out.tx\n"
	       "See tirxc(1) and docs/ for more.\n");
}

/* The first usage error; parsing goes on so -o is known for cleanup. */
static void usage_error(Buf *err, const char *fmt, ...) TIR_PRINTF(2, 3);
static void usage_error(Buf *err, const char *fmt, ...)
{
	if (err->n)
		return;
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(err, fmt, ap);
	va_end(ap);
}

static void unknown_option(Buf *err, const char *arg, size_t n)
{
	const char *names[NELEM(options)];
	char *word = xmalloc(n + 1);
	memcpy(word, arg, n);
	word[n] = 0;
	for (int i = 0; i < NELEM(options); i++)
		names[i] = options[i].name;
	const char *s = pm_suggest(word, names, NELEM(options));
	if (s)
		usage_error(err, "unknown option '%s'; did you mean '%s'?", word, s);
	else
		usage_error(err, "unknown option '%s'", word);
	free(word);
}

static void check_emit(Buf *err, const char *kind)
{
	const char *names[NELEM(emits)];
	for (int i = 0; i < NELEM(emits); i++) {
		names[i] = emits[i].name;
		if (strcmp(kind, emits[i].name) == 0) {
			if (!emits[i].done)
				usage_error(err, "--emit=%s: not implemented yet", kind);
			return;
		}
	}
	const char *s = pm_suggest(kind, names, NELEM(emits));
	usage_error(err, "--emit: unknown kind '%s'%s%s%s", kind, s ? "; did you mean '" : "",
	            s ? s : "", s ? "'?" : "");
}

/* Targets are kept as text for the passes, but checked now: a typo in a
 * target must not wait for the pass that first reads it. */
static void check_target(Buf *err, const char *opt, const char *spec)
{
	if (!spec)
		return;
	Arena *a = ar_new();
	const char *why = NULL;
	if (!target_parse(a, spec, &why))
		usage_error(err, "%s=%s: %s", opt, spec, why ? why : "not a target");
	ar_free(a);
}

static void add_list(Buf *b, const char *list)
{
	if (b->n)
		buf_putc(b, ',');
	buf_puts(b, list);
}

#ifndef TIRXC_LLVM_VERSION
#define TIRXC_LLVM_VERSION "none"
#define TIRXC_LLVM_CONFIG "llvm-config"
#define TIRXC_CUDA_HOME "/usr/local/cuda"
#define TIRXC_CUDA_VERSION "none"
#endif

/* The toolkit's root: $CUDA_HOME, else the one the build found. */
static const char *cuda_home(void)
{
	const char *cuda = getenv("CUDA_HOME");
	return cuda && *cuda ? cuda : TIRXC_CUDA_HOME;
}

/* The toolchains found at build time; $CUDA_HOME overrides the toolkit's
 * location when tirxc runs. */
static void print_version(void)
{
	printf("tirxc %s\n", TIRXC_VERSION);
	printf("LLVM: %s (%s)\n", TIRXC_LLVM_VERSION, TIRXC_LLVM_CONFIG);
	printf("CUDA toolkit: %s (%s at build time)\n", cuda_home(), TIRXC_CUDA_VERSION);
}

static int readonly_out; /* -o names an existing read-only file */

/* Whether an existing output may not be replaced: no write permission bit
 * at all, or one that access() denies us.  (The mode bits count for root
 * too: a 0444 file is read-only by intent.) */
static int read_only(const char *path, const struct stat *st)
{
	return !(st->st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) || access(path, W_OK) != 0;
}

/* The output kind an -o suffix names when --emit does not say (gcc's
 * convention); anything else, stdout included, is TIR. */
static const char *emit_from_suffix(const char *out)
{
	static const struct {
		const char *suffix, *kind;
	} kinds[] = {{".cu", "cuda"}, {".ptx", "ptx"}, {".cubin", "cubin"}, {".fatbin", "fatbin"},
	             {".o", "obj"}, {".ll", "llvm"}, {".s", "asm"}};
	size_t n = out ? strlen(out) : 0;
	for (int i = 0; i < NELEM(kinds); i++) {
		size_t k = strlen(kinds[i].suffix);
		if (n > k && strcmp(out + n - k, kinds[i].suffix) == 0)
			return kinds[i].kind;
	}
	return "tir";
}

static int is_device_emit(const char *kind)
{
	return !strcmp(kind, "ptx") || !strcmp(kind, "cubin") || !strcmp(kind, "fatbin");
}

/* Fills D.o; exits for --help, --version, --list-passes and usage errors. */
static void parse_args(int argc, char **argv)
{
	Opts *o = &D.o;
	Buf err = {0};
	int done_opts = 0;
	o->emit = NULL;
	o->opt = 2;
	o->pm.verify_output = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		if (done_opts || a[0] != '-' || !a[1]) {
			if (o->nin < 2)
				o->in[o->nin] = a;
			o->nin++;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			done_opts = 1;
			continue;
		}
		size_t n = strlen(a);
		if (a[1] == '-' && strchr(a, '=')) {
			n = (size_t)(strchr(a, '=') - a);
			val = a + n + 1;
		} else if (a[1] == 'o' && a[2]) { /* -oFILE */
			n = 2;
			val = a + 2;
		}
		const struct Option *op = NULL;
		for (int k = 0; k < NELEM(options); k++)
			if (strlen(options[k].name) == n && strncmp(options[k].name, a, n) == 0)
				op = &options[k];
		if (!op) {
			unknown_option(&err, a, n);
			continue;
		}
		if (op->arg && !val) {
			if (i + 1 >= argc) {
				usage_error(&err, "option '%s' needs a value (%s)", op->name, op->arg);
				continue;
			}
			val = argv[++i];
		} else if (!op->arg && val) {
			usage_error(&err, "option '%s' takes no value", op->name);
			continue;
		}
		switch (op->id) {
		case O_OUT: o->out = val; break;
		case O_EMIT: o->emit = val; break;
		case O_TARGET: o->target = val; break;
		case O_HOST: o->host = val; break;
		case O_PASSES: o->passes = val; break;
		case O_PIPELINE: o->pipeline = val; break;
		case O_DISABLE: add_list(&o->disable, val); break;
		case O_FORCE_ORDER: o->force_order = 1; break;
		case O_PASS_CONFIG: vec_push(&o->config, (void *)val); break;
		case O_PRINT_BEFORE: add_list(&o->print_before, val); break;
		case O_PRINT_AFTER: add_list(&o->print_after, val); break;
		case O_PRINT_BEFORE_ALL: o->pm.print_before_all = 1; break;
		case O_PRINT_AFTER_ALL: o->pm.print_after_all = 1; break;
		case O_PRINT_CHANGED: o->pm.print_changed = 1; break;
		case O_DUMP_DIR: o->pm.dump_dir = val; break;
		case O_VERIFY_EACH: o->pm.verify_each = 1; break;
		case O_NO_VERIFY: o->pm.verify_each = o->pm.verify_output = 0; break;
		case O_TIME_PASSES: o->pm.time_passes = 1; break;
		case O_STATS: o->pm.stats = 1; break;
		case O_COMPARE: o->compare = 1; break;
		case O_VERBOSE: o->verbose = o->pm.verbose = 1; break;
		case O_HELP: help(); leave(0);
		case O_VERSION: print_version(); leave(0);
		case O_LIST_PASSES: pm_list(stdout); leave(0);
		case O_ARCH: {
			Buf why = {0};
			if (!cuda_arch_spelled(val, &why))
				usage_error(&err, "--arch: %s", why.s);
			buf_free(&why);
			vec_push(&o->archs, (void *)val);
			o->device_opt = 1;
			break;
		}
		case O_XPTXAS: /* as nvcc: a comma-separated list */
			for (const char *p = val; *p;) {
				const char *c = strchr(p, ',');
				size_t k = c ? (size_t)(c - p) : strlen(p);
				if (k) {
					char *one = xmalloc(k + 1);
					memcpy(one, p, k);
					one[k] = 0;
					vec_push(&o->xptxas, one);
				}
				p += k + (c != NULL);
			}
			o->device_opt = 1;
			break;
		case O_KEEP: o->keep_dir = o->keep_dir ? o->keep_dir : "."; o->device_opt = 1; break;
		case O_KEEP_DIR: o->keep_dir = val; o->device_opt = 1; break;
		case O_DRY_RUN: o->dry_run = 1; o->device_opt = 1; break;
		case O_RESOURCE_USAGE: o->resource_usage = 1; o->device_opt = 1; break;
		case O_CUDA_COMPILER:
			if (strcmp(val, "nvrtc") != 0 && strcmp(val, "nvcc") != 0)
				usage_error(&err, "--cuda-compiler: unknown compiler '%s' (nvrtc or nvcc)", val);
			o->cuda_compiler = val;
			o->device_opt = 1;
			break;
		case O_OPT0: case O_OPT1: case O_OPT2: case O_OPT3: o->opt = op->id - O_OPT0; break;
		}
	}
	if (!o->emit)
		o->emit = emit_from_suffix(o->out);
	check_emit(&err, o->emit);
	if (o->device_opt && !is_device_emit(o->emit) && !o->compare)
		usage_error(&err, "--arch, --cuda-compiler, -Xptxas, --resource-usage, --keep, "
		            "--keep-dir and -### apply to --emit=ptx, cubin and fatbin");
	if (o->compare && o->device_opt)
		usage_error(&err, "device code options cannot be used with --compare");
	check_target(&err, "--target", o->target);
	check_target(&err, "--host", o->host);
	int want = o->compare ? 2 : 1;
	if (o->nin != want)
		usage_error(&err, o->nin == 0 ? "no input file" :
		            o->compare ? "--compare takes exactly two input files" :
		            "exactly one input file is allowed");
	if (o->compare && o->out)
		usage_error(&err, "-o cannot be used with --compare");
	if (o->nin == 2 && strcmp(o->in[0], "-") == 0 && strcmp(o->in[1], "-") == 0)
		usage_error(&err, "only one input can be stdin");
	o->pm.print_before = o->print_before.n ? o->print_before.s : NULL;
	o->pm.print_after = o->print_after.n ? o->print_after.s : NULL;

	/* The output may be removed on failure, but never when it is an input
	 * (tirxc x.tx -o x.tx, tirxc - -o x.tx < x.tx: the same device and
	 * inode, whatever the names) or not a regular file (/dev/null). */
	struct stat so, si;
	if (o->out && strcmp(o->out, "-") != 0 && stat(o->out, &so) == 0 && S_ISREG(so.st_mode)) {
		D.victim = o->out;
		for (int k = 0; k < o->nin && k < 2; k++) {
			int same = strcmp(o->in[k], "-") == 0 ? fstat(0, &si) == 0 : stat(o->in[k], &si) == 0;
			if (same && si.st_dev == so.st_dev && si.st_ino == so.st_ino)
				D.victim = NULL;
		}
		/* A read-only output is neither replaced nor removed (as cc). */
		if (!err.n && read_only(o->out, &so)) {
			D.victim = NULL;
			readonly_out = 1;
		}
	}
	if (err.n) {
		fprintf(stderr, "tirxc: error: %s\nTry 'tirxc --help' for more information.\n", err.s);
		buf_free(&err);
		leave(EXIT_USAGE);
	}
	buf_free(&err);
	/* Refused before any work: the run could not write its result. */
	if (readonly_out) {
		diag_error(NOLOC, "cannot write '%s': the file is read-only", o->out);
		leave(EXIT_INPUT);
	}
}

/* The pass context: instruments, config, target, the passes to run. */
static PassCtx *make_ctx(void)
{
	Opts *o = &D.o;
	Buf err = {0};
	PassCtx *cx = pm_new(&o->pm, &err);
	if (cx) {
		pm_add_instrument(cx, &(Instrument){.name = "crash", .before_pass = track_pass, .chunk_ok = 1});
		pm_set_target(cx, o->target, o->host);
		for (int i = 0; i < o->config.n && !err.n; i++)
			pm_set_config(cx, o->config.v[i], &err);
		/* TIR output and --compare run passes only when asked to: reading,
		 * verifying and printing is what `tirxc x.tx --emit=tir` means, as
		 * mlir-opt without passes.  Code emission runs the default pipeline. */
		const char *list = (o->compare || !strcmp(o->emit, "tir")) && !o->passes && !o->pipeline
		                           ? "" : o->passes;
		if (!err.n)
			pm_plan(cx, list, o->pipeline, o->disable.n ? o->disable.s : NULL,
			        o->force_order, &err);
	}
	if (err.n) {
		fprintf(stderr, "tirxc: error: %s\nTry 'tirxc --help' for more information.\n", err.s);
		buf_free(&err);
		D.cx = cx;
		leave(EXIT_USAGE);
	}
	return cx;
}

/* ----------------------------------------------------------- the files */

/* Reads a whole file ("-": stdin) of any size and content. */
static char *read_file(const char *path, size_t *len)
{
	int is_stdin = strcmp(path, "-") == 0;
	FILE *f = is_stdin ? stdin : fopen(path, "rb");
	if (!f) {
		diag_error(NOLOC, "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	Buf b = {0};
	int bad = 0, e = 0;
	struct stat st;
	/* A regular file is read with one read of its size (plus a byte for
	 * the NUL), with no copying and no regrowing. */
	if (!is_stdin && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (uintmax_t)st.st_size < SIZE_MAX / 2) {
		size_t want = (size_t)st.st_size;
		b.s = xmalloc(want + 1);
		b.cap = want + 1;
		while (b.n < want) {
			ssize_t r = read(fileno(f), b.s + b.n, want - b.n);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				bad = 1;
				e = errno;
				break;
			}
			if (r == 0)
				break;
			b.n += (size_t)r;
		}
	}
	/* Pipes, terminals, and whatever a file gained since fstat: chunks.
	 * (Nothing went through f's buffer yet, so f reads on from b.n.) */
	if (!bad) {
		char chunk[1 << 16];
		size_t n;
		while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
			buf_put(&b, chunk, n);
		bad = ferror(f);
		e = errno;
	}
	if (!is_stdin)
		fclose(f);
	if (bad) {
		diag_error(NOLOC, "cannot read '%s': %s", path, strerror(e));
		buf_free(&b);
		return NULL;
	}
	buf_put(&b, "", 0); /* a NUL-terminated string even when empty */
	*len = b.n;
	return b.s;
}

/* Read, parse and (unless --no-verify) verify input k. NULL on errors. */
static Module *load(int k)
{
	const char *path = D.o.in[k];
	const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
	size_t len = 0;
	double t = pm_now();
	phase = "reading the input";
	say("reading %s", name);
	D.text[k] = read_file(path, &len);
	pm_time(D.cx, "read", pm_now() - t);
	if (!D.text[k])
		return NULL;

	t = pm_now();
	phase = "parse";
	say("parsing %s (%zu bytes)", name, len);
	D.mod[k] = tir_parse(name, D.text[k], len);
	pm_time(D.cx, "parse", pm_now() - t);
	if (!D.mod[k] || diag_errors())
		return NULL;

	if (D.o.pm.verify_each || D.o.pm.verify_output) {
		t = pm_now();
		phase = "verify";
		say("verifying %s", name);
		int bad = tir_verify(D.mod[k], NULL);
		pm_time(D.cx, "verify", pm_now() - t);
		if (bad)
			return NULL;
	}
	return D.mod[k];
}

static int write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static mode_t file_mode(void)
{
	mode_t mask = umask(0);
	umask(mask);
	return 0666 & ~mask;
}

/* Writes text to path: stdout for NULL or "-"; a device or fifo directly;
 * a regular file through a temporary file and rename(), so readers never see
 * a partial output.  Exits 1 on failure. */
static void write_output(const char *path, const char *text, size_t len)
{
	struct stat st;
	if (!path || strcmp(path, "-") == 0) {
		if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
			diag_error(NOLOC, "cannot write to stdout: %s", strerror(errno));
			leave(EXIT_INPUT);
		}
		return;
	}
	say("writing %s", path);
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		FILE *f = fopen(path, "w");
		int ok = f && fwrite(text, 1, len, f) == len;
		if ((f && fclose(f) != 0) || !ok) {
			diag_error(NOLOC, "cannot write '%s': %s", path, strerror(errno));
			leave(EXIT_INPUT);
		}
		return;
	}
	const char *slash = strrchr(path, '/');
	Buf tmp = {0};
	if (slash)
		buf_put(&tmp, path, (size_t)(slash - path + 1));
	buf_printf(&tmp, ".%s.XXXXXX", slash ? slash + 1 : path);
	int fd = mkstemp(tmp.s);
	D.tmp = tmp.s; /* only a name mkstemp made is ever removed */
	if (fd < 0) {
		char *t = D.tmp; /* mkstemp made nothing: nothing to remove */
		D.tmp = NULL;
		free(t);
		diag_error(NOLOC, "cannot create a temporary file for '%s': %s", path, strerror(errno));
		leave(EXIT_INPUT);
	}
	int ok = write_all(fd, text, len) == 0 && fchmod(fd, file_mode()) == 0;
	int e = errno;
	if (close(fd) != 0 && ok) {
		ok = 0;
		e = errno;
	}
	if (ok && rename(D.tmp, path) != 0) {
		ok = 0;
		e = errno;
	}
	if (!ok) {
		diag_error(NOLOC, "cannot write '%s': %s", path, strerror(e));
		leave(EXIT_INPUT);
	}
	char *t = D.tmp;
	D.tmp = NULL; /* before the free: a signal may come at any time */
	free(t);
}

/* What tirxc prints, tirxc reads: passes may nest a module deeper than its
 * input (an input near the reader's limit, or a legalized expression), so an
 * output deeper than a quarter of that limit is read back first, and one
 * that would not read is refused at the function that holds the nesting.
 * Shallower output always reads (each printed level is at most one level of
 * the reader's trees), so the common case costs nothing. */
static void check_reads_back(const Func *f, int deepest)
{
	if (deepest <= TIR_MAX_NEST / 4 || !f)
		return;
	int refused = 1; /* INT_MAX: the printer cut the text short */
	if (deepest != INT_MAX) {
		int mark = diag_hold();
		Module *back = tir_parse("<output>", D.out.s ? D.out.s : "", D.out.n);
		refused = diag_unhold(mark) > 0 || !back;
		if (back)
			mod_free(back);
	}
	if (refused) {
		diag_error(f->loc, "in function '%s': the output would nest deeper than tirxc reads "
		           "back (%d levels); the passes add levels to deeply nested input",
		           f->name, TIR_MAX_NEST);
		leave(EXIT_INPUT);
	}
}

/* Writes what an emitter made to the output, timed as "write". */
static void write_timed(const char *path, const Buf *b)
{
	double t = pm_now();
	phase = "write";
	write_output(path, b->s ? b->s : "", b->n);
	pm_time(D.cx, "write", pm_now() - t);
}

/* The CUDA C of the device functions into D.out, timed as "cuda". */
static void gen_cuda(const Module *m)
{
	double t = pm_now();
	phase = "CUDA code generation";
	if (cuda_emit_c(m, &D.out))
		leave(EXIT_INPUT);
	pm_time(D.cx, "cuda", pm_now() - t);
}

/* --emit=tir: print the module and write it. */
static void emit(const Module *m)
{
	double t = pm_now();
	phase = "print";
	const Func *deepest_fn = NULL;
	int deepest = tir_print(&D.out, m, &deepest_fn);
	check_reads_back(deepest_fn, deepest);
	pm_time(D.cx, "print", pm_now() - t);
	write_timed(D.o.out, &D.out);
}

/* --emit=cuda: the CUDA C of the device functions. */
static void emit_cuda(const Module *m)
{
	gen_cuda(m);
	write_timed(D.o.out, &D.out);
}

/* The base name of intermediate files: the output's (else the input's)
 * file name without its suffix, reduced to [A-Za-z0-9_.-]. */
static char *stem(void)
{
	const char *p = D.o.out && strcmp(D.o.out, "-") != 0 ? D.o.out :
	                strcmp(D.o.in[0], "-") != 0 ? D.o.in[0] : "stdin";
	const char *sl = strrchr(p, '/');
	p = sl ? sl + 1 : p;
	const char *dot = strrchr(p, '.');
	size_t n = dot && dot != p ? (size_t)(dot - p) : strlen(p);
	char *s = xmalloc(n + 6);
	for (size_t i = 0; i < n; i++)
		s[i] = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", p[i]) ?
		       p[i] : '_';
	s[n] = 0;
	if (!n)
		strcpy(s, "out");
	return s;
}

/* --emit=ptx|cubin|fatbin: the CUDA C, then the toolkit (backends/cuda/
 * cuda_tools.c).  With -### nothing runs and nothing is written. */
static void emit_device(const Module *m)
{
	gen_cuda(m);
	Opts *o = &D.o;
	char *st = stem();
	CudaTools ct = {
		.home = cuda_home(),
		.archs = (const char *const *)o->archs.v, .narch = o->archs.n,
		.xptxas = (const char *const *)o->xptxas.v, .nxptxas = o->xptxas.n,
		.nvcc = o->cuda_compiler && !strcmp(o->cuda_compiler, "nvcc"),
		.verbose = o->verbose, .dry_run = o->dry_run, .keep_dir = o->keep_dir,
		.stem = st, .resource_usage = o->resource_usage,
	};
	int kind = !strcmp(o->emit, "ptx") ? CT_PTX : !strcmp(o->emit, "cubin") ? CT_CUBIN : CT_FATBIN;
	Buf usage = {0};
	double t = pm_now();
	phase = "the CUDA toolkit";
	say("building %s with the CUDA toolkit at %s", o->emit, ct.home);
	int rc = cuda_build(&ct, m, D.out.s ? D.out.s : "", D.out.n, kind, &D.bin, &usage);
	free(st);
	pm_time(D.cx, o->emit, pm_now() - t);
	if (rc == EXIT_USAGE) {
		fprintf(stderr, "tirxc: error: %s\nTry 'tirxc --help' for more information.\n",
		        usage.s ? usage.s : "bad device code options");
		buf_free(&usage);
		leave(EXIT_USAGE);
	}
	buf_free(&usage);
	if (rc)
		leave(rc == EXIT_INTERNAL ? EXIT_INTERNAL : EXIT_INPUT);
	if (o->dry_run)
		return;
	write_timed(o->out, &D.bin);
}

/* --emit=obj|llvm|asm: host code through LLVM (backends/llvm). */
static void emit_host(const Module *m)
{
	double t = pm_now();
	phase = "LLVM code generation";
	int kind = !strcmp(D.o.emit, "llvm") ? LLVM_EMIT_IR : !strcmp(D.o.emit, "asm") ? LLVM_EMIT_ASM
	                                                                              : LLVM_EMIT_OBJ;
	if (llvm_emit(m, kind, D.o.opt, &D.out))
		leave(EXIT_INPUT);
	pm_time(D.cx, "llvm", pm_now() - t);
	write_timed(D.o.out, &D.out);
}

/* --compare: 0 when A, after the chosen passes, equals B. */
static int compare(void)
{
	if (!load(0) || !load(1))
		leave(EXIT_INPUT);
	if (pm_run(D.cx, &D.mod[0]))
		leave(EXIT_INPUT);
	Buf why = {0};
	phase = "compare";
	int same = tir_equal(D.mod[0], D.mod[1], &why);
	if (!same) {
		printf("%s and %s differ", D.o.in[0], D.o.in[1]);
		if (why.n)
			printf(": %s%s", why.s, why.s[why.n - 1] == '\n' ? "" : "\n");
		else
			putchar('\n');
	}
	buf_free(&why);
	return same ? 0 : 1;
}

static int g_argc;
static char **g_argv;

/* The whole run; it ends in leave() (or die(), or a signal). */
static void *run(void *arg)
{
	alt_stack();
	parse_args(g_argc, g_argv);
	D.cx = make_ctx();
	debug_crash();
	if (D.o.compare) {
		int rc = compare();
		fflush(stdout);
		if (rc == 0)
			pm_finish(D.cx);
		leave(rc);
	}

	if (!load(0))
		leave(EXIT_INPUT);
	phase = "the passes";
	if (pm_run(D.cx, &D.mod[0]))
		leave(EXIT_INPUT);
	if (!strcmp(D.o.emit, "cuda"))
		emit_cuda(D.mod[0]);
	else if (is_device_emit(D.o.emit))
		emit_device(D.mod[0]);
	else if (!strcmp(D.o.emit, "obj") || !strcmp(D.o.emit, "llvm") || !strcmp(D.o.emit, "asm"))
		emit_host(D.mod[0]);
	else
		emit(D.mod[0]);

	pm_finish(D.cx);
	D.victim = NULL; /* success: the output stays */
	leave(0);
}

/* The stack of the thread that does the work.  Only the pages a run
 * touches are used; the rest is address space. */
#define WORK_STACK ((size_t)1 << 30)

int main(int argc, char **argv)
{
	const char *nc = getenv("NO_COLOR");
	diag_color = isatty(2) && !(nc && *nc);
	atexit(at_exit);
	catch_crashes();
	catch_stops();
	g_argc = argc;
	g_argv = argv;

	alt_stack();

	/* The stop signals go to the worker alone (the main thread blocks
	 * them once the worker has started): its handler then interrupts the
	 * work itself, which cannot go on to rename a file in the meantime. */
	pthread_attr_t at;
	pthread_t th;
	if (pthread_attr_init(&at) == 0) {
		const char *dc = getenv("TIRXC_DEBUG_CRASH");
		size_t size = dc && strcmp(dc, "stack") == 0 ? (size_t)1 << 20 : WORK_STACK;
		/* Test hook: TIRXC_DEBUG_STACK=KIB runs the work on a stack of
		 * that size, so tests can show how deep the traversals go. */
		const char *ds = getenv("TIRXC_DEBUG_STACK");
		if (ds && *ds) {
			char *end;
			unsigned long kib = strtoul(ds, &end, 10);
			if (*end == 0 && kib >= 64 && kib <= ((unsigned long)1 << 20))
				size = (size_t)kib << 10;
		}
		if (pthread_attr_setstacksize(&at, size) == 0 && pthread_create(&th, &at, run, NULL) == 0) {
			sigset_t stops;
			sigemptyset(&stops);
			sigaddset(&stops, SIGINT);
			sigaddset(&stops, SIGTERM);
			sigaddset(&stops, SIGHUP);
			pthread_sigmask(SIG_BLOCK, &stops, NULL);
			pthread_join(th, NULL); /* run() exits the process */
			die("the work thread returned");
		}
		pthread_attr_destroy(&at);
	}
	run(NULL); /* no thread: the main stack will do */
	return EXIT_INTERNAL;
}
