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
    "usage: bounced suppress list [--type TYPE] [--since DATE] [--json | --csv]\n"
    "       bounced suppress check ADDR\n"
    "       bounced suppress add ADDR...|- --reason TEXT\n"
    "       bounced suppress remove ADDR...|- [--reason TEXT]\n"
    "       bounced suppress import FILE.csv|-\n"
    "  each also takes [--config FILE] [--db PATH]\n"
    "\n"
    "  list    current suppressions, oldest first: address, type, reason, since, expires\n"
    "          (tab-separated; one JSON object per line with --json; CSV with a header row\n"
    "          with --csv: address,type,reason,since,expires_at, as import reads it)\n"
    "  check   exit 0 and print the reason when ADDR is suppressed, exit 1 when not\n"
    "  add     suppress each ADDR by hand (type manual, until removed); audited. A soft\n"
    "          suppression (which would expire) becomes manual; a hard, complaint or manual\n"
    "          one is kept as it is, and the request is still audited\n"
    "  remove  lift the suppression of each ADDR, whatever its type, keeping its history;\n"
    "          audited (with --reason when given). Only a failure that happened after the\n"
    "          lift (by the report's own date) can suppress ADDR again\n"
    "  import  read suppressions exported by list --csv (from this or another system) and\n"
    "          add those not in force here with their type, reason and dates; a soft one in\n"
    "          force gives way to a permanent one; expired rows are skipped. The whole file\n"
    "          is checked first and written in one transaction; audited\n"
    "\n"
    "  ADDR is an address, user@domain (or <user@domain>), as ingest reads them; - reads\n"
    "  them from standard input, one a line (blank lines and lines starting with # skipped)\n"
    "\n"
    "  --type TYPE    hard, soft, complaint or manual\n"
    "  --since DATE   2026-11-01, 2026-11-01T12:00:00Z or 7d (seven days ago), UTC\n"
    "  --json         JSON Lines output\n"
    "  --csv          CSV output with a header row\n"
    "  --reason TEXT  why (required for add)\n"
    "  --config FILE  read [store] from FILE (default " CONFIG_DEFAULT_FILE ")\n"
    "  --db PATH      the database (default: [store] db, " CONFIG_DEFAULT_DB ")\n"
    "\n"
    "Exit status: 0 done (check: suppressed; add: also when already suppressed), 1 check: not\n"
    "suppressed, remove: one of the addresses was not suppressed, 2 usage (also an ADDR that\n"
    "is not an address), 65 import or -: a line that is not an address or a CSV row (each\n"
    "is named FILE:LINE; nothing is written), 66 the import file cannot be read, 73 add,\n"
    "remove, import: this user may not write the database (the message names the file, its\n"
    "owner and the user), 75 database busy (try again), 78 configuration or missing database.\n";

static const struct options_cmd suppress_cmd = { "suppress", suppress_usage, false, 0, -1, NULL };

struct list_ctx {
	bool json, csv;
	struct strbuf line;
};

/* One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line end. */
static void
csv_field(struct strbuf *b, const char *v)
{
	if (strpbrk(v, ",\"\r\n") == NULL) {
		strbuf_puts(b, v);
		return;
	}
	strbuf_putc(b, '"');
	for (; *v != '\0'; v++) {
		if (*v == '"')
			strbuf_putc(b, '"');
		strbuf_putc(b, *v);
	}
	strbuf_putc(b, '"');
}

static int
print_one(const struct store_suppression *sup, void *arg)
{
	struct list_ctx *ctx = arg;
	char since[32], expires[32] = "-";
	store_cli_time(sup->since, since, sizeof since);
	if (sup->expires_at != 0)
		store_cli_time(sup->expires_at, expires, sizeof expires);
	strbuf_reset(&ctx->line);
	if (ctx->csv) {
		csv_field(&ctx->line, sup->address);
		strbuf_printf(&ctx->line, ",%s,", suppression_type_name(sup->type));
		csv_field(&ctx->line, sup->reason);
		strbuf_printf(&ctx->line, ",%s,%s\r\n", since, sup->expires_at != 0 ? expires : "");
	} else if (ctx->json) {
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

/* Largest standard input or import file read: a million addresses fit many times over. */
#define SUPPRESS_INPUT_MAX	(256u * 1024 * 1024)
/* The CSV columns of list --csv and import, in order. */
#define SUPPRESS_CSV_HEADER	"address,type,reason,since,expires_at"

/* Reads path ("-": standard input) whole into *b. Returns 0, or -1 after saying why. */
static int
read_all(const char *path, struct strbuf *b)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (f == NULL) {
		log_warn("suppress: %s", path);
		return -1;
	}
	char buf[65536];
	size_t n;
	int ret = 0;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
		if (b->len + n > SUPPRESS_INPUT_MAX) {
			log_warnx("suppress: %s: larger than 256 MiB", path);
			ret = -1;
			break;
		}
		strbuf_append(b, buf, n);
	}
	if (ret == 0 && ferror(f)) {
		log_warn("suppress: %s", path);
		ret = -1;
	}
	if (f != stdin)
		fclose(f);
	return ret;
}

/* The addresses of the command: the arguments, or the lines of standard input for "-". Each
 * must be an address (remove excepted: see run_remove). Returns EXIT_OK with *list_r (strings
 * owned by *store_r), or an exit status after naming each bad one. */
static int
addresses(const char *sub, char **args, int nargs, bool any, char ***list_r, size_t *n_r,
    struct strbuf *store_r)
{
	bool from_stdin = nargs == 1 && strcmp(args[0], "-") == 0;
	size_t n = 0;
	char **list = NULL;
	int bad = 0;
	if (!from_stdin) {
		list = xcalloc((size_t)nargs + 1, sizeof *list);
		for (int i = 0; i < nargs; i++) {
			if (!any && !store_address_valid(args[i])) {
				log_warnx("suppress %s: '%s' is not an address (user@domain)", sub,
				    args[i]);
				bad++;
			}
			list[n++] = args[i];
		}
		*list_r = list;
		*n_r = n;
		return bad > 0 ? EXIT_USAGE : EXIT_OK;
	}
	if (read_all("-", store_r) != 0)
		return EXIT_NOINPUT;
	size_t cap = 0, line = 0;
	char *p = store_r->s != NULL ? store_r->s : (char *)"";
	while (*p != '\0') {
		char *nl = strchr(p, '\n');
		if (nl != NULL)
			*nl = '\0';
		line++;
		while (*p == ' ' || *p == '\t')
			p++;
		char *end = p + strlen(p);
		while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			*--end = '\0';
		if (*p != '\0' && *p != '#') {
			if (!store_address_valid(p)) {
				log_warnx("suppress %s: -:%zu: '%s' is not an address (user@domain)",
				    sub, line, p);
				bad++;
			}
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				list = xrealloc(list, cap * sizeof *list);
			}
			list[n++] = p;
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	*list_r = list;
	*n_r = n;
	return bad > 0 ? EXIT_DATAERR : EXIT_OK;
}

static int
run_check(struct store *s, const char *addr, char **error)
{
	bool found;
	struct store_suppression sup = { 0 };
	int rc = store_check(s, addr, &found, &sup, error);
	int status = EXIT_OK;
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
	return rc != STORE_OK ? -rc : status;
}

/* remove of one address; valid: addr passed store_address_valid. Returns the exit status, or a
 * negated STORE_* error. */
static int
run_remove(struct store *s, const char *addr, const char *reason, char **error)
{
	bool valid = store_address_valid(addr);
	bool removed = false;
	int rc = STORE_OK;
	if (!valid) {
		/* Not an address: lifted only when an older bounced, which took such strings,
		 * suppressed it; else the same usage error as add and check. */
		rc = store_check(s, addr, &removed, NULL, error);
		if (rc == STORE_OK && !removed) {
			log_warnx("suppress remove: '%s' is not an address (user@domain)", addr);
			return EXIT_USAGE;
		}
	}
	if (rc == STORE_OK)
		rc = store_suppress_remove(s, addr, reason, actor(), &removed, error);
	if (rc != STORE_OK)
		return -rc;
	if (removed) {
		printf(valid ? "%s: suppression lifted\n" :
		    "%s: suppression lifted (not an address: an older bounced took it)\n", addr);
		return EXIT_OK;
	}
	printf("%s: not suppressed\n", addr);
	return EXIT_NO;
}

/* One CSV record of text starting at *p (RFC 4180: quoted fields may hold commas, quotes and
 * line ends); *p moves past it and *line counts the lines it spans. Fields are written over
 * the text, NUL-terminated, into f[0..max-1]; returns the number of fields, or -1 on a quote
 * that does not close. */
static int
csv_record(char **p, size_t *line, char **f, int max)
{
	char *r = *p, *w = *p;
	int n = 0;
	for (;;) {
		char *start = w;
		if (*r == '"') {
			r++;
			for (;;) {
				if (*r == '\0')
					return -1;
				if (*r == '"' && r[1] == '"') {
					*w++ = '"';
					r += 2;
				} else if (*r == '"') {
					r++;
					break;
				} else {
					if (*r == '\n')
						(*line)++;
					*w++ = *r++;
				}
			}
		}
		while (*r != '\0' && *r != ',' && *r != '\n' && *r != '\r')
			*w++ = *r++;
		char sep = *r;
		if (n < max)
			f[n] = start;
		n++;
		if (sep == '\r')
			r++;
		if (*r != '\0')
			r++;
		*w = '\0';
		w = r;
		if (sep != ',') {
			(*line)++;
			break;
		}
	}
	*p = r;
	return n;
}

/* Parses a date of the CSV (as list --csv prints it, or any form --since takes). */
static bool
csv_date(const char *v, int64_t *t_r)
{
	return store_cli_date(v, (int64_t)time(NULL), t_r);
}

static int
run_import(struct store *s, const char *path)
{
	struct strbuf text = STRBUF_INIT;
	if (read_all(path, &text) != 0) {
		strbuf_free(&text);
		return EXIT_NOINPUT;
	}
	char *p = text.s != NULL ? text.s : (char *)"";
	if ((unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbb && (unsigned char)p[2] == 0xbf)
		p += 3;	/* a UTF-8 byte order mark, as spreadsheets write */
	size_t line = 1, nrows = 0, cap = 0, bad = 0;
	struct store_suppression *rows = NULL;
	char *f[5];
	int64_t now = (int64_t)time(NULL);
	size_t at = line;
	int nf = csv_record(&p, &line, f, 5);
	if (nf != 5 || strcmp(f[0], "address") != 0 || strcmp(f[1], "type") != 0 ||
	    strcmp(f[2], "reason") != 0 || strcmp(f[3], "since") != 0 ||
	    strcmp(f[4], "expires_at") != 0) {
		log_warnx("suppress import: %s:1: the first line must be the header "
		    SUPPRESS_CSV_HEADER, path);
		strbuf_free(&text);
		return EXIT_DATAERR;
	}
	size_t skipped = 0;
	while (*p != '\0') {
		at = line;
		nf = csv_record(&p, &line, f, 5);
		if (nf == 1 && f[0][0] == '\0')
			continue;	/* an empty line */
		struct store_suppression sup = { 0 };
		const char *why = NULL;
		if (nf < 0)
			why = "a quoted field is not closed";
		else if (nf != 5)
			why = "expected 5 fields: " SUPPRESS_CSV_HEADER;
		else if (!store_address_valid(f[0]))
			why = "the address is not one (user@domain)";
		else if (!suppression_type_from_name(f[1], &sup.type))
			why = "the type is not hard, soft, complaint or manual";
		else if (f[2][0] == '\0')
			why = "the reason is empty";
		else if (!csv_date(f[3], &sup.since))
			why = "since is not a date (2026-11-22T10:00:00Z)";
		else if (f[4][0] != '\0' && !csv_date(f[4], &sup.expires_at))
			why = "expires_at is not a date or empty";
		else if (sup.type == SUPPRESSION_SOFT && sup.expires_at == 0)
			why = "a soft suppression needs expires_at";
		if (why != NULL) {
			log_warnx("suppress import: %s:%zu: %s", path, at, why);
			if (++bad >= 20) {
				log_warnx("suppress import: %s: stopping after 20 errors", path);
				break;
			}
			if (nf < 0)
				break;
			continue;
		}
		if (sup.expires_at != 0 && sup.expires_at <= now) {
			skipped++;
			continue;
		}
		if (nrows == cap) {
			cap = cap ? 2 * cap : 256;
			rows = xrealloc(rows, cap * sizeof *rows);
		}
		sup.address = f[0];
		sup.reason = f[2];
		rows[nrows++] = sup;
	}
	if (bad > 0) {
		log_warnx("suppress import: %s: nothing imported", path);
		free(rows);
		strbuf_free(&text);
		return EXIT_DATAERR;
	}
	char *error = NULL;
	size_t added = 0;
	const char *who = actor();
	int rc = store_begin(s, &error);
	for (size_t i = 0; rc == STORE_OK && i < nrows; i++) {
		bool put;
		rc = store_suppress_import(s, &rows[i], who, &put, &error);
		added += put;
	}
	rc = store_end(s, rc, &error);
	free(rows);
	strbuf_free(&text);
	if (rc != STORE_OK) {
		log_warnx("suppress import: %s", error != NULL ? error : "failed");
		free(error);
		return store_cli_exit(rc);
	}
	printf("%s: %zu suppressions read, %zu added, %zu already in force, %zu expired (skipped)\n",
	    path, nrows + skipped, added, nrows - added, skipped);
	return EXIT_OK;
}

int
cmd_suppress(int argc, char **argv)
{
	const char *config_path = NULL, *db = NULL, *type = NULL, *since_s = NULL, *reason = NULL;
	bool json = false, csv = false;
	const struct option_spec specs[] = {
		OPTION_STRING("type", 0, &type), OPTION_STRING("since", 0, &since_s),
		OPTION_FLAG("json", 0, &json), OPTION_FLAG("csv", 0, &csv),
		OPTION_STRING("reason", 0, &reason),
		OPTIONS_CONFIG_DB(&config_path, &db), OPTIONS_END,
	};
	int first, st = options_parse(&suppress_cmd, specs, argc, argv, &first);
	if (st >= 0)
		return st;
	const char *sub = first < argc ? argv[first] : "";
	int nargs = argc - first - 1;
	bool list = strcmp(sub, "list") == 0, check = strcmp(sub, "check") == 0,
	    add = strcmp(sub, "add") == 0, rem = strcmp(sub, "remove") == 0,
	    import = strcmp(sub, "import") == 0;
	if (!(list && nargs == 0) && !(check && nargs == 1) && !((add || rem) && nargs >= 1) &&
	    !(import && nargs == 1)) {
		log_warnx("suppress: expected list, check ADDR, add ADDR... --reason TEXT, remove "
		    "ADDR... or import FILE (try 'bounced suppress --help')");
		return EXIT_USAGE;
	}
	if (add && reason == NULL) {
		log_warnx("suppress add: --reason TEXT is required");
		return EXIT_USAGE;
	}
	if (reason != NULL && !add && !rem) {
		log_warnx("suppress: --reason goes with add and remove only");
		return EXIT_USAGE;
	}
	if (reason != NULL && reason[0] == '\0') {
		log_warnx("suppress %s: --reason must not be empty", sub);
		return EXIT_USAGE;
	}
	if ((type != NULL || since_s != NULL || json || csv) && !list) {
		log_warnx("suppress: --type, --since, --json and --csv go with list only");
		return EXIT_USAGE;
	}
	if (json && csv) {
		log_warnx("suppress list: --json or --csv, not both");
		return EXIT_USAGE;
	}
	if (nargs > 1 && !add && !rem) {
		log_warnx("suppress %s: one argument only", sub);
		return EXIT_USAGE;
	}
	for (int i = first + 1; i < argc && nargs > 1; i++)
		if (strcmp(argv[i], "-") == 0) {
			log_warnx("suppress %s: - (standard input) goes alone", sub);
			return EXIT_USAGE;
		}
	/* The test ingest makes: what it would never suppress cannot be added or checked. */
	if (check && !store_address_valid(argv[first + 1])) {
		log_warnx("suppress check: '%s' is not an address (user@domain)", argv[first + 1]);
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
	char **addrs = NULL;
	size_t naddrs = 0;
	struct strbuf input = STRBUF_INIT;
	int status = EXIT_OK;
	if (add || rem)
		status = addresses(sub, argv + first + 1, nargs, rem, &addrs, &naddrs, &input);
	if (status != EXIT_OK) {
		free(addrs);
		strbuf_free(&input);
		return status;
	}

	struct config cfg;
	status = store_cli_config(&cfg, config_path, db);
	struct store *s = NULL;
	if (status == EXIT_OK)
		status = store_cli_open(&cfg, list || check ? STORE_OPEN_READONLY : 0, &s);
	char *error = NULL;
	int rc = STORE_OK;
	if (status == EXIT_OK && list) {
		struct list_ctx ctx = { json, csv, STRBUF_INIT };
		if (csv)
			fputs(SUPPRESS_CSV_HEADER "\r\n", stdout);
		rc = store_list(s, known_type, since, print_one, &ctx, &error);
		strbuf_free(&ctx.line);
	} else if (status == EXIT_OK && check) {
		int r = run_check(s, argv[first + 1], &error);
		if (r < 0)
			rc = -r;
		else
			status = r;
	} else if (status == EXIT_OK && add) {
		for (size_t i = 0; rc == STORE_OK && i < naddrs; i++) {
			bool added;
			struct store_suppression prev = { 0 };
			rc = store_suppress_add(s, addrs[i], reason, actor(), &added, &prev, &error);
			if (rc == STORE_OK)
				print_add(addrs[i], added, &prev);
			store_suppression_clear(&prev);
		}
	} else if (status == EXIT_OK && rem) {
		for (size_t i = 0; rc == STORE_OK && i < naddrs; i++) {
			int r = run_remove(s, addrs[i], reason, &error);
			if (r < 0)
				rc = -r;
			else if (r != EXIT_OK && (status == EXIT_OK || r == EXIT_USAGE))
				status = r;
		}
	} else if (status == EXIT_OK && import) {
		status = run_import(s, argv[first + 1]);
	}
	if (rc != STORE_OK) {
		log_warnx("suppress %s: %s", sub, error != NULL ? error : "failed");
		free(error);
		status = store_cli_exit(rc);
	} else if (fflush(stdout) != 0) {
		log_warnx("suppress: writing output failed");
		status = EXIT_IOERR;
	}
	free(addrs);
	strbuf_free(&input);
	store_close(s);
	config_free(&cfg);
	return status;
}
