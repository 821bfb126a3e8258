// Linux-PAM for the console's lock (as vlock does): one call that answers PAM's password
// prompt with the typed password and says whether the account may go on.
// libpam is loaded with dlopen at the first check rather than linked: with libaudit and
// libcap-ng it costs every start of every program ~0.2 ms in the dynamic loader, for a
// lock that may never be unlocked.
#ifndef SWITCHBOARD_CPAM_H
#define SWITCHBOARD_CPAM_H

/// PAM_SUCCESS when `password` is `user`'s and the account may be used now; otherwise the
/// PAM status (PAM_AUTH_ERR for a wrong password; PAM_ABORT, PAM_SYSTEM_ERR, PAM_BUF_ERR
/// or a failed pam_start when PAM itself cannot answer; PAM_SYSTEM_ERR, not started,
/// when libpam is not on the machine).
int sb_pam_check(const char *service, const char *user, const char *password, int *started);

int sb_pam_success(void);
int sb_pam_abort(void);
int sb_pam_system_err(void);
int sb_pam_buf_err(void);
int sb_pam_conv_err(void);
#endif
