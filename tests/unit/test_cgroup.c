/*
 * test_cgroup.c: what a Linux process's cgroup says it runs in
 * (ns_cgroup_label, agent/linux/collect_ns_label.c).  Linux only, like the code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "linux.h"
#include "util.h"

static void
test_cgroup_label(void **state)
{
	static const struct {
		const char *cgroup;
		int rc;
		const char *label;
	} cases[] = {
	    /* docker, systemd and cgroupfs drivers */
	    {"0::/system.slice/docker-"
	     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope\n",
	     1, "docker:0123456789ab"},
	    {"12:memory:/docker/"
	     "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210\n"
	     "0::/\n",
	     1, "docker:fedcba987654"},
	    /* a later line with a container wins over an earlier service */
	    {"1:name=systemd:/system.slice/sshd.service\n"
	     "0::/machine.slice/libpod-"
	     "aaaabbbbccccddddeeeeffff0000111122223333444455556666777788889999.scope/container\n",
	     1, "podman:aaaabbbbcccc"},
	    /* conmon runs outside the container */
	    {"0::/machine.slice/libpod-conmon-"
	     "aaaabbbbccccddddeeeeffff0000111122223333444455556666777788889999.scope\n",
	     0, ""},
	    {"0::/lxc/web01/init.scope\n", 1, "lxc:web01"},
	    {"0::/lxc.payload.db-02/system.slice/cron.service\n", 1, "lxc:db-02"},
	    {"0::/lxc.monitor.db-02\n", 0, ""},
	    /* kubernetes: the pod (hostIPC is a pod's setting) */
	    {"0::/kubepods.slice/kubepods-burstable.slice/"
	     "kubepods-burstable-pod1b2c3d4e_5f60_4a7b_8c9d_0e1f2a3b4c5d.slice/"
	     "cri-containerd-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef."
	     "scope\n",
	     1, "k8s:1b2c3d4e-5f6"},
	    {"0::/kubepods/besteffort/pod11112222-3333-4444-5555-666677778888/"
	     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
	     1, "k8s:11112222-333"},
	    {"0::/kubepods.slice/kubepods-pod99990000_1111_2222_3333_444455556666.slice/"
	     "crio-abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789.scope\n",
	     1, "k8s:99990000-111"},
	    /* containerd without kubernetes */
	    {"0::/system.slice/cri-containerd-"
	     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope\n",
	     1, "containerd:0123456789ab"},
	    /* no pod component: the container id */
	    {"0::/kubepods/crio-abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
	     ".scope\n",
	     1, "k8s:abcdef012345"},
	    {"0::/kubepods.slice/kubepods-burstable.slice/"
	     "kubepods-burstable-pod1b2c3d4e_5f60_4a7b_8c9d_0e1f2a3b4c5d.slice/"
	     "crio-conmon-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope\n",
	     0, ""},
	    /* services: the last one on the first line that names one */
	    {"0::/system.slice/postgresql@15-main.service\n", 2, "postgresql@15-main.service"},
	    {"0::/user.slice/user-1000.slice/user@1000.service/app.slice/tmux.service\n", 2,
	     "tmux.service"},
	    /* nothing to say */
	    {"0::/\n", 0, ""},
	    {"0::/user.slice/user-1000.slice/session-3.scope\n", 0, ""},
	    {"garbage without colons\n", 0, ""},
	    {"", 0, ""},
	    /* too short or not hex: not a docker id */
	    {"0::/system.slice/docker-0123.scope\n", 0, ""},
	    {"0::/system.slice/docker-0123456789abcdefXYZ.scope\n", 0, ""},
	    /* names are cleaned and cut to fit */
	    {"0::/lxc/we\x1b[2Jb\n", 1, "lxc:we?[2Jb"},
	    {"0::/lxc/"
	     "n123456789012345678901234567890123456789012345678901234567890123456789\n",
	     1, "lxc:n1234567890123456789012345678901234567890123456789012345678"},
	};
	char out[MODEL_NAME_MAX], small[8];
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		int rc = ns_cgroup_label(cases[i].cgroup, out, sizeof(out));

		if (rc != cases[i].rc || strcmp(out, cases[i].label) != 0)
			fail_msg("case %zu: got %d \"%s\", want %d \"%s\"", i, rc, out, cases[i].rc,
			         cases[i].label);
	}
	/* a small buffer cuts the label */
	assert_int_equal(ns_cgroup_label(cases[0].cgroup, small, sizeof(small)), 1);
	assert_string_equal(small, "docker:");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cgroup_label),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
