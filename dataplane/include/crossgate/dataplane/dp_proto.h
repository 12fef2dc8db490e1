/*
 * crossgate plugin <-> dataplane protocol.
 *
 * Plain C so that the charon plugin (C, strongSwan idiom) and crossgate-dataplane (C++) share
 * one definition. Transport: AF_UNIX SOCK_SEQPACKET (one message per datagram) at
 * CG_DP_SOCKET_PATH, mode 0600. The plugin is the client.
 *
 * Every message starts with struct cg_dp_hdr. All integers are in host byte order except SPIs,
 * which stay in network byte order exactly as charon hands them over (kernel_ipsec_t contract).
 * Fixed-size bodies follow the header; variable parts (keys, traffic selectors, IKE payloads)
 * follow the fixed body, in the order the body's length fields give.
 *
 * Requests (plugin -> dataplane) carry a non-zero req_id; the dataplane answers each with one
 * CG_DP_REPLY carrying the same req_id and a status (0 or a positive errno value).
 * Events (dataplane -> plugin) and CG_DP_IKE_TX (plugin -> dataplane) have req_id 0 and no reply.
 *
 * Session rules:
 *  - the first request is HELLO; a version mismatch gets status EPROTO and the socket is closed;
 *  - when the plugin's connection closes, the dataplane drops every SA and policy it installed;
 *  - when the dataplane goes away, the plugin reconnects and raises a hard expire for every SA it
 *    had installed so that charon re-creates the CHILD_SAs.
 */
#ifndef CROSSGATE_DP_PROTO_H
#define CROSSGATE_DP_PROTO_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CG_DP_PROTO_VERSION 1u
#define CG_DP_SOCKET_PATH "/run/crossgate/dataplane.sock"
/* Largest message: header + IKE datagram metadata + a 64 KiB UDP payload. */
#define CG_DP_MAX_MSG (64u * 1024u + 256u)
#define CG_DP_MAX_KEY 64u /* bytes, per key (AES-256 + 4-byte salt, HMAC-SHA2-512 = 64) */

enum cg_dp_msg_type {
	/* requests, answered with CG_DP_REPLY */
	CG_DP_HELLO = 1,
	CG_DP_GET_SPI = 2,
	CG_DP_ADD_SA = 3,
	CG_DP_UPDATE_SA = 4,
	CG_DP_DEL_SA = 5,
	CG_DP_QUERY_SA = 6,
	CG_DP_ADD_POLICY = 7,
	CG_DP_DEL_POLICY = 8,
	CG_DP_QUERY_POLICY = 9,
	CG_DP_FLUSH = 10,
	CG_DP_REPLY = 64,
	/* events, dataplane -> plugin */
	CG_DP_EV_EXPIRE = 128,
	CG_DP_EV_MAPPING = 129,
	CG_DP_EV_IKE_RX = 130,
	/* plugin -> dataplane, no reply */
	CG_DP_IKE_TX = 160,
};

struct cg_dp_hdr {
	uint16_t type;     /* enum cg_dp_msg_type */
	uint16_t flags;    /* 0 */
	uint32_t len;      /* whole message, header included */
	uint32_t req_id;   /* non-zero on requests and their replies, 0 otherwise */
	uint32_t reserved; /* 0 */
};

/* An address with its UDP port. family: 4 or 6 (0 = unset). addr: IPv4 in the first 4 bytes,
 * network order. port: host order, 0 if not applicable. */
struct cg_dp_addr {
	uint8_t family;
	uint8_t pad;
	uint16_t port;
	uint8_t addr[16];
};

/* A traffic selector (a range, as in strongSwan): addresses [from, to], ports [from, to]
 * (0..65535 = any), protocol (0 = any). */
struct cg_dp_ts {
	struct cg_dp_addr from;
	struct cg_dp_addr to;
	uint16_t from_port;
	uint16_t to_port;
	uint8_t protocol;
	uint8_t pad[3];
};

struct cg_dp_mark {
	uint32_t value;
	uint32_t mask;
};

/* What identifies an SA: (dst, spi, proto) plus src and if_id as charon gives them. */
struct cg_dp_sa_id {
	struct cg_dp_addr src; /* with the UDP encapsulation port */
	struct cg_dp_addr dst; /* with the UDP encapsulation port */
	uint32_t spi;          /* network byte order */
	uint8_t proto;         /* IPPROTO_ESP (50) */
	uint8_t pad[3];
	struct cg_dp_mark mark;
	uint32_t if_id;
};

/* Lifetimes as charon computes them (jitter already applied). 0 = no limit. */
struct cg_dp_lifetime {
	uint64_t bytes_soft;
	uint64_t bytes_hard;
	uint64_t packets_soft;
	uint64_t packets_hard;
	uint32_t time_soft_s; /* seconds after installation */
	uint32_t time_hard_s;
};

/* ---- requests ---- */

struct cg_dp_hello {
	uint32_t version; /* CG_DP_PROTO_VERSION */
	uint32_t pid;     /* of the client, for logs */
};

struct cg_dp_get_spi {
	struct cg_dp_addr src; /* the peer */
	struct cg_dp_addr dst; /* us */
	uint8_t proto;
	uint8_t pad[3];
};

enum cg_dp_sa_flags {
	CG_DP_SA_INBOUND = 1u << 0,
	CG_DP_SA_ENCAP = 1u << 1,     /* ESP in UDP (always set by the crossgate plugin) */
	CG_DP_SA_ESN = 1u << 2,
	CG_DP_SA_UPDATE = 1u << 3,    /* replaces a GET_SPI reservation */
	CG_DP_SA_INITIATOR = 1u << 4,
	CG_DP_SA_COPY_DF = 1u << 5,
	CG_DP_SA_COPY_ECN = 1u << 6,
	CG_DP_SA_COPY_DSCP = 1u << 7,
};

/* Followed by: enc_key[enc_key_len], int_key[int_key_len],
 *              src_ts[src_ts_count], dst_ts[dst_ts_count] (struct cg_dp_ts each). */
struct cg_dp_add_sa {
	struct cg_dp_sa_id id;
	struct cg_dp_lifetime lifetime;
	uint32_t reqid;
	uint32_t flags;          /* enum cg_dp_sa_flags */
	uint16_t enc_alg;        /* IKEv2 transform id: ENCR_AES_CBC = 12, ENCR_AES_GCM_ICV16 = 20 */
	uint16_t int_alg;        /* IKEv2 transform id: AUTH_HMAC_SHA1_96 = 2, SHA2_256_128 = 12,
	                            SHA2_384_192 = 13, SHA2_512_256 = 14; 0 with AEAD */
	uint16_t enc_key_len;    /* bytes; for GCM the 4-byte salt is at the end */
	uint16_t int_key_len;
	uint32_t replay_window;  /* packets; 0 = off */
	uint32_t tfc;            /* TFC padding length, 0 = none */
	uint32_t mode;           /* 1 = tunnel (the only mode crossgate uses) */
	uint16_t src_ts_count;
	uint16_t dst_ts_count;
	struct cg_dp_mark set_mark;
};

/* Moves an SA to new addresses/ports, keeping sequence numbers and replay state. */
struct cg_dp_update_sa {
	struct cg_dp_sa_id id;     /* current identity */
	struct cg_dp_addr new_src; /* with port */
	struct cg_dp_addr new_dst; /* with port */
	uint32_t flags;            /* CG_DP_SA_ENCAP for the new encapsulation */
	uint32_t new_reqid;        /* 0 = unchanged */
};

struct cg_dp_del_sa {
	struct cg_dp_sa_id id;
};

struct cg_dp_query_sa {
	struct cg_dp_sa_id id;
};

enum cg_dp_policy_dir {
	CG_DP_DIR_IN = 0,
	CG_DP_DIR_OUT = 1,
	CG_DP_DIR_FWD = 2,
};

enum cg_dp_policy_type {
	CG_DP_POLICY_IPSEC = 0,
	CG_DP_POLICY_PASS = 1,
	CG_DP_POLICY_DROP = 2,
};

struct cg_dp_policy {
	struct cg_dp_ts src_ts;
	struct cg_dp_ts dst_ts;
	struct cg_dp_addr src;  /* SA endpoints (may be unset for PASS/DROP) */
	struct cg_dp_addr dst;
	struct cg_dp_mark mark;
	uint32_t if_id;
	uint32_t reqid;
	uint32_t spi;           /* network order; the SA an OUT policy selects, 0 = by reqid */
	uint32_t priority;      /* charon's computed priority; lower = more specific */
	uint8_t dir;            /* enum cg_dp_policy_dir */
	uint8_t type;           /* enum cg_dp_policy_type */
	uint8_t prio_class;     /* charon's policy_priority_t */
	uint8_t pad;
};

/* ---- replies ---- */

/* Followed by a reply body depending on the request:
 *  HELLO       -> struct cg_dp_hello (the dataplane's version and pid)
 *  GET_SPI     -> uint32_t spi (network order)
 *  QUERY_SA    -> struct cg_dp_sa_stats
 *  QUERY_POLICY-> struct cg_dp_policy_stats
 *  others      -> nothing */
struct cg_dp_reply {
	int32_t status; /* 0 = success, else a positive errno value (ENOENT, EEXIST, EINVAL, ...) */
	uint32_t pad;
};

struct cg_dp_sa_stats {
	uint64_t bytes;    /* cumulative, payload bytes (monotonically increasing) */
	uint64_t packets;
	uint64_t use_time; /* CLOCK_MONOTONIC seconds of the last packet, 0 = never */
};

struct cg_dp_policy_stats {
	uint64_t use_time; /* CLOCK_MONOTONIC seconds of the last packet, 0 = never */
};

/* ---- events ---- */

struct cg_dp_ev_expire {
	uint32_t spi; /* network order */
	uint8_t proto;
	uint8_t hard; /* 0 = soft (rekey), 1 = hard (delete) */
	uint8_t pad[2];
	struct cg_dp_addr dst;
	uint32_t reqid;
	uint32_t pad2;
};

struct cg_dp_ev_mapping {
	uint32_t spi; /* network order, of the inbound SA */
	uint8_t proto;
	uint8_t pad[3];
	struct cg_dp_addr dst;        /* the SA's destination (us) */
	struct cg_dp_addr new_remote; /* the peer's new address:port */
};

/* IKE datagram, either direction (CG_DP_EV_IKE_RX, CG_DP_IKE_TX). Followed by payload[len]:
 * the UDP payload exactly as on the wire, the non-ESP marker included (charon adds/strips it). */
struct cg_dp_ike {
	struct cg_dp_addr local;  /* our address:port (500 or 4500) */
	struct cg_dp_addr remote; /* the peer's address:port */
	uint8_t dscp;             /* TX only */
	uint8_t pad[3];
	uint32_t payload_len;
};

#ifdef __cplusplus
}
#endif

#ifdef __cplusplus
static_assert(sizeof(struct cg_dp_hdr) == 16, "wire layout");
static_assert(sizeof(struct cg_dp_addr) == 20, "wire layout");
static_assert(sizeof(struct cg_dp_ts) == 48, "wire layout");
static_assert(sizeof(struct cg_dp_sa_id) == 60, "wire layout");
static_assert(sizeof(struct cg_dp_lifetime) == 40, "wire layout");
#else
_Static_assert(sizeof(struct cg_dp_hdr) == 16, "wire layout");
_Static_assert(sizeof(struct cg_dp_addr) == 20, "wire layout");
_Static_assert(sizeof(struct cg_dp_ts) == 48, "wire layout");
_Static_assert(sizeof(struct cg_dp_sa_id) == 60, "wire layout");
_Static_assert(sizeof(struct cg_dp_lifetime) == 40, "wire layout");
#endif

#endif /* CROSSGATE_DP_PROTO_H */
