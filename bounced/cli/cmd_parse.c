/* bounced parse [--explain] [--envelope-recipient ADDR] [--webhook PROVIDER] [--config FILE]
 * PATH…  One JSON object per message (or webhook event) per line (DESIGN.md). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounce.h"
#include "commands.h"
#include "config.h"
#include "input.h"
#include "log.h"
#include "options.h"
#include "report.h"
#include "setup.h"
#include "webhook.h"

static const char parse_usage[] =
    "usage: bounced parse [--explain] [--envelope-recipient ADDR] [--webhook PROVIDER]\n"
    "                     [--config FILE] PATH...\n"
    "\n"
    "Reads each message and prints one JSON object per message per line. A PATH is a message\n"
    "file, a directory of message files (Maildir cur/ and new/ included), an mbox file, or -\n"
    "for standard input.\n"
    "\n"
    "  --explain                  add the evidence (field, code, rule) that decided each result\n"
    "  --envelope-recipient ADDR  the address the message was delivered to (for VERP)\n"
    "  --webhook PROVIDER         read each PATH as a webhook body of PROVIDER (ses, sendgrid,\n"
    "                             postmark, mailgun, sparkpost, brevo, mailjet, postal), as kept\n"
    "                             in messages.raw: one object per event, source PATH#KEY\n"
    "  --config FILE              read rules and VERP settings from FILE\n"
    "\n"
    "Exit status: 0 all inputs read, 1 some input could not be read (or, with --webhook, was\n"
    "not the provider's JSON), 2 usage, 78 bad config.\n";

static const struct options_cmd parse_cmd = { "parse", parse_usage, true, 1, -1, "no PATH given" };

struct parse_ctx {
	const struct bounce_options *opt;
	const struct parse_setup *setup;
	bool webhook;
	enum webhook_provider provider;
	size_t bad;			/* webhook bodies that are not the provider's JSON */
	bool explain;
	struct strbuf line;
	size_t messages;
};

/* A webhook body: SES's may be the SNS envelope bounced keeps, or the bare notification. */
static int
parse_webhook(struct parse_ctx *ctx, const char *source, const char *data, size_t len)
{
	struct webhook_batch b = { 0 };
	struct webhook_sns sns;
	char *err = NULL;
	int rc;
	if (ctx->provider == WEBHOOK_SES && webhook_sns_parse(data, len, &sns, &err) == 0) {
		rc = webhook_map(ctx->provider, sns.message, strlen(sns.message), sns.message_id,
		    ctx->setup->rules, ctx->setup->scratch, &b, &err);
		webhook_sns_clear(&sns);
	} else {
		free(err);
		err = NULL;
		rc = webhook_map(ctx->provider, data, len, NULL, ctx->setup->rules,
		    ctx->setup->scratch, &b, &err);
	}
	if (rc != 0) {
		log_warnx("parse: %s: %s", source, err);
		free(err);
		return -1;
	}
	for (size_t i = 0; i < b.n; i++) {
		struct strbuf src = STRBUF_INIT;
		strbuf_printf(&src, "%s#%s", source, b.ev[i].key);
		strbuf_reset(&ctx->line);
		report_to_json(b.ev[i].rep, src.s, ctx->explain, &ctx->line);
		strbuf_putc(&ctx->line, '\n');
		fwrite(ctx->line.s, 1, ctx->line.len, stdout);
		strbuf_free(&src);
		ctx->messages++;
	}
	webhook_batch_free(&b);
	return 0;
}

static int
parse_one(const char *source, const char *data, size_t len, void *arg)
{
	struct parse_ctx *ctx = arg;
	if (ctx->webhook)
		ctx->bad += parse_webhook(ctx, source, data, len) != 0;
	if (ctx->webhook)
		return 0;	/* the next file is read all the same */
	struct bounce_report *r = bounce_parse(data, len, ctx->opt);
	strbuf_reset(&ctx->line);
	report_to_json(r, source, ctx->explain, &ctx->line);
	strbuf_putc(&ctx->line, '\n');
	fwrite(ctx->line.s, 1, ctx->line.len, stdout);
	bounce_report_free(r);
	ctx->messages++;
	return 0;
}

int
cmd_parse(int argc, char **argv)
{
	struct parse_ctx ctx = { .line = STRBUF_INIT };
	const char *config_path = NULL, *envelope = NULL, *webhook = NULL;
	const struct option_spec specs[] = {
		OPTION_FLAG("explain", 0, &ctx.explain),
		OPTION_STRING("envelope-recipient", 0, &envelope),
		OPTION_STRING("webhook", 0, &webhook),
		OPTION_STRING("config", 0, &config_path), OPTIONS_END,
	};
	int first, st = options_parse(&parse_cmd, specs, argc, argv, &first);
	if (st >= 0)
		return st;
	if (webhook != NULL) {
		if (!webhook_provider_from_name(webhook, &ctx.provider)) {
			log_warnx("parse: --webhook %s: not a provider (ses, sendgrid, postmark, mailgun, "
			    "sparkpost, brevo, mailjet, postal)", webhook);
			return EXIT_USAGE;
		}
		ctx.webhook = true;
	}

	struct config cfg;
	struct parse_setup setup;
	char *error = NULL;
	if (setup_config(&cfg, config_path, &error) < 0 || setup_load(&setup, &cfg, &error) < 0) {
		log_warnx("%s", error != NULL ? error : "configuration error");
		free(error);
		config_free(&cfg);
		return EXIT_CONFIG;
	}
	setup.opt.envelope_recipient = envelope;
	ctx.opt = &setup.opt;
	ctx.setup = &setup;

	static char outbuf[1 << 16];
	setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
	int status = EXIT_OK;
	for (int i = first; i < argc; i++) {
		if (input_each(argv[i], parse_one, &ctx, &error) < 0) {
			fflush(stdout);
			log_lines("parse", error);
			free(error);
			error = NULL;
			status = EXIT_NO;
		}
	}
	if (ctx.bad > 0)
		status = EXIT_NO;
	if (fflush(stdout) != 0) {
		log_warnx("parse: writing output failed");
		status = EXIT_IOERR;
	}
	strbuf_free(&ctx.line);
	setup_free(&setup);
	config_free(&cfg);
	return status;
}
