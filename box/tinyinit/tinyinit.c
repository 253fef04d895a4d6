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
#include <sys/prctl.h>
#include <sys/signalfd.h>
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

/* report_exec_error tells pbox (or, without a socket, the user) that COMMAND
 * could not be exec'd. pbox words the errno as it does its own errors. */
static void report_exec_error(int sync, const char *path, int err, int code)
{
	char msg[4096 + 128];
	if (sync < 0) {
		/* pbox start has returned: stderr is where the user looks. */
		char text[128];
		snprintf(text, sizeof text, "%s", strerror(err));
		if (text[0] >= 'A' && text[0] <= 'Z')
			text[0] = (char)(text[0] - 'A' + 'a');
		int n = snprintf(msg, sizeof msg, "pbox: exec: %s: %s\n", path, text);
		write_all(2, msg, n < (int)sizeof msg ? (size_t)n : sizeof msg - 1);
		return;
	}
	size_t at = (size_t)snprintf(msg, sizeof msg, "{\"type\":\"error\",\"step\":\"exec\",\"error\":");
	at = json_string(msg, at, sizeof msg - 64, path);
	at += (size_t)snprintf(msg + at, sizeof msg - at, ",\"errno\":%d,\"code\":%d}\n", err, code);
	write_all(sync, msg, at);
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

int main(int argc, char **argv, char **envp)
{
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	if (strcmp(name, "pbox-monitor") == 0)
		return monitor_main(argc, argv, envp);
	return init_main(argc, argv, envp);
}
