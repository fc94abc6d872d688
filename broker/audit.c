/*
 * sso-broker: audit record writer and chain verification (queries are in
 * audit_query.c).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The chain state (seq, prev hash, chain id) is in a MAP_SHARED page made
 * by the parent before it forks, so all workers append to one chain.  It
 * has one writer at a time, the holder of its mutex, and is read from the
 * file only once, by audit_open() before any worker exists: a reload never
 * resets it.  The mutex is robust: a worker that dies holding it does not
 * wedge the rest (the next owner cuts off the half record it may have
 * left; the state is only updated after a complete write).
 * A record is written whole or not at all: under the lock the file size is
 * noted, and a short write (full disk, file-size limit) is cut back to it.
 * Rotation (move the file, then SIGHUP): the parent opens the new file and
 * bumps a file generation under the lock; a process forked earlier sees
 * the new generation at its next write and follows the path, so the
 * records after the switch are all in the new file, in chain order.
 * Trust: audit_verify_chain() parses the file back with jansson and
 * treat it as untrusted (a line that does not parse breaks the chain).
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "audit.h"
#include "bk.h"
#include "chain.h"
#include "log.h"
#include "mon.h"

#define AUDIT_LINE_MAX		(64 * 1024)
/*
 * Field caps, in bytes of UTF-8 (audit_rec_obj() has one per field): with
 * JSON escaping (at most 6 bytes per input byte) the fields sum to under
 * 42 KB, and a change's before and after to 16 KB more (they are dumped
 * already escaped), so a record stays below AUDIT_LINE_MAX and can always
 * be read back.
 */
#define AUDIT_FIELD_MAX		512
#define AUDIT_DETAIL_MAX	2048
#define AUDIT_CHANGE_MAX	8192
/* Room the readiness probe wants: a few records' worth. */
#define AUDIT_PROBE_BYTES	4096
/* A write that failed for another reason than space: not ready this long. */
#define AUDIT_RETRY_SEC		5
#define AUDIT_WARN_SEC		60
/* At most this many key steps at one record (about 0.3 s of HMACs). */
#define AUDIT_EPOCH_STEPS	100000ULL
#define AUDIT_GENESIS \
	"0000000000000000000000000000000000000000000000000000000000000000"

struct audit_shared {
	pthread_mutex_t	 mu;
	unsigned long long seq;
	char		 prev[BK_DIGEST_HEX + 1];
	char		 chain[33];
	/* the seal (audit_key_set): the current epoch's key and its length */
	int		 keyed;
	/* the key holder has the key: key holds its epoch and start only */
	int		 remote;
	unsigned int	 epoch_len;	/* seconds */
	struct bk_chain_key key;
	int		 tail_keyed;	/* the record the file ended with */
	long long	 tail_epoch;
	time_t		 key_warned;	/* the last "cannot save the key" */
	unsigned int	 fgen;		/* file generation (rotations) */
	dev_t		 fdev;		/* the file of generation fgen */
	ino_t		 fino;
	int		 busy;		/* a write is in progress ... */
	off_t		 busy_size;	/* ... and the file was this long */
	int		 failed;	/* the last write failed */
	int		 fail_errno;
	size_t		 fail_len;
	time_t		 fail_at;
	time_t		 fail_logged;	/* the last "cannot write" warning */
	/* durability (the last section): group commit, junk budget */
	unsigned long long synced_seq;	/* on stable storage up to here */
	time_t		 sync_logged;	/* the last "cannot sync" warning */
	/*
	 * An fdatasync of this file failed: the kernel may have dropped the
	 * pages it reported (and will not report them again), so a later
	 * flush proves nothing.  Set until the file is left (rotation) or
	 * the broker restarts; sign-ins are refused meanwhile.
	 */
	int		 sync_broken;
	time_t		 low_logged;	/* the last low-space warning */
	long long	 junk_window;	/* audit_junk_take()'s window ... */
	unsigned int	 junk_used;	/* ... and the records it took */
};

struct audit {
	char			*path;
	char			*key_path;	/* [audit] key_file or NULL */
	int			 fd;		/* O_RDWR|O_APPEND: writes */
	int			 rfd;		/* O_RDONLY, for queries */
	unsigned int		 fgen;		/* generation fd belongs to */
	struct audit_shared	*sh;
	struct audit_raw	*raw;	/* <path>.raw, opened at first use */
	/* remote: this process's way to the key holder (audit_sealer()) */
	audit_seal_fn		 seal;
	audit_mac_fn		 mac;
	void			*seal_arg;
};

/*
 * A record is serialised once (issue 7: serialising it twice, to hash it
 * and to write it, was a tenth of a sign-in).  Its keys are kept in two
 * objects, those that sort before "hash" and those after, each dumped
 * with sorted keys: "{A}" and "{B}".  The record without its hash, in the
 * form audit_verify() recomputes it, is "{A,B}", and the line written is
 * "{A,"hash":"...",B}", byte for byte what one dump with sorted keys
 * gives.  Both halves always hold a key (audit_version, prev).
 */
struct audit_obj {
	json_t	*lo, *hi;
};

#define AUDIT_DUMP_FLAGS \
	(JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII)

static int
audit_obj_set(struct audit_obj *r, const char *k, json_t *v)
{
	return json_object_set_new(strcmp(k, "hash") < 0 ? r->lo : r->hi, k,
	    v) == 0 ? BK_OK : BK_E_NOMEM;
}

static void
audit_obj_free(struct audit_obj *r)
{
	json_decref(r->lo);
	json_decref(r->hi);
	r->lo = r->hi = NULL;
}

/* A new chain: genesis link, seq 0, a random id. */
static void
audit_chain_new(struct audit_shared *sh)
{
	memcpy(sh->prev, AUDIT_GENESIS, sizeof(sh->prev));
	sh->seq = 0;
	sh->tail_keyed = 0;
	sh->tail_epoch = 0;
	if (bk_random_hex(sh->chain, 16) != BK_OK)
		fatalx("audit: no randomness for the chain id");
}

/* Read the last complete line of fd to continue its chain. */
static void
audit_load_tail(int fd, struct audit_shared *sh)
{
	struct stat	 st;
	char		*buf = NULL;
	off_t		 off;
	ssize_t		 n;
	char		*line, *end;
	json_t		*o = NULL;
	json_error_t	 err;

	memcpy(sh->prev, AUDIT_GENESIS, sizeof(sh->prev));
	sh->seq = 0;
	sh->chain[0] = '\0';
	if (fstat(fd, &st) != 0 || st.st_size == 0)
		goto out;
	off = st.st_size > AUDIT_LINE_MAX ? st.st_size - AUDIT_LINE_MAX : 0;
	if ((buf = malloc((size_t)(st.st_size - off) + 1)) == NULL)
		goto out;
	n = pread(fd, buf, (size_t)(st.st_size - off), off);
	if (n <= 0)
		goto out;
	buf[n] = '\0';
	end = buf + n;
	while (end > buf && end[-1] == '\n')
		*--end = '\0';
	line = strrchr(buf, '\n');
	line = line ? line + 1 : buf;
	o = json_loads(line, 0, &err);
	if (o != NULL && json_is_string(json_object_get(o, "hash")) &&
	    json_is_string(json_object_get(o, "chain")) &&
	    json_is_integer(json_object_get(o, "seq")) &&
	    strlen(json_string_value(json_object_get(o,
	    "hash"))) == BK_DIGEST_HEX &&
	    strlen(json_string_value(json_object_get(o,
	    "chain"))) < sizeof(sh->chain)) {
		memcpy(sh->prev, json_string_value(json_object_get(o, "hash")),
		    BK_DIGEST_HEX + 1);
		snprintf(sh->chain, sizeof(sh->chain), "%s",
		    json_string_value(json_object_get(o, "chain")));
		sh->seq =
		    (unsigned long long)json_integer_value(json_object_get(o,
		    "seq"));
		sh->tail_keyed = json_is_integer(json_object_get(o, "epoch"));
		sh->tail_epoch =
		    json_integer_value(json_object_get(o, "epoch"));
		json_decref(o);
		free(buf);
		return;
	}
	log_warnx("audit: last line of the file does not parse; starting a new "
	    "chain");
 out:
	json_decref(o);
	free(buf);
	audit_chain_new(sh);
}

static int
audit_open_fds(struct audit *a)
{
	int	 fd, rfd;

	/* Read and write: pread checks how the file ends before a record. */
	fd = open(a->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_warn("audit: %s", a->path);
		return BK_E_IO;
	}
	if ((rfd = open(a->path, O_RDONLY | O_CLOEXEC)) < 0) {
		log_warn("audit: %s", a->path);
		close(fd);
		return BK_E_IO;
	}
	if (a->fd >= 0)
		close(a->fd);
	if (a->rfd >= 0)
		close(a->rfd);
	a->fd = fd;
	a->rfd = rfd;
	return BK_OK;
}

/* Under the lock (or before any fork): fd is the file of generation fgen. */
static void
audit_note_file(struct audit *a)
{
	struct stat	 st;

	a->fgen = a->sh->fgen;
	if (fstat(a->fd, &st) == 0) {
		a->sh->fdev = st.st_dev;
		a->sh->fino = st.st_ino;
	}
}

static int
audit_lock(struct audit_shared *sh)
{
	int	 r = pthread_mutex_lock(&sh->mu);

	if (r == EOWNERDEAD) {
		/*
		 * The owner died.  The state is only updated after a full
		 * write, so it is valid; a half record it left is cut off by
		 * the writer (busy).
		 */
		pthread_mutex_consistent(&sh->mu);
		r = 0;
	}
	return r == 0 ? BK_OK : BK_E_AUDIT_WRITE;
}

/*
 * Under the lock, with fd on the current file: still busy means the last
 * owner died mid-write; cut off the part it wrote.
 */
static void
audit_cut_busy(struct audit *a)
{
	if (a->sh->busy && ftruncate(a->fd, a->sh->busy_size) != 0)
		log_warn("audit: cannot cut a partial record off %s", a->path);
	a->sh->busy = 0;
}

int
audit_open(const char *path, struct audit **out)
{
	struct audit		*a;
	pthread_mutexattr_t	 ma;
	int			 rv;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return BK_E_NOMEM;
	a->fd = a->rfd = -1;
	if ((a->path = bk_strdup(path)) == NULL) {
		free(a);
		return BK_E_NOMEM;
	}
	a->sh = mmap(NULL, sizeof(*a->sh), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (a->sh == MAP_FAILED) {
		a->sh = NULL;
		audit_free(a);
		return BK_E_NOMEM;
	}
	/* it will hold the sealing key: not in a core dump, not swapped */
	(void)madvise(a->sh, sizeof(*a->sh), MADV_DONTDUMP);
	(void)mlock(a->sh, sizeof(*a->sh));
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&a->sh->mu, &ma);
	pthread_mutexattr_destroy(&ma);
	if ((rv = audit_open_fds(a)) != BK_OK) {
		audit_free(a);
		return rv;
	}
	audit_cut_partial(a->fd, a->path);
	audit_load_tail(a->rfd, a->sh);
	a->sh->synced_seq = a->sh->seq;	/* what a restart found is kept */
	audit_note_file(a);
	*out = a;
	return BK_OK;
}

static void	audit_sync_old(struct audit *);
struct audit_raw;
static void	audit_raw_free(struct audit_raw *);

int
audit_reopen(struct audit *a, void (*push)(unsigned long long, int, int))
{
	struct stat	 ps, fs;
	int		 rv;

	/* The same file: nothing changes, the chain simply goes on. */
	if (stat(a->path, &ps) == 0 && fstat(a->fd, &fs) == 0 &&
	    ps.st_dev == fs.st_dev && ps.st_ino == fs.st_ino)
		return BK_OK;
	/*
	 * Rotated (moved away or replaced).  The chain state is not touched:
	 * the first record of the new file links to the last one of the old.
	 * The switch is made under the lock so no record is in flight.
	 */
	if (audit_lock(a->sh) != BK_OK)
		return BK_E_AUDIT_WRITE;
	audit_cut_busy(a);	/* in the file it belongs to */
	audit_sync_old(a);	/* the old file's records stay durable */
	if ((rv = audit_open_fds(a)) == BK_OK) {
		if (push != NULL)	/* before the workers can see it */
			push(a->sh->fgen + 1, a->fd, a->rfd);
		a->sh->fgen++;
		audit_note_file(a);
		if (__atomic_exchange_n(&a->sh->sync_broken, 0,
		    __ATOMIC_ACQ_REL))
			log_info("audit: a new file after a failed flush; "
			    "sign-ins are taken again (verify the old one)");
	}
	pthread_mutex_unlock(&a->sh->mu);
	if (rv == BK_OK)
		log_info("audit: %s is a new file; the chain continues at "
		    "seq %llu", a->path, a->sh->seq + 1);
	return rv;
}

void
audit_free(struct audit *a)
{
	if (a == NULL)
		return;
	if (a->fd >= 0)
		close(a->fd);
	if (a->rfd >= 0)
		close(a->rfd);
	if (a->sh != NULL)
		munmap(a->sh, sizeof(*a->sh));
	free(a->path);
	free(a->key_path);
	audit_raw_free(a->raw);
	free(a);
}

/*
 * --- the seal key ---
 * The key of the current epoch lives in the shared page, so every worker
 * seals with it; it moves on only under the lock (audit_key_advance) and
 * the step erases the old one.  Nothing but these functions and
 * audit_seal() touches it: the narrow interface issue 12's key holder
 * process will take over.  The key file is rewritten with each new epoch
 * key (tmp, fsync, rename, fsync of the directory), so after a restart
 * the broker goes on from the newest key and no older one is on disk.
 */

static int	audit_write_all(int, const char *, size_t);

static void
audit_key_warn(struct audit *a, time_t now, int e)
{
	struct audit_shared	*sh = a->sh;

	if (now - sh->key_warned >= (time_t)sh->epoch_len ||
	    sh->key_warned == 0) {
		sh->key_warned = now;
		log_warnx("audit: cannot rewrite key_file %s: %s; its older "
		    "key stays on disk", a->key_path, strerror(e));
	}
}

/*
 * Under the lock (or before any fork): step the key to the epoch of now,
 * and save it when it moved (or when save is set).  A clock that jumped
 * years ahead costs at most AUDIT_EPOCH_STEPS steps (a fraction of a
 * second under the lock); the epochs then count on from now.  A save that
 * fails leaves the older key on disk (the broker still goes on from it
 * after a restart): warned once an epoch, never fatal.
 */
static void
audit_key_advance(struct audit *a, time_t now, int save)
{
	struct audit_shared	*sh = a->sh;
	unsigned long long	 k;
	int			 e;

	if (now >= sh->key.start + (long long)sh->epoch_len) {
		k = (unsigned long long)(now - sh->key.start) / sh->epoch_len;
		if (sh->remote)	/* the holder steps when it seals */
			sh->key.epoch += k < AUDIT_EPOCH_STEPS ? k :
			    AUDIT_EPOCH_STEPS;
		else
			bk_chain_key_step(&sh->key, sh->key.epoch + (k <
			    AUDIT_EPOCH_STEPS ? k : AUDIT_EPOCH_STEPS));
		if (k < AUDIT_EPOCH_STEPS)
			sh->key.start += (long long)(k * sh->epoch_len);
		else
			sh->key.start = (long long)now;
		save = 1;
	}
	if (!save || sh->remote)
		return;
	if ((e = bk_chain_key_save(a->key_path, &a->sh->key)) != 0)
		audit_key_warn(a, now, e);
}

int
audit_key_set(struct audit *a, const char *key_file, unsigned int epoch_len)
{
	struct audit_shared	*sh = a->sh;
	struct bk_chain_key	 k;
	int			 rv;

	if (key_file == NULL) {
		if (sh->tail_keyed) {
			log_warnx("audit: %s ends with sealed records and no "
			    "[audit] key_file is set: a new, unkeyed chain "
			    "starts", a->path);
			audit_chain_new(sh);
		}
		return BK_OK;
	}
	if (epoch_len == 0 || (a->key_path = bk_strdup(key_file)) == NULL)
		return epoch_len == 0 ? BK_E_INVAL : BK_E_NOMEM;
	if ((rv = bk_chain_key_load(key_file, &k)) != BK_OK)
		return rv;
	if (k.start == 0)	/* the initial key: epoch 0 begins now */
		k.start = (long long)time(NULL);
	sh->key = k;
	bk_chain_key_cleanup(&k);
	sh->epoch_len = epoch_len;
	sh->keyed = 1;
	/* a key file older than the records (its save failed): catch up */
	if (sh->tail_keyed && sh->tail_epoch > (long long)sh->key.epoch) {
		bk_chain_key_step(&sh->key, (unsigned long long)sh->tail_epoch);
		sh->key.start = (long long)time(NULL);
	}
	audit_key_advance(a, time(NULL), 1);
	log_info("audit: records are sealed (HMAC-SHA256), epoch %llu, a new "
	    "key every %u s", sh->key.epoch, epoch_len);
	return BK_OK;
}

void
audit_key_public(struct audit *a, unsigned long long epoch, long long start,
    unsigned int epoch_len)
{
	struct audit_shared	*sh = a->sh;

	if (sh->keyed)
		return;	/* a later holder: the chain knows better */
	sh->remote = 1;
	sh->keyed = 1;
	sh->epoch_len = epoch_len;
	memset(&sh->key, 0, sizeof(sh->key));
	sh->key.epoch = epoch;
	sh->key.start = start;
	/* a key file older than the records (its save failed): catch up */
	if (sh->tail_keyed && sh->tail_epoch > (long long)sh->key.epoch) {
		sh->key.epoch = (unsigned long long)sh->tail_epoch;
		sh->key.start = (long long)time(NULL);
	}
	audit_key_advance(a, time(NULL), 0);
	log_info("audit: records are sealed (HMAC-SHA256) by the key holder, "
	    "epoch %llu, a new key every %u s", sh->key.epoch, epoch_len);
}

void
audit_sealer(struct audit *a, audit_seal_fn seal, audit_mac_fn mac,
    void *arg)
{
	a->seal = seal;
	a->mac = mac;
	a->seal_arg = arg;
}

/*
 * Fields hold untrusted bytes (a client_id of %ff%fe, a StatusCode or an
 * element name in any script, a text some layer cut at a byte count).
 * jansson refuses a string that is not UTF-8, which would lose the record,
 * so the value is made well-formed (stray bytes as \xNN) and capped on a
 * character boundary.  Only out of memory loses a field.
 */
static int
audit_set(struct audit_obj *o, const char *k, const char *v, size_t max)
{
	char	*clean;
	json_t	*j;
	size_t	 n;

	if (v == NULL)
		return BK_OK;
	/* Most values (IDs, instants, URIs) are printable ASCII: no copy. */
	for (n = 0; n <= max && v[n] >= 0x20 && v[n] < 0x7f; n++)
		;
	if (v[n] == '\0' && n <= max)
		j = json_stringn_nocheck(v, n);
	else {
		if ((clean = log_utf8(v, max)) == NULL)
			return BK_E_NOMEM;
		j = json_string_nocheck(clean);
		free(clean);
	}
	return j == NULL ? BK_E_NOMEM : audit_obj_set(o, k, j);
}

/* 0 when all n bytes went out, else the errno of the failure. */
static int
audit_write_all(int fd, const char *p, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? errno : EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Under the lock.  Warned once a minute while it lasts, not per record. */
static void
audit_fail(struct audit_shared *sh, const char *path, int e, size_t len)
{
	time_t	 now = time(NULL);

	if (!sh->failed || sh->fail_errno != e ||
	    now - sh->fail_logged >= AUDIT_WARN_SEC) {
		sh->fail_logged = now;
		log_warnx("audit: cannot write to %s: %s; sign-ins are refused "
		    "until it can", path, strerror(e));
	}
	sh->failed = 1;
	sh->fail_errno = e;
	sh->fail_len = len;
	sh->fail_at = now;
}

/*
 * Under the lock: a process forked before a rotation moves to the new
 * file, and only if it is the file the parent switched to (not one moved
 * in since, ahead of the next SIGHUP).  A worker (which cannot open the
 * audit directory) takes the descriptors the parent pushed before it
 * moved the generation (mon.c); another process opens the path.
 */
static int
audit_follow(struct audit *a)
{
	struct stat	 st;
	int		 fd, rfd = -1;

	if (a->fgen == a->sh->fgen)
		return BK_OK;
	if (mon_active()) {
		if (mon_audit_take(a->sh->fgen, &fd, &rfd) != BK_OK) {
			log_warnx("audit: the parent did not hand over the "
			    "new file of %s", a->path);
			audit_fail(a->sh, a->path, EBADF, 0);
			return BK_E_AUDIT_WRITE;
		}
	} else if ((fd = open(a->path, O_RDWR | O_APPEND | O_CLOEXEC)) < 0) {
		audit_fail(a->sh, a->path, errno, 0);
		return BK_E_AUDIT_WRITE;
	}
	if (fstat(fd, &st) != 0 || st.st_dev != a->sh->fdev ||
	    st.st_ino != a->sh->fino) {
		log_warnx("audit: %s is not the file the chain moved to",
		    a->path);
		close(fd);
		if (rfd >= 0)
			close(rfd);
		audit_fail(a->sh, a->path, EXDEV, 0);
		return BK_E_AUDIT_WRITE;
	}
	close(a->fd);
	a->fd = fd;
	if (rfd >= 0) {
		close(a->rfd);
		a->rfd = rfd;
	}
	a->fgen = a->sh->fgen;
	return BK_OK;
}

/*
 * Under the lock: append line (len bytes, no newline) as one whole
 * record.  The size is noted first and a short write is cut back to it,
 * so a full disk or a file-size limit leaves no half record; busy tells a
 * later owner to do the same if this process dies mid-write.  A file that
 * does not end in a newline (a cut that failed) gets one first, so the
 * record starts on its own line.  Returns 0 or an errno value.
 */
static int
audit_append(struct audit *a, const char *line, size_t len)
{
	struct stat	 st;
	char		*buf, last = '\n';
	size_t		 n = 0;
	int		 e;

	if (fstat(a->fd, &st) != 0)
		return errno;
	if (st.st_size > 0 && pread(a->fd, &last, 1, st.st_size - 1) != 1)
		last = '\n';
	if ((buf = malloc(len + 2)) == NULL)
		return ENOMEM;
	if (last != '\n')
		buf[n++] = '\n';
	memcpy(buf + n, line, len);
	n += len;
	buf[n++] = '\n';
	a->sh->busy = 1;
	a->sh->busy_size = st.st_size;
	if ((e = audit_write_all(a->fd, buf, n)) != 0 &&
	    ftruncate(a->fd, st.st_size) != 0)
		log_warn("audit: cannot cut a partial record off %s", a->path);
	a->sh->busy = 0;
	free(buf);
	return e;
}

/*
 * Under the lock: the chain fields (lib/chain.h): seq, chain, prev, the
 * seal's name and, keyed, the epoch of the key that seals the record.
 */
static int
audit_chain_fields(struct audit *a, struct audit_obj *r)
{
	int	 rv;

	if (a->sh->keyed)
		audit_key_advance(a, time(NULL), 0);
	if ((rv = audit_obj_set(r, "seq",
	    json_integer((json_int_t)(a->sh->seq + 1)))) != BK_OK ||
	    (rv = audit_obj_set(r, "chain", json_string(a->sh->chain))) !=
	    BK_OK ||
	    (rv = audit_obj_set(r, "prev", json_string(a->sh->prev))) !=
	    BK_OK ||
	    (rv = audit_obj_set(r, "seal", json_string(a->sh->keyed ?
	    BK_CHAIN_SEAL_HMAC : BK_CHAIN_SEAL_SHA))) != BK_OK)
		return rv;
	if (a->sh->keyed)
		rv = audit_obj_set(r, "epoch",
		    json_integer((json_int_t)a->sh->key.epoch));
	return rv;
}

/*
 * Under the lock: the chain fields, the seal over prev "\n" "{A,B}" and
 * the line, returned-owned in *line.
 */
static int
audit_seal(struct audit *a, struct audit_obj *r,
    char hash[BK_DIGEST_HEX + 1], char **line, size_t *len)
{
	static const char hk[] = ",\"hash\":\"";
	char	*lo = NULL, *hi = NULL, *t = NULL, *p;
	size_t	 llen, hlen;
	int	 rv;

	*line = NULL;
	if ((rv = audit_chain_fields(a, r)) != BK_OK)
		return rv;
	rv = BK_E_NOMEM;
	if ((lo = json_dumps(r->lo, AUDIT_DUMP_FLAGS)) == NULL ||
	    (hi = json_dumps(r->hi, AUDIT_DUMP_FLAGS)) == NULL)
		goto out;
	llen = strlen(lo) - 1;		/* "{A" */
	hlen = strlen(hi) - 1;		/* "B}" */
	/* prev "\n" "{A" "," "B}" is hashed; "{A" hk hash "\"," "B}" kept */
	if ((t = malloc(BK_DIGEST_HEX + 2 + llen + hlen)) == NULL ||
	    (*line = malloc(llen + sizeof(hk) + BK_DIGEST_HEX + 2 + hlen +
	    1)) == NULL)
		goto out;
	memcpy(t, a->sh->prev, BK_DIGEST_HEX);
	t[BK_DIGEST_HEX] = '\n';
	memcpy(t + BK_DIGEST_HEX + 1, lo, llen);
	t[BK_DIGEST_HEX + 1 + llen] = ',';
	memcpy(t + BK_DIGEST_HEX + 2 + llen, hi + 1, hlen);
	if (a->sh->remote)
		rv = a->seal == NULL ? BK_E_AUDIT_KEY : a->seal(a->seal_arg,
		    a->sh->key.epoch, a->sh->key.start, t, BK_DIGEST_HEX + 2 +
		    llen + hlen, hash);
	else
		rv = bk_chain_seal(a->sh->keyed ? &a->sh->key : NULL, t,
		    BK_DIGEST_HEX + 2 + llen + hlen, hash);
	if (rv != BK_OK) {
		if (rv != BK_E_NOMEM)
			log_warnx("audit: the record could not be sealed: %s",
			    bk_strerror(rv));
		rv = rv == BK_E_NOMEM ? rv : BK_E_AUDIT_WRITE;
		goto out;
	}
	rv = BK_E_NOMEM;
	p = *line;
	memcpy(p, lo, llen);
	p += llen;
	memcpy(p, hk, sizeof(hk) - 1);
	p += sizeof(hk) - 1;
	memcpy(p, hash, BK_DIGEST_HEX);
	p += BK_DIGEST_HEX;
	*p++ = '"';
	*p++ = ',';
	memcpy(p, hi + 1, hlen);
	p += hlen;
	*p = '\0';
	*len = (size_t)(p - *line);
	rv = BK_OK;
 out:
	if (rv != BK_OK) {
		free(*line);
		*line = NULL;
	}
	bk_freezero(t, t != NULL ? BK_DIGEST_HEX + 2 + llen + hlen : 0);
	free(lo);
	free(hi);
	return rv;
}

/* Under the lock: link, hash and append; the state moves only on success. */
static int
audit_commit(struct audit *a, struct audit_obj *r, char **outline)
{
	char	 hash[BK_DIGEST_HEX + 1];
	char	*line;
	size_t	 len;
	int	 rv, e;

	if ((rv = audit_seal(a, r, hash, &line, &len)) != BK_OK)
		return rv;
	if (len > AUDIT_LINE_MAX)	/* the field caps rule this out */
		e = EFBIG;
	else
		e = audit_append(a, line, len);
	if (e != 0) {
		audit_fail(a->sh, a->path, e, len + 2);
		free(line);
		return BK_E_AUDIT_WRITE;
	}
	a->sh->seq++;
	memcpy(a->sh->prev, hash, sizeof(hash));
	if (a->sh->failed)
		log_info("audit: %s takes records again", a->path);
	a->sh->failed = 0;
	if (outline != NULL)
		*outline = line;
	else
		free(line);
	return BK_OK;
}

/*
 * A change's before or after: a JSON object text the broker built (never
 * request bytes), embedded as an object.  One that does not parse or is
 * over AUDIT_CHANGE_MAX is recorded as such, so the record is never lost.
 */
static int
audit_set_change(struct audit_obj *o, const char *k, const char *v)
{
	json_t		*j = NULL;
	json_error_t	 err;

	if (v == NULL)
		return BK_OK;
	if (strlen(v) <= AUDIT_CHANGE_MAX)
		j = json_loads(v, JSON_REJECT_DUPLICATES, &err);
	/* the cap is on the object as written (escaped), not the text */
	if (j != NULL && (!json_is_object(j) ||
	    json_dumpb(j, NULL, 0, AUDIT_DUMP_FLAGS) > AUDIT_CHANGE_MAX)) {
		json_decref(j);
		j = NULL;
	}
	if (j == NULL)
		j = json_pack("{s:s}", "unrecorded", "too large or not an "
		    "object");
	return j == NULL ? BK_E_NOMEM : audit_obj_set(o, k, j);
}

/* The record without its chain fields. */
static int
audit_rec_obj(const struct audit_rec *r, struct audit_obj *o)
{
	/* Caps in bytes (AUDIT_LINE_MAX: their sum times 6, plus changes). */
	const struct {
		const char	*k, *v;
		size_t		 max;
	} f[] = {
		{ "event", r->event, 64 }, { "outcome", r->outcome, 16 },
		{ "reason", r->reason, 64 }, { "tenant", r->tenant, 64 },
		{ "issuer", r->issuer, AUDIT_FIELD_MAX },
		{ "name_id", r->name_id, AUDIT_FIELD_MAX },
		{ "user", r->user, AUDIT_FIELD_MAX },
		{ "internal_id", r->internal_id, 256 },
		{ "assertion_id", r->assertion_id, 256 },
		{ "issue_instant", r->issue_instant, 64 },
		{ "authn_instant", r->authn_instant, 64 },
		{ "session_index", r->session_index, 256 },
		{ "sig_alg", r->sig_alg, 128 },
		{ "digest_alg", r->digest_alg, 128 },
		{ "cert_fingerprint", r->cert_fingerprint, 128 },
		{ "raw_sha256", r->raw_sha256, 64 },
		{ "key_id", r->key_id, 128 },
		{ "in_response_to", r->in_response_to, 256 },
		{ "client_addr", r->client_addr, 64 },
		{ "peer_addr", r->peer_addr, 64 },
		{ "client_addr_note", r->client_addr_note, 128 },
		{ "user_agent", r->user_agent, AUDIT_FIELD_MAX },
		{ "request_id", r->request_id, 64 },
		{ "instance", r->instance, 256 },
		{ "client_id", r->client_id, 256 },
		{ "credential", r->credential, 128 },
		{ "detail", r->detail, AUDIT_DETAIL_MAX },
	};
	char	 ts[32];
	size_t	 i;
	int	 rv;

	if ((o->lo = json_object()) == NULL || (o->hi = json_object()) == NULL)
		return BK_E_NOMEM;
	bk_time_fmt(bk_now(), ts);
	if ((rv = audit_obj_set(o, "audit_version",
	    json_integer(AUDIT_VERSION))) != BK_OK ||
	    (rv = audit_obj_set(o, "time", json_string(ts))) != BK_OK)
		return rv;
	for (i = 0; i < BK_NELEM(f) && rv == BK_OK; i++)
		rv = audit_set(o, f[i].k, f[i].v, f[i].max);
	if (rv == BK_OK)
		rv = audit_set_change(o, "before", r->before);
	if (rv == BK_OK)
		rv = audit_set_change(o, "after", r->after);
	return rv;
}

int
audit_write(struct audit *a, const struct audit_rec *r)
{
	return audit_write_line(a, r, NULL);
}

/*
 * Take the chain's lock, follow a rotation, cut a half record a dead
 * writer left, then link, seal and append o (audit_write_line() and
 * audit_write_counted()).
 */
static int
audit_commit_locked(struct audit *a, struct audit_obj *o, char **outline)
{
	int	 rv;

	if ((rv = audit_lock(a->sh)) != BK_OK)
		return rv;
	if ((rv = audit_follow(a)) == BK_OK) {
		audit_cut_busy(a);
		rv = audit_commit(a, o, outline);
	}
	pthread_mutex_unlock(&a->sh->mu);
	return rv;
}

int
audit_write_line(struct audit *a, const struct audit_rec *r, char **outline)
{
	struct audit_obj	 o = { NULL, NULL };
	int			 rv;

	if (outline != NULL)
		*outline = NULL;
	if (a == NULL || a->fd < 0)
		return BK_E_AUDIT_WRITE;
	if ((rv = audit_rec_obj(r, &o)) == BK_OK)
		rv = audit_commit_locked(a, &o, outline);
	audit_obj_free(&o);
	return rv;
}

int
audit_is_ready(const struct audit *a)
{
	const struct audit_shared	*sh;
	struct statvfs			 vs;
	struct stat			 st;
	struct rlimit			 rl;
	unsigned long long		 room, need = AUDIT_PROBE_BYTES;

	if (a == NULL || a->fd < 0 ||
	    __atomic_load_n(&a->sh->sync_broken, __ATOMIC_ACQUIRE))
		return 0;
	sh = a->sh;
	/* Read without the lock: a flag one write old moves one probe. */
	if (sh->failed) {
		if (sh->fail_errno != ENOSPC && sh->fail_errno != EFBIG &&
		    sh->fail_errno != EDQUOT &&
		    time(NULL) - sh->fail_at < AUDIT_RETRY_SEC)
			return 0;
		if (sh->fail_len > need)
			need = sh->fail_len;
	}
	/* root may write into the blocks reserved for it */
	if (fstatvfs(a->fd, &vs) == 0) {
		room = (unsigned long long)(geteuid() == 0 ? vs.f_bfree :
		    vs.f_bavail) * vs.f_frsize;
		if (room < need)
			return 0;
	}
	if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    fstat(a->fd, &st) == 0 &&
	    (unsigned long long)st.st_size + need > rl.rlim_cur)
		return 0;
	return 1;
}

/* --- verification: lib/chain.h walks the lines --- */

int
audit_head_get(struct audit *a, struct audit_head *h)
{
	struct audit_shared	*sh = a->sh;

	memset(h, 0, sizeof(*h));
	h->epoch = -1;
	if (audit_lock(sh) != BK_OK)
		return BK_E_INTERNAL;
	snprintf(h->chain, sizeof(h->chain), "%s", sh->chain);
	h->seq = sh->seq;
	memcpy(h->hash, sh->prev, sizeof(h->hash));
	h->keyed = sh->keyed;
	if (sh->keyed)
		h->epoch = (long long)sh->key.epoch;
	pthread_mutex_unlock(&sh->mu);
	return BK_OK;
}

/* The rotated files (mon.c: the same set a query reads), oldest first. */
static int
audit_verify_rotated(struct audit *a, struct bk_chain_verify *v)
{
	struct mon_files	 l;
	size_t			 i;
	int			 rv;

	if ((rv = mon_files_get(a->path, MON_F_ROTATED, &l)) != BK_OK)
		return rv == BK_E_NOMEM ? rv : BK_E_IO;
	for (i = 0; rv == BK_OK && i < l.n; i++)
		rv = bk_chain_verify_fd(v, l.f[i].fd, l.f[i].path);
	mon_files_free(&l);
	return rv;
}

int
audit_verify_chain(struct audit *a, struct bk_chain_verify *v, int rotated)
{
	struct audit_head	 h;
	int			 rv;

	if (audit_lock(a->sh) != BK_OK)
		return BK_E_INTERNAL;
	if (a->sh->keyed && !v->keyed) {
		/* this epoch's key checks this epoch's seals; no older one */
		v->keyed = 1;
		v->key = a->sh->key;	/* remote: the epoch only */
		v->key_epoch0 = a->sh->key.epoch;
		if (a->sh->remote) {
			v->mac = a->mac;
			v->mac_arg = a->seal_arg;
		}
	}
	pthread_mutex_unlock(&a->sh->mu);
	if ((rv = audit_head_get(a, &h)) != BK_OK)
		return rv;
	if (h.seq > 0 && (rv = bk_chain_verify_anchor(v, h.chain, h.seq,
	    h.hash, "memory")) != BK_OK)
		return rv;
	if (rotated && (rv = audit_verify_rotated(a, v)) != BK_OK)
		return rv;
	if ((rv = bk_chain_verify_fd(v, a->rfd, a->path)) != BK_OK)
		return rv;
	(void)bk_chain_verify_end(v);
	return BK_OK;
}

static void
audit_verify_fill(const struct bk_chain_verify *v,
    struct audit_verify_result *res)
{
	memset(res, 0, sizeof(*res));
	res->ok = v->ok;
	res->records = v->records;
	res->chains = v->chains;
	if (!v->ok) {
		res->first_bad_line = v->bad.line;
		snprintf(res->reason, sizeof(res->reason), "%s", v->bad.reason);
	}
}

int
audit_verify(struct audit *a, struct audit_verify_result *res)
{
	struct bk_chain_verify	 v;
	int			 rv;

	bk_chain_verify_init(&v, NULL);
	if ((rv = audit_verify_chain(a, &v, 0)) == BK_OK)
		audit_verify_fill(&v, res);
	bk_chain_verify_cleanup(&v);
	return rv;
}

int
audit_verify_path(const char *path, struct audit_verify_result *res)
{
	struct bk_chain_verify	 v;
	int			 fd, rv;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return BK_E_IO;
	bk_chain_verify_init(&v, NULL);
	if ((rv = bk_chain_verify_fd(&v, fd, path)) == BK_OK) {
		(void)bk_chain_verify_end(&v);
		audit_verify_fill(&v, res);
	}
	bk_chain_verify_cleanup(&v);
	close(fd);
	return rv;
}

/* --- durability --- */

/*
 * Issue 9 items 4 and 5: a sign-in is answered only once its record is on
 * stable storage (audit_sync.c runs audit_sync_now() in a thread of each
 * worker; front_durable.c holds the reply until synced_seq covers it),
 * and refusals of junk are counted (audit_agg.c).  Accessors of the
 * shared page for those live here, next to the shared page's definition.
 */

unsigned long long
audit_seq(const struct audit *a)
{
	return __atomic_load_n(&a->sh->seq, __ATOMIC_ACQUIRE);
}

unsigned long long
audit_synced_seq(const struct audit *a)
{
	return __atomic_load_n(&a->sh->synced_seq, __ATOMIC_ACQUIRE);
}

static void	audit_sync_warn(struct audit *, int);

/* The raw assertions' side file of this process (audit_raw_append()). */
struct audit_raw {
	char	*path;
	int	 fd;
	int	 dirty;		/* written since the last flush (atomic) */
};

static void
audit_raw_free(struct audit_raw *r)
{
	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->path);
	free(r);
}

/* Flush the side file if this process wrote to it: 0 or an errno. */
static int
audit_raw_sync(struct audit *a)
{
	/* published whole by audit_raw_open() (the sync thread reads it) */
	struct audit_raw	*r = __atomic_load_n(&a->raw, __ATOMIC_ACQUIRE);

	if (r == NULL || r->fd < 0 ||
	    !__atomic_exchange_n(&r->dirty, 0, __ATOMIC_ACQ_REL))
		return 0;
	if (fdatasync(r->fd) == 0)
		return 0;
	audit_sync_warn(a, errno);
	return errno != 0 ? errno : EIO;
}

/*
 * Under the lock: a descriptor of the file that holds the newest records,
 * returned-owned, or -1 with errno set.  A process forked before a
 * rotation opens the path (checked as audit_follow() does).
 */
static int
audit_sync_dup(struct audit *a)
{
	if (audit_follow(a) != BK_OK) {
		errno = EXDEV;
		return -1;
	}
	return fcntl(a->fd, F_DUPFD_CLOEXEC, 0);
}

static void
audit_sync_warn(struct audit *a, int e)
{
	time_t	 now = time(NULL), last;

	last = __atomic_load_n(&a->sh->sync_logged, __ATOMIC_RELAXED);
	if (now - last < AUDIT_WARN_SEC ||
	    !__atomic_compare_exchange_n(&a->sh->sync_logged, &last, now, 0,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	log_warnx("audit: cannot flush %s to stable storage: %s; records it "
	    "accepted may be lost: sign-ins are refused until the file is "
	    "rotated (mv, then SIGHUP) or the broker restarted; then verify "
	    "it", a->path, strerror(e));
}

int
audit_sync_now(struct audit *a)
{
	unsigned long long	 target, cur;
	int			 fd, e = 0;

	if (a == NULL || a->fd < 0 ||
	    __atomic_load_n(&a->sh->sync_broken, __ATOMIC_ACQUIRE))
		return BK_E_AUDIT_SYNC;
	if (audit_raw_sync(a) != 0)
		return BK_E_AUDIT_SYNC;
	if (audit_lock(a->sh) != BK_OK)
		return BK_E_AUDIT_SYNC;
	target = a->sh->seq;
	if (audit_synced_seq(a) >= target) {
		pthread_mutex_unlock(&a->sh->mu);
		return BK_OK;
	}
	fd = audit_sync_dup(a);
	if (fd < 0)
		e = errno;
	pthread_mutex_unlock(&a->sh->mu);
	/* Outside the lock: writers append while the disk flushes. */
	if (fd >= 0 && fdatasync(fd) != 0)
		e = errno;
	if (fd >= 0)
		close(fd);
	if (e != 0) {
		__atomic_store_n(&a->sh->sync_broken, 1, __ATOMIC_RELEASE);
		audit_sync_warn(a, e);
		return BK_E_AUDIT_SYNC;
	}
	cur = audit_synced_seq(a);
	while (cur < target && !__atomic_compare_exchange_n(&a->sh->synced_seq,
	    &cur, target, 0, __ATOMIC_RELEASE, __ATOMIC_ACQUIRE))
		;
	return BK_OK;
}

/* Under the lock, before a rotation: the old file's records are flushed. */
static void
audit_sync_old(struct audit *a)
{
	if (fdatasync(a->fd) != 0)
		log_warn("audit: cannot flush %s before it is left", a->path);
	else if (a->sh->synced_seq < a->sh->seq)
		__atomic_store_n(&a->sh->synced_seq, a->sh->seq,
		    __ATOMIC_RELEASE);
}

int
audit_disk_free(const struct audit *a, unsigned long long *bytes)
{
	struct statvfs	 vs;

	*bytes = 0;
	if (a == NULL || a->fd < 0 || fstatvfs(a->fd, &vs) != 0)
		return BK_E_IO;
	/* as audit_is_ready(): root may write into the reserved blocks */
	*bytes = (unsigned long long)(geteuid() == 0 ? vs.f_bfree :
	    vs.f_bavail) * vs.f_frsize;
	return BK_OK;
}

int
audit_disk_warn_due(struct audit *a)
{
	time_t	 now = time(NULL), last;

	last = __atomic_load_n(&a->sh->low_logged, __ATOMIC_RELAXED);
	return now - last >= AUDIT_WARN_SEC &&
	    __atomic_compare_exchange_n(&a->sh->low_logged, &last, now, 0,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

int
audit_junk_take(struct audit *a, long long window, unsigned int max)
{
	int	 taken = 0;

	if (audit_lock(a->sh) != BK_OK)
		return 0;
	if (a->sh->junk_window != window) {
		a->sh->junk_window = window;
		a->sh->junk_used = 0;
	}
	if (a->sh->junk_used < max) {
		a->sh->junk_used++;
		taken = 1;
	}
	pthread_mutex_unlock(&a->sh->mu);
	return taken;
}

int
audit_write_counted(struct audit *a, const struct audit_rec *r,
    unsigned long long count, time_t first, time_t last, char **outline)
{
	struct audit_obj	 o = { NULL, NULL };
	char			 t1[32], t2[32];
	int			 rv;

	if (outline != NULL)
		*outline = NULL;
	if (a == NULL || a->fd < 0)
		return BK_E_AUDIT_WRITE;
	bk_time_fmt(first, t1);
	bk_time_fmt(last, t2);
	if ((rv = audit_rec_obj(r, &o)) != BK_OK ||
	    (rv = audit_obj_set(&o, "count", json_integer((json_int_t)
	    count))) != BK_OK ||
	    (rv = audit_obj_set(&o, "first", json_string(t1))) != BK_OK ||
	    (rv = audit_obj_set(&o, "last", json_string(t2))) != BK_OK)
		goto out;
	rv = audit_commit_locked(a, &o, outline);
 out:
	audit_obj_free(&o);
	return rv;
}

void
audit_cut_partial(int fd, const char *path)
{
	struct stat	 st;
	char		 buf[4096];
	off_t		 end, off;
	ssize_t		 n, i;

	if (fstat(fd, &st) != 0 || st.st_size == 0)
		return;
	/* Back from the end to the last newline: what follows is a half. */
	for (end = st.st_size; end > 0; end = off) {
		off = end > (off_t)sizeof(buf) ? end - (off_t)sizeof(buf) : 0;
		if ((n = pread(fd, buf, (size_t)(end - off), off)) <= 0)
			return;
		for (i = n; i > 0; i--)
			if (buf[i - 1] == '\n')
				break;
		if (i > 0) {
			end = off + i;
			break;
		}
		if (off == 0) {
			end = 0;
			break;
		}
	}
	if (end == st.st_size)
		return;
	if (ftruncate(fd, end) != 0) {
		log_warn("audit: cannot cut the partial record off %s", path);
		return;
	}
	log_warnx("audit: %s ended in a partial record (%lld bytes, a write "
	    "cut short by a crash); cut off", path,
	    (long long)(st.st_size - end));
}

/* Under the lock: the side file, opened once per process. */
static int
audit_raw_open(struct audit *a)
{
	struct audit_raw	*r;
	struct bk_buf		 b;

	if (a->raw != NULL)
		return a->raw->fd >= 0 ? BK_OK : BK_E_AUDIT_WRITE;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return BK_E_NOMEM;
	r->fd = -1;
	bk_buf_init(&b, 4096 + 8);
	if (bk_buf_addf(&b, "%s.raw", a->path) != BK_OK ||
	    (r->path = bk_strdup(b.data)) == NULL) {
		bk_buf_free(&b);
		free(r);
		return BK_E_NOMEM;
	}
	bk_buf_free(&b);
	if ((r->fd = open(r->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600)) < 0)
		log_warn("audit: %s", r->path);
	__atomic_store_n(&a->raw, r, __ATOMIC_RELEASE);
	return r->fd >= 0 ? BK_OK : BK_E_AUDIT_WRITE;
}

int
audit_raw_append(struct audit *a, const char *line, size_t len)
{
	char	*buf;
	int	 rv, e = 0;

	if (a == NULL || a->fd < 0)
		return BK_E_AUDIT_WRITE;
	if ((buf = malloc(len + 1)) == NULL)
		return BK_E_NOMEM;
	memcpy(buf, line, len);
	buf[len] = '\n';
	if ((rv = audit_lock(a->sh)) != BK_OK) {
		free(buf);
		return rv;
	}
	if ((rv = audit_raw_open(a)) == BK_OK &&
	    (e = audit_write_all(a->raw->fd, buf, len + 1)) != 0) {
		log_warnx("audit: cannot write to %s: %s", a->raw->path,
		    strerror(e));
		rv = BK_E_AUDIT_WRITE;
	}
	if (rv == BK_OK)
		__atomic_store_n(&a->raw->dirty, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&a->sh->mu);
	free(buf);
	return rv;
}

int
audit_raw_prepare(struct audit *a)
{
	int	 rv;

	if ((rv = audit_lock(a->sh)) != BK_OK)
		return rv;
	rv = audit_raw_open(a);
	pthread_mutex_unlock(&a->sh->mu);
	return rv;
}

int
audit_raw_is_dirty(const struct audit *a)
{
	const struct audit_raw	*r = __atomic_load_n(&a->raw, __ATOMIC_ACQUIRE);

	return r != NULL && __atomic_load_n(&r->dirty, __ATOMIC_ACQUIRE);
}
