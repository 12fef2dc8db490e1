/*
 * Copyright (C) 2026 crossgate
 *
 * Fuzz target: the charon plugin's parser of messages from crossgate-dataplane (dp_proto.h).
 *
 * The input is a sequence of records, each a 16-bit little-endian length followed by that many
 * bytes: one SOCK_SEQPACKET message as the dataplane would send it (header and body). They are
 * written to a socketpair and read by the plugin's own reader loop (read_loop() of
 * crossgate_dp.c: size and header checks, reply matching), which hands events to the plugin's
 * real listeners: the socket (CG_DP_EV_IKE_RX -> charon packets) and the kernel-ipsec backend
 * (CG_DP_EV_EXPIRE, CG_DP_EV_MAPPING -> charon->kernel). Four requests (req_id 2..5) wait for
 * replies, as charon's threads would, so replies are matched and their bodies copied.
 *
 * crossgate_dp.c is included (not linked) to reach its static reader; the plugin's behaviour is
 * unchanged. crossgate_plugin_get_dp(), normally the plugin object's, returns this input's
 * connection.
 */

#include "crossgate_dp.c"

#include <stdio.h>
#include <stdlib.h>

#include <daemon.h>

#include "crossgate_ipsec.h"
#include "crossgate_socket.h"

#define PENDING 4

static crossgate_dp_t *current;

crossgate_dp_t *crossgate_plugin_get_dp()
{
	return current;
}

/**
 * libstrongswan and libcharon once per process, with an empty strongswan.conf
 */
static void init_once(void)
{
	static bool done;
	char path[] = "/tmp/cg-fuzz-plugin-XXXXXX";
	int fd;

	if (done)
	{
		return;
	}
	done = TRUE;
	fd = mkstemp(path);
	if (fd < 0)
	{
		perror("mkstemp");
		abort();
	}
	close(fd);
	if (!library_init(path, "charon") || !libcharon_init())
	{
		fprintf(stderr, "dp_messages: strongSwan library initialisation failed\n");
		abort();
	}
	unlink(path);
}

/**
 * Write the records of the input as messages; stops when the socket is full
 */
static void feed(int fd, const uint8_t *data, size_t size)
{
	size_t len;

	while (size >= 2)
	{
		len = data[0] | (size_t)data[1] << 8;
		data += 2;
		size -= 2;
		len = min(len, size);
		if (send(fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)len)
		{
			break;
		}
		data += len;
		size -= len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	private_crossgate_dp_t *dp;
	crossgate_socket_t *socket;
	crossgate_ipsec_t *ipsec;
	pending_t pending[PENDING];
	int fds[2], i;

	init_once();
	current = crossgate_dp_create("/nonexistent/crossgate-fuzz.sock", 1000);
	dp = (private_crossgate_dp_t*)current;
	socket = crossgate_socket_create();
	ipsec = crossgate_ipsec_create();
	if (!socket || !ipsec)
	{
		fprintf(stderr, "dp_messages: creating the plugin's socket and backend failed\n");
		abort();
	}
	for (i = 0; i < PENDING; i++)
	{
		pending[i] = (pending_t){
			.req_id = 2 + i,
			.err = -1,
			.condvar = condvar_create(CONDVAR_TYPE_DEFAULT),
		};
		dp->pending->insert_last(dp->pending, &pending[i]);
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0)
	{
		perror("socketpair");
		abort();
	}
	feed(fds[1], data, size);
	close(fds[1]);
	read_loop(dp, fds[0]);
	close(fds[0]);

	for (i = 0; i < PENDING; i++)
	{
		dp->pending->remove(dp->pending, &pending[i], NULL);
		chunk_free(&pending[i].reply);
		pending[i].condvar->destroy(pending[i].condvar);
	}
	ipsec->interface.destroy(&ipsec->interface);
	socket->socket.destroy(&socket->socket);
	current->destroy(current);
	current = NULL;
	return 0;
}
