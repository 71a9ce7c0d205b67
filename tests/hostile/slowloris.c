/*
 * slowloris.c: ipcfleet-slowloris, a slow HTTP client for the aggregator's
 * [http] listener (tests/integration/t_sec_http.sh, docs/SECURITY.md).
 *
 * It keeps up to --connections connections open to HOST:PORT, each sending
 * the start of a request ("GET /metrics HTTP/1.1", a Host header) and then
 * one more header byte every --every milliseconds, never ending the
 * headers; a connection the server closes is opened again at once.  After
 * --duration seconds it prints one line:
 *
 *   slowloris: opened N, cut by the server M after L.Ls at most, answered A,
 *   still open K
 *
 * (answered: connections cut with some bytes back, such as a 400; still
 * open: connected at the end, held by the server or waiting in its
 * kernel's accept queue).
 * No TLS: the endpoint has none.  Exit status 0, 2 on usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

#define SL_MAX_CONNS 4096

struct sl_conn {
	int fd;             /* -1: not open */
	int connected;      /* the TCP handshake is done */
	int answered;       /* the server sent something */
	uint64_t opened_ms; /* when connect() was called */
	uint64_t next_ms;   /* when the next byte is due */
};

static struct addrinfo *sl_addr;

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: ipcfleet-slowloris --server HOST:PORT [--connections N] "
	            "[--duration S] [--every MS]\n");
}

/* Opens c (non-blocking connect); leaves it closed when that fails at once. */
static void
sl_open(struct sl_conn *c, uint64_t now)
{
	memset(c, 0, sizeof(*c));
	c->fd = socket(sl_addr->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1)
		return;
	if (connect(c->fd, sl_addr->ai_addr, sl_addr->ai_addrlen) == -1 && errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		return;
	}
	c->opened_ms = now;
	c->next_ms = now;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {{"server", required_argument, NULL, 's'},
	                                         {"connections", required_argument, NULL, 'n'},
	                                         {"duration", required_argument, NULL, 'd'},
	                                         {"every", required_argument, NULL, 'e'},
	                                         {NULL, 0, NULL, 0}};
	static const char head[] = "GET /metrics HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";
	struct addrinfo hints;
	struct sl_conn *conns;
	struct pollfd *pfd;
	const char *server = NULL, *why;
	char host[256], port[16];
	uint64_t n = 100, duration = 10, every = 1000, v, start, now, longest = 0;
	uint64_t opened = 0, cut = 0, answered = 0, still = 0;
	size_t i;
	int ch;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			server = optarg;
			break;
		case 'n':
		case 'd':
		case 'e':
			if (parse_u64(optarg, 1, ch == 'n' ? SL_MAX_CONNS : 3600000, &v, &why) ==
			    -1) {
				fprintf(stderr, "ipcfleet-slowloris: %s: %s\n", optarg, why);
				return 2;
			}
			*(ch == 'n' ? &n : ch == 'd' ? &duration : &every) = v;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (server == NULL || optind != argc ||
	    parse_hostport(server, host, sizeof(host), port, sizeof(port), &why) == -1) {
		usage(stderr);
		return 2;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &sl_addr) != 0) {
		fprintf(stderr, "ipcfleet-slowloris: %s: cannot resolve\n", server);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	conns = calloc(n, sizeof(*conns));
	pfd = calloc(n, sizeof(*pfd));
	if (conns == NULL || pfd == NULL) {
		fprintf(stderr, "ipcfleet-slowloris: out of memory\n");
		return 1;
	}
	start = now_mono_ms();
	for (i = 0; i < n; i++)
		conns[i].fd = -1;
	while ((now = now_mono_ms()) - start < duration * 1000) {
		for (i = 0; i < n; i++) {
			struct sl_conn *c = &conns[i];

			if (c->fd == -1) {
				sl_open(c, now);
				if (c->fd != -1)
					opened++;
			}
			pfd[i].fd = c->fd;
			pfd[i].events = c->fd == -1 ? 0 : c->connected ? POLLIN : POLLOUT;
			pfd[i].revents = 0;
		}
		if (poll(pfd, n, 50) == -1 && errno != EINTR)
			break;
		now = now_mono_ms();
		for (i = 0; i < n; i++) {
			struct sl_conn *c = &conns[i];
			char buf[512];
			ssize_t r;

			if (c->fd == -1)
				continue;
			if (!c->connected && (pfd[i].revents & (POLLOUT | POLLERR | POLLHUP))) {
				int e = 0;
				socklen_t el = sizeof(e);

				if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el) == -1 ||
				    e != 0) {
					close(c->fd);
					c->fd = -1;
					continue;
				}
				c->connected = 1;
				if (write(c->fd, head, sizeof(head) - 1) == -1 && errno != EAGAIN) {
					close(c->fd);
					c->fd = -1;
					continue;
				}
				c->next_ms = now + every;
			}
			if (c->connected && (pfd[i].revents & (POLLIN | POLLERR | POLLHUP))) {
				while ((r = read(c->fd, buf, sizeof(buf))) > 0)
					c->answered = 1;
				if (r == 0 || (r == -1 && errno != EAGAIN)) {
					/* the server ended it */
					if (now - c->opened_ms > longest)
						longest = now - c->opened_ms;
					cut++;
					answered += (uint64_t)c->answered;
					close(c->fd);
					c->fd = -1;
					continue;
				}
			}
			if (c->connected && now >= c->next_ms) {
				if (write(c->fd, "a", 1) == -1 && errno != EAGAIN) {
					/* reset by the server: the next read says so */
					c->next_ms = now + every;
					continue;
				}
				c->next_ms = now + every;
			}
		}
	}
	for (i = 0; i < n; i++)
		if (conns[i].fd != -1) {
			still += (uint64_t)conns[i].connected;
			close(conns[i].fd);
		}
	printf("slowloris: opened %llu, cut by the server %llu after %.1fs at most, answered %llu, "
	       "still open %llu\n",
	       (unsigned long long)opened, (unsigned long long)cut, (double)longest / 1000,
	       (unsigned long long)answered, (unsigned long long)still);
	freeaddrinfo(sl_addr);
	free(conns);
	free(pfd);
	return 0;
}
