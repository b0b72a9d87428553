/*
 * tests/lite/runner.c - runs the tests registered through
 * tests/lite/criterion/criterion.h (see there for why it exists): each in
 * a forked child, with its timeout, in registration order, and prints a
 * summary in Criterion's words. Exits 1 when any test failed.
 *
 *   unit-tests [--filter SUITE/NAME-PREFIX]
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define LITE_DEFAULT_TIMEOUT 60

static struct lite_test *first, **last = &first;

void
lite_register(struct lite_test *t)
{
	*last = t;
	last = &t->next;
}

void
lite_fail(const char *file, int line, const char *what, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "[----] %s:%d: Assertion Failed\n[----]   %s\n", file,
	    line, what);
	if (fmt[0] != '\0') {
		fputs("[----]   ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	_exit(1);
}

/* Runs t in a child; true when it passed. */
static bool
lite_run(const struct lite_test *t)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return false;
	}
	if (pid == 0) {
		alarm((unsigned)(t->timeout > 0 ? t->timeout :
		    LITE_DEFAULT_TIMEOUT));
		t->fn();
		fflush(NULL);
		_exit(0);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return true;
	if (WIFSIGNALED(status))
		fprintf(stderr, "[FAIL] %s::%s: %s\n", t->suite, t->name,
		    WTERMSIG(status) == SIGALRM ? "Timed out" :
		    strsignal(WTERMSIG(status)));
	else
		fprintf(stderr, "[FAIL] %s::%s\n", t->suite, t->name);
	return false;
}

int
main(int argc, char **argv)
{
	const char *filter = argc == 3 && strcmp(argv[1], "--filter") == 0 ?
	    argv[2] : "";
	int tested = 0, passed = 0;

	for (struct lite_test *t = first; t != NULL; t = t->next) {
		char id[256];
		snprintf(id, sizeof(id), "%s/%s", t->suite, t->name);
		if (strncmp(id, filter, strlen(filter)) != 0)
			continue;
		tested++;
		passed += lite_run(t);
	}
	fprintf(stderr, "[====] Synthesis: Tested: %d | Passing: %d | "
	    "Failing: %d | Crashing: 0\n", tested, passed, tested - passed);
	return passed == tested ? 0 : 1;
}
