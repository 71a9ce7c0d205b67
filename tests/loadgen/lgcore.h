/*
 * lgcore.h: N simulated ipcfleet agents over real mutual TLS, in one
 * libevent loop.  The engine of ipcfleet-loadgen (loadgen.c) and of the
 * benchmark harness (tests/bench), which drives it through the hooks below.
 *
 * Set-up failures (a CA that does not load, no memory for the agents) print
 * one line on stderr and exit(1): both programs are test tools.
 */
#ifndef IPCFLEET_LGCORE_H
#define IPCFLEET_LGCORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define LG_MAX_AGENTS 100000
/* objects in each snapshot (the frame must stay under 1 MiB: about 75 bytes each) */
#define LG_MAX_OBJECTS 10000

struct lg;

/* What lg_run() tells the embedding program, through on_event. */
enum lg_event {
	LG_EV_STEADY,   /* the steady figures start (every agent connected, or --steady-after) */
	LG_EV_RUN_END,  /* --duration is over: no new snapshots, acks are awaited */
	LG_EV_ALL_READY /* every agent has connected and written its hello (again) */
};

struct lg_opts {
	size_t nagents, nslow, ntrickle;
	uint64_t interval_ms, duration_ms, drain_ms;
	double connect_rate; /* connection attempts per second; 0: no limit */
	const char *prefix, *ca_cert_path, *ca_key_path, *server, *ack_log_path;
	uint64_t progress_ms;     /* stderr report period; 0 none */
	uint64_t steady_after_ms; /* 0: steady once every agent connected */
	/*
	 * Idle agents: hello, then nothing (no snapshots), until lg_stop() or
	 * the duration ends.  For connection memory and handshake storms.
	 */
	int idle;
	/*
	 * Objects in each snapshot (0: 40, the realistic host); more repeat the
	 * template's mix of 40 (22 sets, 12 segments, 6 queues) with ids and
	 * keys of their own.  At most LG_MAX_OBJECTS.
	 */
	size_t nobjects;
	/* Hooks (may be NULL): a timer every tick_ms, and the events above. */
	void (*on_tick)(struct lg *lg, void *arg);
	uint64_t tick_ms;
	void (*on_event)(struct lg *lg, enum lg_event ev, void *arg);
	void *arg;
};

/* Defaults of ipcfleet-loadgen: 10 agents, 10 s interval, 30 s, drain 30 s. */
void lg_opts_defaults(struct lg_opts *o);

/* Loads the CA, mints one certificate per agent; exits on failure. */
struct lg *lg_new(const struct lg_opts *o);
/* Runs the loop: until the duration and the drain are over, or lg_stop(). */
void lg_run(struct lg *lg);
/* One "name=value unit" line per figure. */
void lg_report(struct lg *lg, FILE *fp);
void lg_free(struct lg *lg);

/* ---- for hooks ---- */

/* Leaves lg_run() at the next turn of the loop. */
void lg_stop(struct lg *lg);
/* Agents whose connection is up and whose hello is written. */
size_t lg_ready(const struct lg *lg);
/* Agents (normal ones) with an open or opening connection. */
size_t lg_connected(const struct lg *lg);
/* Closes every agent's connection (no reconnect until lg_connect_all()). */
void lg_close_all(struct lg *lg);
/* Connects every idle agent at once (a reconnect storm), ignoring the pacer. */
void lg_connect_all(struct lg *lg);
/* Acknowledged snapshots: in total, and since the steady point (before the run end). */
uint64_t lg_acked(const struct lg *lg);
uint64_t lg_acked_steady(const struct lg *lg);
/* Seconds from the steady point to the run end (or now); 0 before it. */
double lg_steady_seconds(const struct lg *lg);
/* Errors counted (error frames, bad answers, ack timeouts) and connect failures. */
uint64_t lg_errors(const struct lg *lg);
uint64_t lg_connect_failures(const struct lg *lg);
/* The ack latency quantile p (0 < p <= 1) of the steady snapshots, in ms;
 * -1 when none of them was acknowledged (unknown, never 0). */
double lg_steady_latency_ms(const struct lg *lg, double p);

#endif
