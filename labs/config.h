/* A lab's resolved configuration: the manifest's "config", then its "quick"
 * overlay (with --quick), then --set key=value assignments and flags. Keys
 * are dotted paths ("train.lr"); only keys the lab already has can be set,
 * and a value must have the type the key has. A --set of a key also removes
 * that key from every "per_model" entry: an explicit value is for every model. */
#ifndef LAB_CONFIG_H
#define LAB_CONFIG_H

#include <jansson.h>
#include <stdint.h>

/* Returns a new object (caller owns it). */
int lab_config_resolve(const json_t *manifest, int quick, json_t **out);

/* Applies "a.b.c=value". LAB_EUSAGE names the key and the accepted keys or
 * values when the key is unknown or the value does not fit. */
int lab_config_set(json_t *config, const char *assignment);

/* A lab may give a model its own values under "per_model": {"<model>":
 * {<keys as in the config>}} (2.2.1's quick mode gives each architecture its
 * own subset, batch and rate). Returns a new object: the config with that
 * model's values merged in and "per_model" removed, validated. */
int lab_config_for_model(const json_t *config, const char *model, json_t **out);

/* Checks the values every lab shares (epochs, batch size, lr, seed ...). */
int lab_config_validate(const json_t *config);

/* Reads by dotted path; NULL / the default when absent or of another type. */
const json_t *lab_cfg_get(const json_t *config, const char *path);
double lab_cfg_num(const json_t *config, const char *path, double dflt);
int64_t lab_cfg_int(const json_t *config, const char *path, int64_t dflt);
const char *lab_cfg_str(const json_t *config, const char *path, const char *dflt);
int lab_cfg_bool(const json_t *config, const char *path, int dflt);

#endif
