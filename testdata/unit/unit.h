/* unit.h: a minimal C unit-test harness.  UNIT_TEST(name) { ... } defines and
 * registers a test; CHECK(cond) records a failure with its location and goes
 * on.  main() (unit_main.c) runs every test and prints
 * "unit: N passed, N failed". */
#ifndef UNIT_H
#define UNIT_H
#include <stdio.h>

typedef void (*unit_fn)(void);
void unit_register(const char *name, unit_fn fn);
extern int unit_failed_checks;

#define UNIT_TEST(name)                                                  \
	static void unit_##name(void);                                   \
	__attribute__((constructor)) static void unit_reg_##name(void)   \
	{                                                                \
		unit_register(#name, unit_##name);                       \
	}                                                                \
	static void unit_##name(void)

#define CHECK(cond)                                                      \
	do {                                                             \
		if (!(cond)) {                                           \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n",     \
				__FILE__, __LINE__, #cond);              \
			unit_failed_checks++;                            \
		}                                                        \
	} while (0)
#endif
