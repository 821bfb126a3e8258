// See CPAM.h. The password is copied only into the response PAM frees itself; nothing
// else keeps it.
#include "CPAM.h"
#include <security/pam_appl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static struct {
    __typeof__(&pam_start) start;
    __typeof__(&pam_authenticate) authenticate;
    __typeof__(&pam_acct_mgmt) acct_mgmt;
    __typeof__(&pam_end) end;
    int loaded;
} pam;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void) {
    void *lib = dlopen("libpam.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return;
    *(void **)&pam.start = dlsym(lib, "pam_start");
    *(void **)&pam.authenticate = dlsym(lib, "pam_authenticate");
    *(void **)&pam.acct_mgmt = dlsym(lib, "pam_acct_mgmt");
    *(void **)&pam.end = dlsym(lib, "pam_end");
    pam.loaded = pam.start && pam.authenticate && pam.acct_mgmt && pam.end;
}

static int conversation(int count, const struct pam_message **messages, struct pam_response **responses, void *data) {
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

int sb_pam_check(const char *service, const char *user, const char *password, int *started) {
    *started = 0;
    pthread_once(&once, load);
    if (!pam.loaded) return PAM_SYSTEM_ERR;
    struct pam_conv talk = { conversation, (void *)password };
    pam_handle_t *handle = NULL;
    int status = pam.start(service, user, &talk, &handle);
    *started = status == PAM_SUCCESS;
    if (status != PAM_SUCCESS) return status;
    status = pam.authenticate(handle, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
    if (status == PAM_SUCCESS) status = pam.acct_mgmt(handle, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
    pam.end(handle, status);
    return status;
}

int sb_pam_success(void) { return PAM_SUCCESS; }
int sb_pam_abort(void) { return PAM_ABORT; }
int sb_pam_system_err(void) { return PAM_SYSTEM_ERR; }
int sb_pam_buf_err(void) { return PAM_BUF_ERR; }
int sb_pam_conv_err(void) { return PAM_CONV_ERR; }
