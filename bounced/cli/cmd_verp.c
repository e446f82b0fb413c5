/* bounced verp encode|decode: make and check (signed) VERP return paths from the command line,
 * with the settings of bounced.conf [verp] (doc/verp.md). */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commands.h"
#include "config.h"
#include "json.h"
#include "log.h"
#include "setup.h"
#include "strbuf.h"
#include "verp.h"

static const char verp_usage[] =
    "usage: bounced verp encode [--config FILE] [--key-file FILE] [--tag TAG]\n"
    "                           --return-path LOCAL@HOST ADDRESS\n"
    "       bounced verp decode [--config FILE] [--key-file FILE] ADDRESS\n"
    "\n"
    "encode prints the VERP return path that carries ADDRESS (signed when there is a key,\n"
    "with TAG, e.g. a campaign ID: 1-64 of A-Z a-z 0-9 . _ -). decode prints\n"
    "{\"address\": ..., \"tag\": ..., \"verified\": true|false}. The format is doc/verp.md.\n"
    "\n"
    "  --config FILE       read [verp] prefix, separator, at, key_file from FILE\n"
    "  --key-file FILE     the HMAC key: the file's bytes without trailing newline, at least 16\n"
    "                      (make one: head -c 32 /dev/urandom | base64 > FILE); with a key,\n"
    "                      unsigned addresses do not verify\n"
    "  --tag TAG           (encode) a tag signed with the address; needs a key\n"
    "  --return-path ADDR  (encode) the return path to extend, e.g. bounces@bounce.example.org\n"
    "\n"
    "Exit status: 0 done (decode: the address verified, or without a key is a well-formed\n"
    "unsigned one), 1 decode: not a VERP address or not verified, 2 usage, 65 encode: ADDRESS\n"
    "or TAG cannot be encoded, 78 bad configuration or key file.\n";

struct verp_args {
	const char *config, *key_file, *tag, *return_path, *address;
};

static int
usage_error(const char *what, const char *arg)
{
	log_warnx("verp: %s '%s' (try 'bounced verp --help')", what, arg);
	return EXIT_USAGE;
}

/* Options as --name VALUE or --name=VALUE, anywhere; "--" ends them. Returns -1 to go on,
 * or the exit status. */
static int
parse_args(int argc, char **argv, bool encode, struct verp_args *a)
{
	static const struct {
		const char *name;
		bool encode_only;
		size_t off;
	} opts[] = {
		{ "config", false, offsetof(struct verp_args, config) },
		{ "key-file", false, offsetof(struct verp_args, key_file) },
		{ "tag", true, offsetof(struct verp_args, tag) },
		{ "return-path", true, offsetof(struct verp_args, return_path) },
	};
	bool only_args = false;
	for (int i = 2; i < argc; i++) {
		const char *arg = argv[i];
		if (only_args || arg[0] != '-' || strcmp(arg, "-") == 0) {
			if (a->address != NULL)
				return usage_error("one ADDRESS only, unexpected", arg);
			a->address = arg;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			only_args = true;
			continue;
		}
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			fputs(verp_usage, stdout);
			return EXIT_OK;
		}
		const char *eq = strchr(arg, '=');
		size_t nlen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
		size_t k;
		for (k = 0; k < sizeof opts / sizeof opts[0]; k++)
			if (strncmp(arg, "--", 2) == 0 && nlen == strlen(opts[k].name) + 2 &&
			    strncmp(arg + 2, opts[k].name, nlen - 2) == 0 && (encode || !opts[k].encode_only))
				break;
		if (k == sizeof opts / sizeof opts[0])
			return usage_error("unknown option", arg);
		const char *val = eq != NULL ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
		if (val == NULL)
			return usage_error("missing value for option", arg);
		*(const char **)((char *)a + opts[k].off) = val;
	}
	if (a->address == NULL) {
		log_warnx("verp: no ADDRESS given (try 'bounced verp --help')");
		return EXIT_USAGE;
	}
	if (encode && a->return_path == NULL) {
		log_warnx("verp: encode needs --return-path LOCAL@HOST (try 'bounced verp --help')");
		return EXIT_USAGE;
	}
	return -1;
}

/* The [verp] settings, with --key-file over key_file. A key given on the command line means
 * signatures are required; one from the file follows require_signature (default: required).
 * Returns -1 to go on, or the exit status. */
static int
load_settings(const struct verp_args *a, struct config *cfg, struct verp_config *vc,
    unsigned char **key_r)
{
	char *err = NULL;
	if (setup_config(cfg, a->config, &err) < 0) {
		log_warnx("verp: %s", err);
		free(err);
		return EXIT_CONFIG;
	}
	verp_config_default(vc);
	if (cfg->verp_prefix != NULL)
		vc->prefix = cfg->verp_prefix;
	if (cfg->verp_separator != '\0')
		vc->separator = cfg->verp_separator;
	if (cfg->verp_at != '\0')
		vc->at_char = cfg->verp_at;
	const char *key_file = a->key_file != NULL ? a->key_file : cfg->verp_key_file;
	if (key_file != NULL) {
		size_t len;
		if (setup_read_key(key_file, key_r, &len, &err) < 0) {
			log_warnx("verp: %s", err);
			free(err);
			return EXIT_CONFIG;
		}
		vc->key = *key_r;
		vc->key_len = len;
	}
	vc->require_signature = a->key_file != NULL || cfg->verp_require_signature;
	const char *why;
	if (!verp_config_check(vc, &why)) {
		log_warnx("verp: %s", why);
		return EXIT_CONFIG;
	}
	return -1;
}

static int
verp_encode_cmd(const struct verp_args *a, const struct verp_config *vc)
{
	if (a->tag != NULL && vc->key == NULL) {
		log_warnx("verp: a tag is carried by signed addresses only: give --key-file (or [verp] key_file)");
		return EXIT_DATAERR;
	}
	char *out = verp_encode(vc, a->return_path, a->address, a->tag);
	if (out == NULL) {
		if (a->tag != NULL)
			log_warnx("verp: cannot encode '%s' with tag '%s' (a tag is 1-64 of A-Z a-z 0-9 . _ -)",
			    a->address, a->tag);
		else
			log_warnx("verp: cannot encode '%s' into return path '%s'", a->address, a->return_path);
		return EXIT_DATAERR;
	}
	/* The return path's local part stands in for the prefix; say so when decode (with the
	 * same settings) would not know it. */
	const char *at = strrchr(a->return_path, '@');
	size_t plen = strlen(vc->prefix);
	if (at != NULL && ((size_t)(at - a->return_path) != plen ||
	    strncasecmp(a->return_path, vc->prefix, plen) != 0))
		log_warnx("verp: warning: the return path's local part is not the configured prefix '%s':"
		    " decode will not recognise the result", vc->prefix);
	printf("%s\n", out);
	free(out);
	return EXIT_OK;
}

static int
verp_decode_cmd(const struct verp_args *a, const struct verp_config *vc)
{
	struct verp_result r;
	if (!verp_decode(vc, a->address, &r)) {
		log_warnx("verp: '%s' is not a VERP address (prefix '%s', separator '%c', at-char '%c')",
		    a->address, vc->prefix, vc->separator, vc->at_char);
		return EXIT_NO;
	}
	struct strbuf out = STRBUF_INIT;
	strbuf_puts(&out, "{\"address\": ");
	json_cstring(&out, r.address);
	strbuf_puts(&out, ", \"tag\": ");
	json_cstring(&out, r.tag);
	strbuf_printf(&out, ", \"verified\": %s}\n", r.verified ? "true" : "false");
	fwrite(out.s, 1, out.len, stdout);
	strbuf_free(&out);
	bool ok = r.verified;
	verp_result_clear(&r);
	return ok ? EXIT_OK : EXIT_NO;
}

int
cmd_verp(int argc, char **argv)
{
	if (argc < 2) {
		fputs(verp_usage, stderr);
		return EXIT_USAGE;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		fputs(verp_usage, stdout);
		return EXIT_OK;
	}
	bool encode = strcmp(sub, "encode") == 0;
	if (!encode && strcmp(sub, "decode") != 0)
		return usage_error(sub[0] == '-' ? "unknown option" : "unknown subcommand", sub);
	struct verp_args a = { NULL, NULL, NULL, NULL, NULL };
	int rc = parse_args(argc, argv, encode, &a);
	if (rc >= 0)
		return rc;
	struct config cfg;
	struct verp_config vc;
	unsigned char *key = NULL;
	rc = load_settings(&a, &cfg, &vc, &key);
	if (rc < 0)
		rc = encode ? verp_encode_cmd(&a, &vc) : verp_decode_cmd(&a, &vc);
	config_free(&cfg);
	free(key);
	return rc;
}
