/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Port set-up: one mbuf pool, then every port configured with its receive
 * queues (RSS across them when asked and supported), started and put in
 * promiscuous mode. The sensor only receives; a transmit queue is set up
 * because some PMDs refuse to start without one, and never used.
 *
 * Any DPDK port works: a PCI NIC, net_af_packet or net_af_xdp on a kernel
 * interface, net_pcap on a capture file. The PMD's own limits (queues,
 * descriptors, RSS hash types) are read from rte_eth_dev_info_get() and
 * respected, with a log line when the configuration asked for more.
 *
 * Statistics go through ds_port_stats(). The af_packet PMD of DPDK 22.11
 * counts no drops: a frame that arrives while its socket's ring is full is
 * dropped by the kernel, which counts it in the socket's PACKET_STATISTICS,
 * and the PMD never reads them. At set-up the sensor finds the PMD's sockets
 * among its own file descriptors (their inodes, bound to the port's
 * interface in /proc/net/packet) and adds what they dropped to the port's
 * imissed, the counter a NIC uses for the same loss.
 */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/if_packet.h>
#include <sys/socket.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "ds_app.h"

#define MBUF_CACHE 256

static struct rte_mempool *pool;

/* Records in a pcap file (0 when it cannot be read): headers only, seeking over data. */
static uint64_t
pcap_records(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t h[24];                          /* the file header; then record headers (16) */
	uint64_t n = 0;
	bool swap;

	if (f == NULL || fread(h, 1, 24, f) != 24) {
		if (f != NULL)
			fclose(f);
		return 0;
	}
	swap = h[0] == 0xa1 || h[0] == 0x4d;    /* big-endian magic */
	while (fread(h, 1, 16, f) == 16) {
		uint32_t cap = swap ? (uint32_t)h[8] << 24 | h[9] << 16 | h[10] << 8 | h[11] :
				      (uint32_t)h[11] << 24 | h[10] << 16 | h[9] << 8 | h[8];

		if (fseek(f, cap, SEEK_CUR) != 0)
			break;
		n++;
	}
	fclose(f);
	return n;
}

/*
 * net_pcap with infinite_rx=1 keeps every packet of its capture in an mbuf
 * for the whole run: count them, so the pool holds them and still feeds the
 * other queues.
 */
static uint64_t
infinite_rx_mbufs(const char *device)
{
	const char *p = device;
	uint64_t n = 0;

	if (strncmp(device, "net_pcap", 8) != 0 || strstr(device, "infinite_rx=1") == NULL)
		return 0;
	while ((p = strstr(p, "rx_pcap=")) != NULL) {
		char path[PATH_MAX];
		size_t len;

		p += 8;
		len = strcspn(p, ",");
		if (len < sizeof(path)) {
			memcpy(path, p, len);
			path[len] = '\0';
			n += pcap_records(path);
		}
	}
	return n;
}

/* Enough mbufs to fill every descriptor, plus what lcore caches and bursts hold. */
static uint32_t
pool_size(const struct ds_app *app)
{
	uint64_t n = 2048;

	if (app->cfg->capture.mbufs != 0)
		return app->cfg->capture.mbufs;
	for (uint32_t p = 0; p < app->n_ports; p++) {
		uint16_t desc = app->replay ? 1024 : app->cfg->ports[p].rx_descriptors;

		n += (uint64_t)app->ports[p].rx_queues * desc + 1024; /* + tx ring */
		if (!app->replay)
			n += infinite_rx_mbufs(app->cfg->ports[p].device);
	}
	n += (uint64_t)rte_lcore_count() * (MBUF_CACHE + DS_MAX_BURST);
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/*
 * Inodes of the packet sockets bound to interface @p ifindex in this network
 * namespace (/proc/net/packet), at most @p max. Returns how many.
 */
static uint32_t
packet_sockets_on(int ifindex, unsigned long *ino, uint32_t max)
{
	FILE *f = fopen("/proc/net/packet", "r");
	char line[256];
	uint32_t n = 0;

	if (f == NULL)
		return 0;
	/* sk RefCnt Type Proto Iface R Rmem User Inode; the first line names them. */
	while (n < max && fgets(line, sizeof(line), f) != NULL) {
		unsigned long inode;
		int iface;

		if (sscanf(line, "%*s %*s %*s %*s %d %*s %*s %*s %lu", &iface, &inode) == 2 &&
		    iface == ifindex)
			ino[n++] = inode;
	}
	fclose(f);
	return n;
}

/* Is descriptor @p fd already some port's ring socket? */
static bool
ring_fd_claimed(const struct ds_app *app, int fd)
{
	for (uint32_t p = 0; p < app->n_ports; p++)
		for (uint32_t i = 0; i < app->ports[p].n_ring_fd; i++)
			if (app->ports[p].ring_fd[i] == fd)
				return true;
	return false;
}

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/*
 * Find the @p want packet sockets net_af_packet opened on interface
 * @p ifindex for port @p port: among the descriptors of this process that are
 * packet sockets bound to it and no earlier port's, the lowest ones. The PMD
 * opens its sockets while EAL probes the vdevs, in the order of the
 * configuration's ports, so two ports on one interface take theirs in turn.
 * Returns how many.
 */
static uint32_t
find_ring_sockets(struct ds_app *app, struct ds_port *port, int ifindex, uint32_t want)
{
	unsigned long inos[DS_MAX_PORTS * DS_MAX_RX_QUEUES];
	int found[DS_MAX_PORTS * DS_MAX_RX_QUEUES];
	uint32_t n_inos = packet_sockets_on(ifindex, inos, RTE_DIM(inos)), n_found = 0;
	struct dirent *e;
	DIR *dir;

	if (n_inos == 0 || (dir = opendir("/proc/self/fd")) == NULL)
		return 0;
	while ((e = readdir(dir)) != NULL && n_found < RTE_DIM(found)) {
		char link[64], target[64];
		unsigned long ino;
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		ssize_t n;
		uint32_t k = 0;

		if (*end != '\0' || end == e->d_name || fd == dirfd(dir))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%ld", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (sscanf(target, "socket:[%lu]", &ino) != 1)
			continue;
		while (k < n_inos && inos[k] != ino)
			k++;
		if (k < n_inos && !ring_fd_claimed(app, (int)fd))
			found[n_found++] = (int)fd;
	}
	closedir(dir);
	qsort(found, n_found, sizeof(found[0]), cmp_int);
	for (uint32_t i = 0; i < n_found && i < want && port->n_ring_fd < DS_MAX_RX_QUEUES; i++)
		port->ring_fd[port->n_ring_fd++] = found[i];
	return port->n_ring_fd;
}

int
ds_port_stats(struct ds_port *port, struct rte_eth_stats *st)
{
	int rc = rte_eth_stats_get(port->port_id, st);

	if (rc != 0)
		return rc;
	/*
	 * Reading PACKET_STATISTICS resets the kernel's counters: what each
	 * read returns is added to the port's total, whichever thread reads.
	 * tpacket_stats_v3 begins like the v1/v2 struct; the kernel copies
	 * the one its ring version uses.
	 */
	for (uint32_t i = 0; i < port->n_ring_fd; i++) {
		struct tpacket_stats_v3 ts;
		socklen_t len = sizeof(ts);

		if (getsockopt(port->ring_fd[i], SOL_PACKET, PACKET_STATISTICS, &ts, &len) == 0)
			atomic_fetch_add_explicit(&port->ring_drops, ts.tp_drops,
						  memory_order_relaxed);
	}
	st->imissed += atomic_load_explicit(&port->ring_drops, memory_order_relaxed);
	return 0;
}

static int
port_setup(struct ds_app *app, uint32_t p)
{
	struct ds_port *port = &app->ports[p];
	const struct ds_config_port *cp = app->replay ? NULL : &app->cfg->ports[p];
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	uint16_t nrxd = cp != NULL ? cp->rx_descriptors : 1024, ntxd = 512;
	uint16_t id = port->port_id;
	int socket = rte_eth_dev_socket_id(id);
	int rc;

	if (socket < 0)
		socket = (int)rte_socket_id();
	memset(&conf, 0, sizeof(conf));
	rc = rte_eth_dev_info_get(id, &info);
	if (rc != 0) {
		DS_LOG(ERR, "port %s: cannot read device info: %s\n", port->name, strerror(-rc));
		return rc;
	}
	if (port->rx_queues > info.max_rx_queues) {
		DS_LOG(ERR, "port %s: %u rx queues configured, %s supports %u\n", port->name,
		       port->rx_queues, info.driver_name, info.max_rx_queues);
		return -EINVAL;
	}
	if (cp != NULL && cp->rss && port->rx_queues > 1) {
		uint64_t hf = RTE_ETH_RSS_IP & info.flow_type_rss_offloads;

		if (hf == 0) {
			DS_LOG(WARNING, "port %s: %s offers no IP RSS; queues get what the driver "
			       "spreads\n", port->name, info.driver_name);
		} else {
			conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
			conf.rx_adv_conf.rss_conf.rss_hf = hf;
		}
	}
	if (app->packet_time && (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP))
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TIMESTAMP;

	rc = rte_eth_dev_configure(id, port->rx_queues, info.max_tx_queues > 0 ? 1 : 0, &conf);
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(id, &nrxd, &ntxd);
	for (uint16_t q = 0; rc == 0 && q < port->rx_queues; q++)
		rc = rte_eth_rx_queue_setup(id, q, nrxd, (unsigned int)socket, NULL, pool);
	if (rc == 0 && info.max_tx_queues > 0)
		rc = rte_eth_tx_queue_setup(id, 0, ntxd, (unsigned int)socket, NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(id);
	if (rc != 0) {
		DS_LOG(ERR, "port %s (%s): set-up failed: %s\n", port->name, info.driver_name,
		       strerror(rc < 0 ? -rc : rc));
		return rc < 0 ? rc : -rc;
	}
	if (cp == NULL || cp->promiscuous) {
		rc = rte_eth_promiscuous_enable(id);
		if (rc != 0 && rc != -ENOTSUP)
			DS_LOG(WARNING, "port %s: promiscuous mode: %s\n", port->name,
			       strerror(-rc));
	}
	DS_LOG(INFO, "port %s: %s, %u rx queue(s) x %u descriptors%s\n", port->name,
	       info.driver_name, port->rx_queues, nrxd,
	       conf.rxmode.mq_mode == RTE_ETH_MQ_RX_RSS ? ", RSS" : "");
	if (strcmp(info.driver_name, "net_af_packet") == 0) {
		/* Its max_rx_queues is its qpairs: one socket each. */
		if (find_ring_sockets(app, port, (int)info.if_index, info.max_rx_queues) == 0)
			DS_LOG(WARNING, "port %s: no packet socket of the PMD found on interface "
			       "index %u: frames its ring drops are not counted in imissed\n",
			       port->name, info.if_index);
		else
			DS_LOG(INFO, "port %s: imissed counts the drops of %u packet socket "
			       "ring(s)\n", port->name, port->n_ring_fd);
	}
	return 0;
}

int
ds_ports_setup(struct ds_app *app)
{
	uint32_t n = pool_size(app);
	int off;

	pool = rte_pktmbuf_pool_create("ds_mbufs", n, MBUF_CACHE, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       (int)rte_socket_id());
	if (pool == NULL) {
		DS_LOG(ERR, "cannot create a pool of %u mbufs: %s\n", n,
		       rte_strerror(rte_errno));
		return -ENOMEM;
	}
	for (uint32_t p = 0; p < app->n_ports; p++) {
		int rc = port_setup(app, p);

		if (rc != 0)
			return rc;
	}
	/* Where the PMD puts receive timestamps (net_pcap: microseconds). */
	off = rte_mbuf_dynfield_lookup(RTE_MBUF_DYNFIELD_TIMESTAMP_NAME, NULL);
	app->ts_offset = -1;
	if (off >= 0) {
		int bit = rte_mbuf_dynflag_lookup(RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME, NULL);

		if (bit >= 0) {
			app->ts_offset = off;
			app->ts_flag = 1ULL << bit;
		}
	}
	if (app->packet_time && app->ts_offset < 0)
		DS_LOG(WARNING, "time source is packet, but no port delivers timestamps: "
		       "packets are counted at the clock minute (no_timestamp)\n");
	return 0;
}

/* Stop and close every port; their ring sockets close with them. */
void
ds_ports_stop(struct ds_app *app)
{
	for (uint32_t p = 0; p < app->n_ports; p++) {
		app->ports[p].n_ring_fd = 0;
		if (!rte_eth_dev_is_valid_port(app->ports[p].port_id))
			continue;
		rte_eth_dev_stop(app->ports[p].port_id);
		rte_eth_dev_close(app->ports[p].port_id);
	}
}

void
ds_ports_close(struct ds_app *app)
{
	/* main.c's mbuf check may have closed them already. */
	ds_ports_stop(app);
	rte_mempool_free(pool);
	pool = NULL;
}
