/* Environment switches read in one place, so every layer agrees on what
 * counts as set: the offline switches, the Hugging Face locations, HOME. */
#ifndef LAB_BASE_ENV_H
#define LAB_BASE_ENV_H

#include <stddef.h>

/* 1 for 1/true/yes/on (any case), 0 for unset, ""/0/false/no/off, -1 otherwise. */
int lab_env_truthy(const char *value);

/* The offline switches, in the order lab_offline reads them (the doctor
 * shows the same list). */
#define LAB_N_OFFLINE_VARS 3
extern const char *const lab_offline_vars[LAB_N_OFFLINE_VARS];

/* 1 when LAB_OFFLINE, HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE is truthy;
 * `var` (may be NULL) gets the first one that is. */
int lab_offline(const char **var);

/* $HOME, else the password database's home, else "/". */
const char *lab_home_dir(void);

/* Hugging Face locations, resolved as huggingface_hub does. `from` names the
 * variable (or default) that decided it. */
void lab_hf_home(char *out, size_t cap, char *from, size_t from_cap);
void lab_hf_hub_cache(char *out, size_t cap, char *from, size_t from_cap);

#endif
