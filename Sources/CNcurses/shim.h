// ncursesw through Swift: SwiftPM drops pkg-config's -D flags, so the wide-character
// switches are set here; macros and C globals (stdscr, COLORS) are not importable
// under Swift 6 and get small inline wrappers.
#ifndef SWITCHBOARD_CNCURSES_SHIM_H
#define SWITCHBOARD_CNCURSES_SHIM_H
#define NCURSES_WIDECHAR 1
#define _XOPEN_SOURCE_EXTENDED 1
#include <locale.h>
#include <wchar.h>
#include <stdio.h>
#include <unistd.h>
#include <ncursesw/curses.h>

/// Columns taken by one character, as ncurses measures it (-1: not printable).
int wcwidth(wchar_t c);
static inline int sb_wcwidth(unsigned int c) { return wcwidth((wchar_t)c); }

static inline WINDOW *sb_stdscr(void) { return stdscr; }
static inline FILE *sb_stdout(void) { return stdout; }
static inline FILE *sb_stdin(void) { return stdin; }
static inline int sb_colors(void) { return COLORS; }
static inline int sb_color_pairs(void) { return COLOR_PAIRS; }
static inline int sb_lines(void) { return LINES; }
static inline int sb_cols(void) { return COLS; }
static inline attr_t sb_color_pair(int n) { return (attr_t)COLOR_PAIR(n); }
static inline attr_t sb_a_bold(void) { return A_BOLD; }
static inline attr_t sb_a_dim(void) { return A_DIM; }
static inline attr_t sb_a_underline(void) { return A_UNDERLINE; }
static inline attr_t sb_a_reverse(void) { return A_REVERSE; }
static inline attr_t sb_a_italic(void) { return A_ITALIC; }
static inline attr_t sb_a_blink(void) { return A_BLINK; }
static inline attr_t sb_a_normal(void) { return A_NORMAL; }
static inline int sb_key_f(int n) { return KEY_F(n); }
static inline int sb_getmaxy(WINDOW *w) { return getmaxy(w); }
static inline int sb_getmaxx(WINDOW *w) { return getmaxx(w); }
static inline int sb_err(void) { return ERR; }
static inline int sb_ok(void) { return OK; }
static inline int sb_key_code_yes(void) { return KEY_CODE_YES; }

/// Draws one cell: a base character plus up to four combining marks, with attributes
/// and a color pair (pair numbers above 255 need the extended-colors argument).
static inline int sb_put_cell(int y, int x, const wchar_t *chars, attr_t attrs, int pair) {
    cchar_t cc;
    int p = pair;
    if (setcchar(&cc, chars, attrs, (short)(pair > 32767 ? 0 : pair), &p) != OK) return ERR;
    return mvadd_wch(y, x, &cc);
}

/// Terminal restoration on fatal signals: endwin, then die of the same signal. The
/// crash signals (a Swift trap is SIGILL or SIGTRAP) are taken from Swift's backtracer,
/// which would otherwise leave the terminal raw and prompt on it; the handler runs on
/// its own stack so a stack overflow still restores the terminal.
///
/// The stop signals (SIGTERM, SIGHUP: `kill`, a closed window; SIGINT) instead ask the
/// UI loop to end as `q` does, through a pipe it polls, so the program cleans up (a
/// demo's simulator and its directory); a second SIGTERM or SIGINT while that runs dies
/// at once.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
static const int sb_fatal_signals[] = {
    SIGQUIT, SIGSEGV, SIGILL, SIGBUS, SIGABRT, SIGFPE, SIGTRAP
};
static const int sb_stop_signals[] = { SIGINT, SIGTERM, SIGHUP };
static volatile sig_atomic_t sb_stop_signal = 0;
static int sb_stop_pipe = -1;
static void sb_restore_and_reraise(int sig) {
    endwin();
    signal(sig, SIG_DFL);
    raise(sig);
}
static void sb_request_stop(int sig) {
    // A closed terminal sends SIGHUP more than once (the kernel, then tmux or the window):
    // only a repeated SIGTERM or SIGINT means "now".
    if (sb_stop_signal != 0 && sig == SIGHUP) return;
    if (sb_stop_signal != 0 || sb_stop_pipe < 0) { sb_restore_and_reraise(sig); return; }
    sb_stop_signal = sig;
    char byte = 1;
    ssize_t written = write(sb_stop_pipe, &byte, 1);
    (void)written;
}
static void sb_handle(const int *signals, unsigned count, void (*handler)(int), int flags) {
    struct sigaction action;
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = flags;
    for (unsigned i = 0; i < count; i++) sigaction(signals[i], &action, 0);
}
/// `stop_pipe`: the write end of the pipe the loop polls for a stop signal.
static inline void sb_install_restore_handlers(int stop_pipe) {
    static char *alternate = 0;
    if (!alternate && (alternate = malloc(1 << 16))) {
        stack_t stack = { .ss_sp = alternate, .ss_size = 1 << 16, .ss_flags = 0 };
        sigaltstack(&stack, 0);
    }
    sb_stop_pipe = stop_pipe;
    sb_handle(sb_fatal_signals, sizeof sb_fatal_signals / sizeof sb_fatal_signals[0], sb_restore_and_reraise, SA_ONSTACK | SA_RESETHAND);
    sb_handle(sb_stop_signals, sizeof sb_stop_signals / sizeof sb_stop_signals[0], sb_request_stop, SA_ONSTACK | SA_RESTART);
}
static inline void sb_remove_restore_handlers(void) {
    for (unsigned i = 0; i < sizeof sb_fatal_signals / sizeof sb_fatal_signals[0]; i++)
        signal(sb_fatal_signals[i], SIG_DFL);
    for (unsigned i = 0; i < sizeof sb_stop_signals / sizeof sb_stop_signals[0]; i++)
        signal(sb_stop_signals[i], SIG_DFL);
    // The clean-up after the loop is not cut short by the terminal's SIGHUP: a closed
    // terminal's input hangs up (ending the loop) before the kernel's SIGHUP comes.
    signal(SIGHUP, SIG_IGN);
    sb_stop_pipe = -1;
}
/// The stop signal received, or 0.
static inline int sb_stop_signal_received(void) { return sb_stop_signal; }
static inline WINDOW *sb_curscr(void) { return curscr; }
#endif
