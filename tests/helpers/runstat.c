/* runstat — run a shell command and print its wall time and peak RSS, for benchmarks:
 *   runstat 'CMD'   →  on stderr: "seconds max_rss_kib exit_status"
 * The peak RSS is the largest of the command's processes (wait4's ru_maxrss of the shell's
 * children), so `sh -c 'a | b'` reports the larger of a and b. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec a, b;
	struct rusage ru;
	int status;
	if (argc != 2) {
		fprintf(stderr, "usage: runstat 'COMMAND'\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	pid_t pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", argv[1], (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) < 0) {
		perror("runstat");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	getrusage(RUSAGE_CHILDREN, &ru);
	fprintf(stderr, "%.3f %ld %d\n", (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9,
	        ru.ru_maxrss, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}
