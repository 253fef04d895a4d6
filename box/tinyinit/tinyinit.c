/*
 * pbox's tiny init: PID 1 of a box for as long as COMMAND runs.
 *
 * pbox-init (Go) builds the box — mounts, hostname, keyring, capabilities,
 * seccomp, user — and then exec's this program from a sealed memfd, so
 * that what stays resident for the life of the box is a few pages, not a
 * Go runtime (box/handover.go). It does what tini does and nothing else:
 *
 *   1. fork COMMAND and exec it, with the signal mask it should have;
 *   2. tell pbox COMMAND's pid (or why the exec failed) on the sync socket;
 *   3. wait for signals (blocked, read from a signalfd: SigBlk in
 *      /proc/1/status shows what it takes, which pbox inspect reads):
 *      SIGCHLD means "reap every exited child"; every other signal is
 *      passed on to COMMAND;
 *   4. once COMMAND is reaped, exit with its status (128+N if signal N
 *      killed it). The kernel then ends the rest of the box.
 *
 * It never allocates memory or starts a thread, so a fork bomb that uses up
 * the box's pids limit cannot take it down.
 *
 * Usage (only pbox-init runs it):
 *   pbox-init FLAGS SYNCFD PATH ARGV0 [ARG...]      environment = COMMAND's
 * FLAGS is "-" or any of: t (COMMAND gets fd 0 as its controlling terminal,
 * in a new session), p (COMMAND dies with this init: there is no PID
 * namespace to do it), v (explain on stderr, as pbox run -v), T (start
 * that line with the time, as PBOX_TIMESTAMPS=1 does pbox's). SYNCFD is
 * the socket to pbox, or -1. Descriptors 0, 1, 2 (and any others without
 * close-on-exec) are COMMAND's already. Every signal is blocked on entry
 * (pbox-init blocks them before the exec), so none is lost or fatal in
 * between; COMMAND gets an empty mask.
 *
 * The same program is also a detached box's monitor (run as
 * "pbox-monitor", box/monitor.go): the `pbox run -d` process that started
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
 * Rebuild the committed binary from this file: go generate ./box (it runs
 * build.sh; CI checks the result matches byte for byte).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The exit statuses of box/status.go. */
enum { STATUS_SETUP = 125, STATUS_NOT_EXECUTABLE = 126, STATUS_NOT_FOUND = 127, STATUS_SIGNAL_BASE = 128 };

static int verbose;

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
 * a non-zero errno as it does its own errors, after TEXT. */
static void report_error(int sync, const char *step, const char *text, int err, int code)
{
	char msg[4096 + 256];
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

static int init_main(int argc, char **argv, char **envp)
{
	/* comm would be the memfd's descriptor number: name PID 1 for ps. */
	prctl(PR_SET_NAME, "pbox-init", 0, 0, 0);
	/* A process of the box with the same user could otherwise ptrace its
	 * PID 1 (runc keeps its init non-dumpable too). */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (argc < 5) {
		static const char usage[] = "pbox: pbox-init (tiny) is started by pbox-init, not by hand\n";
		write_all(2, usage, sizeof usage - 1);
		return STATUS_SETUP;
	}
	const char *flags = argv[1];
	int sync = atoi(argv[2]);
	char *path = argv[3];
	verbose = strchr(flags, 'v') != NULL;
	if (sync >= 0)
		fcntl(sync, F_SETFD, FD_CLOEXEC);

	/* Every signal, the real-time ones libc keeps for itself included
	 * (sigfillset leaves them out, and the default action of an unblocked
	 * one sent from the host would end the box). */
	sigset_t all;
	memset(&all, 0xff, sizeof all);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, _NSIG / 8);

	int sfd = signalfd(-1, &all, SFD_CLOEXEC);
	if (sfd < 0) {
		static const char msg[] = "pbox: init: signalfd failed\n";
		write_all(2, msg, sizeof msg - 1);
		return STATUS_SETUP;
	}

	if (verbose) {
		char msg[128], stamp[48];
		int n = snprintf(msg, sizeof msg, "%spbox: init: the tiny init runs as PID 1\n", time_stamp(flags, stamp, sizeof stamp));
		write_all(2, msg, (size_t)n);
	}
	int code = STATUS_SETUP;
	pid_t child = start_command(flags, path, argv + 4, envp, sync, &code);
	if (child < 0)
		return code;
	if (sync >= 0) {
		char msg[64];
		int n = snprintf(msg, sizeof msg, "{\"type\":\"ready\",\"pid\":%d}\n", (int)child);
		write_all(sync, msg, (size_t)n);
		close(sync);
	}
	if (verbose) {
		char msg[4096 + 128], stamp[48];
		int n = snprintf(msg, sizeof msg, "%spbox: init: started %s as pid %d; reaping and forwarding signals\n",
				 time_stamp(flags, stamp, sizeof stamp), path, (int)child);
		write_all(2, msg, n < (int)sizeof msg ? (size_t)n : sizeof msg - 1);
	}
	/* COMMAND has its own copy now: blank ours after argv[0], so that ps
	 * and /proc/1/cmdline say "pbox-init", as they did for the Go init. */
	char *end = argv[argc - 1] + strlen(argv[argc - 1]);
	char *after0 = argv[0] + strlen(argv[0]) + 1;
	if (end > after0)
		memset(after0, 0, (size_t)(end - after0));

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
		/* Reap everything that has exited: COMMAND and orphans alike. */
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
};

enum { MAX_ARGS = 65536 };

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
		int is_string = tag == TAG_ARG || tag == TAG_ENV || tag == TAG_PATH || tag == TAG_WORKDIR || tag == TAG_KEYRING;
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
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, dir, &how, sizeof how);
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
	/* openat2 resolves relative to AT_FDCWD, which setns(CLONE_NEWNS) set
	 * to the box's root; RESOLVE_IN_ROOT keeps ".." and absolute links
	 * there. */
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
		if (syscall(SYS_setgroups, p->ngroups, p->groups) < 0) {
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
	if (p->inheritable || p->ambient) {
		/* The inheritable set as asked; an ambient capability must be
		 * permitted and inheritable before it is raised. */
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

/* joined_child runs in the box: it becomes COMMAND. */
static int joined_child(int sync, struct plan *p)
{
	if (p->terminal && open_terminal(sync, p) < 0)
		return STATUS_SETUP;
	if (enter_workdir(sync, p->workdir ? p->workdir : "/") < 0)
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
