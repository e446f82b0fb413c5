/* bounced ingest [--envelope-recipient ADDR] PATH...|-: parses messages and records them, one
 * durable transaction per message. Usable as a Postfix pipe(8) transport: the exit status
 * follows sysexits, so Postfix keeps the mail and retries on 75. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounce.h"
#include "commands.h"
#include "input.h"
#include "limits.h"
#include "log.h"
#include "options.h"
#include "setup.h"
#include "store_cli.h"

/* Largest --batch: a bigger batch only holds the write lock longer for no measurable gain. */
#define INGEST_BATCH_MAX	10000

static const char ingest_usage[] =
    "usage: bounced ingest [--config FILE] [--db PATH] [--envelope-recipient ADDR]\n"
    "                      [--envelope-sender ADDR] [--queue-id ID] [--batch N] [--quiet]\n"
    "                      PATH...|-\n"
    "\n"
    "Parses each message and records it, its recipient events and the suppressions they\n"
    "cause, one durable transaction per message. A PATH is a message file, a directory of\n"
    "message files (Maildir cur/ and new/ included), an mbox file, or - for standard input.\n"
    "A message taken in twice (same content, or same Message-ID and recipients) counts once.\n"
    "\n"
    "  --envelope-recipient ADDR  the address the message was delivered to (VERP)\n"
    "  --envelope-sender ADDR     the envelope sender, recorded with the message\n"
    "  --queue-id ID              the MTA's queue id, recorded with the message\n"
    "  --batch N                  commit every N messages instead of each one (bulk imports;\n"
    "                             at most 10000; a failure loses nothing: re-run the import)\n"
    "  --quiet                    no summary line\n"
    "  --config FILE              the configuration (default " CONFIG_DEFAULT_FILE ")\n"
    "  --db PATH                  the database (default: [store] db, " CONFIG_DEFAULT_DB ")\n"
    "\n"
    "Postfix master.cf:  bounced unix - n n - - pipe flags=Rq user=bounced\n"
    "  argv=/usr/sbin/bounced ingest --config /etc/bounced/bounced.conf\n"
    "  --envelope-recipient ${recipient} -\n"
    "and in main.cf  bounced_destination_recipient_limit = 1  (one recipient per delivery)\n"
    "\n"
    "Exit status: 0 all recorded, 2 usage, 66 an input (or an entry of a directory) could not\n"
    "be read (the others were recorded), 70 internal error, 73 the database, its -wal, -shm\n"
    "or directory not writable by this user (the message names the file, its owner and the\n"
    "user), or a directory where the database should be, 75 database busy or disk trouble\n"
    "(try again: nothing half-written stays), 78 bad configuration or missing database.\n"
    "Reading standard input (-), every failure exits 75 after saying what is wrong, so an\n"
    "MTA keeps the message and retries instead of bouncing it.\n";

static const struct options_cmd ingest_cmd = {
	"ingest", ingest_usage, false, 1, -1, "no PATH given"
};

/* Counts of what was recorded. */
struct ingest_counts {
	size_t messages, duplicates, events, suppressed;
};

struct ingest_ctx {
	struct store *store;
	const struct bounce_options *opt;
	const char *envelope_sender;
	const char *queue_id;
	size_t batch;			/* messages per transaction */
	size_t in_batch;		/* messages in the open transaction */
	struct ingest_counts done;	/* committed */
	struct ingest_counts pending;	/* in the open transaction */
	int store_rc;
	char *error;
};

static void
count(struct ingest_counts *c, const struct store_add_result *res)
{
	c->messages++;
	c->duplicates += res->duplicate;
	c->events += res->events;
	c->suppressed += res->suppressed;
}

/* Commits the open batch; its counts become committed ones. */
static int
batch_commit(struct ingest_ctx *ctx)
{
	int rc = store_commit(ctx->store, &ctx->error);
	if (rc == STORE_OK) {
		ctx->done.messages += ctx->pending.messages;
		ctx->done.duplicates += ctx->pending.duplicates;
		ctx->done.events += ctx->pending.events;
		ctx->done.suppressed += ctx->pending.suppressed;
	}
	memset(&ctx->pending, 0, sizeof ctx->pending);
	ctx->in_batch = 0;
	return rc;
}

static int
ingest_one(const char *source, const char *data, size_t len, void *arg)
{
	struct ingest_ctx *ctx = arg;
	struct store_msg m = {
		.data = data,
		.len = len,
		.source = source,
		.envelope_rcpt = ctx->opt->envelope_recipient,
		.envelope_sender = ctx->envelope_sender,
		.queue_id = ctx->queue_id,
		/* input_each cuts larger messages at the limit. */
		.truncated = len >= LIMIT_MESSAGE_BYTES,
	};
	struct store_add_result res;
	int rc;
	/* Parse outside the transaction when it is not open yet: the write lock is held only for
	 * the SQL. */
	struct bounce_report *rep = bounce_parse(data, len, ctx->opt);
	/* A rule that hit the regex limit counted as no match: the message is kept and flagged,
	 * and the operator is told which one (a hostile bounce, or a rule to bound better). */
	if (rep->flags & BOUNCE_F_REGEX_LIMIT)
		log_warnx("ingest: %s%s%s: a rule hit the regex limit (counted as no match; flag "
		    "regex_limit)", source, ctx->queue_id != NULL ? " queue_id=" : "",
		    ctx->queue_id != NULL ? ctx->queue_id : "");
	if (ctx->batch <= 1) {
		rc = store_begin(ctx->store, &ctx->error);
		if (rc == STORE_OK)
			rc = store_end(ctx->store, store_add(ctx->store, &m, rep, &res, &ctx->error),
			    &ctx->error);
		bounce_report_free(rep);
		if (rc == STORE_OK)
			count(&ctx->done, &res);
	} else {
		rc = ctx->in_batch == 0 ? store_begin(ctx->store, &ctx->error) : STORE_OK;
		if (rc == STORE_OK)
			rc = store_add(ctx->store, &m, rep, &res, &ctx->error);
		bounce_report_free(rep);
		if (rc == STORE_OK) {
			ctx->in_batch++;
			count(&ctx->pending, &res);
			if (ctx->in_batch == ctx->batch)
				rc = batch_commit(ctx);
		} else {
			store_rollback(ctx->store);
			memset(&ctx->pending, 0, sizeof ctx->pending);
			ctx->in_batch = 0;
		}
	}
	if (rc != STORE_OK) {
		ctx->store_rc = rc;
		return 1;	/* stop: what was not committed is taken again on the next run */
	}
	return 0;
}

static int
ingest_run(int argc, char **argv)
{
	const char *config_path = NULL, *db = NULL, *envelope = NULL;
	struct ingest_ctx ctx = { 0 };
	bool quiet = false;
	unsigned long batch = 0;
	const struct option_spec specs[] = {
		OPTION_STRING("envelope-recipient", 0, &envelope),
		OPTION_STRING("envelope-sender", 0, &ctx.envelope_sender),
		OPTION_STRING("queue-id", 0, &ctx.queue_id), OPTION_FLAG("quiet", 'q', &quiet),
		OPTION_NUMBER("batch", 0, &batch, 1, INGEST_BATCH_MAX),
		OPTIONS_CONFIG_DB(&config_path, &db), OPTIONS_END,
	};
	int first, st = options_parse(&ingest_cmd, specs, argc, argv, &first);
	if (st >= 0)
		return st;
	ctx.batch = batch;

	struct config cfg;
	struct parse_setup setup;
	memset(&setup, 0, sizeof setup);
	char *error = NULL;
	int status = store_cli_config(&cfg, config_path, db);
	if (status == EXIT_OK && setup_load(&setup, &cfg, &error) < 0) {
		log_warnx("%s", error != NULL ? error : "configuration error");
		free(error);
		status = EXIT_CONFIG;
	}
	if (status == EXIT_OK)
		status = store_cli_open(&cfg, 0, &ctx.store);
	if (status != EXIT_OK) {
		setup_free(&setup);
		config_free(&cfg);
		return status;
	}
	setup.opt.envelope_recipient = envelope;
	ctx.opt = &setup.opt;
	for (int i = first; i < argc && ctx.store_rc == STORE_OK; i++) {
		int rc = input_each(argv[i], ingest_one, &ctx, &error);
		if (rc < 0) {
			log_lines("ingest", error);
			free(error);
			error = NULL;
			status = EXIT_NOINPUT;
		}
	}
	if (ctx.store_rc == STORE_OK && ctx.in_batch > 0)
		ctx.store_rc = batch_commit(&ctx);
	if (ctx.store_rc != STORE_OK) {
		log_warnx("ingest: %s", ctx.error != NULL ? ctx.error : "database error");
		status = store_cli_exit(ctx.store_rc);
	}
	if (!quiet)
		printf("ingested %zu messages: %zu duplicates, %zu events, %zu newly suppressed\n",
		    ctx.done.messages, ctx.done.duplicates, ctx.done.events, ctx.done.suppressed);
	free(ctx.error);
	store_close(ctx.store);
	setup_free(&setup);
	config_free(&cfg);
	return status;
}

/* Reading a message from standard input is how Postfix's pipe(8) hands it over, and Postfix
 * bounces on any exit status but 75 (and 71): a broken setup (missing or unwritable database,
 * bad config, a typo in master.cf) must defer the message, never return it to a stranger. */
int
cmd_ingest(int argc, char **argv)
{
	bool from_stdin = false;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-") == 0)
			from_stdin = true;
	int status = ingest_run(argc, argv);
	if (from_stdin && status != EXIT_OK && status != EXIT_TEMPFAIL) {
		log_warnx("ingest: exit %d would make the MTA bounce the message: exiting 75 so it is "
		    "kept and retried", status);
		status = EXIT_TEMPFAIL;
	}
	return status;
}
