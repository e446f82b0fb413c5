/* Reading a free-form bounce with the compiled rules: which mail system wrote it (family), where
 * its own text ends and the returned message starts (cut), and which recipients failed and why
 * (recipient rules with named groups addr, code, status, diag). */
#include "rules.h"
#include "rules_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arf.h"
#include "classify.h"
#include "header.h"
#include "limits.h"
#include "smtpcode.h"
#include "strbuf.h"

/* Bytes kept of a returned message found in the text (after a cut): its header block is read. */
#define EXTRACT_RETURNED_BYTES	(16u * 1024)
/* Rules noted as matching one message, for --explain: a report's family, sender, cuts, forward,
 * delay and recipient rules are a handful; past this the list is cut. */
#define EXTRACT_MATCHED_MAX	32

/* Header fields whose values are kept once gathered for a message: the shipped rules read five
 * (From, Subject, Received, X-NAI-Header, X-Failed-Recipients); more are gathered each time. */
#define EXTRACT_FIELDS_CACHED	8

struct field_values {
	const char *name;		/* a rule's field name */
	struct strbuf vals;		/* rules_text_field_values */
	uint64_t *cand;			/* the rules that may match vals (a scan), NULL until needed */
};

struct extract {
	const struct rules *rules;
	struct rules_scratch *sc;	/* fitted to rules */
	const struct mime_message *m;
	struct strbuf text;		/* human-readable text, returned message cut off */
	uint64_t *cand_text, *cand_headers;	/* the rules that may match them, NULL until needed */
	const char *family;		/* value of the family rule that matched, or NULL */
	const struct rule *family_rule;
	bool family_by_header;		/* the family was recognised from the headers, not the text */
	bool limit_hit;
	bool forwarded;			/* a forward rule found a bounce forwarded inline */
	bool exclude_read;		/* exclude is filled (on first use) */
	struct strbuf exclude;		/* "\naddr\naddr\n": the bounce's own From/To */
	struct field_values fields[EXTRACT_FIELDS_CACHED];
	size_t nfields;
	struct strbuf scratch;		/* values of a field beyond the cache */
	size_t nlocal;			/* bare local parts resolved (EXTRACT_LOCAL_PARTS_MAX) */
	struct strbuf returned;		/* the text where a cut rule said the returned message
					 * starts (the first one), at most EXTRACT_RETURNED_BYTES */
	struct rules_scratch *own_sc;	/* sc when the caller gave none */
	/* The rules that matched, each once, in order (--explain): a message matches a few. */
	const struct rule *matched[EXTRACT_MATCHED_MAX];
	size_t nmatched;
};

static void
extract_free(struct extract *x)
{
	strbuf_free(&x->text);
	strbuf_free(&x->exclude);
	free(x->cand_text);
	free(x->cand_headers);
	for (size_t i = 0; i < x->nfields; i++) {
		strbuf_free(&x->fields[i].vals);
		free(x->fields[i].cand);
	}
	strbuf_free(&x->scratch);
	strbuf_free(&x->returned);
	rules_scratch_free(x->own_sc);
}

/* The values of a top-level header field, gathered once per message (rules_text_field_values).
 * *cand_r: where the prefilter keeps which rules may match them (NULL beyond the cache). */
static const struct strbuf *
field_values(struct extract *x, const char *name, uint64_t ***cand_r)
{
	for (size_t i = 0; i < x->nfields; i++)
		if (strcasecmp(x->fields[i].name, name) == 0) {
			*cand_r = &x->fields[i].cand;
			return &x->fields[i].vals;
		}
	struct strbuf *b = &x->scratch;
	*cand_r = NULL;
	if (x->nfields < EXTRACT_FIELDS_CACHED) {
		struct field_values *f = &x->fields[x->nfields++];
		f->name = name;
		f->vals = (struct strbuf)STRBUF_INIT;
		f->cand = NULL;
		b = &f->vals;
		*cand_r = &f->cand;
	}
	strbuf_reset(b);
	rules_text_field_values(x->m->headers, x->m->headers_len, name, b);
	return b;
}

/* Can ru match anywhere in s? False only when the prefilter knows it cannot: s lacks all of
 * the rule's literals. *cand caches the scan of s (cand NULL: not cached, no scan). */
static bool
may_match(struct extract *x, const struct rule *ru, const char *s, size_t len, uint64_t **cand)
{
	if (ru->filter == NULL || cand == NULL)
		return true;
	if (*cand == NULL) {
		*cand = xmalloc((rules_cand_words(x->rules) + 1) * sizeof **cand);
		rules_index_scan(x->rules, x->rules->ix_other, x->sc, s, len, *cand);
	}
	return rules_cand(*cand, (size_t)(ru - x->rules->v));
}

/* Notes that ru matched, for --explain (each rule once). */
static void
note_match(struct extract *x, const struct rule *ru)
{
	for (size_t i = 0; i < x->nmatched; i++)
		if (x->matched[i] == ru)
			return;
	if (x->nmatched < EXTRACT_MATCHED_MAX)
		x->matched[x->nmatched++] = ru;
}

/* Does ru match s at all? */
static bool
matches(struct extract *x, const struct rule *ru, const char *s, size_t len, size_t *start_r)
{
	int rc = rules_match(x->sc, ru, s, len, 0, &x->limit_hit);
	if (rc > 0 && start_r != NULL)
		*start_r = pcre2_get_ovector_pointer(x->sc->md)[0];
	if (rc > 0)
		note_match(x, ru);
	return rc > 0;
}

static bool
field_matches(struct extract *x, const struct rule *ru)
{
	uint64_t **cand;
	const struct strbuf *vals = field_values(x, ru->field, &cand);
	return vals->len > 0 && may_match(x, ru, vals->s, vals->len, cand) &&
	    matches(x, ru, vals->s, vals->len, NULL);
}

static bool
rule_hits_message(struct extract *x, const struct rule *ru)
{
	const struct mime_message *m = x->m;
	switch (ru->where) {
	case WHERE_FIELD:
		return m->headers != NULL && field_matches(x, ru);
	case WHERE_HEADERS:
		return m->headers != NULL &&
		    may_match(x, ru, m->headers, m->headers_len, &x->cand_headers) &&
		    matches(x, ru, m->headers, m->headers_len, NULL);
	case WHERE_TEXT:
		return x->text.len > 0 && may_match(x, ru, x->text.s, x->text.len, &x->cand_text) &&
		    matches(x, ru, x->text.s, x->text.len, NULL);
	case WHERE_DIAG:
		break;
	}
	return false;
}

/* Subject prefixes of a person's reply, as mail clients write them in the languages the rules
 * read (Re, AW/Antw, Réf/Rép, RES, R, SV/VS, Odp, Ответ/Отв, 回复/回覆/答复, 返信). */
static const char *const reply_prefixes[] = {
	"re", "aw", "antw", "antwort", "r\xc3\xa9" "f", "r\xc3\xa9p", "res", "r", "sv", "vs", "odp",
	"\xd0\xbe\xd1\x82\xd0\xb2\xd0\xb5\xd1\x82", "\xd0\xbe\xd1\x82\xd0\xb2",
	"\xd0\x9e\xd1\x82\xd0\xb2\xd0\xb5\xd1\x82", "\xd0\x9e\xd1\x82\xd0\xb2",
	"\xe5\x9b\x9e\xe5\xa4\x8d", "\xe5\x9b\x9e\xe8\xa6\x86", "\xe7\xad\x94\xe5\xa4\x8d",
	"\xe8\xbf\x94\xe4\xbf\xa1",
};

/* True when the message's Subject starts with a reply prefix and a colon ("RE: ", "AW:",
 * "回复："): a person answering, whose quoted text under an "Original Message" separator is
 * not a bounce forwarded to us. */
static bool
subject_is_reply(const struct mime_message *m)
{
	struct strbuf v = STRBUF_INIT;
	bool reply = false;
	if (m->headers != NULL && header_get(m->headers, m->headers_len, "Subject", &v)) {
		const char *s = v.s;
		while (*s == ' ' || *s == '\t')
			s++;
		for (size_t i = 0; i < sizeof reply_prefixes / sizeof reply_prefixes[0] && !reply; i++) {
			size_t n = strlen(reply_prefixes[i]);
			if (strncasecmp(s, reply_prefixes[i], n) != 0)
				continue;
			const char *c = s + n;
			if (*c == '[') {		/* "Re[2]:" */
				while ((*c >= '0' && *c <= '9') || *c == '[')
					c++;
				if (*c == ']')
					c++;
			}
			while (*c == ' ')
				c++;
			reply = *c == ':' || strncmp(c, "\xef\xbc\x9a", 3) == 0;	/* ':' or '：' */
		}
	}
	strbuf_free(&v);
	return reply;
}

static bool
is_human_part(const struct mime_part *p)
{
	return !p->in_returned && p->body_len > 0 &&
	    (strcmp(p->content_type, "text/plain") == 0 || strcmp(p->content_type, "text/html") == 0);
}

/* The human-readable text of the report: text parts outside the returned original (HTML only
 * when there is no plain text), lines quoted with '>' dropped (a person quoting a bounce is not
 * a bounce), each part cut where a cut rule says the returned message starts. */
static void
build_text(struct extract *x)
{
	const struct mime_message *m = x->m;
	bool have_plain = false;
	bool reply = subject_is_reply(m);
	for (size_t i = 0; i < m->nparts; i++)
		if (is_human_part(&m->parts[i]) && strcmp(m->parts[i].content_type, "text/plain") == 0)
			have_plain = true;
	struct strbuf part = STRBUF_INIT;
	uint64_t *cand = NULL;
	for (size_t i = 0; i < m->nparts; i++) {
		const struct mime_part *p = &m->parts[i];
		if (!is_human_part(p) || (have_plain && strcmp(p->content_type, "text/html") == 0))
			continue;
		if (x->text.len >= LIMIT_TEXT_BYTES)
			break;	/* the whole report's text is bounded too, not only each part */
		size_t blen = p->body_len < LIMIT_TEXT_BYTES ? p->body_len : LIMIT_TEXT_BYTES;
		strbuf_reset(&part);
		if (strcmp(p->content_type, "text/html") == 0)
			rules_text_html(&part, p->body, blen);
		else
			strbuf_append(&part, p->body, blen);
		if (part.len == 0)
			continue;
		free(cand);
		cand = NULL;	/* a scan of this part, on first use */
		/* A bounce forwarded inline: its text starts after the forwarded header block. A
		 * reply quoting one under the same kind of separator is a person's mail. */
		size_t from = 0;
		for (size_t k = 0; k < x->rules->n && from == 0 && !reply; k++) {
			const struct rule *ru = &x->rules->v[k];
			size_t at;
			if (ru->type != RULE_FORWARD || !may_match(x, ru, part.s, part.len, &cand) ||
			    !matches(x, ru, part.s, part.len, &at))
				continue;
			const char *blank = strstr(part.s + at, "\n\n");
			from = blank != NULL ? (size_t)(blank - part.s) + 2 : part.len;
			x->forwarded = true;
		}
		size_t cut = part.len;
		for (size_t k = 0; k < x->rules->n; k++) {
			const struct rule *ru = &x->rules->v[k];
			size_t at;
			/* the part holds what is cut: its scan holds for the cut too */
			if (ru->type == RULE_CUT && may_match(x, ru, part.s, part.len, &cand) &&
			    matches(x, ru, part.s + from, cut - from, &at) && from + at < cut)
				cut = from + at;
		}
		if (cut < part.len && x->returned.len == 0)
			strbuf_append(&x->returned, part.s + cut, part.len - cut <
			    EXTRACT_RETURNED_BYTES ? part.len - cut : EXTRACT_RETURNED_BYTES);
		const char *s = part.s + from, *end = part.s + cut;
		while (s < end) {
			const char *nl = memchr(s, '\n', (size_t)(end - s));
			const char *le = nl != NULL ? nl : end;
			/* ">>> " and "<<< " are SMTP transcripts, not quoting */
			bool quoted = *s == '>' && !(le - s >= 4 && strncmp(s, ">>> ", 4) == 0);
			if (!quoted)
				strbuf_append(&x->text, s, (size_t)(le - s));
			if (!quoted || nl == NULL)
				strbuf_putc(&x->text, '\n');
			s = le + 1;
		}
		strbuf_putc(&x->text, '\n');
	}
	free(cand);
	strbuf_free(&part);
}

static void
detect_family(struct extract *x)
{
	for (size_t i = 0; i < x->rules->n; i++) {
		const struct rule *ru = &x->rules->v[i];
		if (ru->type == RULE_FAMILY && rule_hits_message(x, ru)) {
			x->family = ru->value;
			x->family_rule = ru;
			x->family_by_header = ru->where != WHERE_TEXT;
			return;
		}
	}
}

static bool
any_hit(struct extract *x, enum rule_type t)
{
	for (size_t i = 0; i < x->rules->n; i++) {
		const struct rule *ru = &x->rules->v[i];
		if (ru->type == t && rule_hits_message(x, ru))
			return true;
	}
	return false;
}

static void
group_copy(pcre2_match_data *md, int g, const char *s, char *dst, size_t dsize)
{
	if (g < 0 || dst[0] != '\0')
		return;
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	if (ov[2 * g] == PCRE2_UNSET)
		return;
	size_t l = ov[2 * g + 1] - ov[2 * g];
	if (l == 0 || l >= dsize)
		return;
	memcpy(dst, s + ov[2 * g], l);
	dst[l] = '\0';
}

/* An action a rule captured, mapped by its first letters: "failed", "bounce" and "permanent"
 * mean failed, "delay" and "transient" delayed, "deliver" and "success" delivered, "relay",
 * "expand". Anything else is ignored. */
static void
set_action(struct bounce_recipient *rc, const char *p, size_t len)
{
	static const struct { const char *prefix, *action; } map[] = {
		{ "fail", "failed" }, { "bounce", "failed" }, { "permanent", "failed" },
		{ "delay", "delayed" }, { "transient", "delayed" }, { "deliver", "delivered" },
		{ "success", "delivered" }, { "relay", "relayed" }, { "expand", "expanded" },
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
		size_t pl = strlen(map[i].prefix);
		if (len >= pl && strncasecmp(p, map[i].prefix, pl) == 0) {
			bounce_set(&rc->action, map[i].action);
			return;
		}
	}
}

static void
exclude_field(struct extract *x, const char *name)
{
	struct strbuf v = STRBUF_INIT, a = STRBUF_INIT;
	if (x->m->headers != NULL && header_get(x->m->headers, x->m->headers_len, name, &v) &&
	    address_extract(v.s, v.len, &a)) {
		if (x->exclude.len == 0)
			strbuf_putc(&x->exclude, '\n');
		strbuf_append(&x->exclude, a.s, a.len);
		strbuf_putc(&x->exclude, '\n');
	}
	strbuf_free(&v);
	strbuf_free(&a);
}

static bool
excluded(struct extract *x, const char *addr)
{
	const char *at = strchr(addr, '@');
	size_t ll = (size_t)(at - addr);
	if (ll == 13 && strncasecmp(addr, "mailer-daemon", 13) == 0)
		return true;
	if (!x->exclude_read) {
		exclude_field(x, "To");
		exclude_field(x, "From");
		x->exclude_read = true;
	}
	if (x->exclude.len == 0)
		return false;
	size_t al = strlen(addr);
	for (const char *p = x->exclude.s; (p = strcasestr(p, addr)) != NULL; p++)
		if (p[-1] == '\n' && p[al] == '\n')
			return true;
	return false;
}

/* Bytes of each text part searched for the address a bare local part stands for: the returned
 * message's header block comes within them. */
#define EXTRACT_LOCAL_SEARCH_BYTES	(64u * 1024)

/* Bare local parts resolved per message: a mail system names a few of its users so; each one
 * searches the message's text again, which this bounds on a hostile report. */
#define EXTRACT_LOCAL_PARTS_MAX	16

/* Finds "<local@domain>" in p (the local part without case): the address the returned message
 * was sent to ("for <local@domain>" in a Received field, a To). */
static bool
find_local_at(const char *p, size_t len, const char *local, size_t ll, struct strbuf *out)
{
	for (size_t i = 0; i + ll + 2 < len; i++) {
		if (p[i] != '<' || p[i + 1 + ll] != '@' || strncasecmp(p + i + 1, local, ll) != 0)
			continue;
		const char *gt = memchr(p + i, '>', len - i < LIMIT_ADDRESS_BYTES + 2 ? len - i :
		    LIMIT_ADDRESS_BYTES + 2);
		if (gt != NULL && rules_text_address(p + i + 1, (size_t)(gt - p - i - 1), out))
			return true;
	}
	return false;
}

/* A recipient rule may capture a bare local part: a mail system naming one of its own users
 * ("thomas.smith    No matches to nameserver query"). The domain is the one the returned
 * message was sent to for that local part, else the reporting system's own (its From). */
static bool
local_part_address(struct extract *x, const char *p, size_t len, struct strbuf *out)
{
	if (x->nlocal >= EXTRACT_LOCAL_PARTS_MAX || !rules_text_local_part(p, len, &len))
		return false;
	x->nlocal++;
	char *local = xstrndup(p, len);
	const struct mime_message *m = x->m;
	bool found = m->returned_headers != NULL &&
	    find_local_at(m->returned_headers, m->returned_headers_len, local, len, out);
	for (size_t i = 0; i < m->nparts && !found; i++) {
		const struct mime_part *pt = &m->parts[i];
		if (strncmp(pt->content_type, "text/", 5) == 0 || is_human_part(pt))
			found = find_local_at(pt->body, pt->body_len < EXTRACT_LOCAL_SEARCH_BYTES ?
			    pt->body_len : EXTRACT_LOCAL_SEARCH_BYTES, local, len, out);
	}
	if (!found) {
		struct strbuf v = STRBUF_INIT, a = STRBUF_INIT;
		const char *at;
		if (m->headers != NULL && header_get(m->headers, m->headers_len, "From", &v) &&
		    address_extract(v.s, v.len, &a) && (at = strchr(a.s, '@')) != NULL) {
			struct strbuf full = STRBUF_INIT;
			strbuf_puts(&full, local);
			strbuf_puts(&full, at);
			found = rules_text_address(full.s, full.len, out);
			strbuf_free(&full);
		}
		strbuf_free(&v);
		strbuf_free(&a);
	}
	free(local);
	return found;
}

/* Longest feedback type a rule may capture ("auth-failure"). */
#define EXTRACT_FEEDBACK_TYPE_MAX	32

/* A complaint a recipient rule found (action group "Complaint"): classed as an ARF report of
 * the feedback type in the diag group ("abuse" when none). */
static void
complaint_set(struct bounce_recipient *rc, const struct rule *ru, const char *s, const PCRE2_SIZE *ov)
{
	char ftype[EXTRACT_FEEDBACK_TYPE_MAX + 1] = "abuse";
	if (ru->g_diag >= 0 && ov[2 * ru->g_diag] != PCRE2_UNSET) {
		size_t n = ov[2 * ru->g_diag + 1] - ov[2 * ru->g_diag];
		if (n > 0 && n <= EXTRACT_FEEDBACK_TYPE_MAX) {
			for (size_t i = 0; i < n; i++) {
				char c = s[ov[2 * ru->g_diag] + i];
				ftype[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
			}
			ftype[n] = '\0';
		}
	}
	arf_set_class(rc, ftype);
	bounce_set(&rc->feedback_type, ftype);
	bounce_set(&rc->action, "");
	struct strbuf ev = STRBUF_INIT;
	strbuf_printf(&ev, "feedback loop complaint (rule %s), type %s%s", ru->name, ftype,
	    rc->class_ == CLASS_COMPLAINT ? "" : " (a report on the message: suppresses nobody)");
	free(rc->evidence);
	rc->evidence = strbuf_detach(&ev);
}

/* Applies one recipient rule to the whole text. With add, new recipients are appended;
 * recipients already in r get the diagnostic, status and code they lack. Returns the number of
 * recipients the rule named. */
static size_t
run_recipient_rule(struct extract *x, const struct rule *ru, const char *s, size_t len,
    struct bounce_report *r, bool add, bool delayed)
{
	bool generic = x->family == NULL || !rules_text_in_list(ru->value, x->family);
	size_t start = 0, found = 0;
	bool from_text = ru->where == WHERE_TEXT;
	/* the scratch's match data: nothing below matches another rule until the loop ends */
	pcre2_match_data *md = x->sc->md;
	struct strbuf addr = STRBUF_INIT, alias = STRBUF_INIT;
	while (start < len && rules_match(x->sc, ru, s, len, start, &x->limit_hit) > 0) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		size_t mend = ov[1];
		start = mend > ov[0] ? mend : ov[0] + 1;
		while (start < len && ((unsigned char)s[start] & 0xC0) == 0x80)
			start++;
		size_t a0 = ov[2 * ru->g_addr], a1 = ov[2 * ru->g_addr + 1];
		if (a0 == PCRE2_UNSET)
			continue;
		bool ok = memchr(s + a0, '@', a1 - a0) != NULL ?
		    rules_text_address(s + a0, a1 - a0, &addr) :
		    local_part_address(x, s + a0, a1 - a0, &addr);
		if (!ok || (generic && ru->where == WHERE_TEXT && excluded(x, addr.s))) {
			/* the lines the match took as its diagnostic may name the real recipient */
			if (a1 > ov[0] && a1 < start)
				start = a1;
			continue;
		}
		/* The alias the application sent to, before the report's MTA expanded it, is the
		 * address acted on; the final recipient is kept beside it. */
		bool expanded = rules_text_expanded_from(s + a1, len - a1, &alias) &&
		    strcasecmp(alias.s, addr.s) != 0;
		const char *acted = expanded ? alias.s : addr.s;
		struct bounce_recipient *rc = bounce_report_find(r, acted);
		if (rc == NULL && !add)
			continue;
		if (rc == NULL && (rc = bounce_report_add(r, acted)) == NULL)
			break;
		found++;
		if (expanded && rc->original_recipient == NULL)
			bounce_set(&rc->original_recipient, addr.s);
		if (rc->rule == NULL) {
			bounce_set(&rc->rule, ru->name);
			bounce_set(&rc->rule_at, ru->origin);
		}
		if (ru->g_action >= 0 && ov[2 * ru->g_action] != PCRE2_UNSET && (rc->action == NULL ||
		    rc->action[0] == '\0'))
			set_action(rc, s + ov[2 * ru->g_action], ov[2 * ru->g_action + 1] - ov[2 * ru->g_action]);
		if (ru->g_action >= 0 && ov[2 * ru->g_action] != PCRE2_UNSET &&
		    ov[2 * ru->g_action + 1] - ov[2 * ru->g_action] >= 9 &&
		    strncasecmp(s + ov[2 * ru->g_action], "complaint", 9) == 0) {
			/* a feedback loop's complaint (SES notificationType Complaint): the diag
			 * group holds its feedback type when the notification gives one */
			complaint_set(rc, ru, s, ov);
			continue;
		}
		if (rc->action == NULL || rc->action[0] == '\0')
			bounce_set(&rc->action, delayed ? "delayed" : "failed");
		char *diag = NULL;
		if (ru->g_diag >= 0 && ov[2 * ru->g_diag] != PCRE2_UNSET)
			diag = rules_text_diag(s + ov[2 * ru->g_diag], ov[2 * ru->g_diag + 1] - ov[2 * ru->g_diag]);
		if (diag == NULL && from_text)
			diag = rules_text_paragraph_after(s, len, mend);
		if (from_text && (diag == NULL || rules_text_only_address(diag, addr.s))) {
			free(diag);
			diag = rules_text_paragraph_around(s, len, a0, false);
			if (diag == NULL || rules_text_only_address(diag, addr.s)) {
				free(diag);
				diag = rules_text_paragraph_around(s, len, a0, true);
			}
		}
		if (rc->diagnostic == NULL || rc->diagnostic[0] == '\0') {
			free(rc->diagnostic);
			rc->diagnostic = diag;
		} else
			free(diag);
		group_copy(md, ru->g_status, s, rc->status, sizeof rc->status);
		group_copy(md, ru->g_code, s, rc->smtp_code, sizeof rc->smtp_code);
		if (rc->diagnostic != NULL)
			smtpcode_fill(rc->diagnostic, strlen(rc->diagnostic), rc->status,
			    rc->smtp_code);
	}
	strbuf_free(&addr);
	strbuf_free(&alias);
	if (found > 0)
		note_match(x, ru);
	return found;
}

/* VALUE of a recipient rule: the families it is written for, comma-separated; "*" among them
 * makes it a generic rule too. */
static bool
rule_applies(const struct extract *x, const struct rule *ru, int pass)
{
	if (ru->type != RULE_RECIPIENT)
		return false;
	if (pass == 0)
		return x->family != NULL && rules_text_in_list(ru->value, x->family);
	return ru->any_family;
}

static size_t
run_rule_anywhere(struct extract *x, const struct rule *ru, struct bounce_report *r, bool add,
    bool delayed)
{
	if (ru->where == WHERE_TEXT)
		return x->text.len > 0 && may_match(x, ru, x->text.s, x->text.len, &x->cand_text) ?
		    run_recipient_rule(x, ru, x->text.s, x->text.len, r, add, delayed) : 0;
	if (ru->where != WHERE_FIELD || x->m->headers == NULL)
		return 0;
	uint64_t **cand;
	const struct strbuf *vals = field_values(x, ru->field, &cand);
	return vals->len > 0 && may_match(x, ru, vals->s, vals->len, cand) ?
	    run_recipient_rule(x, ru, vals->s, vals->len, r, add, delayed) : 0;
}

/* Recipients whose diagnostic no rule found: the lines where the text names them, else (one
 * recipient, named nowhere) the whole text, which is all the report says. */
static void
diag_fallback(struct extract *x, struct bounce_report *r, size_t from, bool whole_text)
{
	for (size_t i = from; i < r->nrcpts; i++) {
		struct bounce_recipient *rc = &r->rcpts[i];
		if ((rc->diagnostic != NULL && rc->diagnostic[0] != '\0') || x->text.len == 0 ||
		    rc->feedback_type != NULL)
			continue;	/* a complaint has no diagnostic */
		free(rc->diagnostic);
		const char *at = strcasestr(x->text.s, rc->address);
		const char *ls = at;
		while (ls != NULL && ls > x->text.s && ls[-1] != '\n')
			ls--;
		/* a delivery-status block pasted as text says nothing a rule could read */
		if (ls != NULL && (strncasecmp(ls, "Final-Recipient:", 16) == 0 ||
		    strncasecmp(ls, "Original-Recipient:", 19) == 0))
			at = NULL;
		if (at != NULL) {
			rc->diagnostic = rules_text_paragraph_after(x->text.s, x->text.len, (size_t)(ls - x->text.s));
		} else if (whole_text && r->nrcpts == 1)
			rc->diagnostic = rules_text_diag(x->text.s, x->text.len);
		else
			rc->diagnostic = NULL;
		if (rc->diagnostic != NULL)
			smtpcode_fill(rc->diagnostic, strlen(rc->diagnostic), rc->status,
			    rc->smtp_code);
	}
}

/* Does the text name any recipient r already has? Only then can a rule complete one (a rule's
 * address is a piece of the text, and bounce_report_find compares without case). */
static bool
text_names_any(const struct extract *x, const struct bounce_report *r)
{
	for (size_t i = 0; i < r->nrcpts; i++)
		if (r->rcpts[i].address != NULL && strcasestr(x->text.s, r->rcpts[i].address) != NULL)
			return true;
	return false;
}

/* Recipient rules: the recognised family's text rules first, then header fields that name the
 * failed recipients (X-Failed-Recipients), then the generic text rules ("*"). The first rule
 * that names anyone wins; after a header rule, the text rules only complete what it named. */
/* The last generic text rule of the set: the last resort, any address in the text (operators'
 * rules come first in the set, the shipped recipients.rules ends with it). */
static const struct rule *
last_resort(const struct rules *rules)
{
	for (size_t i = rules->n; i-- > 0;)
		if (rules->v[i].type == RULE_RECIPIENT && rules->v[i].any_family &&
		    rules->v[i].where == WHERE_TEXT)
			return &rules->v[i];
	return NULL;
}

/* With weak set (only the From, or only the Subject, calls the message a bounce), the last
 * resort is not tried: an address in prose is no failed recipient of a message nothing else
 * marks as a report. */
static size_t
run_recipients(struct extract *x, struct bounce_report *r, bool add, bool delayed, bool weak,
    const struct rule **rule_r)
{
	size_t before = r->nrcpts;
	bool fill_only = !add;
	const struct rule *skip = weak ? last_resort(x->rules) : NULL;
	/* Completing a DSN's recipients: when the text names none of them, no rule can. */
	int first_step = fill_only && !text_names_any(x, r) ? 3 : 0;
	for (int step = first_step; step < 3; step++) {
		for (size_t i = 0; i < x->rules->n; i++) {
			const struct rule *ru = &x->rules->v[i];
			bool field = ru->where == WHERE_FIELD;
			if ((step == 1) != field || !rule_applies(x, ru, step == 0 ? 0 : 1))
				continue;
			if ((field && fill_only) || ru == skip)
				continue;
			size_t k = run_rule_anywhere(x, ru, r, !fill_only, delayed);
			if (k > 0 && !fill_only) {
				*rule_r = ru;
				fill_only = true;
				if (!field)
					step = 3;
				break;
			}
		}
	}
	diag_fallback(x, r, add ? before : 0, add);
	return add ? r->nrcpts - before : 0;
}

/* A multipart/report of delivery status is a mail system's report by what it is, whoever the
 * From names: its delivery-status part may be empty or broken, its text still says who failed. */
static bool
is_delivery_report(const struct mime_message *m)
{
	if (m->nparts == 0 || m->parts[0].parent >= 0 ||
	    strcmp(m->parts[0].content_type, "multipart/report") != 0 || m->parts[0].report_type == NULL)
		return false;
	return strcmp(m->parts[0].report_type, "delivery-status") == 0 ||
	    strcmp(m->parts[0].report_type, "global-delivery-status") == 0;
}

static bool
is_bounce_sender(struct extract *x)
{
	if (is_delivery_report(x->m))
		return true;
	for (size_t i = 0; i < x->rules->n; i++) {
		const struct rule *ru = &x->rules->v[i];
		if (ru->type == RULE_SENDER && ru->where != WHERE_TEXT && rule_hits_message(x, ru))
			return true;
	}
	return false;
}

/* Starts reading m with rules (NULL: the built-in set) and sc (NULL: one made for the call). */
static void
extract_init(struct extract *x, const struct rules *rules, struct rules_scratch *sc,
    const struct mime_message *m)
{
	memset(x, 0, sizeof *x);
	x->rules = rules != NULL ? rules : rules_builtin();
	x->sc = sc != NULL ? sc : (x->own_sc = rules_scratch_new());
	rules_scratch_fit(x->sc, x->rules);
	x->m = m;
}

/* Adds the names of the rules x noted as matching to r->rules_matched, each once. */
static void
report_matched(struct extract *x, struct bounce_report *r)
{
	if (r == NULL || x->nmatched == 0)
		return;
	struct strbuf b = STRBUF_INIT;
	if (r->rules_matched != NULL)
		strbuf_puts(&b, r->rules_matched);
	for (size_t i = 0; i < x->nmatched; i++) {
		const char *name = x->matched[i]->name;
		size_t n = strlen(name);
		bool seen = false;
		for (const char *q = r->rules_matched; q != NULL && !seen && (q = strstr(q, name)) != NULL;
		    q++)
			seen = (q == r->rules_matched || q[-1] == ' ') && (q[n] == ' ' || q[n] == '\0');
		if (seen)
			continue;
		if (b.len > 0)
			strbuf_putc(&b, ' ');
		strbuf_append(&b, name, n);
	}
	free(r->rules_matched);
	r->rules_matched = strbuf_detach(&b);
}

size_t
rules_report_end(const struct rules *rules, struct rules_scratch *sc, const char *text,
    size_t len, bool *limit_hit_r)
{
	if (text == NULL || len == 0)
		return 0;
	struct extract x;
	extract_init(&x, rules, sc, NULL);
	uint64_t *cand = NULL;
	size_t cut = len;
	for (size_t i = 0; i < x.rules->n; i++) {
		const struct rule *ru = &x.rules->v[i];
		size_t at;
		if (ru->type == RULE_CUT && may_match(&x, ru, text, len, &cand) &&
		    matches(&x, ru, text, cut, &at) && at < cut)
			cut = at;
	}
	free(cand);
	if (x.limit_hit && limit_hit_r != NULL)
		*limit_hit_r = true;
	extract_free(&x);
	return cut;
}

bool
rules_is_bounce_sender(const struct rules *rules, struct rules_scratch *sc,
    const struct mime_message *m, struct bounce_report *r)
{
	struct extract x;
	extract_init(&x, rules, sc, m);
	bool hit = is_bounce_sender(&x);
	report_matched(&x, r);
	extract_free(&x);
	return hit;
}

/* True for mail a list manager sent (List-Unsubscribe, RFC 2369 and 8058). */
static bool
is_list_mail(const struct mime_message *m)
{
	struct strbuf v = STRBUF_INIT;
	bool list = m->headers != NULL &&
	    header_get(m->headers, m->headers_len, "List-Unsubscribe", &v);
	strbuf_free(&v);
	return list;
}

/* Is the message's From a mail system's own address (a sender rule on From)? */
static bool
from_is_mail_system(struct extract *x)
{
	for (size_t i = 0; i < x->rules->n; i++) {
		const struct rule *ru = &x->rules->v[i];
		if (ru->type == RULE_SENDER && ru->where == WHERE_FIELD &&
		    strcasecmp(ru->field, "From") == 0 && rule_hits_message(x, ru))
			return true;
	}
	return false;
}

/* The header block of the returned message: its own part, else the text after a cut ("Original
 * Message:", "----- Unsent message follows -----"), the cut's own line skipped unless it is
 * a header field itself. */
static bool
returned_header_block(struct extract *x, const char **h_r, size_t *len_r)
{
	if (x->m->returned_headers != NULL) {
		*h_r = x->m->returned_headers;
		*len_r = x->m->returned_headers_len;
		return true;
	}
	const char *p = x->returned.s, *end = p + x->returned.len;
	if (p == NULL)
		return false;
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	const char *colon = memchr(p, ':', (size_t)(end - p));
	bool field = colon != NULL && (nl == NULL || colon < nl) && colon > p;
	for (const char *c = p; field && c < colon; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		    *c == '-'))
			field = false;
	if (!field)
		p = nl != NULL ? nl + 1 : end;
	while (p < end && (*p == '\n' || *p == ' ' || *p == '\t'))
		p++;
	*h_r = p;
	*len_r = (size_t)(end - p);
	return p < end;
}

/* A report that names no failed address but returns the original, sent to one address only
 * (Postfix's "Delivery report unavailable", MMS gateways, old Sendmail): that address. */
static size_t
returned_single_to(struct extract *x, struct bounce_report *r)
{
	const char *h;
	size_t hl;
	if (!returned_header_block(x, &h, &hl))
		return 0;
	struct strbuf to = STRBUF_INIT, cc = STRBUF_INIT, a = STRBUF_INIT;
	size_t added = 0;
	bool one = header_get(h, hl, "To", &to) && memchr(to.s, '@', to.len) != NULL &&
	    memchr(to.s, '@', to.len) == memrchr(to.s, '@', to.len) &&
	    !(header_get(h, hl, "Cc", &cc) && memchr(cc.s, '@', cc.len) != NULL);
	if (one && address_extract(to.s, to.len, &a) && !excluded(x, a.s)) {
		struct bounce_recipient *rc = bounce_report_add(r, a.s);
		if (rc != NULL) {
			bounce_set(&rc->action, "failed");
			added = 1;
		}
	}
	strbuf_free(&to);
	strbuf_free(&cc);
	strbuf_free(&a);
	return added;
}

/* One header alone marks the message as a report: its From (a mail system's address) or its
 * Subject (a person asking "Mail delivery failed?"), and nothing else does: no family, no
 * report structure, no returned message, not a forwarded bounce. */
static bool
one_header_says_so(struct extract *x)
{
	if (x->family != NULL || x->forwarded || x->m->returned_headers != NULL ||
	    is_delivery_report(x->m))
		return false;
	bool from = false, other = false;
	for (size_t i = 0; i < x->rules->n && !(from && other); i++) {
		const struct rule *ru = &x->rules->v[i];
		if (ru->type != RULE_SENDER || ru->where == WHERE_TEXT)
			continue;
		bool is_from = ru->where == WHERE_FIELD && strcasecmp(ru->field, "From") == 0;
		if ((is_from ? from : other) || !rule_hits_message(x, ru))
			continue;
		if (is_from)
			from = true;
		else
			other = true;
	}
	return !(from && other);
}

/* A list manager's mail is a newsletter, whatever its subject says ("Undelivered Mail: what
 * your bounces are telling you"), unless it is what a bounce is: sent by a mail system's own
 * address, or written in a mail system's words (a family the text names). A list manager
 * forwards the bounces it cannot read to the list's owner with its List-* fields added. */
static bool
is_newsletter(struct extract *x)
{
	return is_list_mail(x->m) && x->family == NULL && !from_is_mail_system(x);
}

size_t
rules_extract(const struct rules *rules, struct rules_scratch *sc, const struct mime_message *m,
    struct bounce_report *r)
{
	struct extract x;
	extract_init(&x, rules, sc, m);
	build_text(&x);
	detect_family(&x);

	size_t added = 0;
	const struct rule *rule = NULL;
	if (r->nrcpts > 0) {
		/* A DSN: only complete what its recipient groups lack. */
		if (x.text.len > 0)
			run_recipients(&x, r, false, false, false, &rule);
	} else if (x.text.len > 0 && (x.family_by_header || x.forwarded || is_bounce_sender(&x)) &&
	    !is_newsletter(&x)) {
		/* A family named by the text alone is not enough: a person may paste a bounce. */
		bool delayed = any_hit(&x, RULE_DELAYED);
		added = run_recipients(&x, r, true, delayed, one_header_says_so(&x), &rule);
		if (added == 0 && (added = returned_single_to(&x, r)) > 0) {
			diag_fallback(&x, r, 0, true);
			if (delayed)
				bounce_set(&r->rcpts[0].action, "delayed");
		}
	}
	if (added > 0) {
		r->kind = KIND_HEURISTIC;
		if (x.family != NULL)
			bounce_set(&r->mta_family, x.family);
		struct strbuf ev = STRBUF_INIT;
		strbuf_puts(&ev, "free-form bounce: family ");
		strbuf_puts(&ev, x.family != NULL ? x.family : "unknown");
		strbuf_puts(&ev, " (rule ");
		if (x.family_rule != NULL) {
			strbuf_puts(&ev, x.family_rule->name);
			strbuf_puts(&ev, ", ");
			strbuf_puts(&ev, x.family_rule->origin);
		} else
			strbuf_putc(&ev, '-');
		if (rule != NULL) {
			strbuf_puts(&ev, "), recipients by rule ");
			strbuf_puts(&ev, rule->name);
			strbuf_puts(&ev, " (");
			strbuf_puts(&ev, rule->origin);
			strbuf_putc(&ev, ')');
		} else
			strbuf_puts(&ev, "), no rule named a recipient: the returned message's only To");
		free(r->evidence);
		r->evidence = strbuf_detach(&ev);
	}
	if (x.limit_hit)
		r->flags |= BOUNCE_F_REGEX_LIMIT;
	report_matched(&x, r);
	extract_free(&x);
	return added;
}
