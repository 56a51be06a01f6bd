/* tmp.h — the temporaries a program is writing, removed if it does not finish.
 *
 * Outputs are written under a temporary sibling name and renamed at the end. Every temporary file
 * or directory is registered here first; whatever is still registered when the program exits
 * (any exit status) or is killed by SIGINT, SIGTERM or SIGHUP is removed — files before the
 * directories that hold them. SIGKILL cannot be caught: a temporary's name (".NAME.tmp.PID")
 * says what it is. */
#ifndef RECYCLE_TMP_H
#define RECYCLE_TMP_H

/* A temporary sibling of path: "dir/.base.tmp.PID" (malloc'd; NULL on error). */
char *tmp_sibling(const char *path);
/* Register / forget a temporary (a file, or a directory removed after its files). -1 on OOM. */
int tmp_register(const char *path, int is_dir);
void tmp_forget(const char *path);
/* Remove and forget every registered temporary now; or only path and those below it. */
void tmp_cleanup(void);
void tmp_cleanup_under(const char *path);
/* Remove every registered temporary from a signal handler (async-signal-safe; does not forget
 * them), for handlers that end the program with _exit. */
void tmp_remove_now(void);
/* Rename a finished temporary into place and forget it. A directory replacing an existing
 * checkpoint directory moves the old one aside first and removes it after. -1 on error. */
int tmp_commit(const char *tmp, const char *path, int is_dir);
/* Make the missing directories above path (as mkdir -p of its dirname would), so an output can be
 * written there. They stay when the program fails, as mkdir -p's would. -1 with err_set
 * ("DIR: why") on error, e.g. when a component is a file. */
int tmp_make_parents(const char *path);

#endif
