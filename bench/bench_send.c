/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * A paced frame sender for the live-capture benchmark (bench_live.py):
 *
 *   bench_send IFACE PCAP PPS SECONDS
 *
 * reads the frames of a classic pcap file into memory and sends them out of
 * IFACE through an AF_PACKET socket, in a loop, PPS frames a second (0: as
 * fast as the kernel takes them) for SECONDS, 64 frames a sendmmsg() call,
 * bypassing the qdisc. It prints {"sent": N, "seconds": S, "errors": E} on
 * stdout. Python cannot send fast enough to load a sensor; this can.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAX_FRAME 9018

struct frames {
	uint8_t *data;
	size_t *off;
	uint32_t *len;
	uint32_t n;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Frames of a little- or big-endian, micro- or nanosecond pcap file. */
static int
load_pcap(const char *path, struct frames *fr)
{
	FILE *f = fopen(path, "rb");
	uint8_t gh[24], rh[16];
	size_t cap = 0, used = 0;
	uint32_t cap_n = 0;
	int swap;

	if (f == NULL || fread(gh, 1, sizeof(gh), f) != sizeof(gh)) {
		fprintf(stderr, "bench_send: %s: cannot read a pcap header\n", path);
		return -1;
	}
	if (memcmp(gh, "\xd4\xc3\xb2\xa1", 4) == 0 || memcmp(gh, "\x4d\x3c\xb2\xa1", 4) == 0)
		swap = 0;
	else if (memcmp(gh, "\xa1\xb2\xc3\xd4", 4) == 0 || memcmp(gh, "\xa1\xb2\x3c\x4d", 4) == 0)
		swap = 1;
	else {
		fprintf(stderr, "bench_send: %s: not a classic pcap file\n", path);
		fclose(f);
		return -1;
	}
	memset(fr, 0, sizeof(*fr));
	while (fread(rh, 1, sizeof(rh), f) == sizeof(rh)) {
		uint32_t incl;

		memcpy(&incl, rh + 8, 4);
		if (swap)
			incl = __builtin_bswap32(incl);
		if (incl > MAX_FRAME) {
			fprintf(stderr, "bench_send: %s: frame of %" PRIu32 " bytes\n", path, incl);
			fclose(f);
			return -1;
		}
		if (used + incl > cap) {
			cap = (cap + incl) * 2;
			fr->data = realloc(fr->data, cap);
		}
		if (fr->n == cap_n) {
			cap_n = cap_n ? cap_n * 2 : 4096;
			fr->off = realloc(fr->off, cap_n * sizeof(*fr->off));
			fr->len = realloc(fr->len, cap_n * sizeof(*fr->len));
		}
		if (fr->data == NULL || fr->off == NULL || fr->len == NULL) {
			fprintf(stderr, "bench_send: out of memory\n");
			fclose(f);
			return -1;
		}
		if (fread(fr->data + used, 1, incl, f) != incl)
			break;
		fr->off[fr->n] = used;
		fr->len[fr->n++] = incl;
		used += incl;
	}
	fclose(f);
	if (fr->n == 0) {
		fprintf(stderr, "bench_send: %s: no frames\n", path);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_ll sll;
	struct frames fr;
	uint64_t sent = 0, errors = 0;
	double pps, secs, t0, t;
	uint32_t next = 0;
	int fd, one = 1;

	if (argc != 5) {
		fprintf(stderr, "usage: bench_send IFACE PCAP PPS SECONDS\n");
		return 2;
	}
	pps = atof(argv[3]);
	secs = atof(argv[4]);
	if (load_pcap(argv[2], &fr) < 0)
		return 1;
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0) {
		perror("bench_send: socket(AF_PACKET)");
		return 1;
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = (int)if_nametoindex(argv[1]);
	if (sll.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "bench_send: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	/* Straight to the driver: the qdisc would only add a lock and a queue. */
	setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	memset(msg, 0, sizeof(msg));
	t0 = now_s();
	while ((t = now_s() - t0) < secs) {
		uint32_t n = BATCH;
		int rc;

		if (pps > 0) {
			double due = pps * t - (double)sent;

			if (due < 1) {
				/* Ahead of the pace: wait about one batch's time. */
				struct timespec ts = { 0, (long)(1e9 * BATCH / pps / 4) };

				nanosleep(&ts, NULL);
				continue;
			}
			if (due < n)
				n = (uint32_t)due;
		}
		for (uint32_t k = 0; k < n; k++) {
			iov[k].iov_base = fr.data + fr.off[next];
			iov[k].iov_len = fr.len[next];
			msg[k].msg_hdr.msg_iov = &iov[k];
			msg[k].msg_hdr.msg_iovlen = 1;
			next = next + 1 == fr.n ? 0 : next + 1;
		}
		rc = sendmmsg(fd, msg, n, 0);
		if (rc < 0) {
			errors++;
			rc = 0;
		}
		sent += (uint64_t)rc;
		/* Frames the call did not take are sent again by the next one. */
		next = (uint32_t)((next + fr.n - (n - (uint32_t)rc)) % fr.n);
	}
	printf("{\"sent\": %" PRIu64 ", \"seconds\": %.3f, \"errors\": %" PRIu64 "}\n", sent,
	       now_s() - t0, errors);
	close(fd);
	return 0;
}
