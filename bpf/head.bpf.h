/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * head.bpf.h - the first bytes of a kernel struct, read with one helper
 * call: a field that lies there (its offset relocated for the running
 * kernel) is taken from the copy, one that does not is read by itself.
 * Every open and close on the machine reads a file, its inode and its
 * super block: one call for the head of each, rather than one per field
 * (a helper call costs about as much as the rest of the hook's work).
 */
#ifndef INUSE_HEAD_BPF_H
#define INUSE_HEAD_BPF_H

struct ghead {
	__u64 w[16];
};

#define GH_IN(T, f, ctype)                                                                         \
	(bpf_core_field_exists(T, f) && bpf_core_field_size(T, f) == sizeof(ctype) &&              \
	 bpf_core_field_offset(T, f) + sizeof(ctype) <= sizeof(struct ghead))
#define GH_AT(h, T, f, ctype) (*(ctype *)((char *)(h) + bpf_core_field_offset(T, f)))
#define GH_GET(h, p, T, f, ctype)                                                                  \
	(GH_IN(T, f, ctype) ? GH_AT(h, T, f, ctype) : (ctype)BPF_CORE_READ((T *)(p), f))

static __always_inline int gh_read(struct ghead *h, const void *p)
{
	return bpf_probe_read_kernel(h, sizeof(*h), p);
}

#endif
