/*
 * pbox's tiny program: one small static C program, run from a sealed memfd,
 * in four modes chosen by argv[0]:
 *
 *   pbox-init     the box builder and PID 1 of a box (the section "The box
 *                 builder" below; box/plan.go writes its plan): it builds
 *                 the box single-threaded from its first instruction, then
 *                 does what tini does and nothing else —
 *     1. fork COMMAND and exec it, with the signal mask it should have;
 *     2. tell pbox COMMAND's pid (or why the exec failed) on the sync socket;
 *     3. wait for signals (blocked, read from a signalfd: SigBlk in
 *        /proc/1/status shows what it takes, which pbox inspect reads):
 *        SIGCHLD means "reap every exited child"; every other signal is
 *        passed on to COMMAND;
 *     4. once COMMAND is reaped, exit with its status (128+N if signal N
 *        killed it). The kernel then ends the rest of the box.
 *     Once COMMAND runs it never allocates memory or starts a thread, so a
 *     fork bomb that uses up the box's pids limit cannot take it down.
 *   pbox-exec     the exec joiner (box/joiner.go);
 *   pbox-monitor  a detached box's monitor (box/monitor.go);
 *   pbox-logger   a detached box's log writer (box/logger.go).
 *
 * The monitor: the `pbox run -d` process that started
 * the box exec's it once the box runs, so that what waits for the box is
 * a few pages, not a Go runtime. It waits for the init (its child),
 * passes on the signals it gets, appends an "oom" event when the box's OOM
 * counter grows, and once the init has exited exec's pbox again to
 * record the exit and remove the cgroup:
 *   pbox-monitor INITPID PBOXFD EVENTSFD OOMFILE ID REPORTED PBOX-ARGV...
 * PBOXFD is pbox's own (read-only) binary; EVENTSFD the box's events.jsonl
 * (O_APPEND); OOMFILE the cgroup file with "oom_kill N", or "-"; REPORTED
 * the OOM kills already reported. pbox is exec'd with PBOX-ARGV followed
 * by the init's wait status and the OOM kills reported.
 *
 * Rebuild the committed binaries from this file: go generate ./box (it
 * runs build.sh for amd64 and arm64; CI checks each matches byte for byte).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The exit statuses of box/status.go. */
enum { STATUS_SETUP = 125, STATUS_NOT_EXECUTABLE = 126, STATUS_NOT_FOUND = 127, STATUS_SIGNAL_BASE = 128 };

static int verbose;

/* The socket to pbox that the box builder and the joiner report failures
 * on: -1 once pbox create has returned, when errors go to stderr. */
static int bsync = -1;
static const char *bflags = "-";

/* write_all writes the whole buffer, as one message where it can. */
static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* json_string appends s to out as a JSON string; bytes that JSON cannot
 * carry as they are become \u00XX. It stops before overflowing. */
static size_t json_string(char *out, size_t at, size_t cap, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	if (at + 1 < cap)
		out[at++] = '"';
	for (; *s && at + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[at++] = '\\';
			out[at++] = (char)c;
		} else if (c < 0x20) {
			memcpy(out + at, "\\u00", 4);
			out[at + 4] = hex[c >> 4];
			out[at + 5] = hex[c & 15];
			at += 6;
		} else {
			out[at++] = (char)c;
		}
	}
	if (at + 1 < cap)
		out[at++] = '"';
	return at;
}

/* lower_strerror is strerror(err) as Go words it: lower case first. */
static const char *lower_strerror(int err, char *buf, size_t size)
{
	snprintf(buf, size, "%s", strerror(err));
	if (buf[0] >= 'A' && buf[0] <= 'Z')
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

/* report_error sends pbox one error message on the sync socket:
 * {"type":"error","step":STEP,"error":TEXT,"errno":N,"code":C}. pbox words
 * a non-zero errno as it does its own errors, after TEXT. Without a socket
 * (pbox start has returned) it is one line on stderr, as pbox prints it. */
static void report_error(int sync, const char *step, const char *text, int err, int code)
{
	char msg[4096 + 256];
	if (sync < 0) {
		/* pbox start has returned: stderr is where the user looks. */
		char errtext[128];
		int n = snprintf(msg, sizeof msg, "pbox: %s: %s%s%s\n", step, text, err ? ": " : "", err ? lower_strerror(err, errtext, sizeof errtext) : "");
		write_all(2, msg, n < (int)sizeof msg ? (size_t)n : sizeof msg - 1);
		return;
	}
	size_t at = (size_t)snprintf(msg, sizeof msg, "{\"type\":\"error\",\"step\":");
	at = json_string(msg, at, 128, step);
	at += (size_t)snprintf(msg + at, sizeof msg - at, ",\"error\":");
	at = json_string(msg, at, sizeof msg - 64, text);
	at += (size_t)snprintf(msg + at, sizeof msg - at, ",\"errno\":%d,\"code\":%d}\n", err, code);
	write_all(sync, msg, at);
}

/* report_exec_error tells pbox (or, without a socket, the user) that COMMAND
 * could not be exec'd. pbox words the errno as it does its own errors. */
static void report_exec_error(int sync, const char *path, int err, int code)
{
	if (sync < 0) {
		/* pbox start has returned: stderr is where the user looks. */
		char msg[4096 + 128], text[128];
		int n = snprintf(msg, sizeof msg, "pbox: exec: %s: %s\n", path, lower_strerror(err, text, sizeof text));
		write_all(2, msg, n < (int)sizeof msg ? (size_t)n : sizeof msg - 1);
		return;
	}
	report_error(sync, "exec", path, err, code);
}

/* What the child that becomes COMMAND needs; it runs on its own stack. */
struct command {
	const char *flags;
	char *path, **argv, **envp;
	int errpipe;
	pid_t parent;
};

static char command_stack[64 * 1024] __attribute__((aligned(16)));

/* command_main runs in the child, which shares this process's memory until
 * it exec's (CLONE_VM|CLONE_VFORK, as posix_spawn does): it only makes
 * system calls, and writes errno to the pipe if the exec fails. */
static int command_main(void *arg)
{
	struct command *c = arg;
	if (strchr(c->flags, 'p')) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (getppid() != c->parent)
			_exit(STATUS_SETUP);
	}
	if (strchr(c->flags, 't')) {
		setsid();
		ioctl(0, TIOCSCTTY, 0);
	}
	sigset_t none;
	sigemptyset(&none);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, _NSIG / 8);
	execve(c->path, c->argv, c->envp);
	int err = errno;
	write_all(c->errpipe, (const char *)&err, sizeof err);
	_exit(STATUS_SETUP);
}

/* start_command starts COMMAND as a child and exec's it. It returns
 * COMMAND's pid, or -1 once the failure is reported (status in *code).
 * A vfork-style clone: this process waits, without copying its page
 * tables, until the child has exec'd. */
static pid_t start_command(const char *flags, char *path, char **argv, char **envp, int sync, int *code)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		*code = STATUS_SETUP;
		report_exec_error(sync, path, errno, *code);
		return -1;
	}
	struct command c = {.flags = flags, .path = path, .argv = argv, .envp = envp, .errpipe = pipefd[1], .parent = getpid()};
	pid_t pid = clone(command_main, command_stack + sizeof command_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &c);
	close(pipefd[1]);
	if (pid < 0) {
		*code = STATUS_SETUP;
		report_exec_error(sync, path, errno, *code);
		close(pipefd[0]);
		return -1;
	}
	/* The pipe closes at a successful exec; otherwise it carries errno. */
	int err = 0;
	ssize_t n;
	do
		n = read(pipefd[0], &err, sizeof err);
	while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	if (n != (ssize_t)sizeof err)
		return pid;
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	*code = (err == ENOENT || err == ENOTDIR) ? STATUS_NOT_FOUND : STATUS_NOT_EXECUTABLE;
	report_exec_error(sync, path, err, *code);
	return -1;
}

/* time_stamp is "[MS] " on CLOCK_MONOTONIC with the T flag, as pbox's
 * PBOX_TIMESTAMPS=1 lines start, else "". */
static const char *time_stamp(const char *flags, char *buf, size_t size)
{
	buf[0] = 0;
	if (strchr(flags, 'T')) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		snprintf(buf, size, "[%lld.%06ld] ", (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000, now.tv_nsec % 1000000);
	}
	return buf;
}

/* status_code is the shell's reading of a wait status. */
static int status_code(int ws)
{
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	if (WIFSIGNALED(ws))
		return STATUS_SIGNAL_BASE + WTERMSIG(ws);
	return STATUS_SETUP;
}

/* block_all blocks every signal, the real-time ones libc keeps for itself
 * included (sigfillset leaves them out, and the default action of an
 * unblocked one sent from the host would end the process), and returns a
 * signalfd that reads them all. */
static int block_all(sigset_t *all)
{
	memset(all, 0xff, sizeof *all);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, all, NULL, _NSIG / 8);
	return signalfd(-1, all, SFD_CLOEXEC);
}

/* supervise is PID 1's life once COMMAND runs: SIGCHLD means "reap every
 * exited child" (COMMAND and the orphans the kernel gives PID 1), every
 * other signal is passed on to COMMAND; it returns COMMAND's status. */
static int supervise(int sfd, pid_t child, int code)
{
	for (;;) {
		struct signalfd_siginfo info;
		if (read(sfd, &info, sizeof info) != (ssize_t)sizeof info)
			continue; /* EINTR */
		int sig = (int)info.ssi_signo;
		if (sig != SIGCHLD) {
			/* Never 0 or -1: child is a real pid above 1. */
			if (child > 1)
				kill(child, sig);
			continue;
		}
		int done = 0;
		for (;;) {
			int ws;
			pid_t pid = waitpid(-1, &ws, WNOHANG);
			if (pid < 0 && errno == EINTR)
				continue;
			if (pid <= 0)
				break;
			if (pid == child) {
				code = status_code(ws);
				done = 1;
			}
		}
		if (done)
			return code;
	}
}

/* oom_kills reads the "oom_kill N" line of a cgroup file; 0 if it cannot. */
static unsigned long long oom_kills(const char *file)
{
	char buf[2048];
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (strncmp(line, "oom_kill ", 9) == 0)
			return strtoull(line + 9, NULL, 10);
	return 0;
}

/* oom_event appends one line of `pbox events`, as box.Event marshals it. */
static void oom_event(int events, const char *id, unsigned long long kills)
{
	char msg[1024], when[64];
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	size_t at = (size_t)snprintf(msg, sizeof msg, "{\"type\":\"oom\",\"id\":");
	at = json_string(msg, at, sizeof msg - 128, id);
	at += (size_t)snprintf(msg + at, sizeof msg - at, ",\"time\":\"%s.%09ldZ\",\"oom_kills\":%llu}\n", when, now.tv_nsec, kills);
	write_all(events, msg, at);
}

static int monitor_main(int argc, char **argv, char **envp)
{
	prctl(PR_SET_NAME, "pbox-monitor", 0, 0, 0);
	if (argc < 8) {
		static const char usage[] = "pbox: pbox-monitor (tiny) is started by pbox run -d, not by hand\n";
		write_all(2, usage, sizeof usage - 1);
		return STATUS_SETUP;
	}
	pid_t init = (pid_t)atoi(argv[1]);
	int self = atoi(argv[2]), events = atoi(argv[3]);
	const char *oomfile = strcmp(argv[4], "-") == 0 ? NULL : argv[4];
	const char *id = argv[5];
	unsigned long long reported = strtoull(argv[6], NULL, 10);
	fcntl(self, F_SETFD, FD_CLOEXEC);
	if (events >= 0)
		fcntl(events, F_SETFD, FD_CLOEXEC);

	sigset_t all;
	int sfd = block_all(&all);
	int ws = 0;
	for (;;) {
		/* The init may have exited before the signalfd existed. */
		pid_t w = waitpid(init, &ws, WNOHANG);
		if (w == init || (w < 0 && errno == ECHILD))
			break;
		struct pollfd p = {.fd = sfd, .events = POLLIN};
		/* Twice a second while there is an OOM counter to watch. */
		if (poll(&p, 1, oomfile ? 500 : -1) > 0) {
			struct signalfd_siginfo info;
			if (read(sfd, &info, sizeof info) == (ssize_t)sizeof info && info.ssi_signo != SIGCHLD && init > 1)
				kill(init, (int)info.ssi_signo); /* an unreaped child: never a reused pid */
		}
		if (oomfile && events >= 0) {
			unsigned long long n = oom_kills(oomfile);
			if (n > reported) {
				oom_event(events, id, n);
				reported = n;
			}
		}
	}
	if (events >= 0)
		close(events);

	/* pbox records the exit: argv after REPORTED, then the status and the
	 * OOM kills reported. */
	int n = argc - 7;
	char status[16], kills[24];
	snprintf(status, sizeof status, "%d", ws);
	snprintf(kills, sizeof kills, "%llu", reported);
	char *av[n + 3];
	for (int i = 0; i < n; i++)
		av[i] = argv[7 + i];
	av[n] = status;
	av[n + 1] = kills;
	av[n + 2] = NULL;
	sigset_t none;
	sigemptyset(&none);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, _NSIG / 8);
	syscall(SYS_execveat, self, "", av, envp, AT_EMPTY_PATH);
	char msg[256];
	int len = snprintf(msg, sizeof msg, "pbox: monitor: exec pbox to record the exit (status %d): %s; `pbox rm` cleans up\n", ws, strerror(errno));
	write_all(2, msg, (size_t)len);
	return STATUS_SETUP;
}

/*
 * The exec joiner ("pbox-exec"): how pbox exec, pbox exec --process and
 * containerd's exec enter a running box (box/joiner.go). pbox plans the
 * process in Go and writes the plan to a memfd; this program, single-
 * threaded from its first instruction, joins the box's namespaces, forks
 * the process into them and runs the plan. Nothing between the join and
 * COMMAND's execve happens in a process with a second thread: a Go thread
 * still rooted on the host would be reachable from the box as
 * /proc/self/task/N/root through a symlink the box plants (/bin/sh, a #!
 * interpreter, the working directory). runc's nsexec joins the same way.
 *
 *   pbox-exec SYNCFD PLANFD
 *
 * SYNCFD is a SOCK_SEQPACKET socket to pbox exec; every answer is one
 * message: {"type":"pid","pid":N} from this process once the child is
 * forked (the child is pbox exec's, CLONE_PARENT, and this process exits),
 * then from the child {"type":"pty"} carrying the pty master (with a
 * terminal), then an error message or nothing: the socket closes when
 * COMMAND is exec'd. PLANFD holds records (tag byte, 32-bit length, bytes;
 * strings end in NUL) in the order of box/joiner.go's encoder.
 */

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#endif
#define CLOSE_RANGE_CLOEXEC_FLAG (1U << 2)
#define RESOLVE_NO_MAGICLINKS_FLAG 0x02
#define RESOLVE_IN_ROOT_FLAG 0x10
#define KEYCTL_JOIN_SESSION_KEYRING_OP 1
#define SECCOMP_SET_MODE_FILTER_OP 1
#define CAPABILITY_VERSION_3 0x20080522

struct open_how_v0 {
	unsigned long long flags, mode, resolve;
};
struct bpf_prog {
	unsigned short len;
	void *filter;
};
struct cap_header {
	unsigned int version;
	int pid;
};
struct cap_data {
	unsigned int effective, permitted, inheritable;
};

/* The plan's record tags (box/joiner.go writes them). */
enum {
	TAG_NAMESPACE = 'N', /* int fd, int CLONE_NEW* type; joined in order */
	TAG_ARG = 'a',	     /* string, repeated: argv */
	TAG_ENV = 'e',	     /* string, repeated: envp */
	TAG_PATH = 'P',	     /* string: the PATH to search for argv[0] */
	TAG_WORKDIR = 'w',   /* string: inside the box */
	TAG_USER = 'u',	     /* uid, gid, groups... (32-bit each) */
	TAG_BOUNDING = 'b',  /* 64-bit mask: the bounding set to keep */
	TAG_AMBIENT = 'A',   /* 64-bit mask */
	TAG_INHERITABLE = 'i', /* 64-bit mask: the inheritable set */
	TAG_IOPRIO = 'o',      /* 32-bit: ioprio_set's value */
	TAG_SCHED = 'S',       /* struct sched_attr, as sched_setattr takes it */
	TAG_AFFINITY = 'c',    /* a CPU mask, as sched_setaffinity takes it */
	TAG_NO_NEW_PRIVS = 'n',
	TAG_KEYRING = 'k',  /* string: a new session keyring's name */
	TAG_SECCOMP = 's',  /* 32-bit flags, then struct sock_filter[] */
	TAG_TERMINAL = 't', /* rows, cols (16-bit each): a new pty */
	TAG_PRESERVE = 'p', /* 32-bit: fds 3..3+N-1 stay open */
	/* The box builder's records (box/plan.go writes them). */
	TAG_MOUNT = 'M',    /* struct op_header, then 5 strings: a mount step */
	TAG_HOSTNAME = 'h', /* string */
	TAG_LOOPBACK = 'l', /* bring lo up (a new network namespace) */
	TAG_RLIMIT = 'r',   /* 32-bit resource, 64-bit soft, 64-bit hard, its name */
	TAG_OOM_SCORE = 'O', /* 32-bit signed: oom_score_adj */
	TAG_UMASK = 'm',    /* 32-bit */
	TAG_RUNTIME_HOOKS = 'H', /* stop for pbox's createRuntime hooks */
	TAG_AWAIT_NETWORK = 'W', /* pbox attaches a network meanwhile */
	TAG_START_FIFO = 'F',    /* 32-bit fd: exec.fifo (pbox create) */
	TAG_CONSOLE = 'C',       /* 32-bit fd: where the pty master goes */
	TAG_NO_INIT = 'x',       /* exec COMMAND as PID 1 */
	TAG_DIES_WITH_PBOX = 'd', /* PR_SET_PDEATHSIG again after the user switch */
	TAG_NO_PID_NS = 'R',     /* no PID namespace: be a subreaper */
	TAG_CREATE_HOOK = 'Q',   /* a createContainer hook (struct hook_header...) */
	TAG_START_HOOK = 'q',    /* a startContainer hook */
	TAG_VERBOSE = 'v',       /* string: "v", or "vT" with time stamps */
};

enum { MAX_ARGS = 65536 };

/* A mount step's fixed part (box/plan.go's opHeader): kind, copy-up, two
 * bytes of padding, flags, recursive flags (64-bit), major, minor, mode,
 * uid, gid (32-bit); then source, target, fstype, data and how pbox -v
 * words the step, each ending in NUL. */
enum { OP_HEADER = 40 };

struct plan {
	int nns, ns_fd[16], ns_type[16];
	char **argv, **envp;
	const char *path, *workdir, *keyring;
	int has_user;
	unsigned int uid, gid, ngroups;
	unsigned int *groups;
	unsigned int ioprio;
	void *sched, *affinity;
	unsigned int affinity_len;
	int has_bounding;
	unsigned long long bounding, inheritable, ambient;
	int no_new_privs;
	unsigned int seccomp_flags, seccomp_len;
	void *seccomp;
	int terminal;
	unsigned short rows, cols;
	unsigned int preserve;
	/* The box builder's (pbox-init's) part. */
	int nops, nrlimits, ncreate_hooks, nstart_hooks;
	const char *ops[4096], *rlimits[64], *create_hooks[64], *start_hooks[64];
	unsigned int op_len[4096], hook_len[2][64];
	const char *hostname, *flags;
	int loopback, runtime_hooks, await_network, no_init, dies_with_pbox, no_pid_ns;
	int has_oom_score, oom_score, has_umask, start_fifo, console;
	unsigned int umask;
};

/* read_plan reads every record of the plan at fd. It returns NULL with a
 * reason in *why if the plan is not one box/joiner.go could have written. */
static char *read_plan(int fd, struct plan *p, const char **why)
{
	struct stat st;
	*why = "fstat";
	if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size > (1 << 30))
		return NULL;
	size_t size = (size_t)st.st_size;
	*why = "out of memory";
	char *buf = malloc(size);
	p->argv = calloc(MAX_ARGS + 1, sizeof(char *));
	p->envp = calloc(MAX_ARGS + 1, sizeof(char *));
	if (!buf || !p->argv || !p->envp)
		return NULL;
	*why = "read";
	for (size_t got = 0; got < size;) {
		ssize_t n = pread(fd, buf + got, size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		got += (size_t)n;
	}
	*why = "a malformed record";
	size_t nargs = 0, nenv = 0;
	for (size_t at = 0; at < size;) {
		if (size - at < 5)
			return NULL;
		char tag = buf[at];
		unsigned int len;
		memcpy(&len, buf + at + 1, 4);
		at += 5;
		if (len > size - at)
			return NULL;
		char *v = buf + at;
		at += len;
		int is_string = tag == TAG_ARG || tag == TAG_ENV || tag == TAG_PATH || tag == TAG_WORKDIR || tag == TAG_KEYRING ||
				tag == TAG_HOSTNAME || tag == TAG_VERBOSE || tag == TAG_MOUNT || tag == TAG_RLIMIT ||
				tag == TAG_CREATE_HOOK || tag == TAG_START_HOOK;
		if (is_string && (len == 0 || v[len - 1] != 0))
			return NULL;
		switch (tag) {
		case TAG_NAMESPACE:
			if (len != 8 || p->nns == 16)
				return NULL;
			memcpy(&p->ns_fd[p->nns], v, 4);
			memcpy(&p->ns_type[p->nns], v + 4, 4);
			p->nns++;
			break;
		case TAG_ARG:
			if (nargs == MAX_ARGS)
				return NULL;
			p->argv[nargs++] = v;
			break;
		case TAG_ENV:
			if (nenv == MAX_ARGS)
				return NULL;
			p->envp[nenv++] = v;
			break;
		case TAG_PATH:
			p->path = v;
			break;
		case TAG_WORKDIR:
			p->workdir = v;
			break;
		case TAG_KEYRING:
			p->keyring = v;
			break;
		case TAG_USER:
			if (len < 8 || len % 4 != 0)
				return NULL;
			p->has_user = 1;
			memcpy(&p->uid, v, 4);
			memcpy(&p->gid, v + 4, 4);
			p->ngroups = (len - 8) / 4;
			p->groups = calloc(p->ngroups + 1, 4);
			if (!p->groups)
				return NULL;
			memcpy(p->groups, v + 8, len - 8);
			break;
		case TAG_BOUNDING:
			if (len != 8)
				return NULL;
			p->has_bounding = 1;
			memcpy(&p->bounding, v, 8);
			break;
		case TAG_AMBIENT:
			if (len != 8)
				return NULL;
			memcpy(&p->ambient, v, 8);
			break;
		case TAG_INHERITABLE:
			if (len != 8)
				return NULL;
			memcpy(&p->inheritable, v, 8);
			break;
		case TAG_NO_NEW_PRIVS:
			p->no_new_privs = 1;
			break;
		case TAG_SECCOMP:
			/* A copy: struct sock_filter wants its alignment. */
			if (len < 4 + 8 || (len - 4) % 8 != 0 || (len - 4) / 8 > 65535)
				return NULL;
			memcpy(&p->seccomp_flags, v, 4);
			p->seccomp_len = (len - 4) / 8;
			p->seccomp = malloc(len - 4);
			if (!p->seccomp)
				return NULL;
			memcpy(p->seccomp, v + 4, len - 4);
			break;
		case TAG_TERMINAL:
			if (len != 4)
				return NULL;
			p->terminal = 1;
			memcpy(&p->rows, v, 2);
			memcpy(&p->cols, v + 2, 2);
			break;
		case TAG_PRESERVE:
			if (len != 4)
				return NULL;
			memcpy(&p->preserve, v, 4);
			break;
		case TAG_IOPRIO:
			if (len != 4)
				return NULL;
			memcpy(&p->ioprio, v, 4);
			break;
		case TAG_SCHED:
			if (len < 48)
				return NULL;
			p->sched = v;
			break;
		case TAG_AFFINITY:
			if (len == 0 || len % 8)
				return NULL;
			p->affinity = v;
			p->affinity_len = len;
			break;
		case TAG_MOUNT:
			if (len < OP_HEADER + 5 || p->nops == 4096)
				return NULL;
			p->op_len[p->nops] = len;
			p->ops[p->nops++] = v;
			break;
		case TAG_HOSTNAME:
			p->hostname = v;
			break;
		case TAG_VERBOSE:
			p->flags = v;
			break;
		case TAG_LOOPBACK:
			p->loopback = 1;
			break;
		case TAG_RLIMIT:
			if (len < 21 || p->nrlimits == 64)
				return NULL;
			p->rlimits[p->nrlimits++] = v;
			break;
		case TAG_OOM_SCORE:
			if (len != 4)
				return NULL;
			p->has_oom_score = 1;
			memcpy(&p->oom_score, v, 4);
			break;
		case TAG_UMASK:
			if (len != 4)
				return NULL;
			p->has_umask = 1;
			memcpy(&p->umask, v, 4);
			break;
		case TAG_RUNTIME_HOOKS:
			p->runtime_hooks = 1;
			break;
		case TAG_AWAIT_NETWORK:
			p->await_network = 1;
			break;
		case TAG_START_FIFO:
			if (len != 4)
				return NULL;
			memcpy(&p->start_fifo, v, 4);
			break;
		case TAG_CONSOLE:
			if (len != 4)
				return NULL;
			memcpy(&p->console, v, 4);
			break;
		case TAG_NO_INIT:
			p->no_init = 1;
			break;
		case TAG_DIES_WITH_PBOX:
			p->dies_with_pbox = 1;
			break;
		case TAG_NO_PID_NS:
			p->no_pid_ns = 1;
			break;
		case TAG_CREATE_HOOK:
		case TAG_START_HOOK: {
			int start = tag == TAG_START_HOOK;
			int *n = start ? &p->nstart_hooks : &p->ncreate_hooks;
			if (len < 16 || *n == 64)
				return NULL;
			p->hook_len[start][*n] = len;
			(start ? p->start_hooks : p->create_hooks)[(*n)++] = v;
			break;
		}
		default:
			return NULL;
		}
	}
	if (nargs == 0 || !p->path)
		return NULL;
	return buf;
}

/* send_master passes the pty master to pbox exec (SCM_RIGHTS), as runc
 * passes it on --console-socket. */
static int send_master(int sync, int master)
{
	static const char what[] = "{\"type\":\"pty\"}\n";
	char control[CMSG_SPACE(sizeof(int))];
	memset(control, 0, sizeof control);
	struct iovec iov = {.iov_base = (void *)what, .iov_len = sizeof what - 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &master, sizeof(int));
	return sendmsg(sync, &msg, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/* open_terminal gives this process a new pty of the box's as fds 0, 1, 2
 * and controlling terminal, in a new session, and sends the master to
 * pbox. /dev/ptmx is the box's to replace: it is opened without blocking
 * (a FIFO there would hang pbox exec) and must answer as a pty master. */
static int open_terminal(int sync, struct plan *p)
{
	const char *step = "terminal";
	setsid();
	int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (m < 0) {
		report_error(sync, step, "open /dev/ptmx", errno, STATUS_SETUP);
		return -1;
	}
	unsigned int ptn;
	if (ioctl(m, TIOCGPTN, &ptn) < 0) {
		report_error(sync, step, "/dev/ptmx in the box is not a pty multiplexer", errno, STATUS_SETUP);
		return -1;
	}
	fcntl(m, F_SETFL, fcntl(m, F_GETFL) & ~O_NONBLOCK);
	if (p->rows || p->cols) {
		struct winsize ws = {.ws_row = p->rows, .ws_col = p->cols};
		if (ioctl(m, TIOCSWINSZ, &ws) < 0) {
			report_error(sync, step, "set the pty's size", errno, STATUS_SETUP);
			return -1;
		}
	}
	int unlock = 0;
	if (ioctl(m, TIOCSPTLCK, &unlock) < 0) {
		report_error(sync, step, "unlock pty", errno, STATUS_SETUP);
		return -1;
	}
	/* TIOCGPTPEER opens the slave through the master: no path to race. */
	int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0) {
		report_error(sync, step, "open pty peer", errno, STATUS_SETUP);
		return -1;
	}
	if (send_master(sync, m) < 0) {
		report_error(sync, step, "send pty master", errno, STATUS_SETUP);
		return -1;
	}
	close(m);
	for (int i = 0; i < 3; i++)
		if (dup2(s, i) < 0) {
			report_error(sync, step, "dup the pty", errno, STATUS_SETUP);
			return -1;
		}
	if (s > 2)
		close(s);
	if (ioctl(0, TIOCSCTTY, 0) < 0) {
		report_error(sync, step, "make the pty the controlling terminal", errno, STATUS_SETUP);
		return -1;
	}
	return 0;
}

/* enter_workdir changes into dir, resolved inside the box's root with no
 * magic link followed, and checks the result is inside that root (runc
 * 1.1.12, CVE-2024-21626). The words are box/fds.go's enterWorkdir's. */
static int enter_workdir(int sync, const char *dir)
{
	char text[4096 + 256];
	struct open_how_v0 how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT_FLAG | RESOLVE_NO_MAGICLINKS_FLAG};
	int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd = root < 0 ? -1 : (int)syscall(SYS_openat2, root, dir, &how, sizeof how);
	if (root >= 0) {
		int err = errno;
		close(root);
		errno = err;
	}
	if (fd < 0) {
		int err = errno;
		char errtext[128];
		const char *why = err == ENOTDIR ? "not a directory: give an existing directory inside the box"
			: err == ELOOP ? "it goes through a magic link (such as /proc/self/fd/N, which could lead outside the box) or a symlink loop: refused; give a plain directory inside the box"
			: NULL;
		if (why)
			snprintf(text, sizeof text, "%s: %s", dir, why);
		else
			snprintf(text, sizeof text, "%s: %s: give an existing directory inside the box", dir, lower_strerror(err, errtext, sizeof errtext));
		report_error(sync, "workdir", text, 0, STATUS_SETUP);
		return -1;
	}
	/* RESOLVE_IN_ROOT keeps ".." and absolute links in the box's root. */
	if (fchdir(fd) < 0) {
		char errtext[128];
		snprintf(text, sizeof text, "%s: %s", dir, lower_strerror(errno, errtext, sizeof errtext));
		report_error(sync, "workdir", text, 0, STATUS_SETUP);
		return -1;
	}
	close(fd);
	char cwd[4096];
	if (!getcwd(cwd, sizeof cwd) || cwd[0] != '/') {
		snprintf(text, sizeof text, "%s: it is outside the box's root: refused; give a directory inside the box", dir);
		report_error(sync, "workdir", text, 0, STATUS_SETUP);
		return -1;
	}
	return 0;
}

/* confine_and_switch gives the process a new session keyring, its bounding
 * set, no_new_privs, the seccomp filter and its user, in box/confine.go's
 * order: the filter is loaded while the process is still root with its
 * capabilities (without no_new_privs that needs CAP_SYS_ADMIN), then the
 * user is switched, as runc does. */
static int confine_and_switch(int sync, struct plan *p)
{
	if (p->keyring && syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING_OP, p->keyring) < 0 && errno != ENOSYS) {
		report_error(sync, "keyring", "keyctl JOIN_SESSION_KEYRING", errno, STATUS_SETUP);
		return -1;
	}
	/* How the process is scheduled (box/sched.go), while it still has its
	 * capabilities and before the filter. */
	if (p->affinity && syscall(SYS_sched_setaffinity, 0, p->affinity_len, p->affinity) < 0) {
		report_error(sync, "scheduler", "sched_setaffinity", errno, STATUS_SETUP);
		return -1;
	}
	if (p->ioprio && syscall(SYS_ioprio_set, 1, 0, p->ioprio) < 0) {
		report_error(sync, "scheduler", "ioprio_set", errno, STATUS_SETUP);
		return -1;
	}
	if (p->sched && syscall(SYS_sched_setattr, 0, p->sched, 0) < 0) {
		report_error(sync, "scheduler", "sched_setattr", errno, STATUS_SETUP);
		return -1;
	}
	if (p->has_bounding)
		for (int c = 0; c < 64; c++) {
			if (p->bounding & (1ULL << c))
				continue;
			if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
				if (errno == EINVAL)
					break; /* past the kernel's last capability */
				char text[96];
				snprintf(text, sizeof text, "drop capability %d from the bounding set", c);
				report_error(sync, "capabilities", text, errno, STATUS_SETUP);
				return -1;
			}
		}
	if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		report_error(sync, "capabilities", "set no_new_privs", errno, STATUS_SETUP);
		return -1;
	}
	if (p->seccomp) {
		struct bpf_prog prog = {.len = (unsigned short)p->seccomp_len, .filter = p->seccomp};
		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER_OP, p->seccomp_flags, &prog) < 0) {
			report_error(sync, "seccomp", "seccomp(SECCOMP_SET_MODE_FILTER)", errno, STATUS_SETUP);
			return -1;
		}
	}
	if (p->has_user) {
		char text[128];
		/* Kept over the switch, as runc keeps them: the inheritable and
		 * ambient sets are set from the permitted one afterwards. */
		if ((p->inheritable || p->ambient) && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) {
			report_error(sync, "user", "PR_SET_KEEPCAPS", errno, STATUS_SETUP);
			return -1;
		}
		/* A rootless box without subordinate gids has setgroups denied
		 * (the kernel's rule for an unprivileged gid_map): with no
		 * groups to set, it has none to drop either. */
		if (syscall(SYS_setgroups, p->ngroups, p->groups) < 0 && !(errno == EPERM && p->ngroups == 0)) {
			report_error(sync, "user", "setgroups", errno, STATUS_SETUP);
			return -1;
		}
		if (syscall(SYS_setresgid, p->gid, p->gid, p->gid) < 0) {
			snprintf(text, sizeof text, "setresgid %u", p->gid);
			report_error(sync, "user", text, errno, STATUS_SETUP);
			return -1;
		}
		if (syscall(SYS_setresuid, p->uid, p->uid, p->uid) < 0) {
			snprintf(text, sizeof text, "setresuid %u", p->uid);
			report_error(sync, "user", text, errno, STATUS_SETUP);
			return -1;
		}
	}
	/* Whatever was inherited goes: a rootless builder came through its
	 * exec with every capability ambient (box/run.go), and root's execve
	 * adds the inheritable set to the permitted one past the bounding
	 * set. Then the inheritable set as asked. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
		report_error(sync, "user", "clear the ambient capabilities", errno, STATUS_SETUP);
		return -1;
	}
	{
		/* An ambient capability must be permitted and inheritable
		 * before it is raised. */
		struct cap_header h = {.version = CAPABILITY_VERSION_3};
		struct cap_data d[2];
		if (syscall(SYS_capget, &h, d) < 0) {
			report_error(sync, "user", "capget", errno, STATUS_SETUP);
			return -1;
		}
		d[0].inheritable = d[1].inheritable = 0;
		for (int c = 0; c < 64; c++) {
			if ((p->inheritable | p->ambient) & (1ULL << c))
				d[c / 32].inheritable |= 1U << (c % 32);
			if (p->ambient & (1ULL << c))
				d[c / 32].permitted |= 1U << (c % 32);
		}
		if (syscall(SYS_capset, &h, d) < 0) {
			report_error(sync, "user", "capset", errno, STATUS_SETUP);
			return -1;
		}
		for (int c = 0; c < 64; c++)
			if ((p->ambient & (1ULL << c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0) {
				char text[96];
				snprintf(text, sizeof text, "raise ambient capability %d", c);
				report_error(sync, "user", text, errno, STATUS_SETUP);
				return -1;
			}
	}
	return 0;
}

/* report_exec_failure words a failed execve of path as box/init.go's
 * lookPath does. */
static void report_exec_failure(int sync, const char *path, int err, int code)
{
	if (err != EACCES) {
		report_error(sync, "exec", path, err, code);
		return;
	}
	char text[8192 + 128], errtext[128];
	snprintf(text, sizeof text, "%s: not executable (%s): check its mode (chmod +x)", path, lower_strerror(err, errtext, sizeof errtext));
	report_error(sync, "exec", text, 0, code);
}

/* exec_command exec's argv[0] as a shell would: a name with a slash as it
 * is, else the first match in PATH that can be exec'd; a match that
 * exists but cannot be exec'd is 126, none at all 127. Returns only on
 * failure, reported. */
static void exec_command(int sync, struct plan *p)
{
	const char *name = p->argv[0];
	if (strchr(name, '/')) {
		execve(name, p->argv, p->envp);
		int err = errno;
		report_exec_failure(sync, name, err, (err == ENOENT || err == ENOTDIR) ? STATUS_NOT_FOUND : STATUS_NOT_EXECUTABLE);
		return;
	}
	char full[8192], denied[8192];
	int denied_err = 0;
	for (const char *dir = p->path;;) {
		const char *end = strchr(dir, ':');
		size_t n = end ? (size_t)(end - dir) : strlen(dir);
		int len = n == 0 ? snprintf(full, sizeof full, "./%s", name)
				 : snprintf(full, sizeof full, "%.*s/%s", (int)n, dir, name);
		if (len > 0 && (size_t)len < sizeof full) {
			execve(full, p->argv, p->envp);
			int err = errno;
			if (err != ENOENT && err != ENOTDIR && err != ELOOP && err != ENAMETOOLONG && !denied_err) {
				/* Found but refused (EACCES, ENOEXEC...): a later match
				 * may still run, as in a shell. */
				denied_err = err;
				memcpy(denied, full, (size_t)len + 1);
			}
		}
		if (!end)
			break;
		dir = end + 1;
	}
	if (denied_err) {
		report_exec_failure(sync, denied, denied_err, STATUS_NOT_EXECUTABLE);
		return;
	}
	char text[8192 + 64];
	snprintf(text, sizeof text, "%s: executable file not found in $PATH (%s)", name, p->path);
	report_error(sync, "exec", text, 0, STATUS_NOT_FOUND);
}

static int process_settings(struct plan *p);

/* joined_child runs in the box: it becomes COMMAND. */
static int joined_child(int sync, struct plan *p)
{
	if (p->terminal && open_terminal(sync, p) < 0)
		return STATUS_SETUP;
	if (enter_workdir(sync, p->workdir ? p->workdir : "/") < 0)
		return STATUS_SETUP;
	if (process_settings(p) < 0)
		return STATUS_SETUP;
	if (confine_and_switch(sync, p) < 0)
		return STATUS_SETUP;
	/* Nothing pbox holds crosses into COMMAND but stdio and the fds it
	 * was asked to preserve (runc's --preserve-fds). */
	syscall(SYS_close_range, 3 + p->preserve, ~0U, CLOSE_RANGE_CLOEXEC_FLAG);
	sigset_t none;
	sigemptyset(&none);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, _NSIG / 8);
	exec_command(sync, p);
	return STATUS_SETUP;
}

static int exec_main(int argc, char **argv)
{
	prctl(PR_SET_NAME, "pbox-exec", 0, 0, 0);
	/* Not dumpable until COMMAND's exec: a process of the box cannot open
	 * this one's /proc/PID/fd or ptrace it in between (runc does too). */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (argc != 3) {
		static const char usage[] = "pbox: pbox-exec is started by pbox exec, not by hand\n";
		write_all(2, usage, sizeof usage - 1);
		return STATUS_SETUP;
	}
	int sync = atoi(argv[1]), planfd = atoi(argv[2]);
	int type = 0;
	socklen_t tlen = sizeof type;
	if (sync < 3 || getsockopt(sync, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 || type != SOCK_SEQPACKET) {
		static const char usage[] = "pbox: pbox-exec is started by pbox exec, not by hand\n";
		write_all(2, usage, sizeof usage - 1);
		return STATUS_SETUP;
	}
	fcntl(sync, F_SETFD, FD_CLOEXEC);
	fcntl(planfd, F_SETFD, FD_CLOEXEC);
	bsync = sync;
	struct plan p;
	memset(&p, 0, sizeof p);
	const char *why;
	if (!read_plan(planfd, &p, &why)) {
		report_error(sync, "exec", why, errno, STATUS_SETUP);
		return STATUS_SETUP;
	}
	close(planfd);
	/* Join in the plan's order (a user namespace first, the mount
	 * namespace last): from here on every path is the box's. */
	for (int i = 0; i < p.nns; i++) {
		fcntl(p.ns_fd[i], F_SETFD, FD_CLOEXEC);
		if (setns(p.ns_fd[i], p.ns_type[i]) < 0) {
			char text[64];
			snprintf(text, sizeof text, "setns (namespace type 0x%x)", (unsigned)p.ns_type[i]);
			report_error(sync, "join the box", text, errno, STATUS_SETUP);
			return STATUS_SETUP;
		}
		close(p.ns_fd[i]);
	}
	/* The child is pbox exec's (CLONE_PARENT): pbox waits for it and
	 * forwards signals to it, and this process is done. A PID namespace
	 * joined applies to the child, which is born in it. */
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
	if (pid < 0) {
		report_error(sync, "exec", "fork into the box", errno, STATUS_SETUP);
		return STATUS_SETUP;
	}
	if (pid == 0)
		_exit(joined_child(sync, &p));
	char msg[64];
	int n = snprintf(msg, sizeof msg, "{\"type\":\"pid\",\"pid\":%d}\n", (int)pid);
	write_all(sync, msg, (size_t)n);
	return 0;
}

/*
 * The log writer ("pbox-logger") of a detached box (box/logger.go): the
 * box's stdout and stderr are pipes, and this program, started by pbox
 * run -d in pbox's own cgroup before the box exists, is what writes them
 * to files: the box never holds its log open, so it can neither truncate
 * it, nor seek it to a terabyte, nor have the log's pages charged to its
 * own memory limit. Each read becomes lines in the CRI log format
 * (containerd's and the kubelet's):
 *
 *   2026-12-04T20:40:01.123456789Z stdout F a whole line
 *   2026-12-04T20:40:01.123456789Z stderr P a part of a line, no newline
 *
 * F ends a line; P is a piece without its newline (a line longer than a
 * read, or output that does not end in one), so the bytes written are
 * given back exactly. The file is rotated by size, as Docker's local
 * driver does: LOG becomes LOG.1 (LOG.1 LOG.2, ...) once the next record
 * would take it past MAXSIZE, keeping MAXFILES files in all.
 *
 *   pbox-logger DIRFD NAME MAXSIZE MAXFILES
 *
 * fd 3 is the stdout pipe, fd 4 the stderr pipe; DIRFD the directory the
 * files are in; fd 7 a file pbox holds an flock on, kept open (so locked)
 * for as long as this program runs. It ends when both pipes are closed by every writer (the
 * box and its monitor), having written everything.
 */

enum { LOG_CHUNK = 16384, LOG_BUF = 64 * 1024 };

struct log_file {
	int dir, fd;
	const char *name;
	unsigned long long size, max_size;
	int max_files;
	char out[LOG_BUF + LOG_CHUNK + 128];
	size_t used;
};

static void log_flush(struct log_file *l)
{
	if (l->used && l->fd >= 0)
		write_all(l->fd, l->out, l->used);
	l->used = 0;
}

/* log_rotate moves NAME to NAME.1 (and NAME.k to NAME.k+1, the oldest
 * dropped) and starts a new NAME; with one file in all, it empties NAME. */
static void log_rotate(struct log_file *l)
{
	log_flush(l);
	if (l->max_files <= 1) {
		if (l->fd >= 0)
			ftruncate(l->fd, 0);
		l->size = 0;
		return;
	}
	char from[256], to[256];
	for (int k = l->max_files - 1; k >= 1; k--) {
		snprintf(to, sizeof to, "%s.%d", l->name, k);
		if (k == 1)
			snprintf(from, sizeof from, "%s", l->name);
		else
			snprintf(from, sizeof from, "%s.%d", l->name, k - 1);
		renameat(l->dir, from, l->dir, to);
	}
	if (l->fd >= 0)
		close(l->fd);
	l->fd = openat(l->dir, l->name, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	l->size = 0;
}

/* log_record appends one record, rotating first if it would not fit. */
static void log_record(struct log_file *l, const char *stamp, const char *stream, char tag, const char *data, size_t n)
{
	size_t len = strlen(stamp) + 1 + strlen(stream) + 3 + n + 1;
	if (l->size > 0 && l->size + len > l->max_size)
		log_rotate(l);
	if (l->used + len > sizeof l->out)
		log_flush(l);
	int h = snprintf(l->out + l->used, sizeof l->out - l->used, "%s %s %c ", stamp, stream, tag);
	l->used += (size_t)h;
	memcpy(l->out + l->used, data, n);
	l->used += n;
	l->out[l->used++] = '\n';
	l->size += len;
}

static int logger_main(int argc, char **argv)
{
	prctl(PR_SET_NAME, "pbox-logger", 0, 0, 0);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (argc != 5) {
		static const char usage[] = "pbox: pbox-logger is started by pbox run -d, not by hand\n";
		write_all(2, usage, sizeof usage - 1);
		return STATUS_SETUP;
	}
	static struct log_file l;
	l.dir = atoi(argv[1]);
	l.name = argv[2];
	l.max_size = strtoull(argv[3], NULL, 10);
	l.max_files = atoi(argv[4]);
	if (l.max_size < 1024)
		l.max_size = 1024;
	fcntl(l.dir, F_SETFD, FD_CLOEXEC);
	fcntl(7, F_SETFD, FD_CLOEXEC);
	l.fd = openat(l.dir, l.name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	struct stat st;
	if (l.fd >= 0 && fstat(l.fd, &st) == 0)
		l.size = (unsigned long long)st.st_size;
	/* A signal meant for the box's group or terminal is not for this. */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	struct pollfd p[2] = {{.fd = 3, .events = POLLIN}, {.fd = 4, .events = POLLIN}};
	const char *names[2] = {"stdout", "stderr"};
	static char buf[LOG_CHUNK];
	int open_pipes = 2;
	while (open_pipes > 0) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(p[i].fd, buf, sizeof buf);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				close(p[i].fd);
				p[i].fd = -1;
				open_pipes--;
				continue;
			}
			char stamp[48], when[32];
			struct timespec now;
			struct tm tm;
			clock_gettime(CLOCK_REALTIME, &now);
			gmtime_r(&now.tv_sec, &tm);
			strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
			snprintf(stamp, sizeof stamp, "%s.%09ldZ", when, now.tv_nsec);
			for (char *at = buf, *end = buf + n; at < end;) {
				char *nl = memchr(at, '\n', (size_t)(end - at));
				if (nl) {
					log_record(&l, stamp, names[i], 'F', at, (size_t)(nl - at));
					at = nl + 1;
				} else {
					log_record(&l, stamp, names[i], 'P', at, (size_t)(end - at));
					at = end;
				}
			}
		}
		log_flush(&l);
	}
	log_flush(&l);
	return 0;
}

/*
 * The box builder ("pbox-init"): PID 1 of a new box from the clone until
 * COMMAND exits. pbox plans the box in Go (box/plan.go: the mount steps
 * of rootfs.PlanBundle, hostname, rlimits, the compiled seccomp filter,
 * capability sets, user, hooks) and clones this program, from a sealed
 * memfd, into the box's new namespaces and cgroups; it executes the plan
 * and nothing else, single-threaded from its first instruction to
 * COMMAND's execve, then stays PID 1 as tini does:
 *
 *   1. read the plan; wait for pbox's "go" (its host pid; the OCI hooks'
 *      state); join a mount namespace given by descriptor (an OCI config
 *      naming one);
 *   2. stop for pbox's createRuntime hooks, tell pbox to attach a CNI
 *      network (both only when the plan says so);
 *   3. the mount steps, in order: those up to pivot_root on host paths
 *      under the root, createContainer hooks, the rest inside the box.
 *      Every target under the root is opened with openat2(RESOLVE_IN_ROOT|
 *      RESOLVE_NO_MAGICLINKS), checked to be the path pbox planned, and
 *      mounted onto by descriptor (CVE-2019-19921, CVE-2021-30465); a
 *      target under /proc or /sys must be on procfs or sysfs before it is
 *      masked or made read-only;
 *   4. hostname, lo up, COMMAND's path, working directory, rlimits, OOM
 *      score, umask, a pty (its master to the console socket); wait for
 *      the network; pbox create: report "created" and wait on exec.fifo,
 *      then the startContainer hooks;
 *   5. on itself: keyring, scheduling, bounding set, no_new_privs,
 *      seccomp, COMMAND's user and inherited capabilities (the joiner's
 *      confine_and_switch): PID 1 holds nothing COMMAND lacks;
 *   6. start COMMAND (or, with no init, become it), report "ready", and
 *      reap and forward signals until COMMAND exits, with its status.
 *
 *   pbox-init SYNCFD PLANFD
 *
 * SYNCFD is a stream socket to pbox: pbox writes "g" (then its 32-bit
 * pid and two length-prefixed OCI states) and "r" (resume); this program
 * writes JSON lines ({"type":"hooks"|"netns"|"created"|"ready"|"error"}).
 * PLANFD holds the plan's records (read_plan). Descriptors 3.. below
 * SYNCFD are COMMAND's preserved ones.
 */

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_fsconfig
#define SYS_fsconfig 431
#endif
#ifndef SYS_fsmount
#define SYS_fsmount 432
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#define OPEN_TREE_CLONE_FLAG 1
#define AT_RECURSIVE_FLAG 0x8000
#define MOVE_MOUNT_F_EMPTY 0x4
#define MOVE_MOUNT_T_EMPTY 0x40
#define FSCONFIG_SET_STRING_CMD 1
#define FSCONFIG_CMD_CREATE_CMD 6
#define MOUNT_ATTR_RDONLY_BIT 1
#define MOUNT_ATTR_NOSUID_BIT 2
#define MOUNT_ATTR_NODEV_BIT 4
#define MOUNT_ATTR_NOEXEC_BIT 8
#define RESOLVE_NO_SYMLINKS_FLAG 0x04
#define RESOLVE_BENEATH_FLAG 0x08
#define PROC_MAGIC 0x9fa0
#define SYSFS_FS_MAGIC 0x62656572

struct mount_attr_v0 {
	unsigned long long attr_set, attr_clr, propagation, userns_fd;
};


/* say writes one -v line, "pbox: init: ...", as pbox's own. */
static void say(const char *fmt, ...)
{
	if (!verbose)
		return;
	char msg[8192], stamp[48];
	int n = snprintf(msg, sizeof msg, "%spbox: init: ", time_stamp(bflags, stamp, sizeof stamp));
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(msg + n, sizeof msg - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof msg - 2)
		n = (int)sizeof msg - 2;
	msg[n++] = '\n';
	write_all(2, msg, (size_t)n);
}

/* bfail reports a failed step to pbox (or, once pbox create has
 * returned, on stderr) and returns -1. */
static int bfail(const char *step, int err, int code, const char *fmt, ...)
{
	char text[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	report_error(bsync, step, text, err, code);
	return -1;
}

/* A mount step's failure: what failed, with errno (0: the text says it). */
static char why[4096];
static int why_err;

static int oops(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	why_err = err;
	return -1;
}

struct op {
	char kind;
	int copyup;
	unsigned long long flags, recursive;
	unsigned int major, minor, mode, uid, gid;
	const char *source, *target, *fstype, *data, *desc;
};

/* parse_op reads one TAG_MOUNT record (read_plan checked it ends in NUL). */
static int parse_op(const char *v, unsigned int len, struct op *o)
{
	o->kind = v[0];
	o->copyup = v[1];
	memcpy(&o->flags, v + 4, 8);
	memcpy(&o->recursive, v + 12, 8);
	memcpy(&o->major, v + 20, 4);
	memcpy(&o->minor, v + 24, 4);
	memcpy(&o->mode, v + 28, 4);
	memcpy(&o->uid, v + 32, 4);
	memcpy(&o->gid, v + 36, 4);
	const char **out[] = {&o->source, &o->target, &o->fstype, &o->data, &o->desc};
	const char *s = v + OP_HEADER, *end = v + len;
	for (int i = 0; i < 5; i++) {
		if (s >= end)
			return -1;
		*out[i] = s;
		s += strlen(s) + 1;
	}
	return 0;
}

/* The steps' kinds (rootfs.OpKind; box/plan.go's opKinds). */
enum {
	OP_MOUNT = 'm', OP_MKDIR = 'd', OP_MKNOD = 'n', OP_SYMLINK = 'l', OP_PIVOT_ROOT = 'p',
	OP_MASK = 'M', OP_READ_ONLY = 'r', OP_REMOUNT_RO = 'R', OP_MOVE_ROOT = 'v', OP_WRITE = 'w',
};

/* The applier: the root the steps' targets are resolved in ("/" after
 * pivot_root, and for a box on the host's files), its descriptor, and
 * the directories made in it (removed again if a step fails: the rootfs
 * is the caller's directory). */
static struct {
	const char *root;
	size_t rootlen;
	int rootfd, nmade;
	char *made[512];
} A;

static int in_root(const char *t)
{
	if (strcmp(A.root, "/") == 0)
		return strcmp(t, "/") != 0;
	return strncmp(t, A.root, A.rootlen) == 0 && t[A.rootlen] == '/';
}

static const char *rel(const char *t)
{
	return strcmp(A.root, "/") == 0 ? t : t + A.rootlen;
}

static int openat2_path(int dirfd, const char *path, unsigned long long resolve)
{
	struct open_how_v0 how = {.flags = O_PATH | O_CLOEXEC, .resolve = resolve};
	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

static int open_root(void)
{
	if (A.rootfd < 0)
		A.rootfd = open(A.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return A.rootfd;
}

/* open_in_root opens r (O_PATH) inside the root, making the directories
 * on its way first if mkdir_, each one resolved inside the root again. */
static int open_in_root(const char *r, int mkdir_)
{
	const unsigned long long in = RESOLVE_IN_ROOT_FLAG | RESOLVE_NO_MAGICLINKS_FLAG;
	int root = open_root();
	if (root < 0)
		return oops(errno, "open %s", A.root);
	int fd = openat2_path(root, r, in);
	if (fd < 0 && errno == ENOENT && mkdir_) {
		char prefix[4096] = "", part[4096];
		for (const char *s = r; *s;) {
			while (*s == '/')
				s++;
			if (!*s)
				break;
			size_t n = strcspn(s, "/");
			if (n >= sizeof part || strlen(prefix) + n + 2 > sizeof prefix)
				return oops(ENAMETOOLONG, "mkdir %s", r);
			memcpy(part, s, n);
			part[n] = 0;
			s += n;
			int parent = openat2_path(root, prefix[0] ? prefix : "/", in);
			if (parent < 0)
				return oops(errno, "openat2 %s", prefix[0] ? prefix : "/");
			int rc = mkdirat(parent, part, 0755), err = errno;
			close(parent);
			if (rc < 0 && err != EEXIST)
				return oops(err, "mkdir %s/%s", prefix, part);
			strcat(prefix, "/");
			strcat(prefix, part);
			if (rc == 0 && A.nmade < 512)
				A.made[A.nmade++] = strdup(prefix + 1);
		}
		fd = openat2_path(root, r, in);
	}
	if (fd < 0)
		return oops(errno, "openat2 %s", r);
	return fd;
}

/* handle opens target inside the root and checks it is still the path
 * pbox planned: a target swapped for a symlink fails the start, it never
 * redirects the mount. */
static int handle(const char *target, int mkdir_)
{
	int fd = open_in_root(rel(target), mkdir_);
	if (fd < 0 || strcmp(A.root, "/") == 0)
		return fd;
	char link[64], got[4096];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, got, sizeof got - 1);
	got[n < 0 ? 0 : n] = 0;
	if (n < 0 || strcmp(got, target) != 0) {
		close(fd);
		return oops(0, "rootfs: path escapes the root: %s now leads to \"%s\": the root filesystem changed while the box started (is another box using it?): refused", target, got);
	}
	return fd;
}

/* mkdir_p makes a host path's directories (a target outside the root). */
static int mkdir_p(const char *path)
{
	char p[4096];
	if (strlen(path) >= sizeof p)
		return oops(ENAMETOOLONG, "mkdir %s", path);
	strcpy(p, path);
	for (char *s = p + 1;; s++) {
		if (*s == '/' || !*s) {
			char c = *s;
			*s = 0;
			if (mkdir(p, 0755) < 0 && errno != EEXIST)
				return oops(errno, "mkdir %s", p);
			*s = c;
			if (!c)
				return 0;
		}
	}
}

/* at gives a path for target: itself when it is not under the root, else
 * /proc/self/fd/N of a verified handle (*fd, for the caller to close). */
static int at(const char *target, int mkdir_, char *path, size_t size, int *fd)
{
	*fd = -1;
	if (!in_root(target)) {
		if (mkdir_ && mkdir_p(target) < 0)
			return -1;
		snprintf(path, size, "%s", target);
		return 0;
	}
	if ((*fd = handle(target, mkdir_)) < 0)
		return -1;
	snprintf(path, size, "/proc/self/fd/%d", *fd);
	return 0;
}

/* parent_of opens target's directory (made if missing, verified) and
 * points *name at target's last name. *owned: the caller closes it. */
static int parent_of(const char *target, const char **name, int *owned)
{
	char parent[4096];
	const char *slash = strrchr(target, '/');
	size_t n = slash && slash != target ? (size_t)(slash - target) : 1;
	if (!slash || n >= sizeof parent)
		return oops(EINVAL, "%s: not an absolute path", target);
	memcpy(parent, target, n);
	parent[n] = 0;
	*name = slash + 1;
	*owned = 1;
	if (strcmp(parent, A.root) == 0) {
		*owned = 0;
		int fd = open_root();
		return fd < 0 ? oops(errno, "open %s", A.root) : fd;
	}
	if (!in_root(parent)) {
		if (mkdir_p(parent) < 0)
			return -1;
		int fd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
		return fd < 0 ? oops(errno, "open %s", parent) : fd;
	}
	return handle(parent, 1);
}

static int set_attrs(int tree, unsigned long long ms, unsigned int how)
{
	struct mount_attr_v0 a = {0};
	if (ms & MS_RDONLY)
		a.attr_set |= MOUNT_ATTR_RDONLY_BIT;
	if (ms & MS_NOSUID)
		a.attr_set |= MOUNT_ATTR_NOSUID_BIT;
	if (ms & MS_NODEV)
		a.attr_set |= MOUNT_ATTR_NODEV_BIT;
	if (ms & MS_NOEXEC)
		a.attr_set |= MOUNT_ATTR_NOEXEC_BIT;
	if (!a.attr_set)
		return 0;
	return (int)syscall(SYS_mount_setattr, tree, "", how, &a, sizeof a);
}

/* move_onto attaches a detached mount at target (verified under the root). */
static int move_onto(int tree, const char *target)
{
	if (!in_root(target)) {
		if (syscall(SYS_move_mount, tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY) < 0)
			return oops(errno, "move_mount onto %s", target);
		return 0;
	}
	int fd = handle(target, 0);
	if (fd < 0)
		return -1;
	int rc = (int)syscall(SYS_move_mount, tree, "", fd, "", MOVE_MOUNT_F_EMPTY | MOVE_MOUNT_T_EMPTY), err = errno;
	close(fd);
	return rc < 0 ? oops(err, "move_mount onto %s", target) : 0;
}

/* op_bind: the source cloned (open_tree), given its flags while still
 * detached (mount_setattr: the recursive ones on every mount of the copy,
 * the bind's own on its top), then moved onto the verified target, which
 * is made like the source: a directory for a directory, else a file. */
static int op_bind(const struct op *o)
{
	struct stat st;
	if (stat(o->source, &st) < 0)
		return oops(errno, "stat %s", o->source);
	if (S_ISDIR(st.st_mode)) {
		char p[4160];
		int fd;
		if (at(o->target, 1, p, sizeof p, &fd) < 0)
			return -1;
		if (fd >= 0)
			close(fd);
	} else {
		const char *name;
		int owned, d = parent_of(o->target, &name, &owned);
		if (d < 0)
			return -1;
		int f = openat(d, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644), err = errno;
		if (owned)
			close(d);
		if (f < 0)
			return oops(err, "create %s", o->target);
		close(f);
	}
	unsigned int flags = OPEN_TREE_CLONE_FLAG | O_CLOEXEC | ((o->flags & MS_REC) ? AT_RECURSIVE_FLAG : 0);
	int tree = (int)syscall(SYS_open_tree, AT_FDCWD, o->source, flags);
	if (tree < 0)
		return oops(errno, "open_tree %s", o->source);
	if (set_attrs(tree, o->recursive, AT_EMPTY_PATH | AT_RECURSIVE_FLAG) < 0 || set_attrs(tree, o->flags, AT_EMPTY_PATH) < 0) {
		int err = errno;
		close(tree);
		return oops(err, "mount_setattr %s", o->source);
	}
	int rc = move_onto(tree, o->target);
	close(tree);
	return rc;
}

/* copy_tree copies directory src's entries into dst: files, directories,
 * symlinks, with modes and owners; nothing is followed. */
static int copy_tree(int src, int dst)
{
	int dup_fd = dup(src);
	DIR *d = dup_fd < 0 ? NULL : fdopendir(dup_fd);
	if (!d)
		return oops(errno, "read a directory to copy up");
	rewinddir(d);
	int rc = 0;
	for (struct dirent *e; rc == 0 && (e = readdir(d));) {
		const char *name = e->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = oops(errno, "copy up %s", name);
			break;
		}
		mode_t mode = st.st_mode & 07777;
		if (S_ISDIR(st.st_mode)) {
			if (mkdirat(dst, name, mode) < 0) {
				rc = oops(errno, "copy up %s", name);
				break;
			}
			int s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int t = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			rc = (s < 0 || t < 0) ? oops(errno, "copy up %s", name) : copy_tree(s, t);
			if (s >= 0)
				close(s);
			if (t >= 0)
				close(t);
		} else if (S_ISREG(st.st_mode)) {
			int s = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			int t = s < 0 ? -1 : openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
			if (s < 0 || t < 0)
				rc = oops(errno, "copy up %s", name);
			char buf[16384];
			for (ssize_t n; rc == 0 && (n = read(s, buf, sizeof buf)) != 0;) {
				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0 || write(t, buf, (size_t)n) != n)
					rc = oops(errno, "copy up %s", name);
			}
			if (s >= 0)
				close(s);
			if (t >= 0)
				close(t);
		} else if (S_ISLNK(st.st_mode)) {
			char link[4096];
			ssize_t n = readlinkat(src, name, link, sizeof link - 1);
			if (n < 0)
				rc = oops(errno, "copy up %s", name);
			else {
				link[n] = 0;
				if (symlinkat(link, dst, name) < 0)
					rc = oops(errno, "copy up %s", name);
			}
		} else {
			continue; /* devices, fifos and sockets are not copied up */
		}
		if (rc == 0 && fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
			rc = oops(errno, "copy up %s: chown", name);
		if (rc == 0 && !S_ISLNK(st.st_mode) && fchmodat(dst, name, mode, 0) < 0)
			rc = oops(errno, "copy up %s: chmod", name);
	}
	closedir(d);
	return rc;
}

/* op_copy_up mounts a tmpfs on the target and fills it with what the
 * directory held: the directory is opened before the mount (its
 * descriptor keeps the old contents reachable), the new mount after. */
static int op_copy_up(const struct op *o)
{
	char p[4160];
	int fd;
	if (at(o->target, 0, p, sizeof p, &fd) < 0)
		return -1;
	int rc = -1, src = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (src < 0)
		oops(errno, "open %s", o->target);
	else if (mount(o->source, p, o->fstype, o->flags, o->data[0] ? o->data : NULL) < 0)
		oops(errno, "mount");
	else {
		char q[4160];
		int fd2;
		if (at(o->target, 0, q, sizeof q, &fd2) == 0) {
			int dst = open(q, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			rc = dst < 0 ? oops(errno, "open %s", o->target) : copy_tree(src, dst);
			if (dst >= 0)
				close(dst);
			if (fd2 >= 0)
				close(fd2);
		}
	}
	if (src >= 0)
		close(src);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* kernel_fs opens a target under /proc or /sys (after pivot_root) and
 * checks it is on procfs or sysfs: something mounted over /proc by the
 * box's own config, or /proc swapped for a symlink by a neighbour sharing
 * the root, must not turn a mask into a mount elsewhere, or into none
 * (CVE-2019-19921). The directory is checked first and the target looked
 * up beneath it with no symlinks. 0: the kernel has no such file. */
static int kernel_fs(const char *target, int *out)
{
	long want = strncmp(target, "/proc/", 6) == 0 ? PROC_MAGIC : strncmp(target, "/sys/", 5) == 0 ? SYSFS_FS_MAGIC : 0;
	const char *fsname = want == PROC_MAGIC ? "procfs" : "sysfs";
	char dir[4096];
	const char *slash = strrchr(target, '/');
	size_t n = slash && slash != target ? (size_t)(slash - target) : 1;
	if (!slash || n >= sizeof dir)
		return oops(EINVAL, "%s: not an absolute path", target);
	memcpy(dir, target, n);
	dir[n] = 0;
	int d = handle(dir, 0);
	if (d < 0) {
		if (want == 0 && why_err == ENOENT)
			return 0;
		char inner[4096];
		snprintf(inner, sizeof inner, "%s", why);
		return oops(why_err, "%s: %s (its directory %s should be there)", target, inner, dir);
	}
	struct statfs sf;
	if (want && (fstatfs(d, &sf) < 0 || (long)sf.f_type != want)) {
		close(d);
		return oops(0, "%s is not on %s (filesystem type %#lx): something is mounted over it, or the root filesystem changed while the box started; refused", dir, fsname, (unsigned long)sf.f_type);
	}
	int fd = openat2_path(d, slash + 1, RESOLVE_BENEATH_FLAG | RESOLVE_NO_SYMLINKS_FLAG | RESOLVE_NO_MAGICLINKS_FLAG);
	int err = errno;
	close(d);
	if (fd < 0)
		return err == ENOENT ? 0 : oops(err, "openat2 %s", target);
	if (want && (fstatfs(fd, &sf) < 0 || (long)sf.f_type != want)) {
		close(fd);
		return oops(0, "%s is not on %s (filesystem type %#lx): something is mounted over it, or the root filesystem changed while the box started; refused", target, fsname, (unsigned long)sf.f_type);
	}
	*out = fd;
	return 1;
}

/* op_mask hides target: /dev/null bound over a file, an empty read-only
 * tmpfs over a directory (the new mount API: no /proc needed). */
static int op_mask(const char *target)
{
	int fd, found = kernel_fs(target, &fd);
	if (found <= 0)
		return found;
	struct stat st;
	int tree = -1, rc = -1;
	if (fstat(fd, &st) < 0)
		oops(errno, "fstat %s", target);
	else if (S_ISDIR(st.st_mode)) {
		int fs = (int)syscall(SYS_fsopen, "tmpfs", 1);
		if (fs < 0)
			oops(errno, "fsopen tmpfs");
		else {
			if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING_CMD, "size", "0", 0) < 0 ||
			    syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE_CMD, NULL, NULL, 0) < 0)
				oops(errno, "fsconfig tmpfs");
			else if ((tree = (int)syscall(SYS_fsmount, fs, 1, MOUNT_ATTR_RDONLY_BIT | MOUNT_ATTR_NOSUID_BIT | MOUNT_ATTR_NODEV_BIT | MOUNT_ATTR_NOEXEC_BIT)) < 0)
				oops(errno, "fsmount tmpfs");
			close(fs);
		}
	} else if ((tree = (int)syscall(SYS_open_tree, AT_FDCWD, "/dev/null", OPEN_TREE_CLONE_FLAG | O_CLOEXEC)) < 0)
		oops(errno, "open_tree /dev/null");
	if (tree >= 0) {
		rc = (int)syscall(SYS_move_mount, tree, "", fd, "", MOVE_MOUNT_F_EMPTY | MOVE_MOUNT_T_EMPTY);
		if (rc < 0)
			oops(errno, "move_mount onto %s", target);
		close(tree);
	}
	close(fd);
	return rc;
}

/* op_read_only binds target on itself, read-only before it is attached. */
static int op_read_only(const char *target)
{
	int fd, found = kernel_fs(target, &fd);
	if (found <= 0)
		return found;
	int rc = -1, tree = (int)syscall(SYS_open_tree, fd, "", OPEN_TREE_CLONE_FLAG | O_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE_FLAG);
	if (tree < 0)
		oops(errno, "open_tree %s", target);
	else if (set_attrs(tree, MS_RDONLY, AT_EMPTY_PATH | AT_RECURSIVE_FLAG) < 0)
		oops(errno, "mount_setattr %s", target);
	else if ((rc = (int)syscall(SYS_move_mount, tree, "", fd, "", MOVE_MOUNT_F_EMPTY | MOVE_MOUNT_T_EMPTY)) < 0)
		oops(errno, "move_mount onto %s", target);
	if (tree >= 0)
		close(tree);
	close(fd);
	return rc;
}

/* op_remount_ro makes the mount at p read-only, keeping the flags the
 * kernel refuses to drop (nosuid, nodev, noexec) and the atime ones. */
static int op_remount_ro(const char *p)
{
	struct statfs sf;
	if (statfs(p, &sf) < 0)
		return oops(errno, "statfs");
	unsigned long keep = 0;
	static const unsigned long map[][2] = {{ST_NOSUID, MS_NOSUID}, {ST_NODEV, MS_NODEV}, {ST_NOEXEC, MS_NOEXEC},
					       {ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME}};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if ((unsigned long)sf.f_flags & map[i][0])
			keep |= map[i][1];
	return mount("", p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0 ? oops(errno, "remount") : 0;
}

/* op_mknod makes a device node: a character device of the standard set
 * (bound from the host's /dev where mknod is not allowed, as in a user
 * namespace), or an OCI device of any type, with its mode and owner. */
static int op_mknod(const struct op *o)
{
	mode_t type = S_IFCHR;
	if (o->fstype[0] == 'b')
		type = S_IFBLK;
	else if (o->fstype[0] == 'p')
		type = S_IFIFO;
	else if (o->fstype[0] && strcmp(o->fstype, "c") != 0 && strcmp(o->fstype, "u") != 0)
		return oops(0, "device type \"%s\": use c, b, u or p", o->fstype);
	const char *name;
	int owned, d = parent_of(o->target, &name, &owned), rc = -1;
	if (d < 0)
		return -1;
	if (mknodat(d, name, type | 0666, makedev(o->major, o->minor)) < 0) {
		int err = errno;
		if (err == EPERM && !o->fstype[0]) {
			/* No CAP_MKNOD (a user namespace): bind the host's node. */
			char host[4096];
			snprintf(host, sizeof host, "/dev/%s", name);
			int f = openat(d, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
			int tree = f < 0 ? -1 : (int)syscall(SYS_open_tree, AT_FDCWD, host, OPEN_TREE_CLONE_FLAG | O_CLOEXEC);
			if (f >= 0)
				close(f);
			if (tree < 0)
				oops(errno, "bind %s", host);
			else {
				rc = (int)syscall(SYS_move_mount, tree, "", d, name, MOVE_MOUNT_F_EMPTY);
				if (rc < 0)
					oops(errno, "bind %s", host);
				close(tree);
			}
			goto out;
		}
		if (!(err == EEXIST && o->fstype[0])) {
			oops(err, "mknod");
			goto out;
		}
	}
	mode_t mode = o->mode & 07777;
	if (fchmodat(d, name, mode ? mode : 0666, 0) < 0)
		oops(errno, "chmod");
	else if ((o->uid || o->gid) && fchownat(d, name, o->uid, o->gid, AT_SYMLINK_NOFOLLOW) < 0)
		oops(errno, "chown");
	else
		rc = 0;
out:
	if (owned)
		close(d);
	return rc;
}

static int op_pivot_root(const char *root)
{
	if (chdir(root) < 0)
		return oops(errno, "chdir");
	if (syscall(SYS_pivot_root, ".", ".") < 0) {
		if (errno == EINVAL)
			return oops(EINVAL, "pivot_root (the host's / is probably an initramfs (rootfs), where pivot_root is impossible: boot from a real root filesystem, or switch_root first)");
		return oops(errno, "pivot_root");
	}
	/* Make sure unmounting the old root cannot propagate anywhere. */
	if (mount("", ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return oops(errno, "make the old root a slave");
	if (umount2(".", MNT_DETACH) < 0)
		return oops(errno, "detach the old root");
	return chdir("/") < 0 ? oops(errno, "chdir /") : 0;
}

/* op_move_root is --no-pivot: move the new root over / and chroot. */
static int op_move_root(const char *root)
{
	if (chdir(root) < 0 || mount(root, "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return oops(errno, "move the root");
	return 0;
}

static int apply_op(const struct op *o)
{
	char p[4160];
	int fd = -1, rc = 0;
	switch (o->kind) {
	case OP_MOUNT:
		if ((o->flags & MS_BIND) && !(o->flags & MS_REMOUNT))
			return op_bind(o);
		if (o->copyup)
			return op_copy_up(o);
		if (at(o->target, 0, p, sizeof p, &fd) < 0)
			return -1;
		if (mount(o->source, p, o->fstype[0] ? o->fstype : NULL, o->flags, o->data[0] ? o->data : NULL) < 0)
			rc = oops(errno, "mount");
		break;
	case OP_MKDIR:
		rc = at(o->target, 1, p, sizeof p, &fd);
		break;
	case OP_MKNOD:
		return op_mknod(o);
	case OP_SYMLINK: {
		const char *name;
		int owned, d = parent_of(o->target, &name, &owned);
		if (d < 0)
			return -1;
		if (symlinkat(o->source, d, name) < 0)
			rc = oops(errno, "symlink");
		if (owned)
			close(d);
		return rc;
	}
	case OP_PIVOT_ROOT:
		return op_pivot_root(o->target);
	case OP_MASK:
		return op_mask(o->target);
	case OP_READ_ONLY:
		return op_read_only(o->target);
	case OP_REMOUNT_RO:
		if (at(o->target, 0, p, sizeof p, &fd) < 0)
			return -1;
		rc = op_remount_ro(p);
		break;
	case OP_MOVE_ROOT:
		return op_move_root(o->target);
	case OP_WRITE: {
		int w = open(o->target, O_WRONLY | O_TRUNC | O_CLOEXEC);
		size_t n = strlen(o->data);
		if (w < 0 || write(w, o->data, n) != (ssize_t)n)
			rc = oops(errno, "write %s", o->target);
		if (w >= 0)
			close(w);
		return rc;
	}
	default:
		return oops(0, "unknown mount step '%c'", o->kind);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/* apply_ops runs the steps [from, to) with targets resolved in root. If
 * one fails, the directories they made in the root are removed again
 * (newest first; one not empty, or mounted on, stays). */
static int apply_ops(struct plan *p, int from, int to, const char *root)
{
	A.root = root;
	A.rootlen = strlen(root);
	A.rootfd = -1;
	A.nmade = 0;
	int rc = 0;
	for (int i = from; i < to && rc == 0; i++) {
		struct op o;
		if (parse_op(p->ops[i], p->op_len[i], &o) < 0)
			return bfail("mount", 0, STATUS_SETUP, "a malformed mount step");
		say("mount: %s", o.desc);
		if (apply_op(&o) < 0) {
			for (int m = A.nmade - 1; m >= 0 && A.rootfd >= 0; m--) {
				char *slash = strrchr(A.made[m], '/');
				const char *name = slash ? slash + 1 : A.made[m];
				if (slash)
					*slash = 0;
				int parent = openat2_path(A.rootfd, slash ? A.made[m] : "/", RESOLVE_IN_ROOT_FLAG | RESOLVE_NO_MAGICLINKS_FLAG);
				if (parent >= 0) {
					unlinkat(parent, name, AT_REMOVEDIR);
					close(parent);
				}
			}
			rc = bfail("mount", why_err, STATUS_SETUP, "%s: %s", o.desc, why);
		}
	}
	for (int m = 0; m < A.nmade; m++)
		free(A.made[m]);
	if (A.rootfd >= 0)
		close(A.rootfd);
	return rc;
}

/* read_full reads exactly n bytes; -1 at EOF or error. */
static int read_full(int fd, void *buf, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* The OCI state hooks get on stdin, as pbox sent it with "go". */
static char *hook_state[2];
static unsigned int hook_state_len[2];

/* run_hook runs one OCI hook (a createContainer or startContainer one)
 * with the box's state on stdin, as box/hooks.go's RunHook does for
 * pbox's: args[0] is argv[0], a timeout kills it, a non-zero exit is an
 * error carrying what it wrote to stderr. */
static int run_hook(const char *rec, unsigned int len, int start, const char *step)
{
	unsigned int timeout, nargs, nenv;
	memcpy(&timeout, rec, 4);
	memcpy(&nargs, rec + 4, 4);
	memcpy(&nenv, rec + 8, 4);
	if (nargs > 4096 || nenv > 4096)
		return bfail(step, 0, STATUS_SETUP, "a malformed hook");
	char **args = calloc(nargs + 1, sizeof(char *)), **env = calloc(nenv + 1, sizeof(char *));
	const char *s = rec + 16, *end = rec + len, *path = s;
	s += strlen(s) + 1;
	for (unsigned int i = 0; i < nargs + nenv; i++) {
		if (s >= end || !args || !env)
			return bfail(step, 0, STATUS_SETUP, "a malformed hook");
		*(i < nargs ? &args[i] : &env[i - nargs]) = (char *)s;
		s += strlen(s) + 1;
	}
	say("%s: %s", step, path);
	int in[2], errp[2], execp[2];
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(execp, O_CLOEXEC) < 0)
		return bfail(step, errno, STATUS_SETUP, "hook %s: pipe", path);
	pid_t pid = fork();
	if (pid < 0)
		return bfail(step, errno, STATUS_SETUP, "hook %s: fork", path);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		dup2(in[0], 0);
		dup2(null >= 0 ? null : errp[1], 1);
		dup2(errp[1], 2);
		sigset_t none;
		sigemptyset(&none);
		syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, _NSIG / 8);
		execve(path, args, env);
		int err = errno;
		write_all(execp[1], (const char *)&err, sizeof err);
		_exit(127);
	}
	close(in[0]);
	close(errp[1]);
	close(execp[1]);
	write_all(in[1], hook_state[start], hook_state_len[start]);
	close(in[1]);
	char out[4096];
	size_t got = 0;
	int timed_out = 0;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int wait_ms = -1;
		if (timeout) {
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			long long left = (long long)timeout * 1000 - ((now.tv_sec - t0.tv_sec) * 1000LL + (now.tv_nsec - t0.tv_nsec) / 1000000);
			if (left <= 0) {
				timed_out = 1;
				break;
			}
			wait_ms = (int)left;
		}
		struct pollfd pfd = {.fd = errp[0], .events = POLLIN};
		int r = poll(&pfd, 1, wait_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			timed_out = 1;
			break;
		}
		char buf[1024];
		ssize_t n = read(errp[0], buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		size_t keep = (size_t)n < sizeof out - 1 - got ? (size_t)n : sizeof out - 1 - got;
		memcpy(out + got, buf, keep);
		got += keep;
	}
	close(errp[0]);
	if (timed_out && pid > 1)
		kill(pid, SIGKILL);
	int ws = 0;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	int exec_err = 0;
	ssize_t n = read(execp[0], &exec_err, sizeof exec_err);
	close(execp[0]);
	free(args);
	free(env);
	if (n == (ssize_t)sizeof exec_err)
		return bfail(step, exec_err, STATUS_SETUP, "hook %s: fork/exec %s", path, path);
	while (got > 0 && (out[got - 1] == '\n' || out[got - 1] == ' ' || out[got - 1] == '\t' || out[got - 1] == '\r'))
		got--;
	out[got] = 0;
	const char *o = out;
	while (*o == '\n' || *o == ' ' || *o == '\t')
		o++;
	char what[128];
	if (timed_out)
		snprintf(what, sizeof what, "timed out after %us", timeout);
	else if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
		return 0;
	else if (WIFEXITED(ws))
		snprintf(what, sizeof what, "exit status %d", WEXITSTATUS(ws));
	else {
		snprintf(what, sizeof what, "signal: %s", WIFSIGNALED(ws) ? strsignal(WTERMSIG(ws)) : "?");
		if (what[8] >= 'A' && what[8] <= 'Z')
			what[8] = (char)(what[8] - 'A' + 'a');
	}
	return bfail(step, 0, STATUS_SETUP, "hook %s: %s%s%s", path, what, *o ? ": " : "", o);
}

static int run_hooks(const char **recs, unsigned int *lens, int n, int start, const char *step)
{
	for (int i = 0; i < n; i++)
		if (run_hook(recs[i], lens[i], start, step) < 0)
			return -1;
	return 0;
}

/* find_command finds COMMAND as a shell would (box/init.go's lookPath
 * did): a name with a slash as it is, else the first executable match in
 * PATH; one that exists but cannot be executed is 126, none 127. */
static int check_executable(const char *p, int *err, char *text, size_t size)
{
	struct stat st;
	if (stat(p, &st) < 0) {
		*err = errno;
		snprintf(text, size, "stat %s", p);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		*err = EISDIR;
		snprintf(text, size, "%s", p);
		return -1;
	}
	if (access(p, X_OK) < 0) {
		char e[128];
		*err = 0;
		snprintf(text, size, "%s: not executable (%s): check its mode (chmod +x)", p, lower_strerror(errno, e, sizeof e));
		return -1;
	}
	return 0;
}

static char command_path[8192];

static int find_command(struct plan *p)
{
	const char *name = p->argv[0];
	char text[8192 + 256];
	int err;
	if (strchr(name, '/')) {
		if (check_executable(name, &err, text, sizeof text) < 0)
			return bfail("exec", err, (err == ENOENT || err == ENOTDIR) ? STATUS_NOT_FOUND : STATUS_NOT_EXECUTABLE, "%s", text);
		snprintf(command_path, sizeof command_path, "%s", name);
		return 0;
	}
	char denied[8192 + 256] = "";
	int denied_err = 0, have_denied = 0;
	for (const char *dir = p->path;;) {
		const char *end = strchr(dir, ':');
		size_t n = end ? (size_t)(end - dir) : strlen(dir);
		int len = n == 0 ? snprintf(command_path, sizeof command_path, "./%s", name)
				 : snprintf(command_path, sizeof command_path, "%.*s/%s", (int)n, dir, name);
		if (len > 0 && (size_t)len < sizeof command_path) {
			if (check_executable(command_path, &err, text, sizeof text) == 0)
				return 0;
			if (err != ENOENT && !have_denied) {
				have_denied = 1;
				denied_err = err;
				memcpy(denied, text, sizeof denied);
			}
		}
		if (!end)
			break;
		dir = end + 1;
	}
	if (have_denied)
		return bfail("exec", denied_err, STATUS_NOT_EXECUTABLE, "%s", denied);
	return bfail("exec", 0, STATUS_NOT_FOUND, "%s: executable file not found in $PATH (%s)", name, p->path);
}

/* console_pty opens COMMAND's terminal in the box's /dev/ptmx (without
 * blocking: the box could have put a FIFO there), sends the master to
 * the console socket and puts the slave at this process's 0, 1, 2. */
static int console_pty(struct plan *p)
{
	const char *step = "terminal";
	int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (m < 0)
		return bfail(step, errno, STATUS_SETUP, "open /dev/ptmx");
	unsigned int ptn;
	if (ioctl(m, TIOCGPTN, &ptn) < 0)
		return bfail(step, errno, STATUS_SETUP, "/dev/ptmx in the box is not a pty multiplexer");
	fcntl(m, F_SETFL, fcntl(m, F_GETFL) & ~O_NONBLOCK);
	struct winsize ws = {.ws_row = p->rows, .ws_col = p->cols};
	if ((p->rows || p->cols) && ioctl(m, TIOCSWINSZ, &ws) < 0)
		return bfail(step, errno, STATUS_SETUP, "set the pty's size");
	int unlock = 0;
	if (ioctl(m, TIOCSPTLCK, &unlock) < 0)
		return bfail(step, errno, STATUS_SETUP, "unlock pty");
	int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		return bfail(step, errno, STATUS_SETUP, "open pty peer");
	char control[CMSG_SPACE(sizeof(int))];
	memset(control, 0, sizeof control);
	static const char what[] = "pty-master";
	struct iovec iov = {.iov_base = (void *)what, .iov_len = sizeof what - 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &m, sizeof(int));
	if (sendmsg(p->console, &msg, MSG_NOSIGNAL) < 0)
		return bfail("console socket", errno, STATUS_SETUP, "send the pty master");
	close(m);
	close(p->console);
	for (int i = 0; i < 3; i++)
		if (dup2(s, i) < 0)
			return bfail(step, errno, STATUS_SETUP, "dup the pty");
	if (s > 2)
		close(s);
	return 0;
}

/* loopback_up is `ip link set lo up`: a new network namespace has only
 * lo, and it is down. */
static int loopback_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return bfail("network", errno, STATUS_SETUP, "read lo's flags");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return bfail("network", errno, STATUS_SETUP, "set lo up");
	close(s);
	return 0;
}

/* process_settings: what COMMAND inherits from its init, rlimits, OOM
 * score and umask. */
static int process_settings(struct plan *p)
{
	for (int i = 0; i < p->nrlimits; i++) {
		unsigned int res;
		struct rlimit rl;
		unsigned long long soft, hard;
		memcpy(&res, p->rlimits[i], 4);
		memcpy(&soft, p->rlimits[i] + 4, 8);
		memcpy(&hard, p->rlimits[i] + 12, 8);
		rl.rlim_cur = soft;
		rl.rlim_max = hard;
		say("setrlimit %u soft %llu hard %llu", res, soft, hard);
		if (setrlimit((int)res, &rl) < 0)
			return bfail("rlimit", errno, STATUS_SETUP, "%s soft %llu hard %llu", p->rlimits[i] + 20, soft, hard);
	}
	if (p->has_oom_score) {
		char v[16];
		int n = snprintf(v, sizeof v, "%d", p->oom_score);
		/* The joiner writes this in a running box, whose /proc the box
		 * may have replaced (a --privileged box can mount over it): never
		 * block on a FIFO planted there, and write only to procfs. */
		int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		say("oom_score_adj %d", p->oom_score);
		if (fd < 0)
			return bfail("oom_score_adj", errno, STATUS_SETUP, "open /proc/self/oom_score_adj");
		struct statfs sf;
		if (fstatfs(fd, &sf) < 0 || (long)sf.f_type != PROC_MAGIC) {
			close(fd);
			return bfail("oom_score_adj", 0, STATUS_SETUP, "/proc/self/oom_score_adj in the box is not on procfs: something is mounted over /proc; refused");
		}
		if (write(fd, v, (size_t)n) != n) {
			int err = errno;
			close(fd);
			return bfail("oom_score_adj", err, STATUS_SETUP, "write /proc/self/oom_score_adj");
		}
		close(fd);
	}
	if (p->has_umask)
		umask(p->umask);
	return 0;
}

/* wait_for_start is pbox create's end: report "created", then block on
 * exec.fifo until pbox start writes to it; errors go to stderr now. */
static int wait_for_start(struct plan *p, int host_pid)
{
	char msg[64];
	int n = snprintf(msg, sizeof msg, "{\"type\":\"created\",\"pid\":%d}\n", host_pid);
	write_all(bsync, msg, (size_t)n);
	close(bsync);
	bsync = -1;
	char b;
	for (;;) {
		ssize_t r = read(p->start_fifo, &b, 1);
		if (r == 1)
			break;
		if (r < 0 && errno == EINTR)
			continue;
		return bfail("wait for pbox start", r < 0 ? errno : 0, STATUS_SETUP, "read exec.fifo%s", r == 0 ? ": closed" : "");
	}
	close(p->start_fifo);
	say("started by pbox start");
	return run_hooks(p->start_hooks, p->hook_len[1], p->nstart_hooks, 1, "startContainer hook");
}

/* build runs the plan up to COMMAND's start; -1 once reported. */
static int build(struct plan *p, int host_pid)
{
	/* 2. Stops for pbox: its createRuntime hooks, a CNI network's ADD. */
	if (p->runtime_hooks) {
		static const char hooks[] = "{\"type\":\"hooks\"}\n";
		char c;
		write_all(bsync, hooks, sizeof hooks - 1);
		if (read_full(bsync, &c, 1) < 0 || c != 'r')
			return bfail("hooks", 0, STATUS_SETUP, "pbox did not resume the box");
	}
	if (p->await_network) {
		static const char netns[] = "{\"type\":\"netns\"}\n";
		write_all(bsync, netns, sizeof netns - 1);
	}
	/* 3. The mount steps: up to pivot_root on host paths under the
	 *    root, then createContainer hooks, then the rest in the box. */
	int pivot = p->nops;
	const char *root = "/";
	static char pivot_target[4096];
	for (int i = 0; i < p->nops; i++)
		if (p->ops[i][0] == OP_PIVOT_ROOT || p->ops[i][0] == OP_MOVE_ROOT) {
			struct op o;
			if (parse_op(p->ops[i], p->op_len[i], &o) < 0)
				return bfail("mount", 0, STATUS_SETUP, "a malformed mount step");
			snprintf(pivot_target, sizeof pivot_target, "%s", o.target);
			root = pivot_target;
			pivot = i;
			break;
		}
	if (apply_ops(p, 0, pivot, root) < 0)
		return -1;
	if (run_hooks(p->create_hooks, p->hook_len[0], p->ncreate_hooks, 0, "createContainer hook") < 0)
		return -1;
	if (apply_ops(p, pivot, p->nops, "/") < 0)
		return -1;
	/* 4. The box's names and COMMAND's start. */
	if (p->hostname) {
		say("sethostname \"%s\"", p->hostname);
		if (sethostname(p->hostname, strlen(p->hostname)) < 0)
			return bfail("hostname", errno, STATUS_SETUP, "sethostname %s", p->hostname);
	}
	if (p->loopback) {
		say("ip link set lo up (a new network namespace has only lo, and it is down)");
		if (loopback_up() < 0)
			return -1;
	}
	if (find_command(p) < 0)
		return -1;
	if (p->workdir && p->workdir[0] && enter_workdir(bsync, p->workdir) < 0)
		return -1;
	if (process_settings(p) < 0)
		return -1;
	if (p->terminal && console_pty(p) < 0)
		return -1;
	if (p->await_network) {
		char c;
		if (read_full(bsync, &c, 1) < 0 || c != 'r')
			return bfail("network", 0, STATUS_SETUP, "pbox did not attach the network");
		say("network attached by pbox");
	}
	if (p->start_fifo > 0 && wait_for_start(p, host_pid) < 0)
		return -1;
	/* 5. On this process, which COMMAND inherits it all from. */
	say("confine: %s%s, bounding set %s, no_new_privs %s, seccomp %s%u%s, user %s",
	    p->keyring ? "a new session keyring " : "the caller's session keyring", p->keyring ? p->keyring : "",
	    p->has_bounding ? "as planned" : "kept", p->no_new_privs ? "on" : "off",
	    p->seccomp ? "filter of " : "none", p->seccomp ? p->seccomp_len : 0, p->seccomp ? " BPF instructions" : "",
	    p->has_user ? "as planned" : "root");
	if (confine_and_switch(bsync, p) < 0)
		return -1;
	if (p->dies_with_pbox)
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* a change of user cleared it */
	if (p->no_pid_ns)
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); /* not PID 1: adopt orphans */
	return 0;
}

/* release_build_pages drops from PID 1's resident set what only building
 * the box used: the stack below this frame (nothing runs there again:
 * signals are read from a signalfd, never delivered to a handler) and the
 * program's text, which faults back in page by page for the reaping loop
 * alone, as if the supervisor had been exec'd fresh. */
extern char __executable_start[], etext[];

static void __attribute__((noinline)) release_build_pages(void)
{
	long page = sysconf(_SC_PAGESIZE);
	char here;
	uintptr_t top = ((uintptr_t)&here & ~(uintptr_t)(page - 1)) - 2 * (uintptr_t)page;
	size_t below = 256 * 1024;
	madvise((void *)(top - below), below, MADV_DONTNEED);
	uintptr_t text = (uintptr_t)__executable_start & ~(uintptr_t)(page - 1);
	madvise((void *)text, (size_t)((uintptr_t)etext - text), MADV_DONTNEED);
}

static int init_main(int argc, char **argv, char **envp)
{
	(void)envp;
	/* comm would be the memfd's descriptor number: name PID 1 for ps. */
	prctl(PR_SET_NAME, "pbox-init", 0, 0, 0);
	/* A process of the box with the same user could otherwise ptrace its
	 * PID 1 or open its /proc/1/fd (runc keeps its init non-dumpable). */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	int type = 0;
	socklen_t tlen = sizeof type;
	if (argc != 3 || (bsync = atoi(argv[1])) < 3 || getsockopt(bsync, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0) {
		static const char usage[] = "pbox: pbox-init is started by pbox run, not by hand\n";
		write_all(2, usage, sizeof usage - 1);
		return STATUS_SETUP;
	}
	/* Every signal blocked, the real-time ones libc keeps for itself
	 * included: none is lost or fatal to PID 1 before COMMAND runs; they
	 * are read from a signalfd once it does. */
	sigset_t all;
	int sfd = block_all(&all);
	int planfd = atoi(argv[2]);
	fcntl(bsync, F_SETFD, FD_CLOEXEC);
	fcntl(planfd, F_SETFD, FD_CLOEXEC);
	struct plan *p = calloc(1, sizeof *p);
	const char *bad;
	char *plan_buf = NULL;
	if (!p || !(plan_buf = read_plan(planfd, p, &bad)))
		return bfail("read the plan", errno, STATUS_SETUP, "%s", p ? bad : "out of memory");
	close(planfd);
	if (p->flags)
		bflags = p->flags;
	verbose = strchr(bflags, 'v') != NULL;
	if (p->start_fifo > 0)
		fcntl(p->start_fifo, F_SETFD, FD_CLOEXEC);
	if (p->console > 0)
		fcntl(p->console, F_SETFD, FD_CLOEXEC);

	/* 1. "go": pbox has the init's pid, and it is in its cgroups. */
	char g;
	int host_pid = 0;
	if (read_full(bsync, &g, 1) < 0 || g != 'g' || read_full(bsync, &host_pid, 4) < 0)
		return bfail("wait for pbox", 0, STATUS_SETUP, "no \"go\" from pbox");
	for (int i = 0; i < 2; i++) {
		if (read_full(bsync, &hook_state_len[i], 4) < 0 || hook_state_len[i] > (64u << 20) ||
		    !(hook_state[i] = malloc(hook_state_len[i] + 1)) || read_full(bsync, hook_state[i], hook_state_len[i]) < 0)
			return bfail("wait for pbox", 0, STATUS_SETUP, "a malformed \"go\" from pbox");
	}
	say("started: pbox's tiny init, from a sealed memfd (no Go runtime in the box); plan read");
	/* A mount namespace an OCI config names, joined by descriptor. */
	for (int i = 0; i < p->nns; i++) {
		if (setns(p->ns_fd[i], p->ns_type[i]) < 0)
			return bfail("join the box", errno, STATUS_SETUP, "setns (namespace type 0x%x)", (unsigned)p->ns_type[i]);
		close(p->ns_fd[i]);
	}
	if (build(p, host_pid) < 0)
		return STATUS_SETUP;

	/* Nothing pbox passed crosses into COMMAND but stdio (a pty's
	 * slave) and the preserved fds, 3.. below the sync socket. */
	syscall(SYS_close_range, 3 + p->preserve, ~0U, CLOSE_RANGE_CLOEXEC_FLAG);
	char flags[8] = "-";
	int nf = 0;
	if (p->terminal)
		flags[nf++] = 't';
	if (p->no_pid_ns)
		flags[nf++] = 'p';
	flags[nf ? nf : 1] = 0;

	/* 6a. No init: COMMAND becomes PID 1 itself. */
	if (p->no_init) {
		say("exec %s as PID 1 (no init: nothing reaps orphans, signals without a handler are ignored)", command_path);
		if (p->terminal) {
			setsid();
			ioctl(0, TIOCSCTTY, 0);
		}
		sigset_t none;
		sigemptyset(&none);
		syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, _NSIG / 8);
		execve(command_path, p->argv, p->envp);
		int err = errno;
		bfail("exec", err, (err == ENOENT || err == ENOTDIR) ? STATUS_NOT_FOUND : STATUS_NOT_EXECUTABLE, "%s", command_path);
		return (err == ENOENT || err == ENOTDIR) ? STATUS_NOT_FOUND : STATUS_NOT_EXECUTABLE;
	}

	/* 6b. Start COMMAND, then reap and forward until it exits. */
	int code = STATUS_SETUP;
	pid_t child = start_command(flags, command_path, p->argv, p->envp, bsync, &code);
	if (child < 0)
		return code;
	if (bsync >= 0) {
		char msg[64];
		int n = snprintf(msg, sizeof msg, "{\"type\":\"ready\",\"pid\":%d}\n", (int)child);
		write_all(bsync, msg, (size_t)n);
		close(bsync);
	}
	say("started %s as pid %d; reaping and forwarding signals", command_path, (int)child);
	/* COMMAND has its own copy now: blank ours after argv[0], so that ps
	 * and /proc/1/cmdline say "pbox-init". */
	char *end = argv[argc - 1] + strlen(argv[argc - 1]);
	char *after0 = argv[0] + strlen(argv[0]) + 1;
	if (end > after0)
		memset(after0, 0, (size_t)(end - after0));
	/* What PID 1 keeps for the box's life is the reaping loop: the plan
	 * and what building the box touched go back to the kernel. */
	free(p->argv);
	free(p->envp);
	free(p->groups);
	free(p->seccomp);
	free(hook_state[0]);
	free(hook_state[1]);
	free(p);
	free(plan_buf);
	release_build_pages();
	return supervise(sfd, child, code);
}

int main(int argc, char **argv, char **envp)
{
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	if (strcmp(name, "pbox-monitor") == 0)
		return monitor_main(argc, argv, envp);
	if (strcmp(name, "pbox-exec") == 0)
		return exec_main(argc, argv);
	if (strcmp(name, "pbox-logger") == 0)
		return logger_main(argc, argv);
	return init_main(argc, argv, envp);
}
