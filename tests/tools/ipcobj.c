/*
 * ipcobj: makes System V objects with exactly the properties a test needs,
 * which ipcmk(1) cannot set (a queue's qbytes and content, a mode), and
 * prints the id.  For the integration tests only; run it inside the test's
 * private IPC namespace (unshare --ipc).
 *
 *   ipcobj msgq QBYTES FILL [MODE]   a private queue of capacity QBYTES
 *                                    holding FILL bytes in 100-byte messages
 *   ipcobj shm SIZE MODE             a private segment, mode octal (0666)
 *   ipcobj sem NSEMS MODE            a private set
 *   ipcobj rm TYPE ID                removes it (shm, sem, msg)
 *   ipcobj hold shm SIZE MODE        makes a segment, prints its id, then
 *                                    stays alive (its creator) until killed
 *
 * Exits 0, or 1 with the failing call on standard error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#define MSG_CHUNK 100

struct chunk {
	long mtype;
	char text[MSG_CHUNK];
};

static unsigned long
num(const char *s, int base)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, base);
	if (errno != 0 || *s == '\0' || *end != '\0') {
		fprintf(stderr, "ipcobj: \"%s\" is not a number\n", s);
		exit(2);
	}
	return v;
}

static int
fail(const char *what)
{
	fprintf(stderr, "ipcobj: %s: %s\n", what, strerror(errno));
	return 1;
}

static int
make_msgq(unsigned long qbytes, unsigned long fill, int mode)
{
	struct msqid_ds ds;
	struct chunk c;
	int id;

	if ((id = msgget(IPC_PRIVATE, IPC_CREAT | mode)) == -1)
		return fail("msgget");
	if (msgctl(id, IPC_STAT, &ds) == -1)
		return fail("msgctl IPC_STAT");
	ds.msg_qbytes = qbytes;
	if (msgctl(id, IPC_SET, &ds) == -1)
		return fail("msgctl IPC_SET");
	memset(&c, 'x', sizeof(c));
	c.mtype = 1;
	while (fill > 0) {
		size_t n = fill > MSG_CHUNK ? MSG_CHUNK : fill;

		if (msgsnd(id, &c, n, IPC_NOWAIT) == -1)
			return fail("msgsnd");
		fill -= n;
	}
	printf("%d\n", id);
	return 0;
}

int
main(int argc, char **argv)
{
	int id;

	if (argc >= 4 && strcmp(argv[1], "msgq") == 0)
		return make_msgq(num(argv[2], 10), num(argv[3], 10),
		                 argc > 4 ? (int)num(argv[4], 8) : 0600);
	if (argc == 4 && strcmp(argv[1], "shm") == 0) {
		if ((id = shmget(IPC_PRIVATE, num(argv[2], 10),
		                 IPC_CREAT | (int)num(argv[3], 8))) == -1)
			return fail("shmget");
		printf("%d\n", id);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "sem") == 0) {
		if ((id = semget(IPC_PRIVATE, (int)num(argv[2], 10),
		                 IPC_CREAT | (int)num(argv[3], 8))) == -1)
			return fail("semget");
		printf("%d\n", id);
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "hold") == 0 && strcmp(argv[2], "shm") == 0) {
		if ((id = shmget(IPC_PRIVATE, num(argv[3], 10),
		                 IPC_CREAT | (int)num(argv[4], 8))) == -1)
			return fail("shmget");
		printf("%d\n", id);
		fflush(stdout);
		fclose(stdout);
		for (;;)
			pause();
	}
	if (argc == 4 && strcmp(argv[1], "rm") == 0) {
		id = (int)num(argv[3], 10);
		if (strcmp(argv[2], "shm") == 0 && shmctl(id, IPC_RMID, NULL) == 0)
			return 0;
		if (strcmp(argv[2], "sem") == 0 && semctl(id, 0, IPC_RMID) == 0)
			return 0;
		if (strcmp(argv[2], "msg") == 0 && msgctl(id, IPC_RMID, NULL) == 0)
			return 0;
		return fail("IPC_RMID");
	}
	fprintf(stderr, "usage: ipcobj msgq QBYTES FILL [MODE] | shm SIZE MODE | sem NSEMS MODE | "
	                "rm TYPE ID | hold shm SIZE MODE\n");
	return 2;
}
