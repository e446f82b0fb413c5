/* The MIME walk: guard (guard.c), then libetpan's mailmime_parse on the guard's canonical copy,
 * then one depth-first pass that flattens the tree into mime_message.parts with decoded, UTF-8,
 * LF-terminated text. When the guard refuses the message or libetpan fails, the message is one
 * text/plain part so the rule-based parsers can still read it.
 *
 * Choices the contract leaves open:
 *  - a message/rfc822 part that libetpan walks is a container: headers = the embedded header
 *    block, body empty, the embedded body part follows (depth + 1, in_returned). A base64/QP
 *    message/rfc822, and message/global (libetpan does not walk it), are leaves: headers = the
 *    embedded header block, body = the decoded embedded body.
 *  - the part at depth 0 carries the message's whole header block.
 *  - header blocks show the guard's rewritten boundaries ("_bounced_000000"), not the original.
 *  - non-text parts are transfer-decoded and get LF line endings, no charset conversion. */
#include "mime.h"

#include <libetpan/libetpan.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec.h"
#include "guard.h"
#include "header.h"
#include "limits.h"
#include "report.h"
#include "strbuf.h"

struct walker {
	struct mime_message *m;
	size_t cap;
	const char *g, *lib;		/* guard output, and libetpan's reduced copy of it */
	const struct guard_block *blocks;
	const size_t *emb;		/* where each block starts in lib */
	size_t nblocks;
	struct strbuf dec;	/* transfer-decoded bytes */
	struct strbuf conv;	/* charset-converted bytes */
};

/* Length of the header block at p (its last field's line end included, the blank line not):
 * up to the first empty line, or all of [p, end) when there is none. */
static size_t
header_block_len(const char *p, const char *end)
{
	if (end <= p)
		return 0;
	if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
		return 0;
	/* The first "\r\n\r\n", line by line: memchr skips a line at a time, which memmem's
	 * search for four bytes does not. */
	for (const char *q = p; (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++)
		if (q > p && q[-1] == '\r' && end - q >= 3 && q[1] == '\r' && q[2] == '\n')
			return (size_t)(q - 1 - p) + 2;
	return (size_t)(end - p);
}

/* A NUL-terminated copy of [p, p+len) with LF line endings (codec_lf). */
static char *
lf_copy(const char *p, size_t len, size_t *len_r)
{
	struct strbuf b = STRBUF_INIT;
	codec_lf(p, len, &b);
	*len_r = b.len;
	return strbuf_detach(&b);
}

static char *
lower_dup(const char *s)
{
	char *d = xstrdup(s);
	for (char *p = d; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p |= 0x20;
	return d;
}

static void
content_type(const struct mailmime_content *ct, struct strbuf *out)
{
	const char *type = "text", *sub = "plain";
	if (ct != NULL && ct->ct_type != NULL) {
		const struct mailmime_type *t = ct->ct_type;
		if (t->tp_type == MAILMIME_TYPE_DISCRETE_TYPE && t->tp_data.tp_discrete_type) {
			static const char *const names[] = {
				[MAILMIME_DISCRETE_TYPE_TEXT] = "text",
				[MAILMIME_DISCRETE_TYPE_IMAGE] = "image",
				[MAILMIME_DISCRETE_TYPE_AUDIO] = "audio",
				[MAILMIME_DISCRETE_TYPE_VIDEO] = "video",
				[MAILMIME_DISCRETE_TYPE_APPLICATION] = "application",
			};
			const struct mailmime_discrete_type *d = t->tp_data.tp_discrete_type;
			if (d->dt_type == MAILMIME_DISCRETE_TYPE_EXTENSION && d->dt_extension)
				type = d->dt_extension;
			else if (d->dt_type > 0 && d->dt_type < MAILMIME_DISCRETE_TYPE_EXTENSION)
				type = names[d->dt_type];
		} else if (t->tp_type == MAILMIME_TYPE_COMPOSITE_TYPE && t->tp_data.tp_composite_type) {
			const struct mailmime_composite_type *c = t->tp_data.tp_composite_type;
			if (c->ct_type == MAILMIME_COMPOSITE_TYPE_MESSAGE)
				type = "message";
			else if (c->ct_type == MAILMIME_COMPOSITE_TYPE_MULTIPART)
				type = "multipart";
			else if (c->ct_token)
				type = c->ct_token;
		}
		if (ct->ct_subtype)
			sub = ct->ct_subtype;
	}
	strbuf_reset(out);
	strbuf_puts(out, type);
	strbuf_putc(out, '/');
	strbuf_puts(out, sub);
	for (size_t i = 0; i < out->len; i++)
		if (out->s[i] >= 'A' && out->s[i] <= 'Z')
			out->s[i] |= 0x20;
}

/* Types whose body is text for the other parsers (converted to UTF-8). */
static bool
is_textual(const char *ct)
{
	static const char *const report[] = {
		"message/delivery-status", "message/global-delivery-status",
		"message/feedback-report", "message/disposition-notification",
		"message/global-disposition-notification", "message/rfc822-headers",
		"message/global-headers",
	};
	if (strncmp(ct, "text/", 5) == 0)
		return true;
	for (size_t i = 0; i < sizeof report / sizeof report[0]; i++)
		if (strcmp(ct, report[i]) == 0)
			return true;
	return false;
}

static bool
is_header_block_type(const char *ct)
{
	return strcmp(ct, "text/rfc822-headers") == 0 || strcmp(ct, "message/rfc822-headers") == 0 ||
	       strcmp(ct, "message/global-headers") == 0;
}

static bool
is_message_type(const char *ct)
{
	return strcmp(ct, "message/rfc822") == 0 || strcmp(ct, "message/global") == 0;
}

static struct mime_part *
add_part(struct walker *w)
{
	struct mime_message *m = w->m;
	if (m->nparts == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 8;
		m->parts = xrealloc(m->parts, w->cap * sizeof *m->parts);
	}
	struct mime_part *part = &m->parts[m->nparts];
	memset(part, 0, sizeof *part);
	part->index = (int)m->nparts++;
	return part;
}

/* Decodes the transfer encoding of [p, p+len) into w->dec; returns the bytes to use. */
static const char *
transfer_decode(struct walker *w, int encoding, const char *p, size_t len, size_t *len_r)
{
	bool ok = true;
	strbuf_reset(&w->dec);
	if (encoding == MAILMIME_MECHANISM_BASE64)
		ok = codec_base64(p, len, &w->dec);
	else if (encoding == MAILMIME_MECHANISM_QUOTED_PRINTABLE)
		ok = codec_qp(p, len, false, &w->dec);
	else {
		*len_r = len;
		return p;
	}
	if (!ok)
		w->m->flags |= BOUNCE_F_BAD_ENCODING;
	*len_r = w->dec.len;
	return w->dec.s;
}

/* Sets part->body from bytes: charset-converted when textual, LF line endings. */
static void
set_body(struct walker *w, struct mime_part *part, const char *p, size_t len, bool textual)
{
	if (textual && codec_charset_is_utf8(part->charset)) {
		if (!codec_utf8_valid(p, len))
			w->m->flags |= BOUNCE_F_BAD_ENCODING;
	} else if (textual) {
		strbuf_reset(&w->conv);
		if (!codec_to_utf8(part->charset, p, len, &w->conv))
			w->m->flags |= BOUNCE_F_BAD_ENCODING;
		p = w->conv.s;
		len = w->conv.len;
	}
	part->body = lf_copy(p, len, &part->body_len);
}

static void
set_returned(struct walker *w, const char *p, size_t len)
{
	if (w->m->returned_headers == NULL) {
		w->m->returned_headers = xstrndup(p, len);
		w->m->returned_headers_len = len;
	}
}

static const char *
data_start(const struct mailmime_data *d, size_t *len_r)
{
	if (d == NULL || d->dt_type != MAILMIME_DATA_TEXT) {
		*len_r = 0;
		return NULL;
	}
	*len_r = d->dt_data.dt_text.dt_length;
	return d->dt_data.dt_text.dt_data;
}

/* The full header block of the embedded message libetpan sees at emb, or NULL. */
static const char *
embedded_block(const struct walker *w, const char *emb, size_t *len_r)
{
	for (size_t i = 0; i < w->nblocks; i++) {
		if (w->emb[i] != (size_t)-1 && w->lib + w->emb[i] == emb) {
			*len_r = w->blocks[i].end - w->blocks[i].start;
			return w->g + w->blocks[i].start;
		}
	}
	return NULL;
}

/* ohdr: the header block (LF) to show for this part instead of what libetpan saw (the
 * top-level block, or an embedded message's), or NULL. */
static void
walk(struct walker *w, struct mailmime *mm, int depth, int parent, bool returned, const char *hdr_from,
     const char *ohdr, size_t ohlen)
{
	struct mime_message *m = w->m;
	if (m->nparts >= LIMIT_MIME_PARTS) {
		m->flags |= BOUNCE_F_TOO_MANY_PARTS;
		return;
	}
	if (depth > LIMIT_MIME_DEPTH) {
		m->flags |= BOUNCE_F_TOO_DEEP;
		return;
	}

	struct strbuf ct = STRBUF_INIT;
	content_type(mm->mm_content_type, &ct);
	size_t idx = add_part(w)->index;
#define PART (&m->parts[idx])	/* the array moves as children are added */
	PART->content_type = strbuf_detach(&ct);
	PART->depth = depth;
	PART->parent = parent;
	const char *ctype = PART->content_type;
	bool message = is_message_type(ctype);
	returned = returned || message || is_header_block_type(ctype);
	PART->in_returned = returned;
	if (mm->mm_content_type != NULL) {
		char *cs = mailmime_content_param_get(mm->mm_content_type, "charset");
		if (cs != NULL && *cs != '\0')
			PART->charset = lower_dup(cs);
		if (strcmp(ctype, "multipart/report") == 0) {
			char *rt = mailmime_content_param_get(mm->mm_content_type, "report-type");
			if (rt != NULL)
				PART->report_type = lower_dup(rt);
		}
	}
	if (mm->mm_mime_fields != NULL || mm->mm_content_type != NULL) {
		struct mailmime_single_fields sf;
		mailmime_single_fields_init(&sf, mm->mm_mime_fields, mm->mm_content_type);
		const char *fn = sf.fld_disposition_filename ? sf.fld_disposition_filename
							      : sf.fld_content_name;
		if (fn != NULL) {
			/* The guard defused encoded words in Content-Type ("=?" to "=_"): undo it
			 * for a name= that ends like one, then decode. */
			char *copy = xstrdup(fn);
			if (sf.fld_disposition_filename == NULL && strstr(copy, "?=") != NULL)
				for (char *q = copy; (q = strstr(q, "=_")) != NULL; q += 2)
					q[1] = '?';
			struct strbuf b = STRBUF_INIT;
			header_decode_2047(copy, strlen(copy), &b);
			free(copy);
			PART->filename = strbuf_detach(&b);
		}
	}

	size_t blen = 0, hlen;
	const char *body = NULL;
	switch (mm->mm_type) {
	case MAILMIME_SINGLE: {
		body = data_start(mm->mm_data.mm_single, &blen);
		if (body == NULL)
			body = hdr_from;
		hlen = body >= hdr_from ? header_block_len(hdr_from, body) : 0;
		PART->headers = lf_copy(hdr_from, hlen, &PART->headers_len);
		size_t dlen;
		const char *dec = transfer_decode(w, mm->mm_data.mm_single->dt_encoding, body, blen, &dlen);
		if (message) {
			/* An encoded message/rfc822, or message/global: its header block, then its body. */
			size_t eh = header_block_len(dec, dec + dlen);
			free(PART->headers);
			PART->headers = lf_copy(dec, eh, &PART->headers_len);
			set_returned(w, PART->headers, PART->headers_len);
			size_t skip = eh;
			while (skip < dlen && skip < eh + 2 && (dec[skip] == '\r' || dec[skip] == '\n'))
				skip++;
			if (!codec_utf8_valid(dec + skip, dlen - skip))
				m->flags |= BOUNCE_F_BAD_ENCODING;
			PART->body = lf_copy(dec + skip, dlen - skip, &PART->body_len);
		} else {
			set_body(w, PART, dec, dlen, is_textual(ctype));
			if (is_header_block_type(ctype))
				set_returned(w, PART->body, PART->body_len);
		}
		break;
	}
	case MAILMIME_MULTIPLE: {
		body = data_start(mm->mm_body, &blen);
		hlen = body != NULL && body >= hdr_from ? header_block_len(hdr_from, body) : 0;
		PART->headers = lf_copy(hdr_from, hlen, &PART->headers_len);
		PART->body = xstrdup("");
		clist *l = mm->mm_data.mm_multipart.mm_mp_list;
		for (clistiter *c = l ? clist_begin(l) : NULL; c != NULL; c = clist_next(c)) {
			struct mailmime *child = clist_content(c);
			walk(w, child, depth + 1, (int)idx, returned, child->mm_mime_start, NULL, 0);
		}
		break;
	}
	case MAILMIME_MESSAGE: {
		const char *emb = data_start(mm->mm_body, &blen);
		if (emb == NULL) {
			emb = hdr_from;
			blen = 0;
		}
		if (mm->mm_parent_type == MAILMIME_MULTIPLE && hdr_from <= emb) {
			/* A multipart/digest part without MIME fields: libetpan reads the embedded
			 * envelope as those fields. The message starts after the part's header block. */
			const char *end = emb + blen, *e2 = hdr_from + header_block_len(hdr_from, end);
			if (end - e2 >= 2 && e2[0] == '\r' && e2[1] == '\n')
				e2 += 2;
			if (e2 < emb) {
				blen += (size_t)(emb - e2);
				emb = e2;
			}
		}
		size_t flen;
		const char *full = embedded_block(w, emb, &flen);
		if (full != NULL) {
			PART->headers = lf_copy(full, flen, &PART->headers_len);
		} else {
			hlen = header_block_len(emb, emb + blen);
			PART->headers = lf_copy(emb, hlen, &PART->headers_len);
		}
		PART->body = xstrdup("");
		set_returned(w, PART->headers, PART->headers_len);
		if (mm->mm_data.mm_message.mm_msg_mime != NULL)
			walk(w, mm->mm_data.mm_message.mm_msg_mime, depth + 1, (int)idx, true, emb,
			     PART->headers, PART->headers_len);
		break;
	}
	default:
		PART->headers = xstrdup("");
		PART->body = xstrdup("");
		break;
	}
	if (ohdr != NULL && mm->mm_type != MAILMIME_MESSAGE) {
		/* libetpan saw only the MIME fields of this block. */
		free(PART->headers);
		PART->headers = xstrndup(ohdr, ohlen);
		PART->headers_len = ohlen;
	}
#undef PART
}

/* The message as one text/plain part: when the guard refused it or libetpan failed. */
static void
fallback(struct walker *w, const char *g, size_t glen, size_t hlen)
{
	struct mime_message *m = w->m;
	struct mime_part *part = add_part(w);
	part->content_type = xstrdup("text/plain");
	part->parent = -1;
	part->headers = xstrndup(m->headers, m->headers_len);
	part->headers_len = m->headers_len;

	size_t skip = hlen;
	if (skip + 2 <= glen && g[skip] == '\r' && g[skip + 1] == '\n')
		skip += 2;
	struct strbuf v = STRBUF_INIT, type = STRBUF_INIT, cs = STRBUF_INIT;
	int enc = MAILMIME_MECHANISM_7BIT;
	if (header_get(m->headers, m->headers_len, "Content-Transfer-Encoding", &v)) {
		if (strcasecmp(v.s, "base64") == 0)
			enc = MAILMIME_MECHANISM_BASE64;
		else if (strcasecmp(v.s, "quoted-printable") == 0)
			enc = MAILMIME_MECHANISM_QUOTED_PRINTABLE;
	}
	bool textual = true;
	strbuf_reset(&v);
	if (header_get(m->headers, m->headers_len, "Content-Type", &v)) {
		if (codec_ct_type(v.s, v.len, &type) && strncmp(type.s, "text/", 5) == 0 &&
		    codec_ct_param(v.s, v.len, "charset", &cs) && cs.len > 0)
			part->charset = lower_dup(cs.s);
		textual = type.s == NULL || strncmp(type.s, "multipart/", 10) == 0 ||
			  is_textual(type.s);
	}
	size_t dlen;
	const char *dec = transfer_decode(w, enc, g + skip, glen - skip, &dlen);
	if (textual) {
		set_body(w, part, dec, dlen, true);
	} else {
		part->body = lf_copy(dec, dlen, &part->body_len);
	}
	strbuf_free(&v);
	strbuf_free(&type);
	strbuf_free(&cs);
}

/* libetpan converts RFC 2047 words in MIME fields with iconv_open per word unless given a
 * converter: hand it ours, which keeps descriptors open. */
static int
etpan_charconv(const char *tocode, const char *fromcode, const char *str, size_t length,
	       char *result, size_t *result_len)
{
	if (strcasecmp(tocode, "utf-8") != 0 && strcasecmp(tocode, "utf8") != 0)
		return MAIL_CHARCONV_ERROR_UNKNOWN_CHARSET;
	/* libetpan converts every plain word of a Content-Type value from us-ascii: codec_to_utf8
	 * copies those charsets as they are, so copy them here without a buffer of our own. */
	if (strcasecmp(fromcode, "us-ascii") == 0 || strcasecmp(fromcode, "utf-8") == 0) {
		if (length > *result_len)
			return MAIL_CHARCONV_ERROR_MEMORY;
		memcpy(result, str, length);
		*result_len = length;
		return MAIL_CHARCONV_NO_ERROR;
	}
	struct strbuf b = STRBUF_INIT;
	codec_to_utf8(fromcode, str, length, &b);
	int rc = MAIL_CHARCONV_NO_ERROR;
	if (b.len > *result_len)
		rc = MAIL_CHARCONV_ERROR_MEMORY;
	else {
		memcpy(result, b.s, b.len);
		*result_len = b.len;
	}
	strbuf_free(&b);
	return rc;
}

static pthread_once_t etpan_once = PTHREAD_ONCE_INIT;

static void
etpan_setup(void)
{
	extended_charconv = etpan_charconv;
}

/* Appends the MIME fields (Content-*, MIME-Version, with their continuation lines) of the
 * header block [p, p+len) to o at *n. */
static void
mime_fields(char *o, size_t *n, const char *p, size_t len)
{
	bool keep = false;
	for (const char *end = p + len; p < end;) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		e = e ? e + 1 : end;
		if (*p != ' ' && *p != '\t')
			keep = ((*p | 0x20) == 'c' && strncasecmp(p, "content-", 8) == 0) ||
			    ((*p | 0x20) == 'm' && strncasecmp(p, "mime-version", 12) == 0);
		if (keep) {
			memcpy(o + *n, p, (size_t)(e - p));
			*n += (size_t)(e - p);
		}
		p = e;
	}
}

/* What libetpan parses: the guard's output with the top-level header block and the embedded
 * messages' header blocks reduced to their MIME fields. Parsing those envelopes (Received,
 * From, Subject...) is a large part of libetpan's time and none of it is used: the walk takes
 * the blocks from the guard's output. emb[i] receives where block i starts in the result. */
static char *
etpan_input(const char *g, size_t glen, size_t hlen, const struct guard_block *blocks,
	    size_t nblocks, size_t *emb, size_t *len_r)
{
	char *o = xmalloc(glen + 1);
	size_t n = 0, at = hlen;
	mime_fields(o, &n, g, hlen);
	for (size_t i = 0; i < nblocks; i++) {
		if (blocks[i].start < at || blocks[i].end < blocks[i].start || blocks[i].end > glen) {
			emb[i] = (size_t)-1;	/* never expected: keep the block as it is */
			continue;
		}
		memcpy(o + n, g + at, blocks[i].start - at);
		n += blocks[i].start - at;
		emb[i] = n;
		mime_fields(o, &n, g + blocks[i].start, blocks[i].end - blocks[i].start);
		at = blocks[i].end;
	}
	memcpy(o + n, g + at, glen - at);
	n += glen - at;
	o[n] = '\0';
	*len_r = n;
	return o;
}

struct mime_message *
mime_parse(const char *msg, size_t len)
{
	codec_new_message();
	struct mime_message *m = xcalloc(1, sizeof *m);
	struct walker w = { .m = m };
	size_t glen;
	unsigned int flags;
	bool safe;
	struct guard_block blocks[GUARD_BLOCKS];
	size_t nblocks = 0, emb[GUARD_BLOCKS];
	char *g = guard_run(msg, len, &glen, &flags, &safe, blocks, &nblocks);
	m->flags = flags;

	size_t hlen = header_block_len(g, g + glen);
	m->headers = lf_copy(g, hlen, &m->headers_len);

	struct mailmime *root = NULL;
	char *lib = NULL;
	if (safe) {
		size_t at = 0, llen;
		pthread_once(&etpan_once, etpan_setup);
		lib = etpan_input(g, glen, hlen, blocks, nblocks, emb, &llen);
		w.g = g;
		w.lib = lib;
		w.blocks = blocks;
		w.emb = emb;
		w.nblocks = nblocks;
		if (mailmime_parse(lib, llen, &at, &root) != MAILIMF_NO_ERROR || root == NULL) {
			m->flags |= BOUNCE_F_MIME_ERROR;
			root = NULL;
		}
	}
	if (root != NULL && root->mm_type == MAILMIME_MESSAGE &&
	    root->mm_data.mm_message.mm_msg_mime != NULL) {
		walk(&w, root->mm_data.mm_message.mm_msg_mime, 0, -1, false, lib, m->headers,
		     m->headers_len);
	} else if (root != NULL) {
		m->flags |= BOUNCE_F_MIME_ERROR;
	}
	if (root != NULL)
		mailmime_free(root);
	if (m->nparts == 0) {
		free(m->returned_headers);
		m->returned_headers = NULL;
		m->returned_headers_len = 0;
		fallback(&w, g, glen, hlen);
	}
	strbuf_free(&w.dec);
	strbuf_free(&w.conv);
	free(lib);
	free(g);
	return m;
}

void
mime_message_free(struct mime_message *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nparts; i++) {
		struct mime_part *p = &m->parts[i];
		free(p->content_type);
		free(p->charset);
		free(p->report_type);
		free(p->filename);
		free(p->headers);
		free(p->body);
	}
	free(m->parts);
	free(m->headers);
	free(m->returned_headers);
	free(m);
}

const struct mime_part *
mime_find(const struct mime_message *m, const char *ctype)
{
	for (size_t i = 0; m != NULL && i < m->nparts; i++)
		if (strcmp(m->parts[i].content_type, ctype) == 0)
			return &m->parts[i];
	return NULL;
}
