/* cuda_tools.c: PTX, cubin and fatbin from the CUDA C of cuda_emit_c.
 *
 *   PTX     NVRTC in-process (libnvrtc from the toolkit, dlopen'ed at first
 *           use: --emit=cuda never needs it), or nvcc -ptx (CudaTools.nvcc)
 *   cubin   ptxas on that PTX, one architecture
 *   fatbin  for each architecture the PTX (compute_NN) and its cubin, put
 *           together by fatbinary
 *
 * NVRTC gets the architecture and -I<toolkit>/include only: our preamble
 * includes nothing that pulls libcu++.  nvrtcGetPTX counts a trailing NUL,
 * which ptxas rejects in a file: it is dropped.
 *
 * Tools are spawned with posix_spawn and argv arrays (never a shell), their
 * stdout and stderr into a temporary log that is read back.  Every
 * temporary file is made by mkstemps in $TMPDIR and registered in `temps`
 * before it exists, so that cuda_tools_cleanup (async-signal-safe: the
 * driver's exit and signal paths call it) can remove it; every return from
 * cuda_build has removed them.  With keep_dir the intermediates are written
 * under their kept names instead, and stay on every path.
 *
 * Diagnostics of NVRTC/nvcc ("X.cu(LINE): error: ...") name a line of the
 * CUDA C: the line is mapped to the device function whose definition holds
 * it (its .tx location; lines of the preamble go to the first device
 * function).  ptxas ("..., line N; error : ...") names a PTX line: mapped
 * through the .entry/.func that holds it.  The run then fails (1).
 *
 * --resource-usage runs ptxas with -v and parses, per kernel (.entry), the
 * registers, shared memory, stack frame (local memory) and spill bytes. */
#define _GNU_SOURCE /* mkstemps */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tir.h"
#include "backend.h"

extern char **environ;

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ------------------------------------------------------ cleanup state */

enum { MAX_TEMPS = 64 };
static char *volatile temps[MAX_TEMPS];
static volatile pid_t child;

void cuda_tools_cleanup(void)
{
	for (int i = 0; i < MAX_TEMPS; i++) {
		char *p = temps[i];
		if (p)
			unlink(p);
	}
	pid_t c = child;
	if (c > 0)
		kill(c, SIGTERM);
}

/* Removes and forgets the temporaries (normal paths). */
static void drop_temps(void)
{
	for (int i = 0; i < MAX_TEMPS; i++) {
		char *p = temps[i];
		if (!p)
			continue;
		unlink(p);
		temps[i] = NULL; /* before the free: a signal may come at any time */
		free(p);
	}
}

/* Removes and forgets one temporary (a tool's log, once read). */
static void drop_temp(char *p)
{
	for (int i = 0; i < MAX_TEMPS; i++)
		if (temps[i] == p) {
			unlink(p);
			temps[i] = NULL;
			free(p);
			return;
		}
}

/* ---------------------------------------------------------- the build */

typedef struct Fn {
	Sym name;     /* the symbol in the CUDA C and the PTX */
	const Func *f;
	int kernel;
	int line;     /* first line of its definition in the CUDA C; 0: none */
} Fn;

typedef struct B {
	const CudaTools *t;
	const Module *m;
	Fn *fns;
	int nfns;
	PtrMap by_name; /* Sym -> Fn * */
	const char *cu;
	size_t ncu;
	int rc;       /* 0, or the first failure's exit code */
	Vec dry_names; /* -###: the temporary names printed, never made */
	char tmpdir[4096];
} B;

static int fail(B *b, int rc)
{
	if (!b->rc)
		b->rc = rc;
	return rc;
}

static Loc first_loc(B *b)
{
	return b->nfns ? b->fns[0].f->loc : NOLOC;
}

/* ------------------------------------------------------------ argv lines */

static void quote(Buf *o, const char *s)
{
	int plain = *s != 0;
	for (const char *p = s; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=+.,/:@%", *p))
			plain = 0;
	if (plain) {
		buf_puts(o, s);
		return;
	}
	buf_putc(o, '\'');
	for (const char *p = s; *p; p++)
		if (*p == '\'')
			buf_puts(o, "'\\''");
		else
			buf_putc(o, *p);
	buf_putc(o, '\'');
}

/* Prints argv as one shell-quoted line on stderr (-v, -###). */
static void show(B *b, char *const *argv)
{
	if (!b->t->verbose && !b->t->dry_run)
		return;
	Buf o = {0};
	for (int i = 0; argv[i]; i++) {
		if (i)
			buf_putc(&o, ' ');
		quote(&o, argv[i]);
	}
	buf_putc(&o, '\n');
	fputs(o.s, stderr);
	fflush(stderr);
	buf_free(&o);
}

/* ------------------------------------------------------------ files */

/* A new temporary file "$TMPDIR/tirxc-STEM-XXXXXX.SUFFIX", registered for
 * cleanup; with dry_run only the name (not created).  NULL after reporting
 * an error. */
static char *temp_file(B *b, const char *suffix)
{
	Buf n = {0};
	buf_printf(&n, "%s/tirxc-%s-XXXXXX%s", b->tmpdir, b->t->stem, suffix);
	if (b->t->dry_run) { /* a name to print; nothing is made */
		vec_push(&b->dry_names, n.s);
		return n.s;
	}
	int i;
	for (i = 0; i < MAX_TEMPS && temps[i]; i++)
		;
	if (i == MAX_TEMPS) {
		buf_free(&n);
		diag_error(first_loc(b), "too many temporary files");
		fail(b, 70);
		return NULL;
	}
	temps[i] = n.s; /* registered before it exists (the template is harmless) */
	int fd = mkstemps(n.s, (int)strlen(suffix));
	if (fd < 0) {
		diag_error(first_loc(b), "cannot create a temporary file in '%s': %s", b->tmpdir,
		           strerror(errno));
		fail(b, 1);
		return NULL;
	}
	close(fd);
	return n.s;
}

/* The path of an intermediate: DIR/STEM.SUFFIX when kept, else a temporary. */
static char *inter_file(B *b, const char *suffix, int *kept)
{
	*kept = 0;
	if (!b->t->keep_dir)
		return temp_file(b, suffix);
	Buf n = {0};
	buf_printf(&n, "%s/%s%s", b->t->keep_dir, b->t->stem, suffix);
	*kept = 1;
	return n.s;
}

static int write_file(B *b, const char *path, const char *s, size_t n)
{
	if (b->t->dry_run)
		return 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	int ok = fd >= 0;
	while (ok && n) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			ok = 0;
		else {
			s += w;
			n -= (size_t)w;
		}
	}
	int e = errno;
	if (fd >= 0 && close(fd) != 0 && ok) {
		ok = 0;
		e = errno;
	}
	if (!ok) {
		diag_error(first_loc(b), "cannot write '%s': %s", path, strerror(e));
		return fail(b, 1);
	}
	return 0;
}

static int read_whole(const char *path, Buf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char chunk[1 << 16];
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		buf_put(out, chunk, (size_t)r);
	}
	close(fd);
	return 0;
}

static int read_file_into(B *b, const char *path, Buf *out)
{
	if (b->t->dry_run)
		return 0;
	if (read_whole(path, out) != 0) {
		diag_error(first_loc(b), "cannot read '%s': %s", path, strerror(errno));
		return fail(b, 1);
	}
	return 0;
}

/* ------------------------------------------------------------ spawning */

/* Runs argv[0] with its output into a log (returned in log); prints the
 * line first.  Returns the tool's exit status, or -1 after reporting why it
 * could not run or that it died (fail() set). */
static int spawn(B *b, char *const *argv, Buf *log)
{
	show(b, argv);
	if (b->t->dry_run)
		return 0;
	char *logf = temp_file(b, ".log");
	if (!logf)
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, logf, O_WRONLY | O_TRUNC, 0);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	pid_t pid;
	int e = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (e != 0) {
		diag_error(first_loc(b), "cannot run '%s': %s", argv[0], strerror(e));
		fail(b, 1);
		return -1;
	}
	child = pid;
	int st = 0;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			child = 0;
			diag_error(first_loc(b), "waiting for '%s': %s", argv[0], strerror(errno));
			fail(b, 70);
			return -1;
		}
	}
	child = 0;
	read_whole(logf, log);
	drop_temp(logf);
	if (WIFSIGNALED(st)) {
		diag_error(first_loc(b), "internal error: '%s' died of signal %d", argv[0], WTERMSIG(st));
		if (log->n)
			fprintf(stderr, "%.*s", (int)log->n, log->s);
		fail(b, 70);
		return -1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

/* A NULL-terminated argv under construction: v is `list.v` (the strings
 * are owned), n the count without the NULL.  It grows as needed: an
 * argument is never dropped. */
typedef struct Argv {
	Vec list;
	char **v;
	int n;
} Argv;

static void arg(Argv *a, const char *s)
{
	if (a->list.n)
		a->list.n--; /* the NULL */
	vec_push(&a->list, xstrdup(s));
	vec_push(&a->list, NULL);
	a->v = (char **)a->list.v;
	a->n = a->list.n - 1;
}

static void argf(Argv *a, const char *fmt, ...) TIR_PRINTF(2, 3);
static void argf(Argv *a, const char *fmt, ...)
{
	Buf s = {0};
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&s, fmt, ap);
	va_end(ap);
	arg(a, s.s);
	buf_free(&s);
}

static void argv_free(Argv *a)
{
	for (int i = 0; i < a->list.n; i++)
		free(a->list.v[i]);
	vec_free(&a->list);
	a->v = NULL;
	a->n = 0;
}

static char *tool(B *b, const char *name)
{
	Buf p = {0};
	buf_printf(&p, "%s/bin/%s", b->t->home, name);
	return p.s;
}

/* ------------------------------------------------------------ NVRTC */

typedef struct _nvrtcProgram *nvrtcProgram;
static struct {
	void *lib;
	char *path;
	int (*create)(nvrtcProgram *, const char *, const char *, int, const char *const *,
	              const char *const *);
	int (*compile)(nvrtcProgram, int, const char *const *);
	int (*log_size)(nvrtcProgram, size_t *);
	int (*log)(nvrtcProgram, char *);
	int (*ptx_size)(nvrtcProgram, size_t *);
	int (*ptx)(nvrtcProgram, char *);
	int (*destroy)(nvrtcProgram *);
	const char *(*error_string)(int);
	int (*num_archs)(int *);
	int (*archs)(int *);
} nv;

/* Loads libnvrtc from the toolkit once.  0, or -1 with why in `why`. */
static int nvrtc_load(const char *home, Buf *why)
{
	if (nv.lib)
		return 0;
	static const char *const names[] = {
		"lib64/libnvrtc.so", "lib/libnvrtc.so", "lib64/libnvrtc.so.13", "lib/libnvrtc.so.13",
		"lib64/libnvrtc.so.12", "lib/libnvrtc.so.12", "targets/x86_64-linux/lib/libnvrtc.so",
	};
	Buf p = {0};
	const char *err = NULL;
	for (int i = 0; i < NELEM(names) && !nv.lib; i++) {
		p.n = 0;
		buf_printf(&p, "%s/%s", home, names[i]);
		struct stat st;
		if (stat(p.s, &st) != 0)
			continue;
		nv.lib = dlopen(p.s, RTLD_NOW | RTLD_LOCAL);
		if (!nv.lib)
			err = dlerror();
	}
	if (!nv.lib) {
		buf_printf(why, "cannot load NVRTC from the CUDA toolkit at '%s'%s%s (set CUDA_HOME)", home,
		           err ? ": " : "", err ? err : "");
		buf_free(&p);
		return -1;
	}
	nv.path = p.s;
	struct {
		void *slot;
		const char *name;
	} syms[] = {
		{&nv.create, "nvrtcCreateProgram"},       {&nv.compile, "nvrtcCompileProgram"},
		{&nv.log_size, "nvrtcGetProgramLogSize"}, {&nv.log, "nvrtcGetProgramLog"},
		{&nv.ptx_size, "nvrtcGetPTXSize"},        {&nv.ptx, "nvrtcGetPTX"},
		{&nv.destroy, "nvrtcDestroyProgram"},     {&nv.error_string, "nvrtcGetErrorString"},
		{&nv.num_archs, "nvrtcGetNumSupportedArchs"}, {&nv.archs, "nvrtcGetSupportedArchs"},
	};
	for (int i = 0; i < NELEM(syms); i++) {
		void *f = dlsym(nv.lib, syms[i].name);
		if (!f) {
			buf_printf(why, "'%s' has no %s", nv.path, syms[i].name);
			dlclose(nv.lib);
			nv.lib = NULL;
			free(nv.path);
			nv.path = NULL;
			return -1;
		}
		memcpy(syms[i].slot, &f, sizeof f); /* object to function pointer */
	}
	return 0;
}

/* ------------------------------------------------- where a line belongs */

/* The device function whose definition holds CUDA C line `line`; the first
 * one for the preamble. */
static const Fn *fn_of_cu_line(B *b, long line)
{
	const Fn *best = NULL;
	for (int i = 0; i < b->nfns; i++)
		if (b->fns[i].line && b->fns[i].line <= line && (!best || b->fns[i].line > best->line))
			best = &b->fns[i];
	return best ? best : b->nfns ? &b->fns[0] : NULL;
}

static const Fn *fn_named(B *b, const char *s, size_t n)
{
	if (!n)
		return NULL;
	return pmap_get(&b->by_name, symn(s, n));
}

/* Finds each function's definition line: `extern "C" __global__ ...
 * NAME(...) {` (forward declarations end in ';'): the identifiers that
 * follow a blank and precede '(' are looked up by name. */
static void map_functions(B *b)
{
	long line = 1;
	const char *s = b->cu, *end = b->cu + b->ncu;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;
		if (e - s > 12 && !strncmp(s, "extern \"C\" __", 13) && e[-1] == '{') {
			for (const char *p = s; p < e; p++) {
				if (*p != '(')
					continue;
				const char *w = p;
				while (w > s && (w[-1] == '_' || (w[-1] >= '0' && w[-1] <= '9') ||
				                 ((w[-1] | 32) >= 'a' && (w[-1] | 32) <= 'z')))
					w--;
				Fn *f = w > s && w[-1] == ' ' ? (Fn *)fn_named(b, w, (size_t)(p - w)) : NULL;
				if (f && !f->line) {
					f->line = (int)line;
					break;
				}
			}
		}
		line++;
		s = e + 1;
	}
}

static void cu_line_text(B *b, long want, Buf *o)
{
	long line = 1;
	const char *s = b->cu, *end = b->cu + b->ncu;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;
		if (line == want) {
			while (s < e && (*s == ' ' || *s == '\t'))
				s++;
			buf_put(o, s, (size_t)(e - s > 200 ? 200 : e - s));
			return;
		}
		line++;
		s = e + 1;
	}
}

static const char *fn_kind(const Fn *f)
{
	return f->kernel ? "kernel" : "device function";
}

/* Relays an NVRTC/nvcc log: each "FILE(LINE): error: MSG" (warnings with
 * -v only) at its function; anything else unparsed goes out as is when no
 * error could be located.  Returns how many errors were reported. */
static int relay_cu_log(B *b, const char *tool_name, const char *log, size_t n, int failed)
{
	int errs = 0;
	const char *s = log, *end = log + n;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;
		const char *lp = NULL;
		for (const char *p = s; p + 1 < e; p++)
			if (*p == '(' && p[1] >= '0' && p[1] <= '9') {
				lp = p;
				break;
			}
		if (lp) {
			char *q;
			long line = strtol(lp + 1, &q, 10);
			int is_err = q + 9 <= e && !strncmp(q, "): error:", 9);
			int is_warn = q + 11 <= e && !strncmp(q, "): warning:", 11);
			if ((is_err || (is_warn && b->t->verbose)) && line > 0) {
				const char *msg = q + (is_err ? 9 : 11);
				while (msg < e && *msg == ' ')
					msg++;
				const Fn *f = fn_of_cu_line(b, line);
				Loc at = f ? f->f->loc : NOLOC;
				Buf code = {0};
				cu_line_text(b, line, &code);
				if (is_err) {
					diag_error(at, "in %s '%s': %s: %.*s", f ? fn_kind(f) : "function",
					           f ? f->name : "?", tool_name, (int)(e - msg), msg);
					errs++;
				} else {
					diag_warning(at, "in %s '%s': %s: %.*s", f ? fn_kind(f) : "function",
					             f ? f->name : "?", tool_name, (int)(e - msg), msg);
				}
				diag_note(NOLOC, "the generated CUDA C, line %ld: %s", line, code.s ? code.s : "");
				buf_free(&code);
			}
		}
		s = e + 1;
	}
	if (failed && !errs) {
		diag_error(first_loc(b), "%s failed on the generated CUDA C:\n%.*s", tool_name, (int)n,
		           log);
		errs++;
	}
	return errs;
}

/* The .entry/.func that holds PTX line `line`. */
static const Fn *fn_of_ptx_line(B *b, const Buf *ptx, long want)
{
	const Fn *cur = NULL;
	long line = 1;
	const char *s = ptx->s, *end = ptx->s + ptx->n;
	while (s < end && line <= want) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;
		const char *d = s;
		while (d < e && (*d == ' ' || *d == '\t'))
			d++;
		int is_fn = (e - d > 7 && !strncmp(d, ".entry ", 7)) ||
		            (e - d > 14 && !strncmp(d, ".visible .func", 14)) ||
		            (e - d > 6 && !strncmp(d, ".func ", 6)) ||
		            (e - d > 15 && !strncmp(d, ".visible .entry", 15));
		if (is_fn) {
			const char *p = memchr(d, '(', (size_t)(e - d));
			const char *stop = p ? p : e;
			/* the name: the last word before '(' (or the line's end) */
			const char *q = stop;
			while (q > d && (q[-1] == ' '))
				q--;
			const char *w = q;
			while (w > d && w[-1] != ' ' && w[-1] != ')')
				w--;
			const Fn *f = fn_named(b, w, (size_t)(q - w));
			if (f)
				cur = f;
		}
		line++;
		s = e + 1;
	}
	return cur;
}

/* Relays ptxas output: "ptxas FILE, line N; error   : MSG" at the function
 * of that PTX line, other errors ("ptxas fatal : ...") at the first. */
static void relay_ptxas_log(B *b, const Buf *ptx, const char *log, size_t n)
{
	int errs = 0;
	const char *s = log, *end = log + n;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;
		/* "error   :" or "fatal   :" (the word, blanks, a colon): not
		 * a name that merely contains the word */
		const char *err = NULL;
		for (const char *p = s; p + 5 <= e && !err; p++) {
			if (strncmp(p, "error", 5) != 0 && strncmp(p, "fatal", 5) != 0)
				continue;
			if (p > s && p[-1] != ' ' && p[-1] != ';')
				continue;
			const char *q = p + 5;
			while (q < e && *q == ' ')
				q++;
			if (q < e && *q == ':')
				err = p;
		}
		if (err) {
			const char *msg = memchr(err, ':', (size_t)(e - err));
			msg = msg ? msg + 1 : err;
			while (msg < e && *msg == ' ')
				msg++;
			const Fn *f = NULL;
			const char *lp = NULL;
			for (const char *p = s; p + 5 < err; p++)
				if (!strncmp(p, "line ", 5)) {
					lp = p + 5;
					break;
				}
			if (lp)
				f = fn_of_ptx_line(b, ptx, strtol(lp, NULL, 10));
			if (f)
				diag_error(f->f->loc, "in %s '%s': ptxas: %.*s", fn_kind(f), f->name,
				           (int)(e - msg), msg);
			else
				diag_error(first_loc(b), "ptxas: %.*s", (int)(e - msg), msg);
			errs++;
		}
		s = e + 1;
	}
	if (!errs)
		diag_error(first_loc(b), "ptxas failed:\n%.*s", (int)n, log);
}

/* ------------------------------------------------------------ resources */

/* The first occurrence of word in [s, e), or NULL (strstr would scan past
 * the line: quadratic on a long log). */
static const char *find_in(const char *s, const char *e, const char *word)
{
	size_t k = strlen(word);
	for (const char *p = s; p + k <= e; p++)
		if (*p == *word && !memcmp(p, word, k))
			return p;
	return NULL;
}

static long num_before(const char *s, const char *e, const char *word)
{
	size_t k = strlen(word);
	for (const char *p = s; p + k <= e; p++)
		if (!strncmp(p, word, k)) {
			const char *q = p;
			while (q > s && q[-1] == ' ')
				q--;
			while (q > s && q[-1] >= '0' && q[-1] <= '9')
				q--;
			return strtol(q, NULL, 10);
		}
	return 0;
}

/* ptxas -v: "Compiling entry function 'K' for 'sm_80'", then "N bytes
 * stack frame, N bytes spill stores, N bytes spill loads" and "Used N
 * registers, ... N bytes smem, ...".  One line per kernel on stderr. */
static void print_resources(B *b, const char *arch, const char *log, size_t n)
{
	Buf name = {0};
	long regs = 0, smem = 0, stack = 0, st = 0, ld = 0, lmem = 0;
	int have = 0;
	const char *s = log, *end = log + n;
	for (;;) {
		const char *nl = s < end ? memchr(s, '\n', (size_t)(end - s)) : NULL;
		const char *e = nl ? nl : end;
		const char *ce = s < end ? find_in(s, e, "Compiling entry function '") : NULL;
		int next = s >= end || ce;
		if (next && have) {
			fprintf(stderr, "%s (%s): %ld registers, %ld bytes shared, %ld bytes local, "
			        "%ld bytes spill stores, %ld bytes spill loads\n",
			        name.s, arch, regs, smem, stack + lmem, st, ld);
			have = 0;
		}
		if (s >= end)
			break;
		if (next) {
			const char *q = ce + strlen("Compiling entry function '");
			const char *qe = memchr(q, '\'', (size_t)(e - q));
			name.n = 0;
			buf_put(&name, q, qe ? (size_t)(qe - q) : 0);
			buf_put(&name, "", 0);
			regs = smem = stack = st = ld = lmem = 0;
			have = 1;
		} else if (have) {
			for (const char *p = s; p + 4 < e; p++)
				if (!strncmp(p, "Used ", 5)) {
					regs = num_before(s, e, " registers");
					smem = num_before(s, e, " bytes smem");
					lmem = num_before(s, e, " bytes lmem");
					break;
				}
			if (find_in(s, e, "bytes stack frame")) {
				stack = num_before(s, e, " bytes stack frame");
				st = num_before(s, e, " bytes spill stores");
				ld = num_before(s, e, " bytes spill loads");
			}
		}
		s = e + 1;
	}
	buf_free(&name);
}

/* ------------------------------------------------------------ steps */

/* The number and the "a" of sm_NN[a]. */
static int arch_num(const char *arch, int *suffix_a)
{
	*suffix_a = arch[strlen(arch) - 1] == 'a';
	return atoi(arch + 3);
}

int cuda_arch_spelled(const char *arch, Buf *why)
{
	const char *p = arch;
	if (strncmp(p, "sm_", 3) != 0) {
		buf_printf(why, "'%s' is not an architecture (sm_NN or sm_NNa, e.g. sm_80, sm_90a)", arch);
		return 0;
	}
	p += 3;
	int digits = 0;
	while (*p >= '0' && *p <= '9')
		p++, digits++;
	if (*p == 'a')
		p++;
	if (digits < 2 || digits > 3 || *p || arch[3] == '0') {
		buf_printf(why, "'%s' is not an architecture (sm_NN or sm_NNa, e.g. sm_80, sm_90a)", arch);
		return 0;
	}
	return 1;
}

/* The architectures the toolkit compiles for (ascending), from NVRTC (part
 * of every toolkit; nvcc too uses it to list them).  Returns the count, 0
 * after reporting. */
static int supported_archs(B *b, int *out, int max)
{
	Buf why = {0};
	int n = 0;
	if (nvrtc_load(b->t->home, &why) == 0) {
		int k = 0;
		if (nv.num_archs(&k) == 0 && k > 0 && k <= 256) {
			int *v = xmalloc(sizeof(int) * (size_t)k);
			if (nv.archs(v) == 0)
				for (int i = 0; i < k && n < max; i++)
					out[n++] = v[i];
			free(v);
		}
	}
	if (!n && !b->rc) {
		diag_error(first_loc(b), "%s", why.n ? why.s : "the CUDA toolkit lists no architecture");
		fail(b, 1);
	}
	buf_free(&why);
	return n;
}

/* PTX for arch (compute_NN[a]) into ptx.  NVRTC in-process, or nvcc. */
static int make_ptx(B *b, const char *arch, const char *cu_path, Buf *ptx)
{
	int a_suffix, num = arch_num(arch, &a_suffix);
	if (b->t->nvcc) {
		char *pp = temp_file(b, ".ptx");
		if (!pp)
			return fail(b, 1);
		Argv a = {0};
		char *nvcc = tool(b, "nvcc");
		arg(&a, nvcc);
		free(nvcc);
		arg(&a, "-ptx");
		argf(&a, "-arch=compute_%d%s", num, a_suffix ? "a" : "");
		arg(&a, "-o");
		arg(&a, pp);
		arg(&a, cu_path);
		Buf log = {0};
		int rc = spawn(b, a.v, &log);
		argv_free(&a);
		if (rc > 0)
			relay_cu_log(b, "nvcc", log.s ? log.s : "", log.n, 1);
		else if (rc == 0 && b->t->verbose && log.n)
			relay_cu_log(b, "nvcc", log.s, log.n, 0);
		buf_free(&log);
		if (rc != 0)
			return fail(b, 1); /* spawn() set 70 itself when the tool died */
		return read_file_into(b, pp, ptx);
	}
	/* NVRTC: the options, printed as the command line it stands for */
	Argv a = {0};
	arg(&a, nv.path ? nv.path : "libnvrtc.so");
	argf(&a, "--gpu-architecture=compute_%d%s", num, a_suffix ? "a" : "");
	argf(&a, "-I%s/include", b->t->home);
	arg(&a, cu_path);
	show(b, a.v);
	if (b->t->dry_run) {
		argv_free(&a);
		return 0;
	}
	Buf prog_name = {0};
	buf_printf(&prog_name, "%s.cu", b->t->stem);
	nvrtcProgram prog = NULL;
	int r = nv.create(&prog, b->cu, prog_name.s, 0, NULL, NULL);
	buf_free(&prog_name);
	if (r != 0) {
		argv_free(&a);
		diag_error(first_loc(b), "internal error: NVRTC cannot create a program: %s",
		           nv.error_string(r));
		return fail(b, 70);
	}
	const char *const opts[] = {a.v[1], a.v[2]};
	r = nv.compile(prog, 2, opts);
	argv_free(&a);
	size_t ln = 0;
	Buf log = {0};
	if (nv.log_size(prog, &ln) == 0 && ln > 1) {
		log.s = xmalloc(ln);
		log.cap = ln;
		if (nv.log(prog, log.s) == 0)
			log.n = strnlen(log.s, ln);
	}
	if (r != 0) {
		if (r != 6 /* NVRTC_ERROR_COMPILATION */ && !log.n) {
			diag_error(first_loc(b), "NVRTC: %s", nv.error_string(r));
		} else {
			relay_cu_log(b, "NVRTC", log.s ? log.s : "", log.n, 1);
		}
		buf_free(&log);
		nv.destroy(&prog);
		return fail(b, 1);
	}
	if (b->t->verbose && log.n)
		relay_cu_log(b, "NVRTC", log.s, log.n, 0);
	buf_free(&log);
	size_t pn = 0;
	if (nv.ptx_size(prog, &pn) != 0 || pn == 0) {
		nv.destroy(&prog);
		diag_error(first_loc(b), "internal error: NVRTC returned no PTX");
		return fail(b, 70);
	}
	char *p = xmalloc(pn);
	r = nv.ptx(prog, p);
	nv.destroy(&prog);
	if (r != 0) {
		free(p);
		diag_error(first_loc(b), "internal error: NVRTC returned no PTX: %s", nv.error_string(r));
		return fail(b, 70);
	}
	size_t len = strnlen(p, pn); /* the size counts a NUL: not part of the text */
	buf_put(ptx, p, len);
	free(p);
	return 0;
}

/* cubin for arch from the PTX file ptx_path (ptx: its text, for mapping
 * ptxas' line numbers) into cubin_path; resources printed when asked. */
static int make_cubin(B *b, const char *arch, const char *ptx_path, const Buf *ptx,
                      const char *cubin_path)
{
	Argv a = {0};
	char *ptxas = tool(b, "ptxas");
	arg(&a, ptxas);
	free(ptxas);
	argf(&a, "-arch=%s", arch);
	if (b->t->resource_usage)
		arg(&a, "-v");
	for (int i = 0; i < b->t->nxptxas; i++)
		arg(&a, b->t->xptxas[i]);
	arg(&a, "-o");
	arg(&a, cubin_path);
	arg(&a, ptx_path);
	Buf log = {0};
	int rc = spawn(b, a.v, &log);
	argv_free(&a);
	if (rc > 0) {
		relay_ptxas_log(b, ptx, log.s ? log.s : "", log.n);
		fail(b, 1);
	} else if (rc == 0 && !b->t->dry_run) {
		/* ptxas says nothing on success unless asked (-Xptxas -v) or
		 * warning: relayed, except the -v that --resource-usage added */
		int asked = 0;
		for (int i = 0; i < b->t->nxptxas; i++)
			asked |= !strcmp(b->t->xptxas[i], "-v") || !strcmp(b->t->xptxas[i], "--verbose");
		if (log.n && (!b->t->resource_usage || asked))
			fprintf(stderr, "%.*s", (int)log.n, log.s);
		if (b->t->resource_usage)
			print_resources(b, arch, log.s ? log.s : "", log.n);
	} else if (rc < 0 && !b->rc) {
		fail(b, 1);
	}
	buf_free(&log);
	return b->rc;
}

static int build(B *b, int kind, Buf *out, Buf *usage)
{
	const CudaTools *t = b->t;
	/* the architectures: --arch, else the device functions' target */
	const char *def_arch[1];
	Buf def = {0};
	const char *const *archs = t->archs;
	int narch = t->narch;
	const Fn *def_from = NULL;
	if (!narch) {
		for (int i = 0; i < b->nfns; i++) {
			Obj *tg = func_target(b->fns[i].f);
			Obj *ar = tg && tg->kind == OB_TARGET ? obj_dict_get(tg->target, "arch") : NULL;
			if (!ar || ar->kind != OB_STR)
				continue;
			if (!def_from) {
				def_from = &b->fns[i];
				buf_puts(&def, ar->s);
			} else if (strcmp(def.s, ar->s) != 0) {
				diag_error(b->fns[i].f->loc, "device function '%s' targets %s, '%s' targets %s: "
				           "choose with --arch", b->fns[i].name, ar->s, def_from->name, def.s);
				buf_free(&def);
				return fail(b, 1);
			}
		}
	}
	int sup[256];
	int nsup = supported_archs(b, sup, NELEM(sup));
	if (!nsup) {
		buf_free(&def);
		return b->rc;
	}
	if (!narch) {
		if (!def.n) /* the toolkit's default: its oldest architecture */
			buf_printf(&def, "sm_%d", sup[0]);
		Buf why = {0};
		if (!cuda_arch_spelled(def.s, &why)) {
			diag_error(def_from ? def_from->f->loc : first_loc(b), "the target's arch: %s", why.s);
			buf_free(&why);
			buf_free(&def);
			return fail(b, 1);
		}
		def_arch[0] = def.s;
		archs = def_arch;
		narch = 1;
	}
	for (int i = 0; i < narch; i++) {
		int a_suffix, num = arch_num(archs[i], &a_suffix), ok = 0;
		for (int k = 0; k < nsup; k++)
			ok |= sup[k] == num;
		if (!ok || (a_suffix && num < 90)) {
			Buf list = {0};
			for (int k = 0; k < nsup; k++)
				buf_printf(&list, "%ssm_%d", k ? ", " : "", sup[k]);
			if (t->narch && ok)
				buf_printf(usage, "--arch=%s: the 'a' variants (architecture-specific "
				           "features) begin with sm_90", archs[i]);
			else if (t->narch)
				buf_printf(usage, "--arch=%s: not supported by the CUDA toolkit at '%s' "
				           "(it supports %s)", archs[i], t->home, list.s);
			else
				diag_error(def_from ? def_from->f->loc : first_loc(b),
				           "the target's arch %s is not supported by the CUDA toolkit at '%s' "
				           "(it supports %s); choose with --arch", archs[i], t->home, list.s);
			buf_free(&list);
			buf_free(&def);
			return fail(b, t->narch ? 2 : 1);
		}
	}
	int distinct = 0;
	for (int i = 0; i < narch; i++) {
		int seen = 0;
		for (int k = 0; k < i; k++)
			seen |= !strcmp(archs[k], archs[i]);
		distinct += !seen;
	}
	if (distinct > 1 && kind != CT_FATBIN) {
		buf_printf(usage, "--emit=%s holds one architecture; give one --arch (--emit=fatbin "
		           "holds several)", kind == CT_PTX ? "ptx" : "cubin");
		buf_free(&def);
		return fail(b, 2);
	}

	if (t->keep_dir && !t->dry_run && mkdir(t->keep_dir, 0777) != 0 && errno != EEXIST) {
		diag_error(first_loc(b), "cannot create '%s': %s", t->keep_dir, strerror(errno));
		buf_free(&def);
		return fail(b, 1);
	}
	/* the CUDA C, as a file when a tool or the user reads one */
	int kept_cu = 0;
	char *cu_path = NULL;
	if (t->nvcc || t->keep_dir) {
		cu_path = inter_file(b, ".cu", &kept_cu);
		if (!cu_path || write_file(b, cu_path, b->cu, b->ncu)) {
			if (kept_cu)
				free(cu_path);
			buf_free(&def);
			return fail(b, 1);
		}
	}
	Buf prog_name = {0}; /* NVRTC's name of the source: STEM.cu */
	buf_printf(&prog_name, "%s.cu", t->stem);
	Argv fa = {0};
	if (kind == CT_FATBIN) {
		char *fb = tool(b, "fatbinary");
		arg(&fa, fb);
		free(fb);
	}
	char *fat_out = NULL;
	for (int i = 0; i < narch && !b->rc; i++) {
		const char *arch = archs[i];
		int seen = 0; /* --arch=sm_80 twice: one image */
		for (int k = 0; k < i; k++)
			seen |= !strcmp(archs[k], arch);
		if (seen)
			continue;
		Buf ptx = {0};
		if (make_ptx(b, arch, cu_path ? cu_path : prog_name.s, &ptx)) {
			buf_free(&ptx);
			break;
		}
		if (kind == CT_PTX && !t->resource_usage && !t->keep_dir) {
			buf_put(out, ptx.s ? ptx.s : "", ptx.n);
			buf_free(&ptx);
			break;
		}
		Buf sfx = {0};
		int kept_ptx, kept_cubin;
		buf_printf(&sfx, ".%s.ptx", arch);
		char *ptx_path = inter_file(b, sfx.s, &kept_ptx);
		sfx.n = 0;
		buf_printf(&sfx, ".%s.cubin", arch);
		char *cubin_path = NULL;
		if (ptx_path && !write_file(b, ptx_path, ptx.s ? ptx.s : "", ptx.n)) {
			if (kind == CT_PTX) {
				buf_put(out, ptx.s ? ptx.s : "", ptx.n);
				if (t->resource_usage) {
					cubin_path = temp_file(b, ".cubin");
					kept_cubin = 0;
					if (cubin_path)
						make_cubin(b, arch, ptx_path, &ptx, cubin_path);
				}
			} else {
				cubin_path = inter_file(b, sfx.s, &kept_cubin);
				if (cubin_path && !make_cubin(b, arch, ptx_path, &ptx, cubin_path)) {
					if (kind == CT_CUBIN)
						read_file_into(b, cubin_path, out);
					else {
						/* sm=NN[a] for both images: the PTX is compute_NN[a] */
						const char *sm = arch + 3;
						argf(&fa, "--image3=kind=elf,sm=%s,file=%s", sm, cubin_path);
						argf(&fa, "--image3=kind=ptx,sm=%s,file=%s", sm, ptx_path);
					}
				}
				if (!cubin_path)
					fail(b, 1);
			}
		} else {
			fail(b, 1);
		}
		if (kept_ptx)
			free(ptx_path);
		if (cubin_path && kept_cubin)
			free(cubin_path);
		buf_free(&sfx);
		buf_free(&ptx);
	}
	if (kind == CT_FATBIN && !b->rc) {
		fat_out = temp_file(b, ".fatbin");
		if (fat_out) {
			/* --create first, as the tool documents it */
			Argv f2 = {0};
			arg(&f2, fa.v[0]);
			argf(&f2, "--create=%s", fat_out);
			arg(&f2, "-64");
			for (int i = 1; i < fa.n; i++)
				arg(&f2, fa.v[i]);
			Buf log = {0};
			int rc = spawn(b, f2.v, &log);
			argv_free(&f2);
			if (rc > 0) {
				diag_error(first_loc(b), "fatbinary failed:\n%.*s", (int)log.n, log.s ? log.s : "");
				fail(b, 1);
			} else if (rc == 0) {
				read_file_into(b, fat_out, out);
			} else if (!b->rc) {
				fail(b, 1);
			}
			buf_free(&log);
		}
	}
	argv_free(&fa);
	buf_free(&prog_name);
	if (kept_cu)
		free(cu_path);
	buf_free(&def);
	return b->rc;
}

int cuda_build(const CudaTools *t, const Module *m, const char *cu, size_t ncu, int kind,
               Buf *out, Buf *usage)
{
	B b = {.t = t, .m = m, .cu = cu, .ncu = ncu};
	const char *td = getenv("TMPDIR");
	snprintf(b.tmpdir, sizeof b.tmpdir, "%s", td && *td ? td : "/tmp");
	size_t tl = strlen(b.tmpdir);
	while (tl > 1 && b.tmpdir[tl - 1] == '/')
		b.tmpdir[--tl] = 0;
	b.fns = xmalloc(sizeof(Fn) * (size_t)(m->nfuncs ? m->nfuncs : 1));
	for (int i = 0; i < m->nfuncs; i++) {
		const Func *f = m->funcs[i];
		if (!cuda_is_device_func(f))
			continue;
		Obj *cc = obj_dict_get(f->attrs, "calling_conv");
		Sym gs = func_global_symbol(f);
		b.fns[b.nfns++] = (Fn){.name = gs ? gs : f->name, .f = f,
		                       .kernel = cc && cc->kind == OB_INT && cc->i == 2};
	}
	for (int i = 0; i < b.nfns; i++)
		pmap_put(&b.by_name, sym(b.fns[i].name), &b.fns[i]);
	map_functions(&b);
	build(&b, kind, out, usage);
	drop_temps();
	for (int i = 0; i < b.dry_names.n; i++)
		free(b.dry_names.v[i]);
	vec_free(&b.dry_names);
	pmap_free(&b.by_name);
	free(b.fns);
	return b.rc;
}
