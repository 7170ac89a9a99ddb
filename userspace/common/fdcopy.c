// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* fdcopy.c - a descriptor's contents into a new file. */
#include <fcntl.h>
#include <unistd.h>

#include "common/fdcopy.h"

int fd_copy_file(int fd, const char *dest)
{
	char buf[1 << 16];
	ssize_t n = -1;
	int out = open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (out < 0)
		return -1;
	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	if (close(out) == 0 && n == 0)
		return 0;
	return -1;
}
