/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/* kdev.h - the kernel's internal device number (s_dev: major << 20 | minor),
 * which BPF reports, against the dev_t of stat(2). */
#ifndef INUSE_KDEV_H
#define INUSE_KDEV_H

#include <stdint.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

static inline uint32_t kdev_from_dev(dev_t d)
{
	return (uint32_t)((major(d) << 20) | (minor(d) & 0xfffff));
}

static inline unsigned int kdev_major(uint32_t k)
{
	return k >> 20;
}

static inline unsigned int kdev_minor(uint32_t k)
{
	return k & 0xfffff;
}

#endif
