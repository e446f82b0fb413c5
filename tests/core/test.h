/* Minimal table-test helpers shared by the unit test programs. */
#ifndef BOUNCED_TEST_H
#define BOUNCED_TEST_H
#include <stdio.h>
#include <string.h>

static int test_failures, test_checks;

#define CHECK_STR(what, got, want) do { \
	const char *g_ = (got), *w_ = (want); test_checks++; \
	if ((g_ == NULL) != (w_ == NULL) || (g_ != NULL && strcmp(g_, w_) != 0)) { \
		test_failures++; \
		printf("FAIL %s:%d %s: got \"%s\", want \"%s\"\n", __FILE__, __LINE__, (what), \
		    g_ ? g_ : "(null)", w_ ? w_ : "(null)"); } } while (0)
#define CHECK_INT(what, got, want) do { \
	long long g_ = (long long)(got), w_ = (long long)(want); test_checks++; \
	if (g_ != w_) { test_failures++; \
		printf("FAIL %s:%d %s: got %lld, want %lld\n", __FILE__, __LINE__, (what), g_, w_); } \
	} while (0)
#define TEST_DONE() (printf("%d passed, %d failed\n", test_checks - test_failures, test_failures), \
	test_failures ? 1 : 0)
#endif
