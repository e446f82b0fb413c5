/* Command-line options from a table (see options.h). */
#include "options.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "log.h"

/* The value of a long option whose getopt_long code is OPTIONS_CODE + its index in the table:
 * above every character, so short names keep their own codes. */
#define OPTIONS_CODE	256

/* Applies option spec with argument arg. Returns -1, or EXIT_USAGE after saying why not. */
static int
take(const char *cmd, const struct option_spec *spec, const char *arg)
{
	switch (spec->kind) {
	case OPT_FLAG:
		*(bool *)spec->value = true;
		return -1;
	case OPT_STRING:
		*(const char **)spec->value = arg;
		return -1;
	case OPT_NUMBER: {
		char *end;
		unsigned long n = strtoul(arg, &end, 10);
		if (*arg == '\0' || *end != '\0' || arg[0] == '-' || n < spec->min || n > spec->max) {
			log_warnx("%s: --%s '%s' is not a number from %lu to %lu", cmd, spec->name, arg,
			    spec->min, spec->max);
			return EXIT_USAGE;
		}
		*(unsigned long *)spec->value = n;
		return -1;
	}
	case OPT_LIST:
		if (*spec->count >= spec->max) {
			log_warnx("%s: at most %lu --%s", cmd, spec->max, spec->name);
			return EXIT_USAGE;
		}
		((const char **)spec->value)[(*spec->count)++] = arg;
		return -1;
	}
	return -1;
}

/* Checks that argv[first..] holds from cmd->args_min to cmd->args_max arguments. */
static int
check_args(const struct options_cmd *cmd, int argc, char **argv, int first)
{
	int n = argc - first;
	if (n < cmd->args_min) {
		log_warnx("%s: %s (try 'bounced %s --help')", cmd->name, cmd->args_missing,
		    cmd->name);
		return EXIT_USAGE;
	}
	if (cmd->args_max >= 0 && n > cmd->args_max) {
		log_warnx("%s: unexpected argument '%s' (try 'bounced %s --help')", cmd->name,
		    argv[first + cmd->args_max], cmd->name);
		return EXIT_USAGE;
	}
	return -1;
}

int
options_parse(const struct options_cmd *cmd, const struct option_spec *specs, int argc,
    char **argv, int *first_arg_r)
{
	struct option longopts[OPTIONS_MAX + 2];
	char shortopts[2 + 2 * OPTIONS_MAX + 2];
	size_t n = 0, ns = 0;
	if (cmd->in_order)
		shortopts[ns++] = '+';
	for (; specs[n].name != NULL; n++) {
		ASSERT(n < OPTIONS_MAX);
		const struct option_spec *sp = &specs[n];
		int code = sp->short_name != 0 ? sp->short_name : OPTIONS_CODE + (int)n;
		longopts[n] = (struct option){ sp->name,
		    sp->kind == OPT_FLAG ? no_argument : required_argument, NULL, code };
		if (sp->short_name != 0) {
			shortopts[ns++] = sp->short_name;
			if (sp->kind != OPT_FLAG)
				shortopts[ns++] = ':';
		}
	}
	longopts[n] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[n + 1] = (struct option){ NULL, 0, NULL, 0 };
	shortopts[ns++] = 'h';
	shortopts[ns] = '\0';
	opterr = 0;
	optind = 1;
	int ch;
	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (ch == 'h') {
			fputs(cmd->usage, stdout);
			return EXIT_OK;
		}
		const struct option_spec *sp = NULL;
		for (size_t i = 0; i < n && sp == NULL; i++)
			if (ch == (specs[i].short_name != 0 ? specs[i].short_name : OPTIONS_CODE + (int)i))
				sp = &specs[i];
		if (sp == NULL) {
			log_warnx("%s: unknown or incomplete option '%s' (try 'bounced %s --help')",
			    cmd->name, argv[optind - 1], cmd->name);
			return EXIT_USAGE;
		}
		int st = take(cmd->name, sp, optarg);
		if (st >= 0)
			return st;
	}
	*first_arg_r = optind;
	return check_args(cmd, argc, argv, optind);
}
