/* Follows lines and literals in what an IMAP server sends (see imap_guard.h). */
#include "imap_guard.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strbuf.h"

static bool
refuse(struct imap_guard *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool
refuse(struct imap_guard *g, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	free(g->error);
	error_setv(&g->error, fmt, ap);
	va_end(ap);
	return false;
}

void
imap_guard_set(struct imap_guard *g, uint64_t literal_max, uint64_t budget)
{
	g->literal_max = literal_max;
	g->budget = budget;
	g->used = 0;
}

void
imap_guard_clear(struct imap_guard *g)
{
	free(g->error);
	g->error = NULL;
}

/* The end of a line that announced a literal: checks it, and arms literal_left. */
static bool
announced(struct imap_guard *g, bool bare_lf)
{
	if (g->digits > IMAP_LITERAL_DIGITS_MAX)
		return refuse(g, "the server announced a literal size of more than %d digits",
		    IMAP_LITERAL_DIGITS_MAX);
	if (g->odd)
		return refuse(g, "the server announced a literal with blanks around its size");
	if (bare_lf)
		return refuse(g, "the server announced a literal with a bare LF instead of CRLF");
	if (g->status)
		return refuse(g, "the server ended a status response with a literal announcement");
	if (g->size > g->literal_max)
		return refuse(g, "the server announced a literal larger than %llu bytes",
		    (unsigned long long)g->literal_max);
	g->literal_left = g->size;
	return true;
}

/* Case-insensitive: is the word after the tag one that makes the rest of the line text? */
static bool
status_word(const struct imap_guard *g)
{
	static const char *const words[] = { "OK", "NO", "BAD", "BYE", "PREAUTH" };
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		size_t n = strlen(words[i]);
		if (g->word_len == n && strncasecmp(g->word, words[i], n) == 0)
			return true;
	}
	return false;
}

/* Follows "TAG WORD" at the start of a response; sets g->status. Over-approximates (any tag,
 * blanks of any length): a response taken for a status one is only refused sooner. */
static void
head_byte(struct imap_guard *g, char c)
{
	bool end = c == '\r' || c == '\n';
	switch (g->head) {
	case IMAP_GUARD_HEAD_TAG:
		if (c != ' ' && c != '\t' && !end) {
			g->tag_len++;
			g->tag_star = g->tag_len == 1 && c == '*';
		}
		if (c == '+') {
			g->status = true;	/* continuation request: "+" text */
			g->head = IMAP_GUARD_HEAD_DONE;
			g->code = IMAP_GUARD_CODE_BEFORE;
		} else if (c == ' ' || c == '\t') {
			g->head = IMAP_GUARD_HEAD_SP;
		} else if (end) {
			g->head = IMAP_GUARD_HEAD_DONE;
		}
		break;
	case IMAP_GUARD_HEAD_SP:
		if (c == ' ' || c == '\t')
			break;
		g->head = IMAP_GUARD_HEAD_WORD;
		g->word_len = 0;
		/* fall through */
	case IMAP_GUARD_HEAD_WORD:
		if (end || c == ' ' || c == '\t' || c == '[') {
			g->cap_empty = g->tag_star && g->word_len == 10 &&
			    strncasecmp(g->word, "CAPABILITY", 10) == 0;
			g->bye = g->greeting && g->word_len == 3 && strncasecmp(g->word, "BYE", 3) == 0;
			g->bye_len = 0;
			g->status = status_word(g);
			g->head = IMAP_GUARD_HEAD_DONE;
			g->code = !g->status || end ? IMAP_GUARD_CODE_NONE :
			    c == '[' ? IMAP_GUARD_CODE_NAME : IMAP_GUARD_CODE_BEFORE;
			g->code_len = 0;
		} else if (g->word_len < IMAP_GUARD_WORD_MAX) {
			g->word[g->word_len++] = c;
		}
		break;
	case IMAP_GUARD_HEAD_DONE:
		break;
	}
}

/* RFC 3501 ATOM-CHAR: what a flag is made of. */
static bool
atom_char(char c)
{
	unsigned char u = (unsigned char)c;
	return u > ' ' && u < 0x7f && strchr("(){%*\"\\]", c) == NULL;
}

static bool
refuse_code(struct imap_guard *g)
{
	return refuse(g, g->greeting ? "the server's greeting holds a list in its response code, "
	    "which libetpan 1.9.4 crashes on" : "the server sent a PERMANENTFLAGS list that "
	    "libetpan 1.9.4 crashes on (an item that is not a flag)");
}

/* Follows the "[CODE ...]" of a status response (imap_guard_code), one byte after the status
 * word at a time. Strict where libetpan crashes: a PERMANENTFLAGS list is "(" [flag *(SP
 * flag)] ")" with flag = "\*" / ["\"] 1*ATOM-CHAR, and the greeting's code holds no "(". */
static bool
code_byte(struct imap_guard *g, char c)
{
	switch (g->code) {
	case IMAP_GUARD_CODE_NONE:
		return true;
	case IMAP_GUARD_CODE_BEFORE:
		if (c != ' ' && c != '\t')
			g->code = c == '[' ? IMAP_GUARD_CODE_NAME : IMAP_GUARD_CODE_NONE;
		g->code_len = 0;
		return true;
	case IMAP_GUARD_CODE_NAME:
		if (c == '(' && g->greeting)
			return refuse_code(g);
		if (c == ']' || c == '\r') {
			g->code = IMAP_GUARD_CODE_NONE;
		} else if (c == ' ') {
			g->code = g->code_len == 14 && strncasecmp(g->code_name, "PERMANENTFLAGS",
			    14) == 0 ? IMAP_GUARD_CODE_LIST : IMAP_GUARD_CODE_ARGS;
		} else if (g->code_len < IMAP_GUARD_CODE_MAX) {
			g->code_name[g->code_len++] = c;
		} else {
			g->code_len = IMAP_GUARD_CODE_MAX + 1;	/* longer than any name compared */
		}
		return true;
	case IMAP_GUARD_CODE_ARGS:
		if (c == '(' && g->greeting)
			return refuse_code(g);
		if (c == ']' || c == '\r')
			g->code = IMAP_GUARD_CODE_NONE;
		return true;
	case IMAP_GUARD_CODE_LIST:
		if (c != '(' || g->greeting)
			return refuse_code(g);
		g->code = IMAP_GUARD_CODE_FIRST;
		return true;
	case IMAP_GUARD_CODE_FIRST:
	case IMAP_GUARD_CODE_ITEM:
		if (c == ')' && g->code == IMAP_GUARD_CODE_FIRST) {
			g->code = IMAP_GUARD_CODE_ARGS;
			return true;
		}
		if (c != '\\' && !atom_char(c))
			return refuse_code(g);
		g->code = IMAP_GUARD_CODE_FLAG;
		g->code_flag_chars = c != '\\';
		return true;
	case IMAP_GUARD_CODE_FLAG:
		if (c == '*' && !g->code_flag_chars) {
			g->code = IMAP_GUARD_CODE_STAR;
			return true;
		}
		if (atom_char(c)) {
			g->code_flag_chars = true;
			return true;
		}
		/* the flag ends here */
		/* fall through */
	case IMAP_GUARD_CODE_STAR:
		if (g->code == IMAP_GUARD_CODE_FLAG && !g->code_flag_chars)
			return refuse_code(g);	/* a lone "\" */
		if (c == ' ')
			g->code = IMAP_GUARD_CODE_ITEM;
		else if (c == ')')
			g->code = IMAP_GUARD_CODE_ARGS;
		else
			return refuse_code(g);
		return true;
	}
	return true;
}

/* The state machine of one line, one byte at a time. libetpan (1.9.4) takes blanks after "{",
 * between the digits and "}", and after "}", and a bare LF: all of these are followed here so
 * that none reaches libetpan unseen, and refused in announced(). */
static bool
line_byte(struct imap_guard *g, char c)
{
	bool in_text = g->head == IMAP_GUARD_HEAD_DONE;
	head_byte(g, c);
	if (in_text && !code_byte(g, c))
		return false;
	if (g->cap_empty && c != ' ' && c != '\t' && (in_text || c == '\r' || c == '\n')) {
		if (!atom_char(c))
			return refuse(g, "the server sent a CAPABILITY response without a capability "
			    "(libetpan 1.9.4 crashes on that)");
		g->cap_empty = false;
	}
	if (g->bye && in_text && c != '\r' && c != '\n' && g->bye_len + 1 < IMAP_GUARD_BYE_TEXT)
		g->bye_text[g->bye_len++] = (unsigned char)c < ' ' || c == 0x7f ? '?' : c;
	if (c == '\n') {
		if (g->bye) {
			g->bye_text[g->bye_len] = '\0';
			return refuse(g, "the server refused the connection: BYE %s", g->bye_text);
		}
		enum imap_guard_lit lit = g->lit;
		g->lit = IMAP_GUARD_LIT_NONE;
		if (lit == IMAP_GUARD_LIT_CR || lit == IMAP_GUARD_LIT_CLOSED)
			return announced(g, lit == IMAP_GUARD_LIT_CLOSED);
		/* The response ends here (after a literal it goes on on the next line). */
		g->head = IMAP_GUARD_HEAD_TAG;
		g->status = false;
		g->code = IMAP_GUARD_CODE_NONE;
		g->greeting = false;
		g->tag_len = 0;
		g->tag_star = false;
		return true;
	}
	if (c == '{') {
		g->lit = IMAP_GUARD_LIT_OPEN;
		g->digits = 0;
		g->size = 0;
		g->odd = false;
		return true;
	}
	bool blank = c == ' ' || c == '\t';
	switch (g->lit) {
	case IMAP_GUARD_LIT_NONE:
		break;
	case IMAP_GUARD_LIT_OPEN:
		if (c >= '0' && c <= '9') {
			if (++g->digits <= IMAP_LITERAL_DIGITS_MAX)
				g->size = g->size * 10 + (uint64_t)(c - '0');
		} else if (blank) {
			g->odd = true;
		} else {
			g->lit = c == '}' && g->digits > 0 ? IMAP_GUARD_LIT_CLOSED :
			    IMAP_GUARD_LIT_NONE;
			/* libetpan 1.9.4 allocates N + 1 bytes as soon as it has read "{N}", before
			 * it looks for the CRLF (fuzz/fuzz-imap.c: "{4000000000}\rX\n" made it ask
			 * for 4 GiB): a size over the cap is refused wherever it stands. */
			if (g->lit == IMAP_GUARD_LIT_CLOSED && g->digits <= IMAP_LITERAL_DIGITS_MAX &&
			    g->size > g->literal_max)
				return refuse(g, "the server announced a literal larger than %llu bytes",
				    (unsigned long long)g->literal_max);
		}
		break;
	case IMAP_GUARD_LIT_CLOSED:
		if (blank)
			g->odd = true;
		else
			g->lit = c == '\r' ? IMAP_GUARD_LIT_CR : IMAP_GUARD_LIT_NONE;
		break;
	case IMAP_GUARD_LIT_CR:
		g->lit = IMAP_GUARD_LIT_NONE;
		break;
	}
	return true;
}

bool
imap_guard_scan(struct imap_guard *g, const char *p, size_t n)
{
	if (g->error != NULL)
		return false;
	g->used += n;
	if (g->used > g->budget)
		return refuse(g, "the server sent more than %llu bytes for one command",
		    (unsigned long long)g->budget);
	for (size_t i = 0; i < n; ) {
		if (g->literal_left > 0) {
			uint64_t k = n - i < g->literal_left ? n - i : g->literal_left;
			g->literal_left -= k;
			i += (size_t)k;
			continue;
		}
		if (!line_byte(g, p[i++]))
			return false;
	}
	return true;
}
