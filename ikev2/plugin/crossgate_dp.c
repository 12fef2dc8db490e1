/*
 * Copyright (C) 2026 crossgate
 */

#include "crossgate_dp.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/time.h>

#include <utils/debug.h>
#include <threading/thread.h>
#include <threading/mutex.h>
#include <threading/condvar.h>
#include <threading/rwlock.h>
#include <collections/linked_list.h>

/** Backoff between connection attempts, ms */
#define BACKOFF_MIN 100
#define BACKOFF_MAX 2000

typedef struct private_crossgate_dp_t private_crossgate_dp_t;

/**
 * A request waiting for its reply.
 */
typedef struct {
	/** request id */
	uint32_t req_id;
	/** signalled when done */
	condvar_t *condvar;
	/** reply arrived or the connection failed */
	bool done;
	/** errno value of the reply, or -1 if the connection failed */
	int err;
	/** reply body after struct cg_dp_reply */
	chunk_t reply;
} pending_t;

struct private_crossgate_dp_t {

	/** public interface */
	crossgate_dp_t public;

	/** socket path */
	char *path;

	/** request timeout, ms */
	u_int timeout;

	/** connected socket, -1 if none */
	int fd;

	/** HELLO done on fd */
	bool connected;

	/** destroy() started: no more requests, the reader stops */
	bool stopping;

	/** successful connections so far */
	u_int generation;

	/** protects fd, connected, pending and next_id */
	mutex_t *mutex;

	/** pending_t requests */
	linked_list_t *pending;

	/** next request id */
	uint32_t next_id;

	/** crossgate_dp_listener_t */
	linked_list_t *listeners;

	/** protects listeners */
	rwlock_t *lock;

	/** reader thread */
	thread_t *thread;

	/** receive buffer (reader thread only) */
	u_char *buf;
};

/*
 * Described in header
 */
void crossgate_dp_addr_from_host(struct cg_dp_addr *addr, host_t *host)
{
	chunk_t a;

	memset(addr, 0, sizeof(*addr));
	if (!host)
	{
		return;
	}
	a = host->get_address(host);
	switch (host->get_family(host))
	{
		case AF_INET:
			addr->family = 4;
			memcpy(addr->addr, a.ptr, min(a.len, 4));
			break;
		case AF_INET6:
			addr->family = 6;
			memcpy(addr->addr, a.ptr, min(a.len, 16));
			break;
		default:
			return;
	}
	addr->port = host->get_port(host);
}

/*
 * Described in header
 */
host_t *crossgate_dp_addr_to_host(const struct cg_dp_addr *addr)
{
	switch (addr->family)
	{
		case 4:
			return host_create_from_chunk(AF_INET,
						chunk_create((u_char*)addr->addr, 4), addr->port);
		case 6:
			return host_create_from_chunk(AF_INET6,
						chunk_create((u_char*)addr->addr, 16), addr->port);
		default:
			return NULL;
	}
}

/**
 * Build a message: header followed by body, allocated
 */
static chunk_t build_msg(uint16_t type, uint32_t req_id, chunk_t body)
{
	struct cg_dp_hdr hdr = {
		.type = type,
		.len = sizeof(hdr) + body.len,
		.req_id = req_id,
	};
	return chunk_cat("cc", chunk_from_thing(hdr), body);
}

/**
 * Send a whole message on fd; caller holds the mutex
 */
static bool send_locked(private_crossgate_dp_t *this, chunk_t msg)
{
	ssize_t len;

	if (this->fd < 0)
	{
		return FALSE;
	}
	len = send(this->fd, msg.ptr, msg.len, MSG_NOSIGNAL);
	if (len != (ssize_t)msg.len)
	{
		DBG1(DBG_KNL, "[crossgate] sending %zu bytes to the dataplane failed: %s",
			 msg.len, len < 0 ? strerror(errno) : "short write");
		/* the reader notices the broken connection and reconnects */
		shutdown(this->fd, SHUT_RDWR);
		return FALSE;
	}
	return TRUE;
}

/**
 * Map an errno reply to status_t
 */
static status_t err_to_status(int err)
{
	switch (err)
	{
		case 0:
			return SUCCESS;
		case ENOENT:
			return NOT_FOUND;
		default:
			return FAILED;
	}
}

METHOD(crossgate_dp_t, request, status_t,
	private_crossgate_dp_t *this, uint16_t type, chunk_t body, chunk_t *reply,
	int *err)
{
	pending_t pending = {
		.err = -1,
	};
	chunk_t msg;
	timeval_t tv;
	status_t status;
	bool sent;

	if (err)
	{
		*err = 0;
	}
	this->mutex->lock(this->mutex);
	if (!this->connected || this->stopping)
	{
		this->mutex->unlock(this->mutex);
		DBG2(DBG_KNL, "[crossgate] dataplane not connected, request %hu failed", type);
		if (err)
		{
			*err = ENOTCONN;
		}
		return FAILED;
	}
	pending.req_id = this->next_id++;
	if (this->next_id == 0)
	{
		this->next_id = 1;
	}
	pending.condvar = condvar_create(CONDVAR_TYPE_DEFAULT);
	this->pending->insert_last(this->pending, &pending);

	msg = build_msg(type, pending.req_id, body);
	sent = send_locked(this, msg);
	chunk_clear(&msg);

	time_monotonic(&tv);
	timeval_add_ms(&tv, this->timeout);
	while (sent && !pending.done)
	{
		if (pending.condvar->timed_wait_abs(pending.condvar, this->mutex, tv))
		{
			DBG1(DBG_KNL, "[crossgate] dataplane did not answer request %hu "
				 "(id %u) within %u ms", type, pending.req_id, this->timeout);
			break;
		}
	}
	this->pending->remove(this->pending, &pending, NULL);
	this->mutex->unlock(this->mutex);
	pending.condvar->destroy(pending.condvar);

	if (!pending.done || pending.err < 0)
	{	/* ENOTCONN if the connection broke: the dataplane dropped our state */
		chunk_free(&pending.reply);
		if (err)
		{
			*err = (sent && !pending.done) ? ETIMEDOUT : ENOTCONN;
		}
		return FAILED;
	}
	if (err)
	{
		*err = pending.err;
	}
	status = err_to_status(pending.err);
	if (reply && status == SUCCESS)
	{
		*reply = pending.reply;
	}
	else
	{
		chunk_free(&pending.reply);
	}
	return status;
}

METHOD(crossgate_dp_t, send_, bool,
	private_crossgate_dp_t *this, uint16_t type, chunk_t body)
{
	chunk_t msg;
	bool sent = FALSE;

	msg = build_msg(type, 0, body);
	this->mutex->lock(this->mutex);
	if (this->connected && !this->stopping)
	{
		sent = send_locked(this, msg);
	}
	this->mutex->unlock(this->mutex);
	chunk_free(&msg);
	return sent;
}

METHOD(crossgate_dp_t, get_generation, u_int,
	private_crossgate_dp_t *this)
{
	u_int generation;

	this->mutex->lock(this->mutex);
	generation = this->generation;
	this->mutex->unlock(this->mutex);
	return generation;
}

METHOD(crossgate_dp_t, add_listener, void,
	private_crossgate_dp_t *this, crossgate_dp_listener_t *listener)
{
	this->lock->write_lock(this->lock);
	this->listeners->insert_last(this->listeners, listener);
	this->lock->unlock(this->lock);
}

METHOD(crossgate_dp_t, remove_listener, void,
	private_crossgate_dp_t *this, crossgate_dp_listener_t *listener)
{
	this->lock->write_lock(this->lock);
	this->listeners->remove(this->listeners, listener, NULL);
	this->lock->unlock(this->lock);
}

/**
 * Open a socket and connect it, -1 on failure
 */
static int connect_socket(private_crossgate_dp_t *this)
{
	struct sockaddr_un addr = {
		.sun_family = AF_UNIX,
	};
	struct timeval tv = {
		.tv_sec = 2,
	};
	bool oldstate;
	int fd, ret;

	if (strlen(this->path) >= sizeof(addr.sun_path))
	{
		DBG1(DBG_KNL, "[crossgate] socket path '%s' is too long", this->path);
		return -1;
	}
	strncpy(addr.sun_path, this->path, sizeof(addr.sun_path) - 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
	{
		DBG1(DBG_KNL, "[crossgate] socket(AF_UNIX, SOCK_SEQPACKET): %s",
			 strerror(errno));
		return -1;
	}
	/* a dataplane that stops reading (or accepting) must not block charon's
	 * threads forever; connect() on AF_UNIX honours it too */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	oldstate = thread_cancelability(TRUE);
	ret = connect(fd, (struct sockaddr*)&addr, sizeof(addr));
	thread_cancelability(oldstate);
	if (ret < 0)
	{
		DBG2(DBG_KNL, "[crossgate] connecting to %s: %s", this->path,
			 strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/**
 * Exchange HELLO synchronously on a fresh connection
 */
static bool hello(private_crossgate_dp_t *this, int fd)
{
	struct {
		struct cg_dp_hdr hdr;
		struct cg_dp_hello hello;
	} __attribute__((packed)) req = {
		.hdr = {
			.type = CG_DP_HELLO,
			.len = sizeof(req),
			.req_id = 1,
		},
		.hello = {
			.version = CG_DP_PROTO_VERSION,
			.pid = getpid(),
		},
	};
	struct {
		struct cg_dp_hdr hdr;
		struct cg_dp_reply reply;
		struct cg_dp_hello hello;
	} __attribute__((packed)) rep;
	struct timeval tv = {
		.tv_sec = 5,
	}, none = {};
	ssize_t len;
	bool oldstate;

	if (send(fd, &req, sizeof(req), MSG_NOSIGNAL) != sizeof(req))
	{
		DBG1(DBG_KNL, "[crossgate] sending HELLO failed: %s", strerror(errno));
		return FALSE;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	oldstate = thread_cancelability(TRUE);
	memset(&rep, 0, sizeof(rep));
	len = recv(fd, &rep, sizeof(rep), MSG_TRUNC);
	thread_cancelability(oldstate);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
	if (len < (ssize_t)(sizeof(rep.hdr) + sizeof(rep.reply)) ||
		rep.hdr.type != CG_DP_REPLY || rep.hdr.req_id != 1 ||
		rep.hdr.len != (uint32_t)len)
	{
		DBG1(DBG_KNL, "[crossgate] invalid or missing HELLO reply from the dataplane");
		return FALSE;
	}
	if (rep.reply.status != 0)
	{
		DBG1(DBG_KNL, "[crossgate] dataplane rejected HELLO (protocol version %u): %s",
			 CG_DP_PROTO_VERSION, strerror(rep.reply.status));
		return FALSE;
	}
	if (len >= (ssize_t)sizeof(rep))
	{
		DBG1(DBG_KNL, "[crossgate] connected to dataplane %s (protocol %u, pid %u)",
			 this->path, rep.hello.version, rep.hello.pid);
	}
	return TRUE;
}

/**
 * Fail all pending requests and close the socket; caller holds the mutex
 */
static void disconnect_locked(private_crossgate_dp_t *this)
{
	enumerator_t *enumerator;
	pending_t *pending;

	enumerator = this->pending->create_enumerator(this->pending);
	while (enumerator->enumerate(enumerator, &pending))
	{
		pending->done = TRUE;
		pending->err = -1;
		pending->condvar->signal(pending->condvar);
	}
	enumerator->destroy(enumerator);
	if (this->fd >= 0)
	{
		close(this->fd);
	}
	this->fd = -1;
	this->connected = FALSE;
}

/**
 * Notify listeners of a state change
 */
static void notify(private_crossgate_dp_t *this, bool up)
{
	enumerator_t *enumerator;
	crossgate_dp_listener_t *listener;

	this->lock->read_lock(this->lock);
	enumerator = this->listeners->create_enumerator(this->listeners);
	while (enumerator->enumerate(enumerator, &listener))
	{
		if (up && listener->connected)
		{
			listener->connected(listener);
		}
		else if (!up && listener->disconnected)
		{
			listener->disconnected(listener);
		}
	}
	enumerator->destroy(enumerator);
	this->lock->unlock(this->lock);
}

/**
 * Hand a reply to its waiting request
 */
static void dispatch_reply(private_crossgate_dp_t *this, struct cg_dp_hdr *hdr,
						   chunk_t body)
{
	enumerator_t *enumerator;
	pending_t *pending;
	struct cg_dp_reply reply;

	if (body.len < sizeof(reply))
	{
		DBG1(DBG_KNL, "[crossgate] truncated reply (id %u) from the dataplane",
			 hdr->req_id);
		return;
	}
	memcpy(&reply, body.ptr, sizeof(reply));
	body = chunk_skip(body, sizeof(reply));

	this->mutex->lock(this->mutex);
	enumerator = this->pending->create_enumerator(this->pending);
	while (enumerator->enumerate(enumerator, &pending))
	{
		if (pending->req_id == hdr->req_id && !pending->done)
		{
			pending->done = TRUE;
			pending->err = reply.status < 0 ? EINVAL : reply.status;
			pending->reply = chunk_clone(body);
			pending->condvar->signal(pending->condvar);
			break;
		}
	}
	enumerator->destroy(enumerator);
	this->mutex->unlock(this->mutex);
}

/**
 * Hand an event to the listeners
 */
static void dispatch_event(private_crossgate_dp_t *this, uint16_t type, chunk_t body)
{
	enumerator_t *enumerator;
	crossgate_dp_listener_t *listener;

	this->lock->read_lock(this->lock);
	enumerator = this->listeners->create_enumerator(this->listeners);
	while (enumerator->enumerate(enumerator, &listener))
	{
		if (listener->event)
		{
			listener->event(listener, type, body);
		}
	}
	enumerator->destroy(enumerator);
	this->lock->unlock(this->lock);
}

/**
 * Read and dispatch messages until the connection breaks
 */
static void read_loop(private_crossgate_dp_t *this, int fd)
{
	struct cg_dp_hdr hdr;
	ssize_t len;
	bool oldstate;

	while (TRUE)
	{
		oldstate = thread_cancelability(TRUE);
		len = recv(fd, this->buf, CG_DP_MAX_MSG, MSG_TRUNC);
		thread_cancelability(oldstate);
		if (len <= 0)
		{
			if (len < 0 && errno == EINTR)
			{
				continue;
			}
			DBG1(DBG_KNL, "[crossgate] connection to the dataplane lost: %s",
				 len == 0 ? "closed" : strerror(errno));
			return;
		}
		if (len > CG_DP_MAX_MSG || len < (ssize_t)sizeof(hdr))
		{
			DBG1(DBG_KNL, "[crossgate] dropping a message of invalid size %zd "
				 "from the dataplane", len);
			continue;
		}
		memcpy(&hdr, this->buf, sizeof(hdr));
		if (hdr.len != (uint32_t)len)
		{
			DBG1(DBG_KNL, "[crossgate] dropping message type %hu: length field %u, "
				 "received %zd", hdr.type, hdr.len, len);
			continue;
		}
		if (hdr.type == CG_DP_REPLY)
		{
			dispatch_reply(this, &hdr,
						   chunk_create(this->buf + sizeof(hdr), len - sizeof(hdr)));
		}
		else
		{
			dispatch_event(this, hdr.type,
						   chunk_create(this->buf + sizeof(hdr), len - sizeof(hdr)));
		}
	}
}

/**
 * Cancellable sleep
 */
static void backoff_sleep(u_int ms)
{
	bool oldstate;

	oldstate = thread_cancelability(TRUE);
	usleep(ms * 1000);
	thread_cancelability(oldstate);
}

/**
 * Whether destroy() started
 */
static bool is_stopping(private_crossgate_dp_t *this)
{
	bool stopping;

	this->mutex->lock(this->mutex);
	stopping = this->stopping;
	this->mutex->unlock(this->mutex);
	return stopping;
}

/**
 * Reader thread: connect, HELLO, read; on loss reconnect with backoff.
 *
 * Cancellation (by destroy()) is enabled only while the thread blocks in recv()
 * or sleeps, never while it holds a lock, logs or runs a listener: a thread
 * cancelled there would leave that lock taken (this->mutex, charon's logger)
 * and charon's shutdown would hang on it.
 */
static void *reader(private_crossgate_dp_t *this)
{
	u_int backoff = BACKOFF_MIN;
	bool warned = FALSE, was_connected = FALSE;
	int fd;

	thread_cancelability(FALSE);
	prctl(PR_SET_NAME, "cg-dp-reader");
	while (!is_stopping(this))
	{
		fd = connect_socket(this);
		if (fd >= 0 && !hello(this, fd))
		{
			close(fd);
			fd = -1;
		}
		if (fd < 0)
		{
			if (!warned)
			{
				DBG1(DBG_KNL, "[crossgate] dataplane at %s not reachable, retrying",
					 this->path);
				warned = TRUE;
			}
			backoff_sleep(backoff);
			backoff = min(backoff * 2, BACKOFF_MAX);
			continue;
		}
		backoff = BACKOFF_MIN;
		warned = FALSE;

		this->mutex->lock(this->mutex);
		if (this->stopping)
		{
			this->mutex->unlock(this->mutex);
			close(fd);
			break;
		}
		this->fd = fd;
		this->connected = TRUE;
		this->generation++;
		this->mutex->unlock(this->mutex);
		if (was_connected)
		{
			DBG1(DBG_KNL, "[crossgate] reconnected to the dataplane");
		}
		was_connected = TRUE;
		notify(this, TRUE);

		read_loop(this, fd);

		this->mutex->lock(this->mutex);
		disconnect_locked(this);
		this->mutex->unlock(this->mutex);
		notify(this, FALSE);
	}
	return NULL;
}

METHOD(crossgate_dp_t, start, void,
	private_crossgate_dp_t *this)
{
	if (!this->thread)
	{
		this->thread = thread_create((thread_main_t)reader, this);
	}
}

METHOD(crossgate_dp_t, destroy, void,
	private_crossgate_dp_t *this)
{
	this->mutex->lock(this->mutex);
	this->stopping = TRUE;
	this->mutex->unlock(this->mutex);
	if (this->thread)
	{	/* acts at once if the reader blocks in recv() or sleeps, otherwise at
		 * its next blocking call; the reader checks stopping before those */
		this->thread->cancel(this->thread);
		this->thread->join(this->thread);
	}
	this->mutex->lock(this->mutex);
	disconnect_locked(this);
	this->mutex->unlock(this->mutex);
	this->pending->destroy(this->pending);
	this->listeners->destroy(this->listeners);
	this->mutex->destroy(this->mutex);
	this->lock->destroy(this->lock);
	free(this->buf);
	free(this->path);
	free(this);
}

/*
 * Described in header
 */
crossgate_dp_t *crossgate_dp_create(char *path, u_int timeout)
{
	private_crossgate_dp_t *this;

	INIT(this,
		.public = {
			.request = _request,
			.send = _send_,
			.get_generation = _get_generation,
			.add_listener = _add_listener,
			.remove_listener = _remove_listener,
			.start = _start,
			.destroy = _destroy,
		},
		.path = strdup(path),
		.timeout = timeout,
		.fd = -1,
		.next_id = 2, /* 1 is HELLO */
		.mutex = mutex_create(MUTEX_TYPE_DEFAULT),
		.lock = rwlock_create(RWLOCK_TYPE_DEFAULT),
		.pending = linked_list_create(),
		.listeners = linked_list_create(),
		.buf = malloc(CG_DP_MAX_MSG),
	);
	return &this->public;
}
