// Linux-PAM for the console's lock (as vlock does): one call that answers PAM's password
// prompt with the typed password and says whether the account may go on. The password
// is copied only into the response PAM frees itself; nothing else keeps it.
#ifndef SWITCHBOARD_CPAM_SHIM_H
#define SWITCHBOARD_CPAM_SHIM_H
#include <security/pam_appl.h>
#include <stdlib.h>
#include <string.h>

static inline int sb_pam_conversation(int count, const struct pam_message **messages, struct pam_response **responses, void *data) {
    if (count <= 0 || count > PAM_MAX_NUM_MSG) return PAM_CONV_ERR;
    struct pam_response *answers = calloc((size_t)count, sizeof *answers);
    if (answers == NULL) return PAM_BUF_ERR;
    for (int i = 0; i < count; i++) {
        // Only a hidden prompt is the password; anything else gets no answer.
        if (messages[i]->msg_style == PAM_PROMPT_ECHO_OFF) {
            answers[i].resp = strdup((const char *)data);
            if (answers[i].resp == NULL) {
                for (int j = 0; j < i; j++) free(answers[j].resp);
                free(answers);
                return PAM_BUF_ERR;
            }
        }
    }
    *responses = answers;
    return PAM_SUCCESS;
}

/// PAM_SUCCESS when `password` is `user`'s and the account may be used now; otherwise the
/// PAM status (PAM_AUTH_ERR for a wrong password; PAM_ABORT, PAM_SYSTEM_ERR, PAM_BUF_ERR
/// or a failed pam_start when PAM itself cannot answer).
static inline int sb_pam_check(const char *service, const char *user, const char *password, int *started) {
    struct pam_conv conversation = { sb_pam_conversation, (void *)password };
    pam_handle_t *handle = NULL;
    int status = pam_start(service, user, &conversation, &handle);
    *started = status == PAM_SUCCESS;
    if (status != PAM_SUCCESS) return status;
    status = pam_authenticate(handle, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
    if (status == PAM_SUCCESS) status = pam_acct_mgmt(handle, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
    pam_end(handle, status);
    return status;
}

static inline int sb_pam_success(void) { return PAM_SUCCESS; }
static inline int sb_pam_abort(void) { return PAM_ABORT; }
static inline int sb_pam_system_err(void) { return PAM_SYSTEM_ERR; }
static inline int sb_pam_buf_err(void) { return PAM_BUF_ERR; }
static inline int sb_pam_conv_err(void) { return PAM_CONV_ERR; }
#endif
