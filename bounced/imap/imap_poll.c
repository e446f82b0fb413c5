/* One fetch pass over one IMAP account (see imap_poll.h). */
#include "imap_poll.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounce.h"
#include "commands.h"
#include "imap.h"
#include "limits.h"
#include "log.h"
#include "store.h"
#include "store_cli.h"
#include "strbuf.h"

/* Test hook: when set, exit right after the first batch is committed, before the mail is
 * moved, as a kill at the worst moment would. Only the test suite sets it. */
#define TEST_DIE_ENV	"BOUNCED_TEST_DIE_AFTER_COMMIT"
#define TEST_DIE_STATUS	99

/* Bytes a server may send on top of the announced sizes when fetching a batch: the FETCH
 * framing per message and unsolicited updates. */
#define FETCH_SLACK_PER_MESSAGE	1024
#define FETCH_SLACK		(1024u * 1024)

/* Width of the progress bar drawn on a terminal. */
#define PROGRESS_WIDTH	30

/* Committed messages not yet moved are acted on together once this many are waiting (and at
 * the end of the pass): Dovecot moves 10,000 messages in one UID MOVE far faster than in 100
 * commands. A kill before that leaves them for the next run, which finds them as duplicates. */
#define IMAP_ACT_PENDING	5000

/* UIDs named in the error about messages shorter than announced: enough to find them, short
 * enough for a cron mail. */
#define SHORT_UIDS_LISTED	10

struct uidlist {
	uint32_t *v;
	size_t n, cap;
};

struct pending {
	struct uidlist bounces, nonbounces;
};

/* Messages whose body came shorter than their RFC822.SIZE, seen for the first time: stored,
 * left in the mailbox. */
struct short_bodies {
	size_t n;
	uint32_t uid[SHORT_UIDS_LISTED];
	size_t got[SHORT_UIDS_LISTED];
	uint32_t announced[SHORT_UIDS_LISTED];
};

struct batch {
	struct store *st;
	const struct bounce_options *opt;
	struct imap_poll_stats *stats;
	const char *source_prefix;	/* "imap:NAME/MAILBOX;UIDVALIDITY=V" */
	bool truncated;
	const uint32_t *uids, *sizes;	/* the batch (ascending) and each one's RFC822.SIZE */
	size_t n;
	struct short_bodies *short_bodies;
	struct pending *pending;	/* committed ones are appended here */
	struct uidlist bounces, nonbounces;
	int store_rc;
	char *error;
};

static void
uidlist_add(struct uidlist *l, uint32_t uid)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = uid;
}

static void
uidlist_append(struct uidlist *dst, const struct uidlist *src)
{
	for (size_t i = 0; i < src->n; i++)
		uidlist_add(dst, src->v[i]);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int
exit_of_imap(int r)
{
	return r == IMAP_ERR_AUTH ? EXIT_NOPERM : r == IMAP_ERR_CONFIG ? EXIT_CONFIG :
	    EXIT_TEMPFAIL;
}

/* The RFC822.SIZE fetched for uid in this batch, or UINT32_MAX. */
static uint32_t
announced_size(const struct batch *b, uint32_t uid)
{
	size_t lo = 0, hi = b->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < b->n && b->uids[lo] == uid ? b->sizes[lo] : UINT32_MAX;
}

/* Called once per fetched message, inside the batch's transaction. */
static int
on_body(void *ctx, uint32_t uid, const char *data, size_t len)
{
	struct batch *b = ctx;
	/* Fewer bytes than the server announced (RFC822.SIZE, or the partial fetch's limit): part
	 * may be lost on the server (a damaged index or file), or the size was only an estimate
	 * (Exchange without EnableExactRFC822Size). What came is stored, marked truncated, but the
	 * message is not acted on: it stays in the mailbox and the run exits 75. The next run
	 * fetches it again: the whole message is recorded if the server now sends it (unless the
	 * store finds it a duplicate: same Message-ID and recipients), the same bytes are a
	 * duplicate of what is stored; either way it is acted on then. So nothing is lost, and a
	 * server that always answers so costs one extra run, not a loop. */
	uint32_t size = announced_size(b, uid);
	uint64_t want = size == UINT32_MAX ? 0 : size < LIMIT_MESSAGE_BYTES ? size :
	    LIMIT_MESSAGE_BYTES;
	bool cut = (uint64_t)len < want;
	char source[2 * IMAP_URL_MAX + 128];	/* prefix (2 * IMAP_URL_MAX + 64) and the UID */
	int n = snprintf(source, sizeof source, "%s/;UID=%u", b->source_prefix, uid);
	if (n < 0 || (size_t)n >= sizeof source)
		source[0] = '\0';	/* names are bounded by IMAP_URL_MAX: cannot happen */
	struct bounce_report *rep = bounce_parse(data, len, b->opt);
	/* Counted as no match and flagged; the operator is told which message. */
	if (rep->flags & BOUNCE_F_REGEX_LIMIT)
		log_warnx("fetch: %s: a rule hit the regex limit (counted as no match; flag regex_limit)",
		    source);
	struct store_msg m = {
		.data = data, .len = len, .source = source, .truncated = b->truncated || cut,
	};
	struct store_add_result res = { 0 };
	int r = store_add(b->st, &m, rep, &res, &b->error);
	bool is_bounce = rep != NULL && rep->kind != KIND_NONE;
	bounce_report_free(rep);
	if (r != STORE_OK) {
		b->store_rc = r;
		return 1;
	}
	b->stats->messages++;
	b->stats->truncated += b->truncated || cut;
	if (res.duplicate)
		b->stats->duplicates++;
	b->stats->events += res.events;
	b->stats->suppressed += res.suppressed;
	if (cut && !res.duplicate) {
		struct short_bodies *sb = b->short_bodies;
		if (sb->n < SHORT_UIDS_LISTED) {
			sb->uid[sb->n] = uid;
			sb->got[sb->n] = len;
			sb->announced[sb->n] = size;
		}
		sb->n++;
		return 0;
	}
	if (is_bounce) {
		b->stats->bounces++;
		uidlist_add(&b->bounces, uid);
	} else {
		b->stats->nonbounces++;
		uidlist_add(&b->nonbounces, uid);
	}
	return 0;
}

/* Applies action to uids (ascending). folder is the server name for MOVE. */
static int
act(struct imap *im, enum imap_action action, const char *folder, struct uidlist *l,
    char **error_r)
{
	int r = IMAP_OK;
	if (l->n == 0)
		return IMAP_OK;
	qsort(l->v, l->n, sizeof *l->v, cmp_u32);
	switch (action) {
	case IMAP_ACT_MOVE:
		r = imap_move(im, l->v, l->n, folder, error_r);
		break;
	case IMAP_ACT_DELETE:
		r = imap_delete(im, l->v, l->n, error_r);
		break;
	case IMAP_ACT_FLAG:
		r = imap_mark_done(im, l->v, l->n, true, error_r);
		break;
	case IMAP_ACT_LEAVE:
		r = imap_mark_done(im, l->v, l->n, false, error_r);
		break;
	}
	l->n = 0;
	return r;
}

/* Acts on every committed message waiting in p. Returns an exit status. */
static int
flush(struct imap *im, const struct imap_account *a, struct pending *p, const char *move_to,
    const char *nb_move_to, char **error_r)
{
	int r;
	if ((r = act(im, a->action, move_to, &p->bounces, error_r)) != IMAP_OK ||
	    (r = act(im, a->nonbounce_action, nb_move_to, &p->nonbounces, error_r)) != IMAP_OK)
		return exit_of_imap(r);
	return EXIT_OK;
}

static void
draw_progress(const char *name, size_t done, size_t total)
{
	size_t fill = total ? done * PROGRESS_WIDTH / total : PROGRESS_WIDTH;
	char bar[PROGRESS_WIDTH + 1];
	for (size_t i = 0; i < PROGRESS_WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[PROGRESS_WIDTH] = '\0';
	fprintf(stderr, "\r%s [%s] %zu/%zu", name, bar, done, total);
	fflush(stderr);
}

static void
clear_progress(void)
{
	fputs("\r\033[K", stderr);
	fflush(stderr);
}

/* What the operator reads about messages left for being shorter than announced. */
static char *
short_bodies_error(const struct short_bodies *sb)
{
	struct strbuf e = STRBUF_INIT;
	strbuf_printf(&e, "%zu message%s came shorter than the size the server announced (",
	    sb->n, sb->n == 1 ? "" : "s");
	for (size_t i = 0; i < sb->n && i < SHORT_UIDS_LISTED; i++)
		strbuf_printf(&e, "%sUID %u: %zu of %u bytes", i ? ", " : "", sb->uid[i],
		    sb->got[i], sb->announced[i]);
	strbuf_printf(&e, "%s): stored marked truncated and left in the mailbox; the next run "
	    "fetches it again (the whole message, if the server now sends it) and acts on it. "
	    "Causes: a damaged server index (Dovecot: doveadm force-resync) or estimated sizes "
	    "(Exchange: EnableExactRFC822Size)", sb->n > SHORT_UIDS_LISTED ? ", ..." : "");
	return strbuf_detach(&e);
}

/* Runs one batch: fetch + record in one transaction, commit; the committed messages join p. */
static int
run_batch(struct imap *im, struct store *st, const struct bounce_options *opt,
    const char *prefix, const uint32_t *uids, const uint32_t *sizes, size_t n, uint64_t bytes,
    bool truncated, struct pending *p, struct short_bodies *sb, struct imap_poll_stats *stats,
    char **error_r)
{
	struct batch b = {
		.st = st, .opt = opt, .stats = stats, .source_prefix = prefix,
		.truncated = truncated, .uids = uids, .sizes = sizes, .n = n, .short_bodies = sb,
		.pending = p,
	};
	int ret = EXIT_OK, r;
	if ((r = store_begin(st, error_r)) != STORE_OK)
		return store_cli_exit(r);
	uint64_t max_response = bytes + (uint64_t)n * FETCH_SLACK_PER_MESSAGE + FETCH_SLACK;
	r = imap_fetch_bodies(im, uids, n, truncated ? LIMIT_MESSAGE_BYTES : 0, max_response,
	    on_body, &b, error_r);
	if (r != IMAP_OK || b.store_rc != STORE_OK) {
		store_rollback(st);
		if (b.store_rc != STORE_OK) {
			ret = store_cli_exit(b.store_rc);
			*error_r = b.error ? b.error : xstrdup("cannot record a message");
			b.error = NULL;
		} else {
			ret = exit_of_imap(r);
		}
		goto out;
	}
	if ((r = store_commit(st, error_r)) != STORE_OK) {
		store_rollback(st);
		ret = store_cli_exit(r);
		goto out;
	}
	const char *die = getenv(TEST_DIE_ENV);
	if (die != NULL && strcmp(die, "1") == 0)
		_exit(TEST_DIE_STATUS);
	/* Committed: only now may the mail leave the mailbox. */
	uidlist_append(&p->bounces, &b.bounces);
	uidlist_append(&p->nonbounces, &b.nonbounces);
out:
	free(b.error);
	free(b.bounces.v);
	free(b.nonbounces.v);
	return ret;
}

int
imap_poll(struct store *st, const struct imap_account *a, const struct bounce_options *opt,
    bool progress, struct imap_poll_stats *stats_r, char **error_r)
{
	struct imap_url u;
	struct imap *im = NULL;
	uint32_t *uids = NULL, *sizes = NULL;
	char *move_to = NULL, *nb_move_to = NULL;
	int ret = EXIT_OK, r;

	memset(stats_r, 0, sizeof *stats_r);
	*error_r = NULL;
	if (imap_url_parse(a->url, &u, error_r) != 0)
		return EXIT_CONFIG;
	if (a->password == NULL) {
		*error_r = xstrdup("no password (password or password_file in the config, "
		    "or --password-file)");
		imap_url_clear(&u);
		return EXIT_CONFIG;
	}
	enum imap_security sec = u.implicit_tls ? IMAP_SEC_IMPLICIT :
	    a->allow_plaintext ? IMAP_SEC_PLAIN : IMAP_SEC_STARTTLS;
	if ((r = imap_open(&u, sec, a->password, a->tls_ca, a->timeout_s, &im, error_r)) != IMAP_OK) {
		ret = exit_of_imap(r);
		goto out;
	}
	uint32_t uidvalidity;
	if ((r = imap_select(im, u.mailbox, &uidvalidity, error_r)) != IMAP_OK) {
		ret = exit_of_imap(r);
		goto out;
	}
	stats_r->uidvalidity = uidvalidity;
	size_t n;
	if ((r = imap_search_pending(im, &uids, &n, error_r)) != IMAP_OK) {
		ret = exit_of_imap(r);
		goto out;
	}
	stats_r->pending = n;
	if (n == 0)
		goto out;
	if ((a->action == IMAP_ACT_MOVE &&
	     (r = imap_ensure_folder(im, a->move_to, &move_to, error_r)) != IMAP_OK) ||
	    (a->nonbounce_action == IMAP_ACT_MOVE &&
	     (r = imap_ensure_folder(im, a->nonbounce_move_to, &nb_move_to, error_r)) != IMAP_OK)) {
		ret = exit_of_imap(r);
		goto out;
	}
	/* Server names compared: imap_select took u.mailbox, so it encodes. */
	char *wire = imap_mutf7_encode(u.mailbox);
	bool same = wire != NULL && ((move_to != NULL && strcmp(move_to, wire) == 0) ||
	    (nb_move_to != NULL && strcmp(nb_move_to, wire) == 0));
	free(wire);
	if (same) {
		*error_r = xstrdup("move_to or nonbounce_move_to is the mailbox being processed");
		ret = EXIT_CONFIG;
		goto out;
	}
	sizes = xcalloc(n, sizeof *sizes);
	if ((r = imap_fetch_sizes(im, uids, n, sizes, error_r)) != IMAP_OK) {
		ret = exit_of_imap(r);
		goto out;
	}
	char prefix[2 * IMAP_URL_MAX + 64];
	int pn = snprintf(prefix, sizeof prefix, "imap:%s/%s;UIDVALIDITY=%u", a->name, u.mailbox,
	    uidvalidity);
	if (pn < 0 || (size_t)pn >= sizeof prefix) {
		*error_r = xstrdup("account or mailbox name too long");
		ret = EXIT_CONFIG;
		goto out;
	}
	size_t per_batch = a->batch == 0 ? IMAP_BATCH_DEFAULT :
	    a->batch > IMAP_BATCH_MAX ? IMAP_BATCH_MAX : a->batch;
	uint32_t *chunk = xcalloc(per_batch, sizeof *chunk);
	uint32_t *chunk_sizes = xcalloc(per_batch, sizeof *chunk_sizes);
	struct pending pend = { { NULL, 0, 0 }, { NULL, 0, 0 } };
	struct short_bodies shorts = { 0 };
	size_t i = 0;
	while (i < n && ret == EXIT_OK) {
		size_t cn = 0;
		uint64_t bytes = 0;
		bool truncated = false;
		/* A message over the limit goes alone, fetched partially (head only). */
		if (sizes[i] != UINT32_MAX && sizes[i] > LIMIT_MESSAGE_BYTES) {
			chunk_sizes[cn] = sizes[i];
			chunk[cn++] = uids[i++];
			truncated = true;
			bytes = LIMIT_MESSAGE_BYTES;
		} else {
			for (; i < n && cn < per_batch; i++) {
				if (sizes[i] == UINT32_MAX)
					continue;	/* expunged by someone else meanwhile */
				if (sizes[i] > LIMIT_MESSAGE_BYTES)
					break;
				if (cn > 0 && bytes + sizes[i] > IMAP_BATCH_BYTES)
					break;
				bytes += sizes[i];
				chunk_sizes[cn] = sizes[i];
				chunk[cn++] = uids[i];
			}
		}
		if (cn > 0)
			ret = run_batch(im, st, opt, prefix, chunk, chunk_sizes, cn, bytes,
			    truncated, &pend, &shorts, stats_r, error_r);
		if (ret == EXIT_OK && pend.bounces.n + pend.nonbounces.n >= IMAP_ACT_PENDING)
			ret = flush(im, a, &pend, move_to, nb_move_to, error_r);
		if (progress)
			draw_progress(a->name, i, n);
	}
	/* Also after a failed batch: what was committed before it can still be acted on. */
	if (pend.bounces.n + pend.nonbounces.n > 0) {
		char *e = NULL;
		int fr = flush(im, a, &pend, move_to, nb_move_to, ret == EXIT_OK ? error_r : &e);
		if (ret == EXIT_OK)
			ret = fr;
		free(e);
	}
	if (ret == EXIT_OK && shorts.n > 0) {
		ret = EXIT_TEMPFAIL;
		*error_r = short_bodies_error(&shorts);
	}
	free(pend.bounces.v);
	free(pend.nonbounces.v);
	free(chunk);
	free(chunk_sizes);
	if (progress)
		clear_progress();
out:
	if (ret != EXIT_OK && *error_r != NULL) {
		/* Prefix with the account so several accounts stay apart in cron mail. */
		char *e = *error_r;
		struct strbuf sb = STRBUF_INIT;
		strbuf_printf(&sb, "%s: %s", a->name, e);
		free(e);
		*error_r = strbuf_detach(&sb);
	}
	imap_close(im);
	imap_url_clear(&u);
	free(uids);
	free(sizes);
	free(move_to);
	free(nb_move_to);
	return ret;
}
