/* bounced rules check FILE...: compiles rule files with the shipped rules, as start-up does, and
 * runs the examples written beside each rule (bounced-rules(5)). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "log.h"
#include "rules.h"

static const char rules_usage[] =
    "usage: bounced rules check FILE...\n"
    "\n"
    "Compiles the rule files FILE... with the shipped rules built into bounced, as start-up\n"
    "reads a local file ([rules] local): a FILE named as a shipped file (families.rules,\n"
    "recipients.rules, reasons.rules) stands in for it, the others come after them. Then checks\n"
    "that every rule of FILE... has an example and runs the examples (bounced-rules(5)):\n"
    "'# test: TEXT' under a rule must match (a reason rule must be the first to match TEXT as a\n"
    "diagnostic; a recipient rule must capture an address), '# test-not: TEXT' must not.\n"
    "Prints one line FILE:LINE: what per problem on stderr, or a summary on stdout.\n"
    "\n"
    "Exit status: 0 all rules compile and every example passes, 2 usage, 78 a file does not\n"
    "load or an example fails.\n";

int
cmd_rules(int argc, char **argv)
{
	if (argc < 2) {
		log_warnx("rules: expected a subcommand: check (try 'bounced rules --help')");
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(rules_usage, stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "check") != 0) {
		log_warnx("rules: unknown subcommand '%s' (try 'bounced rules --help')", argv[1]);
		return EXIT_USAGE;
	}
	const char **paths = calloc((size_t)argc, sizeof *paths);
	size_t n = 0;
	bool only_args = false;
	int status = EXIT_OK;
	for (int i = 2; i < argc && status == EXIT_OK; i++) {
		const char *arg = argv[i];
		if (!only_args && strcmp(arg, "--") == 0)
			only_args = true;
		else if (!only_args && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)) {
			fputs(rules_usage, stdout);
			free(paths);
			return EXIT_OK;
		} else if (!only_args && arg[0] == '-' && arg[1] != '\0') {
			log_warnx("rules check: unknown option '%s' (try 'bounced rules --help')", arg);
			status = EXIT_USAGE;
		} else
			paths[n++] = arg;
	}
	if (status == EXIT_OK && n == 0) {
		log_warnx("rules check: expected FILE... (try 'bounced rules --help')");
		status = EXIT_USAGE;
	}
	if (status != EXIT_OK) {
		free(paths);
		return status;
	}
	char *report = NULL;
	size_t problems = rules_check(paths, n, &report);
	fputs(report, problems > 0 ? stderr : stdout);
	free(report);
	free(paths);
	return problems > 0 ? EXIT_CONFIG : EXIT_OK;
}
