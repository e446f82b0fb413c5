/* Builds a struct mime_message by hand, as the MIME layer would hand it over, so the format
 * parsers are tested on their own. */
#ifndef BOUNCED_TEST_MSG_H
#define BOUNCED_TEST_MSG_H
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"
#include "strbuf.h"

#define MSG_MAX_PARTS 6

struct part_spec {
	const char *ctype;	/* NULL ends the list */
	const char *report_type;
	int depth;
	bool in_returned;
	const char *body;
};

struct msg_spec {
	const char *headers;
	const char *returned;	/* returned_headers, or NULL */
	struct part_spec parts[MSG_MAX_PARTS];
};

static struct mime_message *
msg_build(const struct msg_spec *s)
{
	struct mime_message *m = xcalloc(1, sizeof *m);
	m->headers = xstrdup(s->headers);
	m->headers_len = strlen(s->headers);
	if (s->returned != NULL) {
		m->returned_headers = xstrdup(s->returned);
		m->returned_headers_len = strlen(s->returned);
	}
	size_t n = 0;
	while (n < MSG_MAX_PARTS && s->parts[n].ctype != NULL)
		n++;
	if (n == 0) {	/* a single-part message: its body as text/plain */
		static const struct part_spec plain = { "text/plain", NULL, 0, false, "" };
		m->parts = xcalloc(1, sizeof m->parts[0]);
		m->nparts = 1;
		m->parts[0].content_type = xstrdup(plain.ctype);
		m->parts[0].parent = -1;
		m->parts[0].headers = xstrdup("");
		m->parts[0].body = xstrdup("");
		return m;
	}
	m->parts = xcalloc(n, sizeof m->parts[0]);
	m->nparts = n;
	for (size_t i = 0; i < n; i++) {
		const struct part_spec *ps = &s->parts[i];
		struct mime_part *p = &m->parts[i];
		p->content_type = xstrdup(ps->ctype);
		p->report_type = ps->report_type != NULL ? xstrdup(ps->report_type) : NULL;
		p->depth = ps->depth;
		p->index = (int)i;
		p->parent = ps->depth == 0 ? -1 : 0;
		p->in_returned = ps->in_returned;
		p->headers = xstrdup("");
		p->body = xstrdup(ps->body != NULL ? ps->body : "");
		p->body_len = strlen(p->body);
	}
	return m;
}

static void
msg_free(struct mime_message *m)
{
	for (size_t i = 0; i < m->nparts; i++) {
		free(m->parts[i].content_type);
		free(m->parts[i].report_type);
		free(m->parts[i].headers);
		free(m->parts[i].body);
	}
	free(m->parts);
	free(m->headers);
	free(m->returned_headers);
	free(m);
}
#endif
