// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/corebtf.h"

#include <bpf/btf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/btf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define VMLINUX_BTF "/sys/kernel/btf/vmlinux"
#define BTF_MAX	    (256u << 20)
#define NAME_SLOTS  4096u /* a power of two, above the programs' type names */

int corebtf_usable(void)
{
	DIR *d = opendir("/sys/kernel/btf");
	struct dirent *de;
	int only_vmlinux = 1;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && strcmp(de->d_name, "vmlinux"))
			only_vmlinux = 0;
	closedir(d);
	return only_vmlinux;
}

/* The name libbpf matches on: without a "___flavour" suffix (the last
 * "X___Y" with X and Y not underscores). */
static size_t essential_len(const char *s)
{
	size_t n = strlen(s);

	for (size_t i = n >= 5 ? n - 5 + 1 : 0; i-- > 0;)
		if (s[i] != '_' && s[i + 1] == '_' && s[i + 2] == '_' && s[i + 3] == '_' &&
		    s[i + 4] != '_')
			return i + 1;
	return n;
}

struct names {
	struct {
		const char *s;
		size_t len;
	} slot[NAME_SLOTS];
	size_t n;
};

static size_t name_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return (size_t)(h ^ h >> 29);
}

static bool names_has(const struct names *nm, const char *s, size_t len)
{
	for (size_t i = name_hash(s, len) & (NAME_SLOTS - 1);; i = (i + 1) & (NAME_SLOTS - 1)) {
		if (!nm->slot[i].s)
			return false;
		if (nm->slot[i].len == len && !memcmp(nm->slot[i].s, s, len))
			return true;
	}
}

static int names_add(struct names *nm, const char *s, size_t len)
{
	size_t i;

	if (names_has(nm, s, len))
		return 0;
	if (nm->n >= NAME_SLOTS / 2)
		return -E2BIG;
	for (i = name_hash(s, len) & (NAME_SLOTS - 1); nm->slot[i].s;
	     i = (i + 1) & (NAME_SLOTS - 1))
		;
	nm->slot[i].s = s;
	nm->slot[i].len = len;
	nm->n++;
	return 0;
}

/* Kinds whose types CO-RE looks up by name. */
static bool named_kind(unsigned int kind)
{
	return kind == BTF_KIND_STRUCT || kind == BTF_KIND_UNION || kind == BTF_KIND_ENUM ||
	       kind == BTF_KIND_ENUM64 || kind == BTF_KIND_TYPEDEF || kind == BTF_KIND_FWD;
}

/* The bytes after struct btf_type, or -1 for a kind not known here. */
static long extra_len(unsigned int kind, unsigned int vlen)
{
	switch (kind) {
	case BTF_KIND_INT:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG:
		return 4;
	case BTF_KIND_ARRAY:
		return sizeof(struct btf_array);
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		return (long)vlen * (long)sizeof(struct btf_member);
	case BTF_KIND_ENUM:
		return (long)vlen * (long)sizeof(struct btf_enum);
	case BTF_KIND_ENUM64:
		return (long)vlen * (long)sizeof(struct btf_enum64);
	case BTF_KIND_FUNC_PROTO:
		return (long)vlen * (long)sizeof(struct btf_param);
	case BTF_KIND_DATASEC:
		return (long)vlen * (long)sizeof(struct btf_var_secinfo);
	case BTF_KIND_PTR:
	case BTF_KIND_FWD:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC:
	case BTF_KIND_FLOAT:
	case BTF_KIND_TYPE_TAG:
		return 0;
	default:
		return -1;
	}
}

/* The kernel's type table: mapped where sysfs allows it (Linux 6.15+),
 * else read. *mapped says which, for release(). */
static int read_all(const char *path, char **out, size_t *len, bool *mapped)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap, n = 0;
	struct stat st;
	char *buf;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || st.st_size <= 0 || (uint64_t)st.st_size > BTF_MAX) {
		close(fd);
		return -EFBIG;
	}
	cap = (size_t)st.st_size;
	buf = mmap(NULL, cap, PROT_READ, MAP_PRIVATE, fd, 0);
	if (buf != MAP_FAILED) {
		close(fd);
		*out = buf;
		*len = cap;
		*mapped = true;
		return 0;
	}
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (n < cap) {
		ssize_t r = read(fd, buf + n, cap - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n != cap) {
		free(buf);
		return -EIO;
	}
	*out = buf;
	*len = n;
	*mapped = false;
	return 0;
}

static void release(char *buf, size_t len, bool mapped)
{
	if (mapped)
		munmap(buf, len);
	else
		free(buf);
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -EIO;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

struct table {
	const char *types, *strs;
	uint32_t tlen, slen;
	uint32_t *off; /* off[id]: where type id starts; off[n]: the end */
	uint32_t n;    /* ids 1..n-1 */
};

static const struct btf_type *type_at(const struct table *tb, uint32_t id)
{
	return (const struct btf_type *)(const void *)(tb->types + tb->off[id]);
}

static int index_types(const char *buf, size_t len, struct table *tb)
{
	const struct btf_header *h = (const struct btf_header *)(const void *)buf;
	uint32_t cap = 1 << 17, off = 0;

	if (len < sizeof(*h) || h->magic != BTF_MAGIC || h->version != BTF_VERSION ||
	    h->hdr_len < sizeof(*h) || h->hdr_len > len ||
	    (uint64_t)h->type_off + h->type_len > len - h->hdr_len ||
	    (uint64_t)h->str_off + h->str_len > len - h->hdr_len || h->type_off % 4 ||
	    !h->str_len || buf[h->hdr_len + h->str_off + h->str_len - 1])
		return -EPROTO;
	tb->types = buf + h->hdr_len + h->type_off;
	tb->tlen = h->type_len;
	tb->strs = buf + h->hdr_len + h->str_off;
	tb->slen = h->str_len;
	tb->off = malloc(cap * sizeof(*tb->off));
	if (!tb->off)
		return -ENOMEM;
	tb->off[0] = 0;
	tb->n = 1;
	while (off < tb->tlen) {
		const struct btf_type *t;
		long extra;

		if (tb->tlen - off < sizeof(*t))
			return -EPROTO;
		t = (const struct btf_type *)(const void *)(tb->types + off);
		extra = extra_len(BTF_INFO_KIND(t->info), BTF_INFO_VLEN(t->info));
		if (extra < 0 || (uint64_t)extra > tb->tlen - off - sizeof(*t) ||
		    t->name_off >= tb->slen)
			return -EPROTO;
		if (tb->n + 1 >= cap) {
			uint32_t *o = realloc(tb->off, (size_t)cap * 2 * sizeof(*o));

			if (!o)
				return -ENOMEM;
			tb->off = o;
			cap *= 2;
		}
		tb->off[tb->n++] = off;
		off += (uint32_t)(sizeof(*t) + (size_t)extra);
	}
	tb->off[tb->n] = off;
	return 0;
}

struct refs {
	const uint8_t *keep; /* rewrite: the ids kept, keep[0..n) */
	uint32_t n;
	int (*fn)(void *, uint32_t); /* else: called for each id held by value */
	void *ctx;
};

static void ref(const struct refs *r, uint32_t *id, bool held)
{
	if (r->keep) {
		if (*id >= r->n || !r->keep[*id])
			*id = 0;
	} else if (held) {
		r->fn(r->ctx, *id);
	}
}

/*
 * The ids type t refers to: with r->fn, those it holds by value (a
 * pointer's target and a function's types are not followed: CO-RE compares
 * a pointer member by its kind alone); with r->keep, every reference to an
 * id not kept replaced by void, so that nothing dangles.
 */
static void each_ref(struct btf_type *t, const struct refs *r)
{
	unsigned int vlen = BTF_INFO_VLEN(t->info);

	switch (BTF_INFO_KIND(t->info)) {
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_TYPE_TAG:
		ref(r, &t->type, true);
		break;
	case BTF_KIND_PTR:
	case BTF_KIND_FUNC:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG:
		ref(r, &t->type, false);
		break;
	case BTF_KIND_ARRAY: {
		struct btf_array *a = (struct btf_array *)(t + 1);

		ref(r, &a->type, true);
		ref(r, &a->index_type, true);
		break;
	}
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION: {
		struct btf_member *m = (struct btf_member *)(t + 1);

		for (unsigned int i = 0; i < vlen; i++)
			ref(r, &m[i].type, true);
		break;
	}
	case BTF_KIND_FUNC_PROTO: {
		struct btf_param *p = (struct btf_param *)(t + 1);

		ref(r, &t->type, false);
		for (unsigned int i = 0; i < vlen; i++)
			ref(r, &p[i].type, false);
		break;
	}
	case BTF_KIND_DATASEC: {
		struct btf_var_secinfo *v = (struct btf_var_secinfo *)(t + 1);

		for (unsigned int i = 0; i < vlen; i++)
			ref(r, &v[i].type, false);
		break;
	}
	default:
		break;
	}
}

struct walk {
	uint32_t *stack;
	uint32_t depth, cap, n;
	int err;
};

static int push(void *ctx, uint32_t id)
{
	struct walk *w = ctx;

	if (!id)
		return 0;
	if (id >= w->n) {
		w->err = -EPROTO;
		return w->err;
	}
	if (w->depth == w->cap) {
		uint32_t *s = realloc(w->stack, (size_t)(w->cap ? w->cap * 2 : 1024) * sizeof(*s));

		if (!s) {
			w->err = -ENOMEM;
			return w->err;
		}
		w->stack = s;
		w->cap = w->cap ? w->cap * 2 : 1024;
	}
	w->stack[w->depth++] = id;
	return 0;
}

/* Marks in reach[] the kernel's types of the programs' names and what
 * they hold by value. Returns the highest id marked, 0 for none, or
 * -errno. */
static long reach_types(const struct table *tb, const struct names *nm, uint8_t *reach)
{
	struct walk w = {.n = tb->n};
	struct refs r = {.fn = push, .ctx = &w};
	uint32_t top = 0;

	for (uint32_t id = 1; id < tb->n && !w.err; id++) {
		const struct btf_type *t = type_at(tb, id);
		const char *name = tb->strs + t->name_off;

		if (!t->name_off || !named_kind(BTF_INFO_KIND(t->info)))
			continue;
		if (names_has(nm, name, essential_len(name)))
			push(&w, id);
	}
	while (w.depth && !w.err) {
		uint32_t id = w.stack[--w.depth];
		/* each_ref only reads when not rewriting */
		struct btf_type *t = (struct btf_type *)(uintptr_t)type_at(tb, id);

		if (reach[id])
			continue;
		reach[id] = 1;
		if (id > top)
			top = id;
		each_ref(t, &r);
	}
	free(w.stack);
	return w.err ? w.err : (long)top;
}

int corebtf_write(const struct btf *local, int fd, struct corebtf_stats *st)
{
	static struct names nm;
	struct table tb = {0};
	struct btf_header h;
	struct refs keep;
	uint8_t *reach = NULL;
	char *buf = NULL, *out = NULL;
	size_t len = 0, o = 0;
	bool mapped = false;
	long top;
	int err;

	memset(&nm, 0, sizeof(nm));
	memset(st, 0, sizeof(*st));
	for (uint32_t id = 1; local && id < btf__type_cnt(local); id++) {
		const struct btf_type *t = btf__type_by_id(local, id);
		const char *name = t ? btf__name_by_offset(local, t->name_off) : NULL;

		if (!name || !*name || !named_kind(BTF_INFO_KIND(t->info)))
			continue;
		err = names_add(&nm, name, essential_len(name));
		if (err)
			return err;
	}
	if (!nm.n)
		return -ENOENT;
	err = read_all(VMLINUX_BTF, &buf, &len, &mapped);
	if (err)
		return err;
	err = index_types(buf, len, &tb);
	if (err)
		goto out;
	reach = calloc(tb.n, 1);
	if (!reach) {
		err = -ENOMEM;
		goto out;
	}
	top = reach_types(&tb, &nm, reach);
	if (top <= 0) {
		err = top < 0 ? (int)top : -ENOENT;
		goto out;
	}
	/* header, the types up to top (others by "void *"), then every
	 * string, written from where they are */
	out = malloc(sizeof(h) + (size_t)tb.off[top + 1]);
	if (!out) {
		err = -ENOMEM;
		goto out;
	}
	keep = (struct refs){.keep = reach, .n = (uint32_t)top + 1};
	o = sizeof(h);
	for (uint32_t id = 1; id <= (uint32_t)top; id++) {
		struct btf_type *t = (struct btf_type *)(void *)(out + o);

		if (reach[id]) {
			size_t n = tb.off[id + 1] - tb.off[id];

			memcpy(t, type_at(&tb, id), n);
			each_ref(t, &keep);
			o += n;
			st->reached++;
		} else {
			*t = (struct btf_type){.info = (uint32_t)BTF_KIND_PTR << 24};
			o += sizeof(*t);
		}
	}
	h = (struct btf_header){
	    .magic = BTF_MAGIC,
	    .version = BTF_VERSION,
	    .hdr_len = sizeof(h),
	    .type_off = 0,
	    .type_len = (uint32_t)(o - sizeof(h)),
	    .str_off = (uint32_t)(o - sizeof(h)),
	    .str_len = tb.slen,
	};
	memcpy(out, &h, sizeof(h));
	err = write_all(fd, out, o);
	if (!err)
		err = write_all(fd, tb.strs, tb.slen);
	st->kernel_types = tb.n - 1;
	st->kept = (uint32_t)top;
out:
	free(out);
	free(reach);
	free(tb.off);
	if (buf)
		release(buf, len, mapped);
	return err;
}
