// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_records - the records the daemon takes from the kernel: ring
 * records (checked as the ring callback checks them, then applied by the
 * tracker) and the records of walks (read from an iterator as one byte
 * stream, one record after another, unaligned, and split by
 * kernel_scan_records), applied to a table; then the table is settled
 * (over a kernel with no BPF: every count read fails) and every entry
 * rendered. Invariants: no crash, no misaligned access (UBSan), no leak;
 * every rendering is a JSON object.
 *
 * Input: [mode byte] then either ring records ([u16 length][record]...)
 * or a walk's byte stream.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "inused/kernel.h"
#include "inused/log.h"
#include "inused/render.h"
#include "inused/tracker.h"

/* b must hold one JSON object; freed. */
static void must_be_object(struct strbuf *b, const char *what)
{
	json_t *j = json_loadb(b->buf, b->len, 0, NULL);

	if (!json_is_object(j)) {
		fprintf(stderr, "%s not JSON: %.*s\n", what, (int)b->len, b->buf);
		abort();
	}
	json_decref(j);
	sb_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_walk_record(void *ctx, const struct inuse_ev *r, size_t len)
{
	struct tracker *t = ctx;

	/* handed over aligned, as the daemon's callback gets it */
	if ((uintptr_t)r % 8 || len < sizeof(*r) || len > KERNEL_SCAN_REC_MAX)
		abort();
	tracker_scan_record(t, r->tgid & 1 ? r->tgid : 0, r, len);
}

/* A small mount table of its own (the tracker's seam), written once: the
 * machine's would be read for every input. */
static const char *mountinfo(void)
{
	static char path[64];
	static const char text[] =
	    "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
	    "27 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw\n"
	    "30 27 0:30 / /tmp rw,relatime - tmpfs tmpfs rw\n"
	    "31 27 0:31 /sub /mnt/b\\040x rw,relatime - btrfs /dev/vdb rw\n"
	    "32 27 0:32 / /var/lib/o rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u\n";
	FILE *f;

	if (path[0])
		return path;
	snprintf(path, sizeof(path), "/tmp/inuse-fuzz-mountinfo-%d", (int)getpid());
	f = fopen(path, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
	return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kernel k; /* no BPF */
	static _Alignas(8) char rec[KERNEL_SCAN_REC_MAX];
	static _Alignas(8) char one[KERNEL_SCAN_REC_MAX + 8];
	static struct tracker t;
	static unsigned int uses;
	size_t off = 1;

	if (size < 1)
		return 0;
	log_set_level(LOG_LVL_ERR);
	/* a fresh tracker now and then: what one input leaves, the next ones
	 * meet (as in the daemon), within bounds */
	if (uses++ % 64 == 0) {
		if (uses > 1)
			tracker_fini(&t);
		if (tracker_init(&t, &k, 64, 8, mountinfo()))
			abort();
	}
	if (data[0] & 1) {
		/* a walk's stream, read in pieces as from the iterator */
		char *buf = malloc(size);
		size_t have = 0, chunk = 1 + data[0] / 2;

		if (!buf)
			return 0;
		for (size_t i = 1; i < size; i += chunk) {
			size_t n = size - i < chunk ? size - i : chunk;

			memcpy(buf + have, data + i, n);
			have += n;
			if (kernel_scan_records(buf, &have, rec, on_walk_record, &t))
				break;
		}
		free(buf);
	} else {
		/* ring records, each copied to an 8-aligned buffer (the ring's
		 * records are) after the check the ring callback makes */
		while (off + 2 <= size) {
			size_t len = (size_t)data[off] | (size_t)data[off + 1] << 8;
			struct inuse_ev h;

			off += 2;
			if (len > size - off)
				len = size - off;
			if (len > KERNEL_SCAN_REC_MAX)
				len = KERNEL_SCAN_REC_MAX;
			memcpy(one, data + off, len);
			off += len;
			if (len < sizeof(h))
				continue;
			memcpy(&h, one, sizeof(h));
			if (!kernel_record_ok(&h, len))
				continue;
			tracker_on_event(&t, (const struct inuse_ev *)(void *)one, len);
		}
	}
	tracker_sync(&t);
	tracker_validate_paths(&t, 64);
	/* full, lean, then each with the processes named once twice (the
	 * second from the cached rendering), an answer's processes kept from
	 * one entry to the next */
	for (int form = 0; form < 6; form++) {
		bool lean = form == 1 || form >= 4;

		struct procset ps = {0};

		table_for_each(&t.table, e)
		{
			struct strbuf b = {0};

			if (render_entry(&t, e, lean ? RENDER_LEAN : 0, form >= 2 ? &ps : NULL, &b))
				abort();
			must_be_object(&b, "rendering");
		}
		if (form >= 2) {
			struct strbuf b = {0};

			/* the member as the answer ends with it, made an object */
			if (render_processes(&t, &ps, &b))
				abort();
			b.buf[0] = '{';
			sb_adds(&b, "}");
			must_be_object(&b, "processes");
		}
		procset_free(&ps);
	}
	return 0;
}
