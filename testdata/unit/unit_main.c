#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "tir.h"

int unit_failed_checks;
static struct { const char *name; unit_fn fn; } tests[512];
static int ntests;

void unit_register(const char *name, unit_fn fn)
{
	if (ntests == (int)(sizeof tests / sizeof tests[0]))
		die("too many unit tests");
	tests[ntests].name = name;
	tests[ntests].fn = fn;
	ntests++;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;
	for (int i = 0; i < ntests; i++) {
		if (argc > 1 && !strstr(tests[i].name, argv[1]))
			continue;
		int before = unit_failed_checks;
		tests[i].fn();
		if (unit_failed_checks == before) {
			passed++;
		} else {
			failed++;
			fprintf(stderr, "FAIL: unit %s\n", tests[i].name);
		}
	}
	sym_free_all();
	printf("unit: %d passed, %d failed\n", passed, failed);
	return failed != 0;
}
