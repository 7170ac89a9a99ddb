/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fault.h - deliberate breakages for the mutation check of the test suite
 * (tests/integration/test_mutation.c): each one makes inused wrong in one
 * way that some test must notice.
 *
 * Compiled in only when the build defines INUSE_FAULT to one of the names
 * below (make builds one daemon per fault, build/faults/inused-NAME, from
 * the objects of the files that include this header). The production
 * daemon is built without it: there FAULT() is the constant 0 and every
 * hook is dead code the compiler drops.
 */
#ifndef INUSED_FAULT_H
#define INUSED_FAULT_H

enum inused_fault {
	FAULT_NONE,
	FAULT_DROP_CLOSE,	  /* closes are not seen: CLOSE records are
				     ignored and walks drop no writer (a
				     writer goes only with its process) */
	FAULT_CLOSE_TRUSTS_TABLE, /* a close of the last known writer drops the
				     file without reading its writer count */
	FAULT_IGNORE_FORK,	  /* a holder's child is not walked */
	FAULT_IGNORE_EXEC,	  /* an exec is not walked */
	FAULT_HINT_IS_EXIT,	  /* a hint (close_range, munmap) drops every
				     writer of the process */
	FAULT_IGNORE_LOST,	  /* lost events start no reconciliation */
	FAULT_NO_FOREIGN_NS,	  /* other_mntns is never set */
	FAULT_UNLINKED_DROPPED,	  /* a file whose last name is gone is dropped
				     when it is next settled */
	FAULT_LAG,		  /* path answers do not see files opened in the
				     last 300 ms */
	FAULT_LEAK,		  /* every client sees every file */
	FAULT_WAIT_EARLY,	  /* wait answers at once, as if every file was
				     closed */
	FAULT_VERIFY_STAT_ONLY,	  /* verify compares size and mtime only */
	FAULT_REALERT_EVERY_TICK, /* an alert repeats every tick */
	FAULT_NO_PSEUDO_FILTER,	  /* proc, sysfs... knobs are tracked */
	FAULT_NO_TABLE_LIMIT,	  /* the table grows past --max-files */
	FAULT_TRUST_FULL_TABLE,	  /* a full table is trusted to know every
				     file open for writing */
};

#ifdef INUSE_FAULT
#define FAULT(name) (INUSE_FAULT == FAULT_##name)
#else
#define FAULT(name) 0
#endif

#endif
