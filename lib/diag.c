/* diag.c: user-facing diagnostics in the form
 *
 *     file.tx:12:9: error: message
 *         A[i] = B[j]
 *                  ^
 *
 * Files are registered once; line starts are found by scanning back from the
 * offset of the line, so registering is O(1) and reporting is O(line). */
#include <stdlib.h>
#include <string.h>
#include "tir.h"

typedef struct SrcFile {
	char *name;
	const char *text;
	size_t len;
	size_t *lines; /* offsets of line starts, built on first report */
	size_t nlines;
} SrcFile;

static SrcFile *files;
static int nfiles;
static int nerrors, shown;
static int held, said; /* diag_hold; diagnostics issued in all */
static int first_located = -1; /* of the first error shown since diag_reset */
int diag_max_errors = 20;
int diag_color;
const Loc NOLOC = {-1, 0, 0};

int diag_add_file(const char *name, const char *text, size_t len)
{
	files = xrealloc(files, (size_t)(nfiles + 1) * sizeof *files);
	files[nfiles] = (SrcFile){xstrdup(name), text, len, NULL, 0};
	return nfiles++;
}

const char *diag_file_name(int file)
{
	return file >= 0 && file < nfiles ? files[file].name : "<unknown>";
}

void diag_forget_files(void)
{
	for (int i = 0; i < nfiles; i++) {
		free(files[i].name);
		free(files[i].lines);
	}
	free(files);
	files = NULL;
	nfiles = 0;
}

static void index_lines(SrcFile *f)
{
	size_t n = 1;
	for (size_t i = 0; i < f->len; i++)
		n += f->text[i] == '\n';
	f->lines = xmalloc(n * sizeof *f->lines);
	f->nlines = 0;
	f->lines[f->nlines++] = 0;
	for (size_t i = 0; i < f->len; i++)
		if (f->text[i] == '\n')
			f->lines[f->nlines++] = i + 1;
}

/* Shows at most this many bytes of a source line, centred on the caret. */
enum { SHOW = 160 };

static void show_line(const SrcFile *f, int line, int col)
{
	if (line < 1 || (size_t)line > f->nlines)
		return;
	size_t start = f->lines[line - 1], end = start;
	while (end < f->len && f->text[end] != '\n')
		end++;
	if (end > start && f->text[end - 1] == '\r')
		end--;
	size_t caret = col > 0 ? (size_t)(col - 1) : 0;
	if (caret > end - start)
		caret = end - start;
	size_t from = 0;
	if (end - start > SHOW && caret > SHOW / 2)
		from = caret - SHOW / 2;
	size_t to = from + SHOW < end - start ? from + SHOW : end - start;
	Buf b = {0};
	for (size_t i = from; i < to; i++) {
		unsigned char c = (unsigned char)f->text[start + i];
		buf_putc(&b, c == '\t' || (c >= 32 && c < 127) || c >= 128 ? c : '?');
	}
	buf_putc(&b, '\n');
	for (size_t i = from; i < caret; i++)
		buf_putc(&b, f->text[start + i] == '\t' ? '\t' : ' ');
	buf_puts(&b, diag_color ? "\033[1;32m^\033[0m\n" : "^\n");
	fputs(b.s, stderr);
	buf_free(&b);
}

void diag_verror(Loc loc, const char *kind, const char *fmt, va_list ap)
{
	said++;
	if (held)
		return;
	int is_error = strcmp(kind, "error") == 0;
	if (is_error) {
		nerrors++;
		if (shown >= diag_max_errors) {
			if (shown == diag_max_errors) {
				fprintf(stderr, "tirxc: too many errors; the rest are not shown\n");
				shown++;
			}
			return;
		}
		shown++;
	}
	SrcFile *f = loc.file >= 0 && loc.file < nfiles ? &files[loc.file] : NULL;
	if (is_error && first_located < 0)
		first_located = f != NULL;
	const char *color = "";
	if (diag_color)
		color = is_error ? "\033[1;31m" : strcmp(kind, "warning") == 0 ? "\033[1;35m" : "\033[1;36m";
	if (diag_color)
		fputs("\033[1m", stderr);
	if (f && loc.line > 0)
		fprintf(stderr, "%s:%d:%d: ", f->name, loc.line, loc.col);
	else if (f)
		fprintf(stderr, "%s: ", f->name);
	else
		fputs("tirxc: ", stderr);
	fprintf(stderr, "%s%s:%s ", color, kind, diag_color ? "\033[0m\033[1m" : "");
	vfprintf(stderr, fmt, ap);
	fputs(diag_color ? "\033[0m\n" : "\n", stderr);
	if (f && loc.line > 0) {
		if (!f->lines)
			index_lines(f);
		show_line(f, loc.line, loc.col);
	}
}

void diag_error(Loc loc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_verror(loc, "error", fmt, ap);
	va_end(ap);
}

void diag_warning(Loc loc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_verror(loc, "warning", fmt, ap);
	va_end(ap);
}

void diag_note(Loc loc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_verror(loc, "note", fmt, ap);
	va_end(ap);
}

int diag_hold(void)
{
	held = 1;
	return said;
}

int diag_unhold(int mark)
{
	held = 0;
	return said - mark;
}

int diag_errors(void)
{
	return nerrors;
}

int diag_first_error_located(void)
{
	return first_located;
}

void diag_reset(void)
{
	nerrors = shown = 0;
	first_located = -1;
}
