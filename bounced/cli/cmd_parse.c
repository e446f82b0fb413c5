/* bounced parse [--explain] [--envelope-recipient ADDR] [--config FILE] PATH…
 * One JSON object per message per line (DESIGN.md). */
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

static const char parse_usage[] =
    "usage: bounced parse [--explain] [--envelope-recipient ADDR] [--config FILE] PATH...\n"
    "\n"
    "Reads each message and prints one JSON object per message per line. A PATH is a message\n"
    "file, a directory of message files (Maildir cur/ and new/ included), an mbox file, or -\n"
    "for standard input.\n"
    "\n"
    "  --explain                  add the evidence (field, code, rule) that decided each result\n"
    "  --envelope-recipient ADDR  the address the message was delivered to (for VERP)\n"
    "  --config FILE              read rules and VERP settings from FILE\n"
    "\n"
    "Exit status: 0 all inputs read, 1 some input could not be read, 2 usage, 78 bad config.\n";

static const struct options_cmd parse_cmd = { "parse", parse_usage, true, 1, -1, "no PATH given" };

struct parse_ctx {
	const struct bounce_options *opt;
	bool explain;
	struct strbuf line;
	size_t messages;
};

static int
parse_one(const char *source, const char *data, size_t len, void *arg)
{
	struct parse_ctx *ctx = arg;
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
	struct parse_ctx ctx = { NULL, false, STRBUF_INIT, 0 };
	const char *config_path = NULL, *envelope = NULL;
	const struct option_spec specs[] = {
		OPTION_FLAG("explain", 0, &ctx.explain),
		OPTION_STRING("envelope-recipient", 0, &envelope),
		OPTION_STRING("config", 0, &config_path), OPTIONS_END,
	};
	int first, st = options_parse(&parse_cmd, specs, argc, argv, &first);
	if (st >= 0)
		return st;

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
	if (fflush(stdout) != 0) {
		log_warnx("parse: writing output failed");
		status = EXIT_IOERR;
	}
	strbuf_free(&ctx.line);
	setup_free(&setup);
	config_free(&cfg);
	return status;
}
