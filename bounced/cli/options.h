/* The command line of each `bounced COMMAND`: options described by a table, read with
 * getopt_long, with one wording for every command's mistakes ("CMD: unknown or incomplete option
 * '--x' (try 'bounced CMD --help')"), and --help (-h) printing the command's usage. */
#ifndef BOUNCED_OPTIONS_H
#define BOUNCED_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

/* Options of one command at most. */
#define OPTIONS_MAX	16

enum option_kind {
	OPT_FLAG,	/* value: bool *, set true */
	OPT_STRING,	/* value: const char **, the argument (points into argv) */
	OPT_NUMBER,	/* value: unsigned long *, a decimal from min to max */
	OPT_LIST,	/* value: const char ** array of max entries, count: size_t * */
};

struct option_spec {
	const char *name;	/* the long name without "--"; NULL ends the table */
	char short_name;	/* 0: none */
	enum option_kind kind;
	void *value;
	unsigned long min, max;	/* OPT_NUMBER: the range; OPT_LIST: max is the capacity */
	size_t *count;		/* OPT_LIST */
};

/* Table rows. */
#define OPTION_FLAG(n, c, p)	{ .name = (n), .short_name = (c), .kind = OPT_FLAG, .value = (p) }
#define OPTION_STRING(n, c, p)	{ .name = (n), .short_name = (c), .kind = OPT_STRING, .value = (p) }
#define OPTION_NUMBER(n, c, p, lo, hi) \
	{ .name = (n), .short_name = (c), .kind = OPT_NUMBER, .value = (p), .min = (lo), .max = (hi) }
#define OPTION_LIST(n, c, array, cap, countp) \
	{ .name = (n), .short_name = (c), .kind = OPT_LIST, .value = (array), .max = (cap), \
	  .count = (countp) }
#define OPTIONS_END		{ .name = NULL }
/* --config FILE and --db PATH, which most commands take. */
#define OPTIONS_CONFIG_DB(cfg, db) \
	OPTION_STRING("config", 0, (cfg)), OPTION_STRING("db", 0, (db))

/* A command: its name, usage text and what it takes besides options. */
struct options_cmd {
	const char *name;	/* "ingest" */
	const char *usage;	/* printed for --help */
	bool in_order;		/* options end at the first other argument (a PATH, a subcommand's) */
	int args_min, args_max;	/* other arguments; args_max -1: any number */
	const char *args_missing;	/* said when fewer than args_min: "no PATH given" */
};

/* Reads the options of `bounced cmd->name` from argv[1..argc-1] (argv[0] is the command's name)
 * into the values named by specs, and checks the number of other arguments. Returns -1 with
 * *first_arg_r the index of the first other argument when the command goes on; else the exit
 * status to return: EXIT_OK after printing usage for --help (-h), EXIT_USAGE after saying what
 * is wrong ("CMD: unknown or incomplete option '--x' (try 'bounced CMD --help')", "CMD:
 * unexpected argument 'X' ...", a number out of range, a list too long). */
int options_parse(const struct options_cmd *cmd, const struct option_spec *specs, int argc,
    char **argv, int *first_arg_r);

#endif
