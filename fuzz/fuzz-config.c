/* bounced.conf as an operator (or a broken deployment tool) might write it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("bounced-fuzz.conf", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (size > 0 && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	struct config c;
	memset(&c, 0, sizeof c);
	config_defaults(&c);
	char *error = NULL;
	if (config_load(&c, path, &error) < 0 && error == NULL)
		abort();	/* every failure says what is wrong */
	free(error);
	config_free(&c);
	close(fd);
	return 0;
}
