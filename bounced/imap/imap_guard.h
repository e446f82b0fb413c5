/* What an IMAP server may send, checked in front of libetpan's parser (imap.c's stream driver
 * feeds every byte read here first). libetpan allocates a literal from the size the server
 * announces and keeps a whole response in memory, so the guard follows lines and literals and
 * refuses a literal over a cap, a response over a byte budget, and every literal announcement it
 * could not follow exactly as libetpan does. */
#ifndef BOUNCED_IMAP_GUARD_H
#define BOUNCED_IMAP_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most digits in a literal's size: a 32-bit number has 10, and libetpan reads the size into a
 * uint32_t that wraps past it, so a longer one ({0000000000000000000000000000005}) could mean a
 * size the guard did not see. */
#define IMAP_LITERAL_DIGITS_MAX	10

enum imap_guard_lit {
	IMAP_GUARD_LIT_NONE,	/* no "{" seen on this line (or it was not an announcement) */
	IMAP_GUARD_LIT_OPEN,	/* "{" and digits so far */
	IMAP_GUARD_LIT_CLOSED,	/* "{N}" */
	IMAP_GUARD_LIT_CR,	/* "{N}\r" */
};

/* How far the start of the current response ("TAG WORD") has been read. */
enum imap_guard_head {
	IMAP_GUARD_HEAD_TAG,	/* at or in the tag ("*", "A1", "+") */
	IMAP_GUARD_HEAD_SP,	/* blanks after the tag */
	IMAP_GUARD_HEAD_WORD,	/* the word after it */
	IMAP_GUARD_HEAD_DONE,
};

/* Longest word after the tag compared (CAPABILITY has 10 letters). */
#define IMAP_GUARD_WORD_MAX	12
/* Text of a BYE greeting kept for the error: enough for "Too many connections from your IP". */
#define IMAP_GUARD_BYE_TEXT	160
/* Longest response code name compared (PERMANENTFLAGS has 14 letters). */
#define IMAP_GUARD_CODE_MAX	16

/* Where a status response's "[CODE ...]" is read. libetpan 1.9.4 crashes (a NULL list freed)
 * on a PERMANENTFLAGS list whose first item is not a flag ("(\()", "(%)"), and on any
 * parenthesised list in the greeting's code ("[BADCHARSET (UTF-8)]", "[PERMANENTFLAGS ()]"):
 * found by fuzz/fuzz-imap.c. The guard reads the code far enough to refuse those. */
enum imap_guard_code {
	IMAP_GUARD_CODE_NONE,	/* not a status response, or its code is behind */
	IMAP_GUARD_CODE_BEFORE,	/* blanks after the status word: a "[" opens the code */
	IMAP_GUARD_CODE_NAME,	/* the code's name */
	IMAP_GUARD_CODE_ARGS,	/* what follows the name, up to "]" */
	IMAP_GUARD_CODE_LIST,	/* PERMANENTFLAGS and a blank: "(" must come */
	IMAP_GUARD_CODE_FIRST,	/* just after "(" */
	IMAP_GUARD_CODE_ITEM,	/* after the blank between two flags */
	IMAP_GUARD_CODE_FLAG,	/* inside a flag */
	IMAP_GUARD_CODE_STAR,	/* after "\*", which ends the flag */
};

struct imap_guard {
	uint64_t literal_max;	/* largest literal accepted */
	uint64_t budget;	/* bytes the current command's responses may take */
	uint64_t used;
	uint64_t literal_left;	/* bytes of a literal still to come */
	enum imap_guard_lit lit;	/* where the end of the current line is in "{N}\r\n" */
	unsigned digits;	/* digits of N so far */
	uint64_t size;		/* N so far (exact while digits <= IMAP_LITERAL_DIGITS_MAX) */
	bool odd;		/* blanks in or after "{N}": libetpan takes them, we refuse */
	enum imap_guard_head head;
	char word[IMAP_GUARD_WORD_MAX];
	size_t word_len;
	bool status;		/* a status response or "+": its text ends in "{N}" as text */
	enum imap_guard_code code;
	char code_name[IMAP_GUARD_CODE_MAX];
	size_t code_len;
	bool code_flag_chars;	/* the current flag has a character after its "\" */
	bool greeting;		/* the connection's first response is being read (set by the
				 * caller before the greeting, cleared at its end) */
	size_t tag_len;
	bool tag_star;		/* the response's tag is "*" */
	/* "* CAPABILITY" read: a capability must follow. libetpan 1.9.4 dereferences NULL in
	 * mailimap_capability after "* CAPABILITY" with none (found by fuzz/fuzz-imap.c). */
	bool cap_empty;
	/* A BYE greeting: the server refuses the connection. Cut here with its text as the error,
	 * since libetpan 1.9.4 leaks the greeting it parsed then (found by fuzz/fuzz-imap.c). */
	bool bye;
	char bye_text[IMAP_GUARD_BYE_TEXT];
	size_t bye_len;
	char *error;		/* why the guard cut the connection; owned, freed by imap_guard_clear */
};

/* Starts a command: at most budget bytes of responses, no literal over literal_max. A literal
 * being read and the state of the current line carry over. */
void imap_guard_set(struct imap_guard *g, uint64_t literal_max, uint64_t budget);

/* Follows n bytes the server sent. Returns false, with g->error set, when they cross a limit or
 * announce a literal in a form the guard refuses: a size of more than IMAP_LITERAL_DIGITS_MAX
 * digits, blanks inside or after the braces, or a bare LF after "}" (RFC 3501 wants
 * "{" number "}" CRLF; libetpan 1.9.4 also takes "{ 5 } \n"); or "{N}" CRLF at the end of a
 * status response (OK, NO, BAD, BYE, PREAUTH, "+"), which libetpan reads as text after the
 * text and as a literal inside a "[...]" code, so the guard could not tell what follows; or a
 * response code libetpan 1.9.4 crashes on (imap_guard_code). Once false, stays false. */
bool imap_guard_scan(struct imap_guard *g, const char *p, size_t n);

/* Frees g->error. */
void imap_guard_clear(struct imap_guard *g);

#endif
