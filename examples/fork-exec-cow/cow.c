/* fork, exec and copy-on-write, made visible.
 *
 * The parent fills one page of memory, then forks. Both processes read
 * which physical page frame backs that virtual address, from
 * /proc/self/pagemap (frame numbers need root). Right after fork they
 * share the frame; the first write in the child makes the kernel copy it.
 * Then the child execs /bin/echo: the same process, a new program. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t frame(void *addr) {
    long page = sysconf(_SC_PAGESIZE);
    uint64_t entry = 0;
    int fd = open("/proc/self/pagemap", O_RDONLY);
    if (fd < 0 || pread(fd, &entry, sizeof entry, (uintptr_t)addr / page * sizeof entry) != sizeof entry) {
        perror("read /proc/self/pagemap");
        exit(1);
    }
    close(fd);
    return entry & ((1ULL << 55) - 1); /* bits 0-54: the page frame number */
}

int main(void) {
    long size = sysconf(_SC_PAGESIZE);
    char *page = aligned_alloc(size, size);
    memset(page, 'A', size);
    uint64_t before = frame(page);
    printf("parent: pid %d, my page is frame %#llx\n", getpid(), (unsigned long long)before);
    fflush(stdout);

    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        uint64_t shared = frame(page);
        printf("child: fork returned 0 to me; my pid is %d, my parent is %d\n", getpid(), getppid());
        printf("child: before writing, the page is frame %#llx: %s\n", (unsigned long long)shared,
               shared == before ? "the same frame as the parent's (shared, copy-on-write)" : "a different frame");
        page[0] = 'B';
        uint64_t copied = frame(page);
        printf("child: after writing, the page is frame %#llx: %s\n", (unsigned long long)copied,
               copied != before ? "a new frame (the kernel copied the page)" : "still the same frame");
        fflush(stdout);
        execl("/bin/echo", "echo", "child: exec replaced my program: this line is printed by /bin/echo", (char *)NULL);
        perror("exec");
        _exit(127);
    }
    waitpid(pid, NULL, 0);
    printf("parent: fork returned %d to me (the child's pid)\n", pid);
    printf("parent: my page is still frame %#llx and still holds '%c'\n", (unsigned long long)frame(page), page[0]);
    return 0;
}
