// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* test_table.c - unit tests of userspace/inused/table.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inused/table.h"

#define NMANY 20000

/* Checks the insertion-order list both ways and every hash chain against
 * t->count; returns the number of entries. */
static size_t check_integrity(const struct table *t)
{
	size_t fwd = 0, back = 0, chained = 0;
	const struct entry *prev = NULL;

	table_for_each(t, e)
	{
		assert_ptr_equal(e->prev, prev);
		assert_ptr_equal(table_find(t, e->dev, e->ino), e);
		prev = e;
		fwd++;
		assert_true(fwd <= t->count);
	}
	assert_ptr_equal(t->tail, prev);
	for (const struct entry *e = t->tail; e; e = e->prev) {
		if (e->next)
			assert_ptr_equal(e->next->prev, e);
		back++;
		assert_true(back <= t->count);
	}
	for (size_t b = 0; b < t->nbuckets; b++)
		for (const struct entry *e = t->buckets[b]; e; e = e->hnext)
			chained++;
	assert_int_equal(fwd, t->count);
	assert_int_equal(back, t->count);
	assert_int_equal(chained, t->count);
	if (t->count == 0) {
		assert_null(t->head);
		assert_null(t->tail);
	} else {
		assert_null(t->head->prev);
		assert_null(t->tail->next);
	}
	return fwd;
}

/* A key for entry i: several devices, inode numbers with a large stride and
 * inode numbers shared across devices. */
static void key_of(size_t i, uint32_t *dev, uint64_t *ino)
{
	*dev = (uint32_t)(i % 5) + 1;
	*ino = (uint64_t)(i / 5) * 4096 + (i % 2 ? (uint64_t)1 << 40 : 0);
}

/* Removes entry i of ents and marks it gone. */
static void remove_idx(struct table *t, struct entry **ents, bool *gone, size_t i)
{
	assert_false(gone[i]);
	table_remove(t, ents[i]);
	ents[i] = NULL;
	gone[i] = true;
}

/* Index of e in ents. */
static size_t index_of(struct entry *const *ents, const struct entry *e)
{
	size_t i = 0;

	while (ents[i] != e) {
		i++;
		assert_true(i < NMANY);
	}
	return i;
}

static struct writer mkwriter(uint32_t pid, int32_t fd, uint8_t via, uint64_t since)
{
	struct writer w = {.pid = pid, .fd = fd, .via = via, .since_ns = since, .uid = 1000};

	return w;
}

/* table_init refuses a zero limit and sizes buckets as a power of two
 * covering max_files, at least 64. */
static void test_init_bounds(void **state)
{
	static const struct {
		size_t max_files;
		uint32_t max_writers;
		int rc;
		size_t nbuckets;
	} cases[] = {
	    {0, 1, -EINVAL, 0},	 {1, 0, -EINVAL, 0},   {0, 0, -EINVAL, 0},
	    {1, 1, 0, 64},	 {64, 1, 0, 64},       {65, 1, 0, 128},
	    {1000, 64, 0, 1024}, {NMANY, 8, 0, 32768}, {131072, 64, 0, 131072},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct table t;

		memset(&t, 0x5a, sizeof(t));
		assert_int_equal(table_init(&t, cases[i].max_files, cases[i].max_writers),
				 cases[i].rc);
		assert_int_equal(t.nbuckets, cases[i].nbuckets);
		assert_int_equal(t.count, 0);
		assert_null(t.head);
		assert_null(t.tail);
		if (cases[i].rc == 0) {
			assert_non_null(t.buckets);
			assert_int_equal(t.max_files, cases[i].max_files);
			assert_int_equal(t.max_writers, cases[i].max_writers);
		} else {
			/* a failed init leaves a table that is safe to search and free */
			assert_null(t.buckets);
			assert_null(table_find(&t, 1, 1));
		}
		table_fini(&t);
	}
}

/* table_get adds once, then finds; table_find tells keys apart by device and
 * inode; table_remove forgets. */
static void test_get_find_remove(void **state)
{
	struct table t;
	struct entry *a, *b;
	bool created = false;

	assert_int_equal(table_init(&t, 100, 4), 0);
	assert_null(table_find(&t, 8, 42));
	a = table_get(&t, 8, 42, &created);
	assert_non_null(a);
	assert_true(created);
	assert_int_equal(a->dev, 8);
	assert_int_equal(a->ino, 42);
	assert_int_equal(a->nw, 0);
	assert_null(a->path);
	assert_null(a->json);
	assert_int_equal(t.count, 1);
	assert_ptr_equal(table_get(&t, 8, 42, &created), a);
	assert_false(created);
	assert_ptr_equal(table_get(&t, 8, 42, NULL), a);
	assert_int_equal(t.count, 1);
	assert_ptr_equal(table_find(&t, 8, 42), a);
	assert_null(table_find(&t, 9, 42));
	assert_null(table_find(&t, 8, 43));

	b = table_get(&t, 9, 42, &created);
	assert_true(created);
	assert_ptr_not_equal(a, b);
	assert_int_equal(check_integrity(&t), 2);
	assert_ptr_equal(t.head, a);
	assert_ptr_equal(t.tail, b);

	table_remove(&t, a);
	assert_null(table_find(&t, 8, 42));
	assert_ptr_equal(table_find(&t, 9, 42), b);
	assert_int_equal(check_integrity(&t), 1);
	table_remove(&t, b);
	assert_int_equal(check_integrity(&t), 0);

	/* the key can come back, as a fresh entry */
	a = table_get(&t, 8, 42, &created);
	assert_non_null(a);
	assert_true(created);
	assert_int_equal(a->nw, 0);
	assert_int_equal(check_integrity(&t), 1);
	assert_int_equal(t.full_events, 0);
	table_fini(&t);
	assert_null(t.buckets);
	assert_int_equal(t.count, 0);
}

/* Many entries: all findable, listed in insertion order, chains really
 * collide, and removal in several orders keeps list and chains intact. */
static void test_many_entries(void **state)
{
	struct table t;
	struct entry **ents = calloc(NMANY, sizeof(*ents));
	bool *gone = calloc(NMANY, sizeof(*gone));
	size_t left = NMANY, maxchain = 0, i;
	uint32_t rng = 12345;

	assert_non_null(ents);
	assert_non_null(gone);
	assert_int_equal(table_init(&t, NMANY, 4), 0);
	for (i = 0; i < NMANY; i++) {
		uint32_t dev;
		uint64_t ino;
		bool created = false;

		key_of(i, &dev, &ino);
		ents[i] = table_get(&t, dev, ino, &created);
		assert_non_null(ents[i]);
		assert_true(created);
	}
	assert_int_equal(t.count, NMANY);
	assert_int_equal(t.full_events, 0);
	assert_int_equal(check_integrity(&t), NMANY);

	/* insertion order */
	i = 0;
	table_for_each(&t, e)
	{
		assert_ptr_equal(e, ents[i]);
		i++;
	}

	/* collisions are there to be exercised */
	for (size_t b = 0; b < t.nbuckets; b++) {
		size_t n = 0;

		for (struct entry *e = t.buckets[b]; e; e = e->hnext)
			n++;
		if (n > maxchain)
			maxchain = n;
	}
	assert_true(maxchain >= 3);

	/* remove the middle, then the head, then the tail of each long chain */
	for (size_t b = 0; b < t.nbuckets; b++) {
		struct entry *c0 = t.buckets[b], *c1, *c2;

		if (!c0 || !(c1 = c0->hnext) || !(c2 = c1->hnext))
			continue;
		for (int k = 0; k < 3; k++) {
			struct entry *victim = k == 0 ? c1 : k == 1 ? c0 : c2;

			remove_idx(&t, ents, gone, index_of(ents, victim));
			left--;
			for (struct entry *e = t.buckets[b]; e; e = e->hnext)
				assert_ptr_not_equal(e, victim);
		}
	}
	assert_int_equal(check_integrity(&t), left);

	/* every third entry, front to back */
	for (i = 0; i < NMANY; i += 3) {
		if (gone[i])
			continue;
		remove_idx(&t, ents, gone, i);
		left--;
	}
	assert_int_equal(check_integrity(&t), left);

	/* the list head, then the tail, alternately, a thousand times */
	for (int k = 0; k < 1000; k++) {
		remove_idx(&t, ents, gone, index_of(ents, k % 2 ? t.tail : t.head));
		left--;
	}
	assert_int_equal(check_integrity(&t), left);

	/* a pseudo-random half of the rest */
	for (i = 0; i < NMANY; i++) {
		rng = rng * 1103515245 + 12345;
		if (gone[i] || (rng >> 16) % 2)
			continue;
		remove_idx(&t, ents, gone, i);
		left--;
	}
	assert_int_equal(check_integrity(&t), left);

	/* what is gone is not found, what is left is, in insertion order */
	{
		struct entry *e = t.head;

		for (i = 0; i < NMANY; i++) {
			uint32_t dev;
			uint64_t ino;

			key_of(i, &dev, &ino);
			if (gone[i]) {
				assert_null(table_find(&t, dev, ino));
			} else {
				assert_ptr_equal(table_find(&t, dev, ino), ents[i]);
				assert_ptr_equal(e, ents[i]);
				e = e->next;
			}
		}
		assert_null(e);
	}

	/* the rest, front to back, with the safe iterator */
	table_for_each_safe(&t, e, n)
	{
		(void)n;
		table_remove(&t, e);
		left--;
	}
	assert_int_equal(left, 0);
	assert_int_equal(check_integrity(&t), 0);
	table_fini(&t);
	free(ents);
	free(gone);
}

/* At max_files, new keys are refused and counted; known keys still work, and
 * a removal makes room again. */
static void test_max_files(void **state)
{
	struct table t;
	bool created = true;

	assert_int_equal(table_init(&t, 16, 4), 0);
	for (uint64_t i = 0; i < 16; i++)
		assert_non_null(table_get(&t, 1, i, NULL));
	assert_int_equal(t.count, 16);
	assert_null(table_get(&t, 1, 100, &created));
	assert_false(created);
	assert_int_equal(t.full_events, 1);
	assert_null(table_get(&t, 2, 0, NULL));
	assert_int_equal(t.full_events, 2);
	assert_null(table_find(&t, 1, 100));
	/* known keys are found without counting anything */
	assert_ptr_equal(table_get(&t, 1, 5, &created), table_find(&t, 1, 5));
	assert_false(created);
	assert_int_equal(t.full_events, 2);
	assert_int_equal(check_integrity(&t), 16);

	table_remove(&t, table_find(&t, 1, 5));
	assert_non_null(table_get(&t, 1, 100, &created));
	assert_true(created);
	assert_int_equal(t.full_events, 2);
	assert_null(table_get(&t, 1, 101, NULL));
	assert_int_equal(t.full_events, 3);
	assert_int_equal(check_integrity(&t), 16);
	table_fini(&t);
}

/* Re-adding the same (pid, fd, via) updates in place and keeps the earliest
 * known since_ns; other fields take the new values. */
static void test_writer_update_keeps_earliest(void **state)
{
	static const struct {
		uint64_t old_since, new_since, want;
	} cases[] = {
	    {100, 200, 100}, /* later sighting: keep the first */
	    {200, 100, 100}, /* earlier time learnt: take it */
	    {100, 0, 100},   /* no time in the update: keep the known one */
	    {0, 0, 0},	     {100, 100, 100},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct table t;
		struct entry *e;
		struct writer w = mkwriter(10, 3, VIA_FD, cases[i].old_since), *p, *q;

		assert_int_equal(table_init(&t, 16, 8), 0);
		e = table_get(&t, 1, 1, NULL);
		p = entry_add_writer(&t, e, &w);
		assert_non_null(p);
		assert_int_equal(p->since_ns, cases[i].old_since);
		w.since_ns = cases[i].new_since;
		w.uid = 2000;
		w.f_flags = 0x8001;
		strcpy(w.comm, "newname");
		q = entry_add_writer(&t, e, &w);
		assert_ptr_equal(q, p);
		assert_int_equal(e->nw, 1);
		assert_int_equal(q->since_ns, cases[i].want);
		assert_int_equal(q->uid, 2000);
		assert_int_equal(q->f_flags, 0x8001);
		assert_string_equal(q->comm, "newname");
		table_fini(&t);
	}
}

/* pid, fd and via together identify a writer. */
static void test_writer_identity(void **state)
{
	struct table t;
	struct entry *e;
	struct writer ws[] = {
	    mkwriter(10, 3, VIA_FD, 1),	   mkwriter(10, 4, VIA_FD, 2),	 mkwriter(11, 3, VIA_FD, 3),
	    mkwriter(10, -1, VIA_MMAP, 4), mkwriter(10, 3, VIA_MMAP, 5),
	};
	const size_t n = sizeof(ws) / sizeof(ws[0]);

	assert_int_equal(table_init(&t, 16, 8), 0);
	e = table_get(&t, 1, 1, NULL);
	for (size_t i = 0; i < n; i++)
		assert_non_null(entry_add_writer(&t, e, &ws[i]));
	assert_int_equal(e->nw, n);
	for (size_t i = 0; i < n; i++) {
		struct writer *f = entry_find_writer(e, ws[i].pid, ws[i].fd, ws[i].via);

		assert_non_null(f);
		assert_int_equal(f->since_ns, ws[i].since_ns);
	}
	assert_null(entry_find_writer(e, 10, 5, VIA_FD));
	assert_null(entry_find_writer(e, 12, 3, VIA_FD));
	assert_null(entry_find_writer(e, 11, 3, VIA_MMAP));
	table_fini(&t);
}

/* At max_writers, new writers are refused and counted; updating a present
 * one still works; capacity never exceeds the limit. */
static void test_max_writers(void **state)
{
	struct table t;
	struct entry *e;
	struct writer w;

	assert_int_equal(table_init(&t, 16, 3), 0);
	e = table_get(&t, 1, 1, NULL);
	for (int32_t fd = 0; fd < 3; fd++) {
		w = mkwriter(10, fd, VIA_FD, 100 + (uint64_t)fd);
		assert_non_null(entry_add_writer(&t, e, &w));
	}
	assert_int_equal(e->nw, 3);
	assert_int_equal(e->writers_dropped, 0);
	assert_true(e->capw <= 3);

	w = mkwriter(10, 3, VIA_FD, 200);
	assert_null(entry_add_writer(&t, e, &w));
	assert_int_equal(e->writers_dropped, 1);
	w = mkwriter(99, 0, VIA_MMAP, 200);
	assert_null(entry_add_writer(&t, e, &w));
	assert_int_equal(e->writers_dropped, 2);
	assert_int_equal(e->nw, 3);
	assert_null(entry_find_writer(e, 10, 3, VIA_FD));

	/* an update of a present writer is not a new one */
	w = mkwriter(10, 1, VIA_FD, 50);
	assert_non_null(entry_add_writer(&t, e, &w));
	assert_int_equal(e->writers_dropped, 2);
	assert_int_equal(entry_find_writer(e, 10, 1, VIA_FD)->since_ns, 50);

	/* room again after a removal */
	entry_del_writer(&t, e, 0);
	assert_int_equal(e->nw, 2);
	w = mkwriter(10, 3, VIA_FD, 200);
	assert_non_null(entry_add_writer(&t, e, &w));
	assert_int_equal(e->nw, 3);
	assert_int_equal(e->writers_dropped, 2);
	assert_true(e->capw <= 3);
	table_fini(&t);
}

/* Many writers on one entry: growth keeps every one of them. */
static void test_many_writers(void **state)
{
	struct table t;
	struct entry *e;

	assert_int_equal(table_init(&t, 16, 1000), 0);
	e = table_get(&t, 1, 1, NULL);
	for (uint32_t i = 0; i < 1000; i++) {
		struct writer w = mkwriter(i / 10, (int32_t)(i % 10), VIA_FD, i + 1);

		assert_non_null(entry_add_writer(&t, e, &w));
	}
	assert_int_equal(e->nw, 1000);
	assert_true(e->capw <= 1000);
	for (uint32_t i = 0; i < 1000; i++) {
		struct writer *f = entry_find_writer(e, i / 10, (int32_t)(i % 10), VIA_FD);

		assert_non_null(f);
		assert_int_equal(f->since_ns, i + 1);
	}
	assert_int_equal(e->writers_dropped, 0);
	table_fini(&t);
}

/* entry_del_pid removes every writer of that pid and nothing else;
 * entry_has_pid follows. */
static void test_del_pid_has_pid(void **state)
{
	static const uint32_t pids[] = {7, 8, 7, 9, 7, 8, 7};
	struct table t;
	struct entry *e;

	assert_int_equal(table_init(&t, 16, 16), 0);
	e = table_get(&t, 1, 1, NULL);
	assert_false(entry_has_pid(e, 7));
	assert_int_equal(entry_del_pid(&t, e, 7), 0);
	for (size_t i = 0; i < sizeof(pids) / sizeof(pids[0]); i++) {
		struct writer w = mkwriter(pids[i], (int32_t)i, VIA_FD, 1);

		assert_non_null(entry_add_writer(&t, e, &w));
	}
	assert_true(entry_has_pid(e, 7));
	assert_true(entry_has_pid(e, 8));
	assert_true(entry_has_pid(e, 9));
	assert_false(entry_has_pid(e, 10));

	assert_int_equal(entry_del_pid(&t, e, 7), 4);
	assert_int_equal(e->nw, 3);
	assert_false(entry_has_pid(e, 7));
	assert_true(entry_has_pid(e, 8));
	assert_true(entry_has_pid(e, 9));
	/* the others are intact, fds included */
	assert_non_null(entry_find_writer(e, 8, 1, VIA_FD));
	assert_non_null(entry_find_writer(e, 9, 3, VIA_FD));
	assert_non_null(entry_find_writer(e, 8, 5, VIA_FD));

	assert_int_equal(entry_del_pid(&t, e, 7), 0);
	assert_int_equal(entry_del_pid(&t, e, 9), 1);
	assert_int_equal(entry_del_pid(&t, e, 8), 2);
	assert_int_equal(e->nw, 0);
	assert_false(entry_has_pid(e, 8));
	table_fini(&t);
}

/* entry_del_writer moves the last writer into the hole; out of range is a
 * no-op. */
static void test_del_writer(void **state)
{
	struct table t;
	struct entry *e;

	assert_int_equal(table_init(&t, 16, 16), 0);
	e = table_get(&t, 1, 1, NULL);
	for (int32_t fd = 0; fd < 4; fd++) {
		struct writer w = mkwriter(5, fd, VIA_FD, 1);

		assert_non_null(entry_add_writer(&t, e, &w));
	}
	entry_del_writer(&t, e, 4);
	entry_del_writer(&t, e, 100);
	assert_int_equal(e->nw, 4);
	entry_del_writer(&t, e, 1);
	assert_int_equal(e->nw, 3);
	assert_int_equal(e->w[0].fd, 0);
	assert_int_equal(e->w[1].fd, 3);
	assert_int_equal(e->w[2].fd, 2);
	assert_null(entry_find_writer(e, 5, 1, VIA_FD));
	entry_del_writer(&t, e, 2);
	entry_del_writer(&t, e, 0);
	entry_del_writer(&t, e, 0);
	assert_int_equal(e->nw, 0);
	entry_del_writer(&t, e, 0);
	assert_int_equal(e->nw, 0);
	table_fini(&t);
}

/* entry_set_name copies exactly len bytes and resets the host path;
 * entry_set_host sets e->path, and an alias key finds the entry until the
 * name changes or the entry goes; the cached rendering is dropped. */
static void test_names_and_aliases(void **state)
{
	static const char src[] = "/var/log/syslogXXXX";
	struct table t;
	struct entry *e, *o;

	assert_int_equal(table_init(&t, 16, 4), 0);
	e = table_get(&t, 1, 1, NULL);
	o = table_get(&t, 1, 2, NULL);
	e->json = strdup("{\"cached\":1}");
	e->json_len = 12;
	assert_int_equal(entry_set_name(&t, e, NAME_OPENED, src, 15, 7, 0x10, 0x20, NF_UNLINKED),
			 0);
	assert_string_equal(e->names[NAME_OPENED].fs_path, "/var/log/syslog");
	assert_ptr_not_equal(e->names[NAME_OPENED].fs_path, src);
	assert_int_equal(e->names[NAME_OPENED].sb_dev, 7);
	assert_int_equal(e->names[NAME_OPENED].flags, NF_UNLINKED);
	assert_null(e->path);
	assert_null(e->json);

	/* a host path, with an alias identity */
	assert_int_equal(entry_set_host(&t, e, NAME_OPENED, "/host/log/syslog", 9, 99), 0);
	assert_string_equal(e->path, "/host/log/syslog");
	assert_ptr_equal(table_find_any(&t, 9, 99), e);
	assert_null(table_find(&t, 9, 99));
	assert_ptr_equal(table_find_any(&t, 1, 2), o);
	/* an alias equal to the entry's own key is no alias */
	assert_int_equal(entry_set_host(&t, o, NAME_OPENED, "/o", 1, 2), 0);
	assert_int_equal(t.naliases, 1);

	/* the upper name is shown when the opened one is not reachable */
	assert_int_equal(entry_set_name(&t, e, NAME_UPPER, "/up", 3, 8, 0, 0, 0), 0);
	assert_int_equal(entry_set_host(&t, e, NAME_UPPER, "/srv/up", 0, 0), 0);
	assert_string_equal(e->path, "/host/log/syslog");
	assert_int_equal(entry_set_name(&t, e, NAME_OPENED, "/x", 2, 7, 0, 0, 0), 0);
	assert_string_equal(e->path, "/srv/up");
	assert_null(table_find_any(&t, 9, 99)); /* the renamed name lost its alias */
	assert_int_equal(t.naliases, 0);

	assert_int_equal(entry_set_host(&t, e, NAME_OPENED, "/y", 9, 100), 0);
	assert_ptr_equal(table_find_any(&t, 9, 100), e);
	table_remove(&t, e);
	assert_null(table_find_any(&t, 9, 100));
	assert_int_equal(t.naliases, 0);
	assert_int_equal(entry_set_name(&t, o, 5, "/z", 2, 0, 0, 0, 0), -EINVAL);
	table_fini(&t);
}

/* The pid index lists the entries a pid writes, whatever adds or removes
 * its writers. */
static void test_pid_index(void **state)
{
	struct table t;
	struct entry *a, *b;
	struct writer w1 = mkwriter(7, 1, VIA_FD, 1), w2 = mkwriter(7, 2, VIA_FD, 1);
	struct writer w3 = mkwriter(8, 1, VIA_MMAP, 1);
	struct entry *const *l;
	size_t n;

	assert_int_equal(table_init(&t, 16, 4), 0);
	a = table_get(&t, 1, 1, NULL);
	b = table_get(&t, 1, 2, NULL);
	l = table_pid_entries(&t, 7, &n);
	assert_int_equal(n, 0);
	assert_null(l);
	assert_non_null(entry_add_writer(&t, a, &w1));
	assert_non_null(entry_add_writer(&t, a, &w2));
	assert_non_null(entry_add_writer(&t, b, &w1));
	assert_non_null(entry_add_writer(&t, b, &w3));
	l = table_pid_entries(&t, 7, &n);
	assert_int_equal(n, 2);
	assert_true((l[0] == a && l[1] == b) || (l[0] == b && l[1] == a));
	/* one of two writers of pid 7 in a goes: a stays listed */
	entry_del_writer(&t, a, 0);
	table_pid_entries(&t, 7, &n);
	assert_int_equal(n, 2);
	assert_int_equal(entry_del_pid(&t, a, 7), 1);
	l = table_pid_entries(&t, 7, &n);
	assert_int_equal(n, 1);
	assert_ptr_equal(l[0], b);
	table_remove(&t, b);
	table_pid_entries(&t, 7, &n);
	assert_int_equal(n, 0);
	table_pid_entries(&t, 8, &n);
	assert_int_equal(n, 0);
	table_fini(&t);
}

/* A process holding many files: its index follows every link and unlink
 * (places moved, slots emptied in the middle of runs), entry for entry. */
static void test_pid_index_many(void **state)
{
	enum { N = 3000 };
	static struct entry *es[N];
	struct table t;
	size_t n, listed;

	assert_int_equal(table_init(&t, N, 4), 0);
	for (uint64_t i = 0; i < N; i++) {
		struct writer w = mkwriter(7, (int32_t)i, VIA_FD, 1);

		es[i] = table_get(&t, 1, i + 1, NULL);
		assert_non_null(es[i]);
		assert_non_null(entry_add_writer(&t, es[i], &w));
		if (i % 3 == 0) {
			struct writer o = mkwriter(8, 1, VIA_FD, 1);

			assert_non_null(entry_add_writer(&t, es[i], &o));
		}
	}
	/* every other one lets go of pid 7, every fifth leaves the table */
	for (size_t i = 0; i < N; i++) {
		if (i % 5 == 0) {
			table_remove(&t, es[i]);
			es[i] = NULL;
		} else if (i % 2) {
			assert_int_equal(entry_del_pid(&t, es[i], 7), 1);
		}
	}
	{
		struct entry *const *l = table_pid_entries(&t, 7, &n);

		listed = 0;
		for (size_t i = 0; i < N; i++) {
			bool want = es[i] && entry_has_pid(es[i], 7), got = false;

			for (size_t k = 0; k < n && !got; k++)
				got = l[k] == es[i];
			assert_true(want == got);
			listed += want;
		}
		assert_int_equal(n, listed);
	}
	table_pid_entries(&t, 8, &n);
	for (size_t i = 0, want = 0;; i++) {
		if (i == N) {
			assert_int_equal(n, want);
			break;
		}
		want += es[i] && entry_has_pid(es[i], 8);
	}
	table_fini(&t);
}

/* The user index holds exactly the entries with a writer of each user,
 * through writers added, re-seen under another user (a process that
 * changed its user between two opens), dropped one by one or by pid, and
 * entries removed: checked against every entry at random. */
static void test_uid_index(void **state)
{
	enum { N = 400, UIDS = 5 };
	static struct entry *es[N];
	struct table t;
	uint32_t rng = 99;

	assert_int_equal(table_init(&t, N, 4), 0);
	for (uint64_t i = 0; i < N; i++)
		es[i] = table_get(&t, 1, i + 1, NULL);
	for (int step = 0; step < 20000; step++) {
		size_t i;
		struct writer w;

		rng = rng * 1103515245u + 12345u;
		i = (rng >> 8) % N;
		w = mkwriter(1 + (rng >> 4) % 7, (int32_t)((rng >> 12) % 3), VIA_FD, 1);
		w.uid = (rng >> 16) % UIDS;
		if (!es[i]) {
			es[i] = table_get(&t, 1, i + 1, NULL);
		} else if (rng % 10 < 6) {
			entry_add_writer(&t, es[i], &w); /* new, or re-seen */
		} else if (rng % 10 < 8) {
			if (es[i]->nw)
				entry_del_writer(&t, es[i], (rng >> 20) % es[i]->nw);
		} else if (rng % 10 < 9) {
			entry_del_pid(&t, es[i], w.pid);
		} else if (rng % 100 < 92) {
			table_remove(&t, es[i]);
			es[i] = NULL;
		}
		if (step % 1000)
			continue;
		for (uint32_t uid = 0; uid < UIDS; uid++) {
			size_t n, want = 0;
			struct entry *const *l = table_uid_entries(&t, uid, &n);

			for (size_t k = 0; k < N; k++) {
				bool has = false, got = false;

				for (uint32_t x = 0; es[k] && x < es[k]->nw; x++)
					has |= es[k]->w[x].uid == uid;
				for (size_t m = 0; m < n && !got; m++)
					got = l[m] == es[k];
				assert_true(has == got);
				want += has;
			}
			assert_int_equal(n, want);
		}
	}
	table_fini(&t);
}

/* While pinned, a removed entry stays readable (dead, its next as it
 * was) and removals do not move; unpinned, the dead are freed. */
static void test_pin_keeps_dead(void **state)
{
	struct table t;
	struct entry *a, *b, *c;
	uint64_t removals;

	assert_int_equal(table_init(&t, 16, 4), 0);
	a = table_get(&t, 1, 1, NULL);
	b = table_get(&t, 1, 2, NULL);
	c = table_get(&t, 1, 3, NULL);
	assert_true(a->seq < b->seq && b->seq < c->seq);
	removals = t.removals;
	table_pin(&t);
	table_remove(&t, b);
	table_remove(&t, c);
	assert_int_equal(t.removals, removals);
	assert_true(b->dead && c->dead && !a->dead);
	/* a walk that stood on b goes on through c to the end */
	assert_ptr_equal(b->next, c);
	assert_null(c->next);
	assert_ptr_equal(a->next, NULL);
	assert_null(table_find(&t, 1, 2));
	assert_int_equal(t.count, 1);
	table_unpin(&t);
	assert_int_equal(t.ndead, 0);
	/* unpinned: removed and freed at once, counted */
	table_remove(&t, a);
	assert_int_equal(t.removals, removals + 1);
	table_fini(&t);
}

/* entry_touch frees the cached rendering; so does every writer change. */
/* The order array holds the live entries in insertion order, through
 * removals and compactions, and finds a place again by seq. */
static void test_order_array(void **state)
{
	enum { N = 5000 };
	struct table t;
	static struct entry *ents[N];
	uint64_t gen, prev;
	size_t live = 0, i;

	(void)state;
	assert_int_equal(table_init(&t, N, 4), 0);
	for (i = 0; i < N; i++) {
		ents[i] = table_get(&t, 1, i + 1, NULL);
		assert_non_null(ents[i]);
		assert_ptr_equal(t.ord[ents[i]->ord].e, ents[i]);
	}
	assert_int_equal(t.nord, N);
	gen = t.ord_gen;
	/* remove two of every three: holes, then compactions */
	for (i = 0; i < N; i++)
		if (i % 3)
			table_remove(&t, ents[i]);
	assert_true(t.ord_gen > gen);
	prev = 0;
	for (i = 0; i < t.nord; i++) {
		struct entry *e = t.ord[i].e;

		assert_true(t.ord[i].seq > prev);
		prev = t.ord[i].seq;
		if (!e)
			continue;
		assert_int_equal(e->ord, i);
		assert_int_equal(e->seq, t.ord[i].seq);
		assert_int_equal((e->ino - 1) % 3, 0);
		live++;
	}
	assert_int_equal(live, t.count);
	assert_int_equal(live, (N + 2) / 3);
	/* the place of a seq: its slot, or the next one after a hole */
	for (i = 0; i < N; i += 3) {
		size_t k = table_ord_from(&t, ents[i]->seq);

		assert_true(k < t.nord);
		assert_ptr_equal(t.ord[k].e, ents[i]);
		k = table_ord_from(&t, ents[i]->seq + 1);
		assert_true(k == t.nord || t.ord[k].seq > ents[i]->seq);
	}
	assert_int_equal(table_ord_from(&t, t.seq + 1), t.nord);
	/* new entries go after the others */
	ents[1] = table_get(&t, 2, 1, NULL);
	assert_non_null(ents[1]);
	assert_int_equal(ents[1]->ord, t.nord - 1);
	table_fini(&t);
}

static void test_touch(void **state)
{
	struct table t;
	struct entry *e;
	struct writer w = mkwriter(1, 1, VIA_FD, 1);

	assert_int_equal(table_init(&t, 16, 4), 0);
	e = table_get(&t, 1, 1, NULL);

	entry_touch(e); /* nothing cached: harmless */
	assert_null(e->json);

	e->json = strdup("x");
	e->json_len = 1;
	entry_touch(e);
	assert_null(e->json);
	assert_int_equal(e->json_len, 0);

	e->json = strdup("a");
	e->json_len = 1;
	assert_non_null(entry_add_writer(&t, e, &w));
	assert_null(e->json);

	e->json = strdup("b");
	e->json_len = 1;
	assert_non_null(entry_add_writer(&t, e, &w)); /* an update too */
	assert_null(e->json);

	e->json = strdup("c");
	e->json_len = 1;
	assert_int_equal(entry_del_pid(&t, e, 1), 1);
	assert_null(e->json);
	assert_int_equal(e->json_len, 0);

	/* a cached rendering left in place is freed with the table */
	e->json = strdup("d");
	e->json_len = 1;
	table_fini(&t);
}

/* First opens along the seq order: a walk for files open since before a
 * time may end at an entry only when no entry from it on was opened by
 * then (records come slightly out of time order; entries found by a walk
 * have no first open and count as opened at the daemon's start, 50 here,
 * before every first open). */
static void test_opened_after(void **state)
{
	struct table t;
	struct entry *a, *b, *c, *d;

	assert_int_equal(table_init(&t, 4096, 4), 0);
	/* the start's walk first: in order, as opened at the start */
	b = table_get(&t, 1, 9, NULL);
	table_set_first_open(&t, b, 0);
	assert_true(table_opened_after(&t, b, 40, 50));
	assert_false(table_opened_after(&t, b, 50, 50));
	a = table_get(&t, 1, 1, NULL);
	table_set_first_open(&t, a, 100);
	c = table_get(&t, 1, 3, NULL);
	table_set_first_open(&t, c, 200);
	d = table_get(&t, 1, 4, NULL);
	table_set_first_open(&t, d, 150); /* 50 below the latest */
	assert_true(table_opened_after(&t, b, 40, 50));
	assert_true(table_opened_after(&t, a, 40, 50));
	assert_false(table_opened_after(&t, a, 50, 50)); /* d may be within 50 of a */
	assert_true(table_opened_after(&t, c, 140, 50));
	assert_false(table_opened_after(&t, c, 150, 50)); /* d: 150 */
	assert_false(table_opened_after(&t, d, 150, 50));
	/* one found by a later walk: as opened at the start, so no walk for
	 * files older than the start ends before it */
	b = table_get(&t, 1, 2, NULL);
	table_set_first_open(&t, b, 0);
	assert_false(table_opened_after(&t, a, 60, 50));
	assert_false(table_opened_after(&t, d, 60, 50));
	assert_true(table_opened_after(&t, a, 40, 50)); /* the start is after 40 */
	table_fini(&t);
	/* an entry never given a first open counts as one without */
	assert_int_equal(table_init(&t, 4096, 4), 0);
	a = table_get(&t, 1, 1, NULL);
	table_set_first_open(&t, a, 100);
	b = table_get(&t, 1, 2, NULL);
	c = table_get(&t, 1, 3, NULL);
	table_set_first_open(&t, c, 200);
	assert_false(table_opened_after(&t, a, 60, 50));
	assert_true(table_opened_after(&t, c, 60, 50));
	table_fini(&t);

	/* at random: wherever it says the walk may end, nothing from that
	 * entry on was opened by the cutoff */
	assert_int_equal(table_init(&t, 4096, 4), 0);
	{
		struct entry *v[2000];
		uint32_t rng = 7;
		uint64_t clock = 1000, start = 500;

		for (int i = 0; i < 2000; i++) {
			uint64_t fo;

			rng = rng * 1103515245u + 12345u;
			clock += rng % 64;
			/* the start's walk, then some out of order and a few
			 * found by later walks */
			fo = i < 100 || (i > 1500 && rng % 97 == 0)
				 ? 0
				 : clock - (rng % 11 == 0 ? rng % 300 : 0);
			v[i] = table_get(&t, 2, (uint64_t)i + 1, NULL);
			table_set_first_open(&t, v[i], fo);
		}
		for (int i = 0; i < 2000; i++) {
			for (uint64_t cut = 0; cut < clock + 400; cut += 37) {
				if (!table_opened_after(&t, v[i], cut, start))
					continue;
				for (int j = i; j < 2000; j++)
					assert_true((v[j]->first_open_ns ? v[j]->first_open_ns
									 : start) > cut);
			}
		}
		/* and it does end early: at the first entry past the cutoff
		 * and the disorder, before the late ones without */
		assert_true(table_opened_after(&t, v[100], 400, start));
	}
	table_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_bounds),
	    cmocka_unit_test(test_get_find_remove),
	    cmocka_unit_test(test_many_entries),
	    cmocka_unit_test(test_max_files),
	    cmocka_unit_test(test_writer_update_keeps_earliest),
	    cmocka_unit_test(test_writer_identity),
	    cmocka_unit_test(test_max_writers),
	    cmocka_unit_test(test_many_writers),
	    cmocka_unit_test(test_del_pid_has_pid),
	    cmocka_unit_test(test_del_writer),
	    cmocka_unit_test(test_names_and_aliases),
	    cmocka_unit_test(test_pid_index),
	    cmocka_unit_test(test_pid_index_many),
	    cmocka_unit_test(test_uid_index),
	    cmocka_unit_test(test_pin_keeps_dead),
	    cmocka_unit_test(test_touch),
	    cmocka_unit_test(test_order_array),
	    cmocka_unit_test(test_opened_after),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
