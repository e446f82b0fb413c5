/* Subcommands of the bounced binary. Each returns the process exit status (see bounced(8)). */
#ifndef BOUNCED_COMMANDS_H
#define BOUNCED_COMMANDS_H

/* Exit codes (sysexits where one fits, so Postfix's pipe(8) retries on 75). */
#define EXIT_OK		0
#define EXIT_NO		1	/* check: not suppressed; parse: some input could not be read */
#define EXIT_USAGE	2	/* bad command line */
#define EXIT_DATAERR	65
#define EXIT_NOINPUT	66
#define EXIT_SOFTWARE	70
#define EXIT_CANTCREAT	73	/* a file this user may not write, a directory in the way */
#define EXIT_IOERR	74
#define EXIT_TEMPFAIL	75	/* try again later: database busy, server unreachable */
#define EXIT_CONFIG	78	/* bad configuration */

int cmd_parse(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_fetch(int argc, char **argv);
int cmd_suppress(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_db(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_verp(int argc, char **argv);
int cmd_rules(int argc, char **argv);

#endif
