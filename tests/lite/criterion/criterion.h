/*
 * tests/lite/criterion/criterion.h - a stand-in for the small part of
 * Criterion that the in-process suites use, for ThreadSanitizer builds.
 *
 * Criterion cannot start under ThreadSanitizer on x86_64: its sandbox maps
 * an arena at a random address between 0x2000'0000'0000 and
 * 0x7f00'0000'0000, and TSan reserves all of that for its shadow memory, so
 * every try fails ("Could not initialize inheritable arena"; Criterion
 * issue #274). So `make SAN=thread` builds the suites that run in-process
 * (queue, hub, proto: the ones with threads and locks of their own) with
 * -Itests/lite, which finds this header first, into build/thread/unit-tests.
 * The integration suites need no such build: they drive the TSan-built
 * programs from the ASan-built Criterion binary.
 *
 * What it does: Test(suite, name, .timeout = N) registers a test; the
 * runner (tests/lite/runner.c) runs each in a forked child, as Criterion
 * does, kills it after its timeout, and reports like Criterion's summary.
 * The assertions print the failed expression and message and end the test.
 */
#ifndef HUBCHAT_LITE_CRITERION_H
#define HUBCHAT_LITE_CRITERION_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct lite_test {
	const char *suite;
	const char *name;
	void (*fn)(void);
	int timeout;            /* seconds; 0 = the runner's default */
	struct lite_test *next;
};

void lite_register(struct lite_test *t);
void lite_fail(const char *file, int line, const char *what,
    const char *fmt, ...) __attribute__((format(printf, 4, 5), noreturn));

#define Test(S, N, ...)                                                 \
	static void S##_##N##_impl(void);                               \
	static struct lite_test S##_##N##_lite = {                      \
		.suite = #S, .name = #N, .fn = S##_##N##_impl,          \
		__VA_ARGS__ };                                          \
	__attribute__((constructor)) static void                        \
	S##_##N##_reg(void)                                             \
	{                                                               \
		lite_register(&S##_##N##_lite);                         \
	}                                                               \
	static void S##_##N##_impl(void)

/* Suites' options (.init, .fini) are not needed here: the only .fini the
 * in-process suites use is the leak check, which TSan builds do not do. */
#define TestSuite(S, ...) extern int lite_suite_##S

#define LITE_CHECK(cond, what, ...)                                     \
	do {                                                            \
		if (!(cond))                                            \
			lite_fail(__FILE__, __LINE__, what, "" __VA_ARGS__); \
	} while (0)

#define cr_assert(cond, ...)                                            \
	LITE_CHECK(cond, "The expression " #cond " is false.", __VA_ARGS__)
#define cr_assert_eq(a, b, ...)                                         \
	LITE_CHECK((a) == (b), "The expression (" #a ") == (" #b ") is false.", \
	    __VA_ARGS__)
#define cr_assert_lt(a, b, ...)                                         \
	LITE_CHECK((a) < (b), "The expression (" #a ") < (" #b ") is false.", \
	    __VA_ARGS__)
#define cr_assert_null(p, ...)                                          \
	LITE_CHECK((p) == NULL, #p " is not null.", __VA_ARGS__)
#define cr_assert_not_null(p, ...)                                      \
	LITE_CHECK((p) != NULL, #p " is null.", __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...)                                     \
	LITE_CHECK(strcmp((a), (b)) == 0,                               \
	    "The strings " #a " and " #b " differ.", __VA_ARGS__)
#define cr_assert_str_empty(s, ...)                                     \
	LITE_CHECK((s)[0] == '\0', #s " is not empty.", __VA_ARGS__)
#define cr_assert_fail(...)                                             \
	lite_fail(__FILE__, __LINE__, "Failed.", "" __VA_ARGS__)

#endif
