/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * devone_ioctl.h - the ioctl interface of /dev/devone0, shared by the
 * driver (devone.c) and user space.
 *
 * Every command carries a struct ioctl_cmd; only `val` is used: it is the
 * byte that read(2) returns (0..255).  `reg` and `offset` are kept so the
 * layout matches the book's example; they are ignored and returned as 0.
 *
 * The struct has the same layout on 32- and 64-bit user space, so the
 * compat path needs no translation.
 */
#ifndef DEVONE_IOCTL_H
#define DEVONE_IOCTL_H

#include <linux/ioctl.h>

struct ioctl_cmd {
	unsigned int reg;
	unsigned int offset;
	unsigned int val;
};

#define IOC_MAGIC 'd'

/* Set the value returned by read(2).  Needs CAP_SYS_ADMIN (else EPERM). */
#define IOCTL_VALSET _IOW(IOC_MAGIC, 1, struct ioctl_cmd)
/* Get the value returned by read(2). */
#define IOCTL_VALGET _IOR(IOC_MAGIC, 2, struct ioctl_cmd)

#endif /* DEVONE_IOCTL_H */
