/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/* client_timeout.h - inside libinuse: a client's timeout per call. */
#ifndef INUSE_CLIENT_TIMEOUT_H
#define INUSE_CLIENT_TIMEOUT_H

struct inuse_client;

/* The timeout per call in ms (-1: none), for calls that wait in slices. */
int inuse_client_timeout_ms(const struct inuse_client *c);

#endif
