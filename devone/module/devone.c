// SPDX-License-Identifier: GPL-2.0
/*
 * devone - a teaching character device, our own take on the "devone"
 * driver of the book "Linuxデバイスドライバプログラミング" (平田豊).
 *
 * /dev/devone0 behaves like /dev/zero with a settable fill byte:
 *
 *   read(n)   returns n bytes, all equal to the per-open value (0xff at open)
 *   write(n)  sets the value to the first byte written, returns n
 *   ioctl     IOCTL_VALSET / IOCTL_VALGET (see devone_ioctl.h)
 *
 * Four module parameters, read at each open(2) (so they change new files
 * only), turn it into a device that exercises an event loop:
 *
 *   latency_ms  0 (default): always readable, as in the book.
 *               > 0: data becomes ready latency_ms after open and again
 *               latency_ms after each successful read.  Until then a
 *               non-blocking read fails with EAGAIN, a blocking read sleeps,
 *               and poll reports no EPOLLIN.
 *   pollable    1 (default): the file has a poll method.
 *               0: the file has none (as in the book's early versions), so
 *               epoll_ctl(EPOLL_CTL_ADD) on it fails with EPERM.
 *
 * The other two reproduce a badly behaved driver (the book's devone as
 * ymgyt/drivers rebuilt it in 2026) that a runtime must survive:
 *
 *   read_delay_ms      0 (default): reads do not sleep for it.
 *                      > 0: every read(2), even of 0 bytes and even on an
 *                      O_NONBLOCK file, first sleeps read_delay_ms inside
 *                      the driver; the delay itself never gives EAGAIN.  A
 *                      signal ends the sleep with -ERESTARTSYS, before any
 *                      data or readiness is taken: the caller sees EINTR,
 *                      or with SA_RESTART the read starts over (and sleeps
 *                      the whole delay again).  After the delay the
 *                      latency_ms rules apply as usual: a blocking read
 *                      waits for the data, a non-blocking one gets EAGAIN
 *                      if it is still not ready.  So a blocking read
 *                      returns after the longer of the two, a non-blocking
 *                      one never before the delay.
 *   poll_always_ready  0 (default): poll reports what is true.
 *                      1: poll reports EPOLLIN|EPOLLRDNORM|EPOLLOUT|
 *                      EPOLLWRNORM always and never calls poll_wait(), so
 *                      nothing ever wakes a poller: edge-triggered epoll
 *                      sees one edge, at EPOLL_CTL_ADD, and never another,
 *                      and with latency_ms a read after a "readable" poll
 *                      can still fail with EAGAIN.  Only means anything
 *                      with pollable=1 (without a poll method there is
 *                      nothing to lie with).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cdev.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/timer.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include <linux/wait.h>

#include "devone_ioctl.h"

#define DEVONE_NAME "devone"
#define DEVONE_INITIAL_VALUE 0xff

/* uint rather than int: sysfs then rejects a negative latency by itself. */
static unsigned int latency_ms;
module_param(latency_ms, uint, 0644);
MODULE_PARM_DESC(latency_ms,
		 "Delay in ms before data is readable after open and after each read (0 = always readable)");

static bool pollable = true;
module_param(pollable, bool, 0644);
MODULE_PARM_DESC(pollable,
		 "Give opened files a poll method (0 = none: epoll_ctl fails with EPERM)");

static unsigned int read_delay_ms;
module_param(read_delay_ms, uint, 0644);
MODULE_PARM_DESC(read_delay_ms,
		 "Sleep in ms at the start of every read, even non-blocking ones (0 = none)");

static bool poll_always_ready;
module_param(poll_always_ready, bool, 0644);
MODULE_PARM_DESC(poll_always_ready,
		 "Make poll report readable and writable always, without poll_wait (needs pollable=1)");

/**
 * struct devone_file - the state of one open file description
 * @lock:       protects @value and @ready; taken from process context with
 *              bottom halves disabled, because @timer's callback runs in
 *              softirq context on the same data.
 * @value:      the byte that read(2) returns.
 * @ready:      data can be read now.  Always true when @latency_ms is 0;
 *              otherwise set by @timer and cleared by a successful read.
 * @latency_ms: the latency_ms parameter as it was at open, so that changing
 *              the parameter never changes an already open file.
 * @read_delay_ms:     the read_delay_ms parameter as it was at open.
 * @poll_always_ready: the poll_always_ready parameter as it was at open.
 * @timer:      makes the file ready @latency_ms after open or the last read.
 * @waitq:      blocking readers and poll/epoll wait here for @ready.
 */
struct devone_file {
	spinlock_t lock;
	unsigned char value;
	bool ready;
	unsigned int latency_ms;
	unsigned int read_delay_ms;
	bool poll_always_ready;
	struct timer_list timer;
	wait_queue_head_t waitq;
};

static dev_t devone_devt;
static struct cdev devone_cdev;
static struct class *devone_class;

/*
 * timer_shutdown_sync() (6.2, backported to later 6.1.y such as Debian's)
 * also forbids re-arming, which is exactly what release wants.  Kbuild
 * detects it; older kernels get del_timer_sync().
 */
static void devone_timer_stop(struct timer_list *timer)
{
#ifdef DEVONE_HAVE_TIMER_SHUTDOWN_SYNC
	timer_shutdown_sync(timer);
#else
	del_timer_sync(timer);
#endif
}

static void devone_timer_fn(struct timer_list *t)
{
	struct devone_file *df = container_of(t, struct devone_file, timer);

	/* Softirq context: bottom halves are already off here. */
	spin_lock(&df->lock);
	df->ready = true;
	spin_unlock(&df->lock);

	/* The key lets epoll skip waiters that are not interested in EPOLLIN. */
	wake_up_interruptible_poll(&df->waitq, EPOLLIN | EPOLLRDNORM);
}

static bool devone_is_ready(struct devone_file *df)
{
	bool ready;

	spin_lock_bh(&df->lock);
	ready = df->ready;
	spin_unlock_bh(&df->lock);
	return ready;
}

/*
 * Take the readiness (if any) together with the value it goes with, in one
 * critical section, so that two readers of the same file cannot both
 * consume one timer expiry.
 */
static bool devone_take_ready(struct devone_file *df, unsigned char *value)
{
	bool ready;

	spin_lock_bh(&df->lock);
	ready = df->ready;
	if (ready) {
		*value = df->value;
		if (df->latency_ms)
			df->ready = false;
	}
	spin_unlock_bh(&df->lock);
	return ready;
}

/* A read that delivered nothing must not lose the readiness it took. */
static void devone_give_back_ready(struct devone_file *df)
{
	spin_lock_bh(&df->lock);
	df->ready = true;
	spin_unlock_bh(&df->lock);
	wake_up_interruptible_poll(&df->waitq, EPOLLIN | EPOLLRDNORM);
}

/* Fill @count user bytes with @value; returns how many were copied. */
static size_t devone_fill_user(char __user *buf, size_t count,
			       unsigned char value)
{
	u8 chunk[64];
	size_t done = 0;

	memset(chunk, value, sizeof(chunk));
	while (done < count) {
		size_t n = min(count - done, sizeof(chunk));
		size_t left = copy_to_user(buf + done, chunk, n);

		done += n - left;
		if (left)
			break;
		/* A read of many megabytes must not hog the CPU. */
		cond_resched();
	}
	return done;
}

static ssize_t devone_read(struct file *file, char __user *buf, size_t count,
			   loff_t *ppos)
{
	struct devone_file *df = file->private_data;
	unsigned char value;
	size_t copied;
	int ret;

	/*
	 * The slow driver's sleep comes first and holds nothing: no lock, no
	 * readiness, so a signal can end it without losing anything.  @df
	 * cannot be freed under us meanwhile, even if another thread closes
	 * the last fd: whenever the fd table is shared (so another thread
	 * could close it), read(2) holds its own reference to the struct file
	 * until it returns; release runs only at the final fput, and rmmod
	 * fails while any file is open.
	 */
	if (df->read_delay_ms && msleep_interruptible(df->read_delay_ms))
		return -ERESTARTSYS;

	if (count == 0)
		return 0;

	while (!devone_take_ready(df, &value)) {
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		ret = wait_event_interruptible(df->waitq, devone_is_ready(df));
		if (ret)
			return ret;
		/* Another reader may have taken it first: try again. */
	}

	copied = devone_fill_user(buf, count, value);
	if (copied == 0) {
		devone_give_back_ready(df);
		return -EFAULT;
	}

	if (df->latency_ms)
		mod_timer(&df->timer,
			  jiffies + msecs_to_jiffies(df->latency_ms));
	return copied;
}

static ssize_t devone_write(struct file *file, const char __user *buf,
			    size_t count, loff_t *ppos)
{
	struct devone_file *df = file->private_data;
	u8 value;

	if (count == 0)
		return 0;
	if (get_user(value, (const u8 __user *)buf))
		return -EFAULT;

	spin_lock_bh(&df->lock);
	df->value = value;
	spin_unlock_bh(&df->lock);
	return count;
}

static __poll_t devone_poll(struct file *file, poll_table *wait)
{
	struct devone_file *df = file->private_data;
	__poll_t mask = EPOLLOUT | EPOLLWRNORM;

	/* The lie of the slow driver: no poll_wait, so no wake-up ever comes. */
	if (df->poll_always_ready)
		return mask | EPOLLIN | EPOLLRDNORM;

	/* Register first, then look: a timer firing in between still wakes us. */
	poll_wait(file, &df->waitq, wait);
	if (devone_is_ready(df))
		mask |= EPOLLIN | EPOLLRDNORM;
	return mask;
}

static long devone_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	struct devone_file *df = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct ioctl_cmd data;

	if (_IOC_TYPE(cmd) != IOC_MAGIC)
		return -ENOTTY;

	switch (_IOC_NR(cmd)) {
	case _IOC_NR(IOCTL_VALSET):
		/* Right number, wrong size or direction: a caller bug. */
		if (cmd != IOCTL_VALSET)
			return -EINVAL;
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		if (copy_from_user(&data, uarg, sizeof(data)))
			return -EFAULT;
		if (data.val > 0xff)
			return -EINVAL;
		spin_lock_bh(&df->lock);
		df->value = data.val;
		spin_unlock_bh(&df->lock);
		return 0;

	case _IOC_NR(IOCTL_VALGET):
		if (cmd != IOCTL_VALGET)
			return -EINVAL;
		/* Zero the whole struct: no kernel stack bytes reach user space. */
		memset(&data, 0, sizeof(data));
		spin_lock_bh(&df->lock);
		data.val = df->value;
		spin_unlock_bh(&df->lock);
		if (copy_to_user(uarg, &data, sizeof(data)))
			return -EFAULT;
		return 0;

	default:
		return -ENOTTY;
	}
}

static int devone_open(struct inode *inode, struct file *file);
static int devone_release(struct inode *inode, struct file *file);

/* What a file gets when pollable=1: the full set. */
static const struct file_operations devone_fops = {
	.owner = THIS_MODULE,
	.open = devone_open,
	.release = devone_release,
	.read = devone_read,
	.write = devone_write,
	.poll = devone_poll,
	.unlocked_ioctl = devone_ioctl,
	/* struct ioctl_cmd has one layout for 32- and 64-bit callers. */
	.compat_ioctl = compat_ptr_ioctl,
};

/* What a file gets when pollable=0: the same, without .poll. */
static const struct file_operations devone_fops_nopoll = {
	.owner = THIS_MODULE,
	.open = devone_open,
	.release = devone_release,
	.read = devone_read,
	.write = devone_write,
	.unlocked_ioctl = devone_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static int devone_open(struct inode *inode, struct file *file)
{
	/* Each parameter is read once, so one open sees one consistent setting. */
	unsigned int latency = READ_ONCE(latency_ms);
	bool with_poll = READ_ONCE(pollable);
	unsigned int delay = READ_ONCE(read_delay_ms);
	bool always_ready = READ_ONCE(poll_always_ready);
	struct devone_file *df;
	int ret;

	/* No file position: lseek gives ESPIPE, pread/pwrite are refused. */
	ret = stream_open(inode, file);
	if (ret)
		return ret;

	if (!with_poll) {
		/*
		 * replace_fops() puts the module reference held for the old
		 * table and takes none for the new one: that is the caller's
		 * job (what fops_get() does), or the module's refcount drops by
		 * one at every close.  Both tables are ours, so take our own.
		 */
		if (!try_module_get(THIS_MODULE))
			return -ENODEV;
		replace_fops(file, &devone_fops_nopoll);
	}

	df = kzalloc(sizeof(*df), GFP_KERNEL);
	if (!df)
		return -ENOMEM;

	spin_lock_init(&df->lock);
	init_waitqueue_head(&df->waitq);
	timer_setup(&df->timer, devone_timer_fn, 0);
	df->value = DEVONE_INITIAL_VALUE;
	df->latency_ms = latency;
	df->read_delay_ms = delay;
	df->poll_always_ready = always_ready;
	df->ready = latency == 0;
	file->private_data = df;

	if (latency)
		mod_timer(&df->timer, jiffies + msecs_to_jiffies(latency));
	return 0;
}

static int devone_release(struct inode *inode, struct file *file)
{
	struct devone_file *df = file->private_data;

	/* The callback must be finished and never run again before the free. */
	devone_timer_stop(&df->timer);
	kfree(df);
	return 0;
}

/* Let devtmpfs create the node as 0666, so any user can try the device. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
static char *devone_devnode(const struct device *dev, umode_t *mode)
#else
static char *devone_devnode(struct device *dev, umode_t *mode)
#endif
{
	if (mode)
		*mode = 0666;
	return NULL;
}

static int __init devone_init(void)
{
	struct device *dev;
	int ret;

	ret = alloc_chrdev_region(&devone_devt, 0, 1, DEVONE_NAME);
	if (ret)
		return ret;

	cdev_init(&devone_cdev, &devone_fops);
	devone_cdev.owner = THIS_MODULE;
	ret = cdev_add(&devone_cdev, devone_devt, 1);
	if (ret)
		goto err_region;

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
	devone_class = class_create(DEVONE_NAME);
#else
	devone_class = class_create(THIS_MODULE, DEVONE_NAME);
#endif
	if (IS_ERR(devone_class)) {
		ret = PTR_ERR(devone_class);
		goto err_cdev;
	}
	devone_class->devnode = devone_devnode;

	dev = device_create(devone_class, NULL, devone_devt, NULL,
			    DEVONE_NAME "%d", 0);
	if (IS_ERR(dev)) {
		ret = PTR_ERR(dev);
		goto err_class;
	}

	pr_info("/dev/%s0 ready (major %d)\n", DEVONE_NAME, MAJOR(devone_devt));
	return 0;

err_class:
	class_destroy(devone_class);
err_cdev:
	cdev_del(&devone_cdev);
err_region:
	unregister_chrdev_region(devone_devt, 1);
	return ret;
}

static void __exit devone_exit(void)
{
	device_destroy(devone_class, devone_devt);
	class_destroy(devone_class);
	cdev_del(&devone_cdev);
	unregister_chrdev_region(devone_devt, 1);
	pr_info("unloaded\n");
}

module_init(devone_init);
module_exit(devone_exit);

MODULE_DESCRIPTION("devone: a teaching character device with an optional read latency");
MODULE_AUTHOR("minireactor developers");
MODULE_LICENSE("GPL");
