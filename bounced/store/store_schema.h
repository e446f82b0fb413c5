/* The migrations of schema/, embedded by schema/embed.py (generated schema_gen.c). */
#ifndef BOUNCED_STORE_SCHEMA_H
#define BOUNCED_STORE_SCHEMA_H

struct schema_migration {
	int version;		/* 1, 2, ... contiguous: PRAGMA user_version after applying it */
	const char *name;	/* "init" for 001-init.sql */
	const char *sql;
};

extern const struct schema_migration schema_migrations[];
extern const int schema_version;	/* number of migrations = newest version known */

/* PRAGMA application_id of a bounced database (set by 001-init.sql): 'boun'. */
#define SCHEMA_APPLICATION_ID	1651471726

#endif
