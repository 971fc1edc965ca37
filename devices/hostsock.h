/* SPDX-License-Identifier: Apache-2.0 */
/* UNIX stream sockets for the host side of device models (devices/
 * internal): every fd is non-blocking and close-on-exec. */
#ifndef PODVISOR_DEVICES_HOSTSOCK_H
#define PODVISOR_DEVICES_HOSTSOCK_H

/*
 * Listens on path (a stale socket file there is replaced; any other file
 * is left alone and reported). what names the configuration field for the
 * error message. Returns the fd or -errno after logging.
 */
int hostsock_listen(const char *path, const char *what);

/* Connects to path; returns the fd or -errno (not logged: callers decide). */
int hostsock_connect(const char *path);

/* Accepts one client; returns the fd or -errno. */
int hostsock_accept(int lfd);

#endif
