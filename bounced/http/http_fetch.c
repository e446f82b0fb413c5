/* HTTPS fetches on a thread (see http_fetch.h). The loop queues jobs under a mutex; the thread
 * runs them with libcurl's easy interface one by one and hands each back through a pipe. */
#include "http_fetch.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "strbuf.h"

struct job {
	char *url, *ca_file;
	http_fetch_done_fn *done;
	void *ctx;
	struct strbuf body;
	char *error;
	struct job *next;
};

struct http_fetcher {
	struct event_base *base;
	int wake[2];
	struct event *wake_ev;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* Under mu. */
	struct job *todo, **todo_tail;
	struct job *done, **done_tail;
	size_t queued;
	bool quit;
};

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct job *j = arg;
	size_t len = size * n;
	if (j->body.len + len > FETCH_MAX_BYTES)
		return 0;	/* curl stops: CURLE_WRITE_ERROR */
	strbuf_append(&j->body, p, len);
	return len;
}

static void
run(struct job *j)
{
	CURL *c = curl_easy_init();
	if (c == NULL) {
		j->error = xstrdup("cannot start a fetch");
		return;
	}
	char errbuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_URL, j->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (j->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, j->ca_file);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)FETCH_CONNECT_S);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)FETCH_TOTAL_S);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE, (long)FETCH_MAX_BYTES);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "bounced");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, j);
	CURLcode rc = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	struct strbuf e = STRBUF_INIT;
	if (rc == CURLE_WRITE_ERROR || rc == CURLE_FILESIZE_EXCEEDED)
		strbuf_printf(&e, "answer larger than %u bytes", FETCH_MAX_BYTES);
	else if (rc != CURLE_OK)
		strbuf_printf(&e, "%s", errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
	else if (status != 200)
		strbuf_printf(&e, "answered HTTP %ld", status);
	if (e.len > 0)
		j->error = strbuf_detach(&e);
	curl_easy_cleanup(c);
}

static void *
fetch_main(void *arg)
{
	struct http_fetcher *f = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&f->mu);
	for (;;) {
		while (f->todo == NULL && !f->quit)
			pthread_cond_wait(&f->cv, &f->mu);
		if (f->quit)
			break;
		struct job *j = f->todo;
		f->todo = j->next;
		if (f->todo == NULL)
			f->todo_tail = &f->todo;
		pthread_mutex_unlock(&f->mu);
		run(j);
		pthread_mutex_lock(&f->mu);
		j->next = NULL;
		*f->done_tail = j;
		f->done_tail = &j->next;
		char one = 1;
		if (write(f->wake[1], &one, 1) < 0) {
			/* the pipe already holds a byte: the loop will look */
		}
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

static void
job_free(struct job *j)
{
	free(j->url);
	free(j->ca_file);
	strbuf_free(&j->body);
	free(j->error);
	free(j);
}

static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct http_fetcher *f = arg;
	char buf[64];
	while (read(f->wake[0], buf, sizeof buf) > 0)
		;
	pthread_mutex_lock(&f->mu);
	struct job *list = f->done;
	f->done = NULL;
	f->done_tail = &f->done;
	pthread_mutex_unlock(&f->mu);
	for (struct job *j = list, *next; j != NULL; j = next) {
		next = j->next;
		pthread_mutex_lock(&f->mu);
		f->queued--;
		pthread_mutex_unlock(&f->mu);
		j->done(j->ctx, j->error == NULL ? (j->body.s != NULL ? j->body.s : "") : NULL,
		    j->body.len, j->error);
		job_free(j);
	}
}

struct http_fetcher *
http_fetcher_new(struct event_base *base)
{
	static bool curl_ready;
	if (!curl_ready) {
		/* Once, before any thread uses curl (curl_global_init is not thread-safe). */
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return NULL;
		curl_ready = true;
	}
	struct http_fetcher *f = xcalloc(1, sizeof *f);
	f->base = base;
	f->todo_tail = &f->todo;
	f->done_tail = &f->done;
	f->wake[0] = f->wake[1] = -1;
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	if (pipe2(f->wake, O_CLOEXEC | O_NONBLOCK) != 0 ||
	    (f->wake_ev = event_new(base, f->wake[0], EV_READ | EV_PERSIST, on_wake, f)) == NULL ||
	    event_add(f->wake_ev, NULL) != 0 ||
	    pthread_create(&f->thread, NULL, fetch_main, f) != 0) {
		http_fetcher_free(f);
		return NULL;
	}
	f->started = true;
	return f;
}

void
http_fetch(struct http_fetcher *f, const char *url, const char *ca_file,
    http_fetch_done_fn *done, void *ctx)
{
	pthread_mutex_lock(&f->mu);
	bool full = f->queued >= FETCH_QUEUE_MAX;
	pthread_mutex_unlock(&f->mu);
	if (full) {
		done(ctx, NULL, 0, "too many fetches waiting");
		return;
	}
	struct job *j = xcalloc(1, sizeof *j);
	j->url = xstrdup(url);
	j->ca_file = ca_file != NULL ? xstrdup(ca_file) : NULL;
	j->done = done;
	j->ctx = ctx;
	pthread_mutex_lock(&f->mu);
	f->queued++;
	*f->todo_tail = j;
	f->todo_tail = &j->next;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

void
http_fetcher_free(struct http_fetcher *f)
{
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->mu);
	f->quit = true;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
	if (f->started)
		pthread_join(f->thread, NULL);
	for (struct job *j = f->todo, *next; j != NULL; j = next) {
		next = j->next;
		job_free(j);
	}
	for (struct job *j = f->done, *next; j != NULL; j = next) {
		next = j->next;
		job_free(j);
	}
	if (f->wake_ev != NULL)
		event_free(f->wake_ev);
	if (f->wake[0] >= 0)
		close(f->wake[0]);
	if (f->wake[1] >= 0)
		close(f->wake[1]);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	free(f);
}
