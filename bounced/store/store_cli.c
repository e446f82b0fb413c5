/* Shared by the store's commands: configuration, opening, exit statuses, dates. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "log.h"
#include "setup.h"
#include "store_access.h"
#include "store_cli.h"
#include "strbuf.h"

int
store_cli_exit(int store_rc)
{
	switch (store_rc) {
	case STORE_OK:
		return EXIT_OK;
	case STORE_ERR_BUSY:
	case STORE_ERR_IO:
		return EXIT_TEMPFAIL;
	case STORE_ERR_SCHEMA:
	case STORE_ERR_MISSING:
		return EXIT_CONFIG;
	case STORE_ERR_PERM:
		return EXIT_CANTCREAT;
	default:
		return EXIT_SOFTWARE;
	}
}

int
store_cli_config(struct config *cfg, const char *config_path, const char *db)
{
	char *error = NULL;
	if (setup_config(cfg, config_path, &error) < 0) {
		log_warnx("%s", error != NULL ? error : "configuration error");
		free(error);
		return EXIT_CONFIG;
	}
	if (db != NULL) {
		free(cfg->db_path);
		cfg->db_path = xstrdup(db);
	}
	return EXIT_OK;
}

int
store_cli_access(const char *db_path, bool create)
{
	struct store_user u;
	store_user_self(&u);
	char *error = NULL;
	if (store_access_check(db_path, &u, create, &error) != 0) {
		log_warnx("%s", error);
		free(error);
		return EXIT_CANTCREAT;
	}
	return EXIT_OK;
}

int
store_cli_open(const struct config *cfg, int flags, struct store **s_r)
{
	char *error = NULL;
	if (!(flags & STORE_OPEN_READONLY) &&
	    store_cli_access(cfg->db_path, (flags & STORE_OPEN_CREATE) != 0) != EXIT_OK)
		return EXIT_CANTCREAT;
	int rc = store_open(cfg->db_path, cfg, flags, s_r, &error);
	if (rc != STORE_OK) {
		log_warnx("%s", error != NULL ? error : "cannot open the database");
		free(error);
		return store_cli_exit(rc);
	}
	return EXIT_OK;
}

bool
store_cli_date(const char *text, int64_t now, int64_t *t_r)
{
	char *end;
	if (text[0] >= '0' && text[0] <= '9') {
		unsigned long days = strtoul(text, &end, 10);
		if (strcmp(end, "d") == 0 && days <= 36500) {
			*t_r = now - (int64_t)days * 86400;
			return true;
		}
	}
	static const char *const formats[] = {
		"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d",
	};
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
		struct tm tm;
		memset(&tm, 0, sizeof tm);
		end = strptime(text, formats[i], &tm);
		if (end != NULL && *end == '\0') {
			*t_r = (int64_t)timegm(&tm);
			return true;
		}
	}
	return false;
}

void
store_cli_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "%lld", (long long)t);
}
