/* SMTP reply codes and RFC 3463 enhanced status codes in free text. Mail systems write them in
 * many ways: "550 5.1.1", multi-line "550-5.1.1", Exchange "#550 5.1.1", qmail "(#5.1.1)",
 * Postfix "said: 550 <a@x>: ...". Numbers that only look like codes are everywhere too: IP
 * addresses, versions, dates, queue ids, colours, x-unix exit statuses. */
#include "smtpcode.h"

#include <string.h>

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool
is_class(char c)
{
	return c == '2' || c == '4' || c == '5';
}

/* The three digits of a reply code at s[i], whatever stands around them. */
static bool
reply_digits(const char *s, size_t len, size_t i)
{
	return len - i >= 3 && is_class(s[i]) && s[i + 1] >= '0' && s[i + 1] <= '5' &&
	    is_digit(s[i + 2]);
}

static bool
reply_end(const char *s, size_t len, size_t e)
{
	if (e == len)
		return true;
	char c = s[e];
	switch (c) {
	case ' ': case '\t': case '\n': case '\r': case '-': case ',': case ';': case ':':
	case ')': case ']':
		return true;
	case '.':
		return e + 1 == len || !is_digit(s[e + 1]);
	default:
		return false;
	}
}

/* The reply code at s[i] with only its neighbours checked, not what '#' requires. */
static bool
reply_alone(const char *s, size_t len, size_t i)
{
	if (i > 0) {
		char b = s[i - 1];
		if (is_alpha(b) || is_digit(b) || b == '.' || b == '-' || b == '_' || b == '@' ||
		    b == '/' || b == '=')
			return false;
	}
	return reply_digits(s, len, i) && reply_end(s, len, i + 3);
}

size_t
smtpcode_status_at(const char *s, size_t len, size_t i)
{
	if (i >= len || len - i < 5)
		return 0;
	if (i > 0) {
		char b = s[i - 1];
		if (is_alpha(b) || is_digit(b) || b == '.' || b == '_')
			return 0;
		/* "550-5.7.1": the '-' of a multi-line reply, never "ab-5.1.1" */
		if (b == '-' && !(i >= 4 && reply_alone(s, len, i - 4)))
			return 0;
	}
	if (!is_class(s[i]) || s[i + 1] != '.' || !is_digit(s[i + 2]) || s[i + 2] > '7' ||
	    s[i + 3] != '.')
		return 0;
	size_t e = i + 4, d = 0;
	while (e < len && is_digit(s[e]) && d <= 3) {
		e++;
		d++;
	}
	if (d == 0 || d > 3)
		return 0;
	if (e < len && (is_alpha(s[e]) || s[e] == '_' || (s[e] == '.' && e + 1 < len &&
	    is_digit(s[e + 1]))))
		return 0;
	return e - i;
}

size_t
smtpcode_paired(const char *s, size_t len, size_t i, size_t *at_r)
{
	if (!reply_digits(s, len, i))
		return 0;
	size_t p = i + 3;
	if (p >= len || (s[p] != ' ' && s[p] != '-'))
		return 0;
	p++;
	while (p < len && s[p] == ' ')
		p++;
	if (p < len && (s[p] == '\'' || s[p] == '"' || s[p] == '#'))
		p++;
	if (p >= len || s[p] != s[i])
		return 0;
	size_t n = smtpcode_status_at(s, len, p);
	if (n == 0 || n >= SMTPCODE_STATUS_SIZE)
		return 0;
	*at_r = p;
	return n;
}

size_t
smtpcode_reply_at(const char *s, size_t len, size_t i)
{
	if (i >= len || !reply_alone(s, len, i))
		return 0;
	size_t at;
	if (i > 0 && s[i - 1] == '#' && smtpcode_paired(s, len, i, &at) == 0)
		return 0;
	return 3;
}

void
smtpcode_scan(const char *text, size_t len, struct smtpcode *out)
{
	memset(out, 0, sizeof *out);
	if (text == NULL)
		return;
	size_t first_reply = len, first_status = len, status_len = 0;
	for (size_t i = 0; i < len; i++) {
		if (!is_class(text[i]))
			continue;
		if (smtpcode_reply_at(text, len, i) > 0) {
			size_t at, n = smtpcode_paired(text, len, i, &at);
			if (n > 0) {
				memcpy(out->reply, text + i, 3);
				memcpy(out->status, text + at, n);
				out->paired = true;
				out->at = i;
				return;
			}
			if (first_reply == len)
				first_reply = i;
		}
		if (first_status == len) {
			size_t n = smtpcode_status_at(text, len, i);
			if (n > 0 && n < SMTPCODE_STATUS_SIZE) {
				first_status = i;
				status_len = n;
			}
		}
	}
	if (first_reply < len)
		memcpy(out->reply, text + first_reply, 3);
	if (first_status < len)
		memcpy(out->status, text + first_status, status_len);
}

void
smtpcode_fill(const char *text, size_t len, char status[SMTPCODE_STATUS_SIZE], char reply[4])
{
	if (status[0] != '\0' && reply[0] != '\0')
		return;
	struct smtpcode c;
	smtpcode_scan(text, len, &c);
	if (status[0] == '\0')
		memcpy(status, c.status, SMTPCODE_STATUS_SIZE);
	if (reply[0] == '\0')
		memcpy(reply, c.reply, 4);
}

bool
smtpcode_quoted_reply(const char *text, size_t len, size_t *at_r)
{
	bool wrapper = false;
	for (size_t i = 0; i < len; i++) {
		if (!is_class(text[i]))
			continue;
		size_t at;
		if (wrapper && smtpcode_reply_at(text, len, i) > 0 &&
		    smtpcode_paired(text, len, i, &at) > 0) {
			*at_r = i;
			return true;
		}
		size_t n = smtpcode_status_at(text, len, i);
		if (n > 0) {
			wrapper = true;
			i += n - 1;
		}
	}
	return false;
}
