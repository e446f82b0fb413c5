/* HTTPS GETs off the event loop (libcurl on a thread of its own): the SNS signing certificate
 * and the SubscribeURL of a subscription confirmation. https only, no redirects, the server's
 * certificate verified (against ca_file when given, else the system's trust store), the answer
 * bounded in size and time: a slow or hostile server delays only the webhook that needs it,
 * never LMTP. One fetch at a time, in order. */
#ifndef BOUNCED_HTTP_FETCH_H
#define BOUNCED_HTTP_FETCH_H

#include <stddef.h>

struct event_base;
struct http_fetcher;

/* Bytes of an answer at most: a certificate is 2 KiB, a subscription's answer less. */
#define FETCH_MAX_BYTES		(64u * 1024)
/* Seconds to connect, and for the whole fetch: SNS waits 15 s for our answer in all. */
#define FETCH_CONNECT_S		5
#define FETCH_TOTAL_S		10
/* Fetches waiting at most: more is a flood of unknown certificate URLs; refused at once. */
#define FETCH_QUEUE_MAX		64

/* Called on the loop's thread: error NULL with the 200 answer's body (len bytes, NUL-terminated,
 * owned by the fetcher for the call), or error saying what failed. */
typedef void http_fetch_done_fn(void *ctx, const char *body, size_t len, const char *error);

/* Starts the thread; done callbacks run on base. NULL when it cannot start. */
struct http_fetcher *http_fetcher_new(struct event_base *base);
/* Queues a GET of url (ca_file may be NULL). done is called exactly once, later (at once with
 * an error when the queue is full), unless the fetcher is freed first. */
void http_fetch(struct http_fetcher *f, const char *url, const char *ca_file,
    http_fetch_done_fn *done, void *ctx);
/* Waits for the fetch in progress (at most FETCH_TOTAL_S), drops the others without calling
 * them back, and stops the thread. NULL-safe. */
void http_fetcher_free(struct http_fetcher *f);

#endif
