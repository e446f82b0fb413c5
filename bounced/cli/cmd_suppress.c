/* bounced suppress list|check|add|remove: the operator's view of the suppression list. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "json.h"
#include "log.h"
#include "options.h"
#include "policy.h"
#include "store_cli.h"
#include "strbuf.h"

static const char suppress_usage[] =
    "usage: bounced suppress list [--type TYPE] [--since DATE] [--json]\n"
    "       bounced suppress check ADDR\n"
    "       bounced suppress add ADDR --reason TEXT\n"
    "       bounced suppress remove ADDR\n"
    "  each also takes [--config FILE] [--db PATH]\n"
    "\n"
    "  list    current suppressions, oldest first: address, type, reason, since, expires\n"
    "          (tab-separated; one JSON object per line with --json)\n"
    "  check   exit 0 and print the reason when ADDR is suppressed, exit 1 when not\n"
    "  add     suppress ADDR by hand (type manual, until removed); audited. A soft\n"
    "          suppression (which would expire) becomes manual; a hard, complaint or manual\n"
    "          one is kept as it is, and the request is still audited\n"
    "  remove  lift the suppression of ADDR, whatever its type, keeping its history;\n"
    "          audited. Only a failure that happened after the lift (by the report's own\n"
    "          date) can suppress ADDR again\n"
    "\n"
    "  ADDR is one address, user@domain (or <user@domain>), as ingest reads them\n"
    "\n"
    "  --type TYPE    hard, soft, complaint or manual\n"
    "  --since DATE   2026-11-01, 2026-11-01T12:00:00Z or 7d (seven days ago), UTC\n"
    "  --json         JSON Lines output\n"
    "  --reason TEXT  why the address is suppressed by hand\n"
    "  --config FILE  read [store] from FILE\n"
    "  --db PATH      the database (default: [store] db, ./var/bounced.db)\n"
    "\n"
    "Exit status: 0 done (check: suppressed; add: also when already suppressed), 1 check: not\n"
    "suppressed, remove: was not suppressed, 2 usage (also ADDR not an address), 75 database\n"
    "busy, 78 configuration or missing database.\n";

static const struct options_cmd suppress_cmd = { "suppress", suppress_usage, false, 0, -1, NULL };

struct list_ctx {
	bool json;
	struct strbuf line;
};

static int
print_one(const struct store_suppression *sup, void *arg)
{
	struct list_ctx *ctx = arg;
	char since[32], expires[32] = "-";
	store_cli_time(sup->since, since, sizeof since);
	if (sup->expires_at != 0)
		store_cli_time(sup->expires_at, expires, sizeof expires);
	strbuf_reset(&ctx->line);
	if (ctx->json) {
		strbuf_putc(&ctx->line, '{');
		json_kv(&ctx->line, "address", sup->address);
		strbuf_putc(&ctx->line, ',');
		json_kv(&ctx->line, "type", suppression_type_name(sup->type));
		strbuf_putc(&ctx->line, ',');
		json_kv(&ctx->line, "reason", sup->reason);
		strbuf_putc(&ctx->line, ',');
		json_kv(&ctx->line, "since", since);
		strbuf_puts(&ctx->line, ",\"expires_at\":");
		if (sup->expires_at != 0)
			json_cstring(&ctx->line, expires);
		else
			strbuf_puts(&ctx->line, "null");
		strbuf_puts(&ctx->line, "}\n");
	} else {
		/* Operator text may hold tabs or newlines: keep one record per line. */
		strbuf_printf(&ctx->line, "%s\t%s\t", sup->address, suppression_type_name(sup->type));
		for (const char *p = sup->reason; *p != '\0'; p++)
			strbuf_putc(&ctx->line, *p == '\t' || *p == '\n' || *p == '\r' ? ' ' : *p);
		strbuf_printf(&ctx->line, "\t%s\t%s\n", since, expires);
	}
	fwrite(ctx->line.s, 1, ctx->line.len, stdout);
	return 0;
}

/* Who ran the command, for the audit table. */
static const char *
actor(void)
{
	const struct passwd *pw = getpwuid(getuid());
	return pw != NULL ? pw->pw_name : "unknown";
}

/* suppress add: what was done, with what was there before. */
static void
print_add(const char *addr, bool added, const struct store_suppression *prev)
{
	char since_s[32], exp_s[32] = "";
	if (prev->type != SUPPRESSION_NONE) {
		store_cli_time(prev->since, since_s, sizeof since_s);
		if (prev->expires_at != 0)
			store_cli_time(prev->expires_at, exp_s, sizeof exp_s);
	}
	if (added && prev->type == SUPPRESSION_NONE)
		printf("%s: suppressed (manual)\n", addr);
	else if (added)
		printf("%s: suppressed (manual), replacing %s since %s until %s\n", addr,
		    suppression_type_name(prev->type), since_s, exp_s);
	else
		printf("%s: already suppressed (%s since %s); request recorded\n", addr,
		    suppression_type_name(prev->type), since_s);
}

/* valid: addr passed store_address_valid (only remove runs without it, see cmd_suppress). */
static int
run(struct store *s, const char *sub, const char *addr, bool valid, enum suppression_type type,
    int64_t since, bool json, const char *reason)
{
	char *error = NULL;
	int rc;
	int status = EXIT_OK;
	if (strcmp(sub, "list") == 0) {
		struct list_ctx ctx = { json, STRBUF_INIT };
		rc = store_list(s, type, since, print_one, &ctx, &error);
		strbuf_free(&ctx.line);
	} else if (strcmp(sub, "check") == 0) {
		bool found;
		struct store_suppression sup = { 0 };
		rc = store_check(s, addr, &found, &sup, &error);
		if (rc == STORE_OK && found) {
			char since_s[32], exp_s[32];
			store_cli_time(sup.since, since_s, sizeof since_s);
			printf("%s: suppressed, type %s, reason %s, since %s", addr,
			    suppression_type_name(sup.type), sup.reason, since_s);
			if (sup.expires_at != 0) {
				store_cli_time(sup.expires_at, exp_s, sizeof exp_s);
				printf(", until %s", exp_s);
			}
			putchar('\n');
		} else if (rc == STORE_OK) {
			printf("%s: not suppressed\n", addr);
			status = EXIT_NO;
		}
		store_suppression_clear(&sup);
	} else if (strcmp(sub, "add") == 0) {
		bool added;
		struct store_suppression prev = { 0 };
		rc = store_suppress_add(s, addr, reason, actor(), &added, &prev, &error);
		if (rc == STORE_OK)
			print_add(addr, added, &prev);
		store_suppression_clear(&prev);
	} else {
		bool removed = false;
		rc = STORE_OK;
		if (!valid) {
			/* Not an address: lifted only when an older bounced, which took such
			 * strings, suppressed it; else the same usage error as add and check. */
			rc = store_check(s, addr, &removed, NULL, &error);
			if (rc == STORE_OK && !removed) {
				log_warnx("suppress remove: '%s' is not an address (user@domain)", addr);
				return EXIT_USAGE;
			}
		}
		if (rc == STORE_OK)
			rc = store_suppress_remove(s, addr, actor(), &removed, &error);
		if (rc == STORE_OK && removed) {
			printf(valid ? "%s: suppression lifted\n" :
			    "%s: suppression lifted (not an address: an older bounced took it)\n", addr);
		} else if (rc == STORE_OK) {
			printf("%s: not suppressed\n", addr);
			status = EXIT_NO;
		}
	}
	if (rc != STORE_OK) {
		log_warnx("suppress %s: %s", sub, error != NULL ? error : "failed");
		free(error);
		return store_cli_exit(rc);
	}
	if (fflush(stdout) != 0) {
		log_warnx("suppress: writing output failed");
		return EXIT_IOERR;
	}
	return status;
}

int
cmd_suppress(int argc, char **argv)
{
	const char *config_path = NULL, *db = NULL, *type = NULL, *since_s = NULL, *reason = NULL;
	bool json = false;
	const struct option_spec specs[] = {
		OPTION_STRING("type", 0, &type), OPTION_STRING("since", 0, &since_s),
		OPTION_FLAG("json", 0, &json), OPTION_STRING("reason", 0, &reason),
		OPTIONS_CONFIG_DB(&config_path, &db), OPTIONS_END,
	};
	int first, st = options_parse(&suppress_cmd, specs, argc, argv, &first);
	if (st >= 0)
		return st;
	static const char *const subs[] = { "list", "check", "add", "remove" };
	const char *sub = first < argc ? argv[first] : "";
	bool known = false;
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
		known |= strcmp(sub, subs[i]) == 0;
	int want_args = strcmp(sub, "list") == 0 ? 0 : 1;
	if (!known || argc - first - 1 != want_args) {
		log_warnx("suppress: expected list, check ADDR, add ADDR --reason TEXT or remove ADDR "
		    "(try 'bounced suppress --help')");
		return EXIT_USAGE;
	}
	const char *addr = want_args ? argv[first + 1] : NULL;
	/* The test ingest makes: what it would never suppress cannot be added or checked. */
	bool valid = addr == NULL || store_address_valid(addr);
	if (!valid && strcmp(sub, "remove") != 0) {
		log_warnx("suppress %s: '%s' is not an address (user@domain)", sub, addr);
		return EXIT_USAGE;
	}
	if ((strcmp(sub, "add") == 0) != (reason != NULL)) {
		log_warnx(reason == NULL ? "suppress add: --reason TEXT is required" :
		    "suppress: --reason goes with add only");
		return EXIT_USAGE;
	}
	if (strcmp(sub, "add") == 0 && reason[0] == '\0') {
		log_warnx("suppress add: --reason must not be empty");
		return EXIT_USAGE;
	}
	if ((type != NULL || since_s != NULL || json) && strcmp(sub, "list") != 0) {
		log_warnx("suppress: --type, --since and --json go with list only");
		return EXIT_USAGE;
	}
	enum suppression_type known_type = SUPPRESSION_NONE;
	if (type != NULL && !suppression_type_from_name(type, &known_type)) {
		log_warnx("suppress list: --type '%s' is not hard, soft, complaint or manual", type);
		return EXIT_USAGE;
	}
	int64_t since = 0;
	if (since_s != NULL && !store_cli_date(since_s, (int64_t)time(NULL), &since)) {
		log_warnx("suppress list: --since '%s' is not a date (2026-11-01, "
		    "2026-11-01T12:00:00Z or 7d)", since_s);
		return EXIT_USAGE;
	}

	struct config cfg;
	int status = store_cli_config(&cfg, config_path, db);
	struct store *s = NULL;
	bool readonly = strcmp(sub, "list") == 0 || strcmp(sub, "check") == 0;
	if (status == EXIT_OK)
		status = store_cli_open(&cfg, readonly ? STORE_OPEN_READONLY : 0, &s);
	if (status == EXIT_OK)
		status = run(s, sub, addr, valid, known_type, since, json, reason);
	store_close(s);
	config_free(&cfg);
	return status;
}
